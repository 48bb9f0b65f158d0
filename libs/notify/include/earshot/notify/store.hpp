#pragma once
// The durable delivery schedule (webhook_deliveries, webhook_delivery_attempts) and the
// webhook subscriptions with their pause state (migrations 0003, 0008).
//
// Every delivery, whatever its channel, is a row: the notify stage enqueues rows (idempotent
// on (bid, subscription, event id)), the dispatcher claims due rows by moving their next
// attempt past a lease (so a worker killed mid-delivery leaves a row that is claimed again
// when the lease runs out), and records each attempt's outcome. Tenant-scoped except
// claim_due() and gauges(), which serve the worker across businesses.

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/notify/settings.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/sql.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::notify {

using storage::Id;
using storage::Timestamp;

enum class Channel { kWebhook, kCrm, kEmail, kChat };
[[nodiscard]] std::string_view channel_name(Channel c);
[[nodiscard]] std::optional<Channel> channel_from_name(std::string_view name);

struct Subscription {
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

struct SubscriptionPatch {
  std::optional<std::string> url;
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> events;
  std::optional<bool> enabled;
  std::optional<std::string> secret;
  bool resume = false;  // clear the pause and the failure count
};

enum class DeliveryStatus { kPending, kDelivered, kFailed };
[[nodiscard]] std::string_view delivery_status_name(DeliveryStatus s);

struct Delivery {
  Id id = 0;
  std::string bid;
  Id subscription_id = 0;  // 0 for crm / email / chat
  Channel channel = Channel::kWebhook;
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

struct Attempt {
  Id id = 0;
  std::int64_t attempt = 0;
  std::string outcome;  // delivered | retry | failed | paused
  std::optional<std::int64_t> response_code;
  std::int64_t latency_ms = 0;
  std::string error;
  std::optional<Timestamp> next_attempt_at;
  Timestamp created_at{};
};

struct NewDelivery {
  Channel channel = Channel::kWebhook;
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
  Channel channel = Channel::kWebhook;
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

struct NotifyGauges {
  std::int64_t pending_retries = 0;  // pending deliveries with a failed attempt
  std::int64_t paused_subscriptions = 0;
};

class NotifyStore {
 public:
  NotifyStore(storage::Database& db, const crypto::Keyring& keys);

  // ---- subscriptions (the secret is sealed; it is never returned by a listing) ----
  [[nodiscard]] Result<Id> create_subscription(const storage::TenantId& t, std::string_view url,
                                               std::string_view description, const std::vector<std::string>& events,
                                               std::string_view secret);
  [[nodiscard]] Result<std::vector<Subscription>> list_subscriptions(const storage::TenantId& t);
  [[nodiscard]] Result<Subscription> get_subscription(const storage::TenantId& t, Id id);
  [[nodiscard]] Result<bool> update_subscription(const storage::TenantId& t, Id id, const SubscriptionPatch& patch);
  [[nodiscard]] Result<bool> remove_subscription(const storage::TenantId& t, Id id);
  [[nodiscard]] Result<std::string> signing_secret(const storage::TenantId& t, Id id);

  // ---- per-business settings ----
  [[nodiscard]] Result<BusinessNotifySettings> settings(const storage::TenantId& t);
  [[nodiscard]] Status put_settings(const storage::TenantId& t, const BusinessNotifySettings& s);

  // ---- the schedule ----
  // Inserts the deliveries not yet present (same subscription and event id: kept as is).
  // Webhook rows are only created for enabled subscriptions. Returns how many were new.
  [[nodiscard]] Result<int> enqueue(const storage::TenantId& t, std::span<const NewDelivery> rows, Timestamp due);
  // All businesses: up to `limit` pending deliveries due at `now` whose subscription (if
  // any) is enabled and not paused; their next attempt moves to now + lease and their
  // attempt count up by one.
  [[nodiscard]] Result<std::vector<Delivery>> claim_due(Timestamp now, int limit, std::chrono::milliseconds lease);
  // Records outcomes (one transaction): the delivery row, an attempt row, and the
  // subscription's failure streak; returns the subscriptions this paused.
  [[nodiscard]] Result<std::vector<PausedSubscription>> record(std::span<const AttemptOutcome> outcomes,
                                                               std::int64_t pause_after_failures);

  [[nodiscard]] Result<std::vector<Delivery>> list_deliveries(const storage::TenantId& t, Id subscription_id, int limit,
                                                              std::optional<Id> before_id);
  [[nodiscard]] Result<Delivery> get_delivery(const storage::TenantId& t, Id delivery_id);
  [[nodiscard]] Result<std::vector<Attempt>> list_attempts(const storage::TenantId& t, Id delivery_id);
  // Makes a past delivery due now again (pending; same event id and body).
  [[nodiscard]] Result<bool> redeliver(const storage::TenantId& t, Id delivery_id, Timestamp now);

  // Escalations of one call (newest first): id, reason, severity.
  struct CallEscalation {
    Id id = 0;
    std::string reason;
    std::string severity;
    Timestamp created_at{};
  };
  [[nodiscard]] Result<std::vector<CallEscalation>> call_escalations(const storage::TenantId& t, Id call_id);

  // The business's calls per status (the pipeline.counters live event).
  [[nodiscard]] Result<std::map<std::string, std::int64_t>> status_counts(const storage::TenantId& t);

  [[nodiscard]] Result<NotifyGauges> gauges();

 private:
  storage::Database& db_;
  const crypto::Keyring& keys_;
  storage::MySqlWebhookRepository hooks_;
};

}  // namespace earshot::notify
