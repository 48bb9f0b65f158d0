#include "earshot/notify/settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace earshot::notify {

using std::chrono::milliseconds;

void NotifySettings::declare(ConfigSpec& spec) {
  using namespace std::chrono_literals;
  spec.add_duration("notify_request_timeout", &request_timeout, 10s, 100ms, 5min,
                    "Deadline of one delivery request (connect, send, answer).");
  spec.add_duration("notify_retry_initial", &retry_initial, 30s, 10ms, 1h,
                    "Delay before the first retry of a failed delivery; doubles per attempt.");
  spec.add_duration("notify_retry_max_delay", &retry_max_delay, 6h, 10ms, 24h,
                    "Longest delay between two attempts of a delivery.");
  spec.add_int("notify_max_attempts", &max_attempts, 12, 1, 100,
               "Attempts of one delivery before it is marked failed.");
  spec.add_int("notify_pause_after_failures", &pause_after_failures, 20, 1, 100000,
               "Consecutive failed attempts after which a webhook subscription is paused.");
  spec.add_duration("notify_poll_interval", &poll_interval, 250ms, 10ms, 1min,
                    "How often the dispatcher looks for due deliveries when idle.");
  spec.add_int("notify_claim_batch", &claim_batch, 200, 1, 5000, "Due deliveries claimed per database round trip.");
  spec.add_int("notify_max_in_flight", &max_in_flight, 512, 1, 100000,
               "Delivery requests in flight at once per process.");
  spec.add_duration("notify_lease", &lease, 60s, 1s, 1h,
                    "A claimed delivery whose worker died is claimed again after this; "
                    "must exceed notify_request_timeout.");
  spec.add_string("notify_public_url", &public_url, "http://localhost:8080",
                  "Base of the call links in events, CRM activities and alerts.");
  spec.add_int("notify_crm_requests_per_window", &crm_requests_per_window, 25, 1, 10000,
               "CRM (LeadSquared) requests per business per window.");
  spec.add_duration("notify_crm_window", &crm_window, 5s, 10ms, 1h, "CRM throttling window.");
  spec.add_string("smtp_url", &smtp_url, "",
                  "SMTP server for alert e-mail (smtp://host:port, smtps://...); empty: no e-mail.");
  spec.add_string("smtp_from", &smtp_from, "earshot@localhost", "Sender of alert e-mail.");
  spec.add_string("smtp_username", &smtp_username, "", "SMTP user (empty: no AUTH).");
  spec.add_string("smtp_password", &smtp_password, "", "SMTP password.", {.secret = true});
}

std::optional<milliseconds> retry_delay(const NotifySettings& s, std::int64_t attempt,
                                        std::optional<milliseconds> retry_after, std::mt19937_64& rng) {
  if (attempt >= s.max_attempts) return std::nullopt;
  const double base = static_cast<double>(s.retry_initial.count()) *
                      std::pow(2.0, static_cast<double>(std::clamp<std::int64_t>(attempt - 1, 0, 40)));
  const double capped = std::min(base, static_cast<double>(s.retry_max_delay.count()));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto delay = milliseconds(static_cast<std::int64_t>(capped * jitter(rng)));
  if (retry_after) delay = std::max(delay, std::min(*retry_after, milliseconds(24 * 3'600'000)));
  return delay;
}

Result<BusinessNotifySettings> BusinessNotifySettings::from_json(const nlohmann::json& j) {
  auto bad = [](std::string m) { return make_error(ErrorCode::kInvalidArgument, std::move(m)); };
  if (!j.is_object()) return bad("notify settings must be an object");
  BusinessNotifySettings s;
  for (const auto& [k, v] : j.items()) {
    if (k == "crm_writeback") {
      if (!v.is_boolean()) return bad("crm_writeback must be true or false");
      s.crm_writeback = v.get<bool>();
    } else if (k == "link_base_url") {
      if (!v.is_string() || v.get<std::string>().size() > 512) return bad("link_base_url must be a URL");
      s.link_base_url = v.get<std::string>();
    } else if (k == "alerts") {
      if (!v.is_object()) return bad("alerts must be an object");
      for (const auto& [ak, av] : v.items()) {
        if (ak == "email_to") {
          if (!av.is_array() || av.size() > 50) return bad("alerts.email_to must be a list of up to 50 addresses");
          for (const auto& e : av) {
            if (!e.is_string()) return bad("alerts.email_to must hold strings");
            const auto addr = e.get<std::string>();
            const auto at = addr.find('@');
            if (at == std::string::npos || at == 0 || at + 1 == addr.size() || addr.size() > 254 ||
                addr.find_first_of(" <>\r\n,") != std::string::npos) {
              return bad(fmt::format("alerts.email_to: '{}' is not an e-mail address", addr));
            }
            s.alert_emails.push_back(addr);
          }
        } else if (ak == "chat_webhook_url") {
          if (!av.is_string()) return bad("alerts.chat_webhook_url must be a string");
          const auto url = av.get<std::string>();
          if (!url.empty() && !url.starts_with("https://") && !url.starts_with("http://")) {
            return bad("alerts.chat_webhook_url must be an http(s) URL");
          }
          s.chat_webhook_url = url;
        } else if (ak == "min_severity") {
          if (!av.is_string()) return bad("alerts.min_severity must be low|medium|high");
          const auto sev = av.get<std::string>();
          if (sev != "low" && sev != "medium" && sev != "high")
            return bad("alerts.min_severity must be low|medium|high");
          s.min_severity = sev;
        } else {
          return bad(fmt::format("unknown field 'alerts.{}'", ak));
        }
      }
    } else {
      return bad(fmt::format("unknown field '{}'", k));
    }
  }
  return s;
}

nlohmann::json BusinessNotifySettings::to_json() const {
  return nlohmann::json{
      {"crm_writeback", crm_writeback},
      {"link_base_url", link_base_url},
      {"alerts", {{"email_to", alert_emails}, {"chat_webhook_url", chat_webhook_url}, {"min_severity", min_severity}}}};
}

Result<BusinessNotifySettings> load_business_settings(storage::DeliveryRepository& deliveries,
                                                      const storage::TenantId& t) {
  auto stored = deliveries.settings_json(t);
  if (!stored) return std::unexpected(stored.error());
  const auto& text = *stored;
  if (!text) return BusinessNotifySettings{};
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return BusinessNotifySettings{};
  return BusinessNotifySettings::from_json(j);
}

}  // namespace earshot::notify
