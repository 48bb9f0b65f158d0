#pragma once
// What each channel sends, and how an answer is judged.
//
//   webhook  POST <subscription url>, body = the stored event, signed (signature.hpp)
//   chat     POST <chat_webhook_url>, body = {"text", "reason", "severity", "customer", "agent", "link", "call_id"}
//   crm      LeadSquared: POST <host>/v2/ProspectActivity.svc/Create?accessKey=..&secretKey=..
//            body = {"RelatedProspectId", "ActivityEvent", "ActivityNote", "ActivityDateTime",
//                    "Fields": [{"SchemaName", "Value"}]}
//   email    SMTP (smtp.hpp)

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/storage/delivery_repository.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::notify {

// How one attempt ended, before the retry schedule is applied.
struct AttemptResult {
  enum class Kind { kDelivered, kRetryable, kPermanent } kind = Kind::kPermanent;
  std::optional<int> response_code;
  std::optional<std::chrono::milliseconds> retry_after;
  std::string error;  // empty when delivered
  // Failed on the platform's side before the receiver was asked (our database or keys, e.g.
  // the subscription could not be read during a database restart): retried after
  // notify_retry_initial without growing or giving up, and never counted in the
  // subscription's failure streak, since the receiver did nothing wrong.
  bool platform_side = false;
};

// 2xx delivered; 408, 429 and 5xx retryable (with Retry-After); any other status permanent.
// Transport errors: timeout and unavailable retryable, the rest (refused address, bad URL)
// permanent.
[[nodiscard]] AttemptResult classify(const Result<http::HttpResponse>& r, std::chrono::system_clock::time_point now);

// The signed webhook request for a stored event.
[[nodiscard]] http::HttpRequest webhook_request(const storage::Delivery& d, const std::string& url,
                                                const std::string& secret, std::int64_t unix_now,
                                                std::chrono::milliseconds timeout);

// LeadSquared configuration from the business's pipeline config (crm_json + secrets
// crm_access_key, crm_secret_key). kFailedPrecondition when it is not a LeadSquared CRM.
struct LeadSquaredConfig {
  std::string host;  // "https://api-in21.leadsquared.com"
  std::string access_key;
  std::string secret_key;
  int activity_event = 201;
};
[[nodiscard]] Result<LeadSquaredConfig> leadsquared_config(const storage::PipelineConfig& c);

// "YYYY-MM-DD HH:MM:SS" UTC, LeadSquared's date format.
[[nodiscard]] std::string leadsquared_time(std::chrono::system_clock::time_point t);

[[nodiscard]] http::HttpRequest leadsquared_activity_request(const LeadSquaredConfig& cfg,
                                                             const nlohmann::json& activity,
                                                             std::chrono::milliseconds timeout);

// Sliding-window throttle per key: at most `limit` starts per `window` (plus a tenth of the
// window as margin, since the provider counts arrivals). reserve() books the earliest slot
// and returns how long to wait for it (0 when free now). Thread-safe.
class WindowThrottle {
 public:
  WindowThrottle(std::size_t limit, std::chrono::milliseconds window) : limit_(limit), window_(window) {}
  [[nodiscard]] std::chrono::milliseconds reserve(const std::string& key, std::chrono::steady_clock::time_point now);

 private:
  std::size_t limit_;
  std::chrono::milliseconds window_;
  std::mutex mu_;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> starts_;
};

}  // namespace earshot::notify
