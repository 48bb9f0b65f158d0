#pragma once
// The notify worker's configuration keys (EARSHOT_NOTIFY_*, EARSHOT_SMTP_*), and the
// per-business notification settings stored in notify_settings (JSON, set through the API).

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "earshot/core/config.hpp"
#include "earshot/core/error.hpp"
#include "earshot/storage/delivery_repository.hpp"

namespace earshot::notify {

struct NotifySettings {
  std::chrono::milliseconds request_timeout{10'000};         // per delivery request
  std::chrono::milliseconds retry_initial{30'000};           // first retry delay
  std::chrono::milliseconds retry_max_delay{6 * 3'600'000};  // cap of one delay
  std::int64_t max_attempts = 12;                            // then the delivery is failed
  std::int64_t pause_after_failures = 20;                    // consecutive failed attempts pause a subscription
  std::chrono::milliseconds poll_interval{250};
  std::int64_t claim_batch = 200;
  std::int64_t max_in_flight = 512;
  std::chrono::milliseconds lease{60'000};           // a claimed delivery is re-claimable after this
  std::string public_url = "http://localhost:8080";  // links to calls: <public_url>/calls/<id>
  std::int64_t crm_requests_per_window = 25;         // LeadSquared: 25 requests per 5 s
  std::chrono::milliseconds crm_window{5'000};
  std::string smtp_url;  // smtp://host:port or smtps://; empty: no e-mail
  std::string smtp_from = "earshot@localhost";
  std::string smtp_username;
  std::string smtp_password;

  void declare(ConfigSpec& spec);
};

// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
// retry_initial * 2^(attempt-1), capped, with +-20% jitter, and at least `retry_after`
// when the receiver asked (capped at 24 h). nullopt when the attempts are used up.
[[nodiscard]] std::optional<std::chrono::milliseconds> retry_delay(const NotifySettings& s, std::int64_t attempt,
                                                                   std::optional<std::chrono::milliseconds> retry_after,
                                                                   std::mt19937_64& rng);

// Per-business settings (notify_settings.settings):
//   {"crm_writeback": true, "link_base_url": "https://app.example.com",
//    "alerts": {"email_to": ["qa@acme.test"], "chat_webhook_url": "https://hooks…",
//               "min_severity": "medium"}}
struct BusinessNotifySettings {
  bool crm_writeback = true;
  std::string link_base_url;  // empty: the service's public_url
  std::vector<std::string> alert_emails;
  std::string chat_webhook_url;
  std::string min_severity = "medium";  // low | medium | high

  [[nodiscard]] static Result<BusinessNotifySettings> from_json(const nlohmann::json& j);
  [[nodiscard]] nlohmann::json to_json() const;
};

// The business's stored settings: the defaults when it never stored any (or when what is
// stored is not JSON); kInvalidArgument when the stored JSON is not valid settings.
[[nodiscard]] Result<BusinessNotifySettings> load_business_settings(storage::DeliveryRepository& deliveries,
                                                                    const storage::TenantId& t);

}  // namespace earshot::notify
