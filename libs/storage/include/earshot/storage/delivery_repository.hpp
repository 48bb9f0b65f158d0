#pragma once
// The durable delivery schedule of earshot-notify (webhook_deliveries,
// webhook_delivery_attempts), the webhook subscriptions with their pause state and the
// per-business notification settings (migrations 0003, 0008). Implementation:
// MySqlDeliveryRepository (mysql_delivery_repository.hpp); fake: tests/fakes/storage/deliveries_fake.hpp.
//
// Every delivery, whatever its channel, is a row: the notify stage enqueues rows (idempotent
// on (bid, subscription, event id)), the dispatcher claims due rows by moving their next
// attempt past a lease (so a worker killed mid-delivery leaves a row that is claimed again
// when the lease runs out), and records each attempt's outcome. Tenant-scoped like every
// repository (repository_common.hpp) except claim_due(), record() and gauges(), which serve the
// worker across businesses (each row carries its bid).

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

enum class DeliveryChannel { kWebhook, kCrm, kEmail, kChat };
// "webhook", "crm", "email", "chat" (webhook_deliveries.channel).
[[nodiscard]] std::string_view channel_name(DeliveryChannel c);
[[nodiscard]] std::optional<DeliveryChannel> channel_from_name(std::string_view name);

enum class DeliveryStatus { kPending, kDelivered, kFailed };
[[nodiscard]] std::string_view delivery_status_name(DeliveryStatus s);

struct WebhookSubscription {
  Id id = 0;
  std::string url;
  std::string description;
  std::vector<std::string> events;
  bool enabled = true;
  std::int64_t consecutive_failures = 0;
  std::optional<Timestamp> paused_at;
  std::string pause_reason;
  Timestamp created_at{};
};

struct WebhookSubscriptionPatch {
  std::optional<std::string> url;
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> events;
  std::optional<bool> enabled;
  std::optional<std::string> secret;
  bool resume = false;  // clear the pause and the failure count
};

struct Delivery {
  Id id = 0;
  std::string bid;
  Id subscription_id = 0;  // 0 for crm / email / chat
  DeliveryChannel channel = DeliveryChannel::kWebhook;
  std::optional<Id> call_id;
  std::string event_type;
  std::string event_id;
  std::string payload_json;
  DeliveryStatus status = DeliveryStatus::kPending;
  std::int64_t attempts = 0;
  Timestamp next_attempt_at{};
  std::string last_error;
  std::optional<std::int64_t> response_code;
  std::optional<std::int64_t> latency_ms;
  Timestamp created_at{};
  std::optional<Timestamp> delivered_at;
};

struct DeliveryAttempt {
  Id id = 0;
  std::int64_t attempt = 0;
  std::string outcome;  // delivered | retry | failed
  std::optional<std::int64_t> response_code;
  std::int64_t latency_ms = 0;
  std::string error;
  std::optional<Timestamp> next_attempt_at;
  Timestamp created_at{};
};

struct NewDelivery {
  DeliveryChannel channel = DeliveryChannel::kWebhook;
  Id subscription_id = 0;
  std::optional<Id> call_id;
  std::string event_type;
  std::string event_id;
  std::string payload_json;
};

enum class AttemptKind { kDelivered, kRetry, kFailed };

struct AttemptOutcome {
  Id delivery_id = 0;
  std::string bid;
  Id subscription_id = 0;
  DeliveryChannel channel = DeliveryChannel::kWebhook;
  std::int64_t attempt = 1;
  AttemptKind kind = AttemptKind::kDelivered;
  std::optional<int> response_code;
  std::chrono::milliseconds latency{0};
  std::string error;
  std::optional<Timestamp> next_attempt_at;  // kRetry
  Timestamp at{};
};

struct PausedSubscription {
  std::string bid;
  Id subscription_id = 0;
  std::string reason;
};

struct DeliveryGauges {
  std::int64_t pending_retries = 0;  // pending deliveries with a failed attempt
  std::int64_t paused_subscriptions = 0;
};

