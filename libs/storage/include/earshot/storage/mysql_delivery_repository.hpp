#pragma once
// The MariaDB implementation of DeliveryRepository (webhook_subscriptions, webhook_deliveries,
// webhook_delivery_attempts, notify_settings). Thread-safe; holds a reference to a shared
// Database and the keyring the signing secrets are sealed with (both must outlive it).

#include "earshot/crypto/keyring.hpp"
#include "earshot/storage/delivery_repository.hpp"

namespace earshot::storage {

class MySqlDeliveryRepository final : public DeliveryRepository {
 public:
  MySqlDeliveryRepository(Database& db, const crypto::Keyring& keys) : db_(db), keys_(keys) {}
  Result<Id> create_subscription(const TenantId& t, std::string_view url, std::string_view description,
                                 const std::vector<std::string>& events, std::string_view secret) override;
  Result<std::vector<WebhookSubscription>> list_subscriptions(const TenantId& t) override;
  Result<WebhookSubscription> get_subscription(const TenantId& t, Id id) override;
  Result<bool> update_subscription(const TenantId& t, Id id, const WebhookSubscriptionPatch& patch) override;
  Result<bool> remove_subscription(const TenantId& t, Id id) override;
  Result<std::string> signing_secret(const TenantId& t, Id id) override;
  Result<std::optional<std::string>> settings_json(const TenantId& t) override;
  Status put_settings_json(const TenantId& t, std::string_view json) override;
  Result<int> enqueue(const TenantId& t, std::span<const NewDelivery> rows, Timestamp due) override;
  Result<std::vector<Delivery>> claim_due(Timestamp now, int limit, std::chrono::milliseconds lease) override;
  Result<std::vector<PausedSubscription>> record(std::span<const AttemptOutcome> outcomes,
                                                 std::int64_t pause_after_failures) override;
  Result<std::vector<Delivery>> list_deliveries(const TenantId& t, Id subscription_id, int limit,
                                                std::optional<Id> before_id) override;
  Result<Delivery> get_delivery(const TenantId& t, Id delivery_id) override;
  Result<std::vector<DeliveryAttempt>> list_attempts(const TenantId& t, Id delivery_id) override;
  Result<bool> redeliver(const TenantId& t, Id delivery_id, Timestamp now) override;
  Result<DeliveryGauges> gauges() override;

 private:
  Database& db_;
  const crypto::Keyring& keys_;
};

}  // namespace earshot::storage
