#include "earshot/notify/channels.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "earshot/core/json_ms.hpp"
#include "earshot/http/retry_after.hpp"
#include "earshot/notify/signature.hpp"

namespace earshot::notify {

AttemptResult classify(const Result<http::HttpResponse>& r, std::chrono::system_clock::time_point now) {
  AttemptResult out;
  if (!r) {
    const auto code = r.error().code;
    out.kind = (code == ErrorCode::kTimeout || code == ErrorCode::kUnavailable) ? AttemptResult::Kind::kRetryable
                                                                                : AttemptResult::Kind::kPermanent;
    out.error = fmt::format("{}: {}", code_name(code), r.error().message);
    return out;
  }
  out.response_code = r->status;
  if (r->status >= 200 && r->status < 300) {
    out.kind = AttemptResult::Kind::kDelivered;
    return out;
  }
  std::string snippet = r->body.substr(0, 200);
  for (auto& ch : snippet) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  out.error = fmt::format("HTTP {}{}{}", r->status, snippet.empty() ? "" : ": ", snippet);
  if (r->status == 408 || r->status == 429 || r->status >= 500) {
    out.kind = AttemptResult::Kind::kRetryable;
    out.retry_after = http::parse_retry_after(r->headers, now);
  } else {
    out.kind = AttemptResult::Kind::kPermanent;
  }
  return out;
}

http::HttpRequest webhook_request(const storage::Delivery& d, const std::string& url, const std::string& secret,
                                  std::int64_t unix_now, std::chrono::milliseconds timeout) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.set_body(d.payload_json, "application/json");
  req.add_header(std::string(kSignatureHeader), signature_header(secret, unix_now, d.payload_json));
  req.add_header("X-Earshot-Event", d.event_type);
  req.add_header("X-Earshot-Event-Id", d.event_id);
  req.add_header("X-Earshot-Delivery", std::to_string(d.id));
  req.add_header("X-Earshot-Attempt", std::to_string(d.attempts));
  req.timeout = timeout;
  req.connect_timeout = std::min(timeout, std::chrono::milliseconds(5'000));
  req.max_response_bytes = 64 << 10;
  return req;
}

Result<LeadSquaredConfig> leadsquared_config(const storage::PipelineConfig& c) {
  auto j = nlohmann::json::parse(c.crm_json, nullptr, false);
  if (!j.is_object() || json_str(j, "kind") != "leadsquared") {
    return make_error(ErrorCode::kFailedPrecondition, "the business has no LeadSquared CRM configured");
  }
  LeadSquaredConfig cfg;
  cfg.host = json_str(j, "host");
  if (!cfg.host.starts_with("https://") && !cfg.host.starts_with("http://")) {
    return make_error(ErrorCode::kFailedPrecondition, "crm.host must be the LeadSquared API URL");
  }
  while (cfg.host.ends_with('/')) cfg.host.pop_back();
  if (j.contains("activity_event") && j["activity_event"].is_number_integer()) cfg.activity_event = j["activity_event"];
  auto a = c.secrets.find("crm_access_key");
  auto s = c.secrets.find("crm_secret_key");
  if (a == c.secrets.end() || s == c.secrets.end()) {
    return make_error(ErrorCode::kFailedPrecondition, "secrets crm_access_key and crm_secret_key are not configured");
  }
  cfg.access_key = a->second;
  cfg.secret_key = s->second;
  return cfg;
}

std::string leadsquared_time(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", std::chrono::time_point_cast<std::chrono::seconds>(t));
}

http::HttpRequest leadsquared_activity_request(const LeadSquaredConfig& cfg, const nlohmann::json& activity,
                                               std::chrono::milliseconds timeout) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = fmt::format("{}/v2/ProspectActivity.svc/Create?accessKey={}&secretKey={}", cfg.host,
                        http::url_encode(cfg.access_key), http::url_encode(cfg.secret_key));
  nlohmann::json body = activity;
  body["ActivityEvent"] = cfg.activity_event;
  req.set_body(body.dump(), "application/json");
  req.timeout = timeout;
  req.connect_timeout = std::min(timeout, std::chrono::milliseconds(5'000));
  req.max_response_bytes = 1 << 20;
  return req;
}

std::chrono::milliseconds WindowThrottle::reserve(const std::string& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  auto& q = starts_[key];
  while (!q.empty() && q.front() + window_ <= now) q.pop_front();
  auto slot = now;
  // A tenth of the window as margin: the provider counts arrivals, we count departures.
  if (q.size() >= limit_) slot = std::max(now, q[q.size() - limit_] + window_ + window_ / 10);
  q.push_back(slot);
  return std::chrono::ceil<std::chrono::milliseconds>(slot - now);
}

}  // namespace earshot::notify