class DeliveryRepository {
 public:
  virtual ~DeliveryRepository() = default;

  // ---- subscriptions (the secret is stored sealed; no listing returns it) ----
  [[nodiscard]] virtual Result<Id> create_subscription(const TenantId& t, std::string_view url,
                                                       std::string_view description,
                                                       const std::vector<std::string>& events,
                                                       std::string_view secret) = 0;
  // By id.
  [[nodiscard]] virtual Result<std::vector<WebhookSubscription>> list_subscriptions(const TenantId& t) = 0;
  [[nodiscard]] virtual Result<WebhookSubscription> get_subscription(const TenantId& t, Id id) = 0;
  // False when the subscription does not exist (an empty patch changes nothing and reports
  // whether it exists).
  [[nodiscard]] virtual Result<bool> update_subscription(const TenantId& t, Id id,
                                                         const WebhookSubscriptionPatch& patch) = 0;
  // Removes the subscription with its webhook deliveries and their attempts (one transaction).
  [[nodiscard]] virtual Result<bool> remove_subscription(const TenantId& t, Id id) = 0;
  // The plaintext secret; kNotFound for a foreign or missing subscription.
  [[nodiscard]] virtual Result<std::string> signing_secret(const TenantId& t, Id id) = 0;

  // ---- per-business notification settings: a JSON object (notify::BusinessNotifySettings) ----
  // nullopt when the business never stored any.
  [[nodiscard]] virtual Result<std::optional<std::string>> settings_json(const TenantId& t) = 0;
  [[nodiscard]] virtual Status put_settings_json(const TenantId& t, std::string_view json) = 0;

  // ---- the schedule ----
  // Inserts the deliveries not yet present (same subscription and event id: kept as is), due
  // at `due`, in one transaction. Webhook rows are only created for enabled subscriptions of
  // the tenant. Returns how many were new.
  [[nodiscard]] virtual Result<int> enqueue(const TenantId& t, std::span<const NewDelivery> rows, Timestamp due) = 0;
  // All businesses: up to `limit` pending deliveries due at `now` (oldest due first) whose
  // subscription (if any) is enabled and not paused; their next attempt moves to now + lease
  // and their attempt count up by one (the returned rows show both). A delivery claimed by
  // a concurrent claimer is skipped, not waited for.
  [[nodiscard]] virtual Result<std::vector<Delivery>> claim_due(Timestamp now, int limit,
                                                                std::chrono::milliseconds lease) = 0;
  // Records outcomes (one transaction; each is matched on its bid): the delivery row (only
  // while pending), an attempt row, and the webhook subscription's failure streak: a
  // delivered attempt resets it, a failed or retried one adds one, in the order given; a
  // subscription not paused whose streak reaches `pause_after_failures` is paused with a
  // reason naming the last error. Returns the subscriptions this paused.
  [[nodiscard]] virtual Result<std::vector<PausedSubscription>> record(std::span<const AttemptOutcome> outcomes,
                                                                       std::int64_t pause_after_failures) = 0;

  // Newest first, ids below `before_id` when given.
  [[nodiscard]] virtual Result<std::vector<Delivery>> list_deliveries(const TenantId& t, Id subscription_id, int limit,
                                                                      std::optional<Id> before_id) = 0;
  [[nodiscard]] virtual Result<Delivery> get_delivery(const TenantId& t, Id delivery_id) = 0;
  // The delivery's recorded attempts, oldest first.
  [[nodiscard]] virtual Result<std::vector<DeliveryAttempt>> list_attempts(const TenantId& t, Id delivery_id) = 0;
  // Makes a past delivery due at `now` again (pending, attempts 0; same event id and body).
  [[nodiscard]] virtual Result<bool> redeliver(const TenantId& t, Id delivery_id, Timestamp now) = 0;

  // Worker-wide figures across businesses (metrics, not tenant data).
  [[nodiscard]] virtual Result<DeliveryGauges> gauges() = 0;
};

}  // namespace earshot::storage
