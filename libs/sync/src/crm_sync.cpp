// LeadSquared lead sync into crm_leads (by modified time, paged, throttled client-side).
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "earshot/core/backoff.hpp"
#include "earshot/core/log.hpp"
#include "earshot/http/retry_after.hpp"
#include "earshot/storage/phone.hpp"
#include "earshot/sync/leadsquared.hpp"
#include "earshot/sync/sync.hpp"
#include "earshot/sync/throttle.hpp"
#include "sync_internal.hpp"

namespace earshot::sync {
namespace {
using Json = nlohmann::json;
constexpr int kMaxAttempts = 5;  // per request: the first plus 4 retries of 429 / 5xx / timeouts
constexpr int kMaxPages = 10'000;
}  // namespace

Throttle::Throttle(int limit, std::chrono::milliseconds window, const Clock& clock)
    : limit_(limit), window_(window), clock_(clock) {}

std::chrono::milliseconds Throttle::reserve() {
  std::lock_guard lock(mu_);
  const auto now = clock_.steady_now();
  while (!sent_.empty() && sent_.front() + window_ <= now) sent_.pop_front();
  auto at = now;
  if (static_cast<int>(sent_.size()) >= limit_) {
    // The slot frees when the request `limit` places back leaves the window.
    at = std::max(now, sent_[sent_.size() - static_cast<std::size_t>(limit_)] + window_);
  }
  sent_.push_back(at);
  return std::chrono::ceil<std::chrono::milliseconds>(at - now);
}

Result<storage::Timestamp> parse_lsq_time(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double s = 0;
  const std::string t(text);
  char sep = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2d%c%2d:%2d:%lf", &y, &mo, &d, &sep, &h, &mi, &s) != 7 ||
      (sep != ' ' && sep != 'T')) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("'{}' is not a LeadSquared time", text));
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  // Written so that NaN seconds fail too (every comparison with NaN is false).
  if (!ymd.ok() || h < 0 || h > 23 || mi < 0 || mi > 59 || !(s >= 0 && s < 61)) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("'{}' is not a valid time", text));
  }
  return storage::Timestamp(std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                            std::chrono::minutes(mi) + std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000)));
}

std::string format_lsq_time(storage::Timestamp t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{std::chrono::floor<std::chrono::seconds>(t - day)};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

Result<LsqLeadPage> parse_leads_response(std::string_view body) {
  auto j = Json::parse(body, nullptr, false);
  if (j.is_discarded())
    return make_error(ErrorCode::kInvalidArgument, "LeadSquared answered with a body that is not JSON");
  LsqLeadPage page;
  const Json* leads = nullptr;
  if (j.is_array()) {
    leads = &j;
  } else if (j.is_object() && j.contains("Leads") && j["Leads"].is_array()) {
    leads = &j["Leads"];
    if (j.contains("RecordCount") && j["RecordCount"].is_number_integer()) {
      page.record_count = j["RecordCount"].get<std::int64_t>();
    }
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "LeadSquared answered with neither a lead array nor {\"RecordCount\", \"Leads\"}");
  }
  for (const auto& l : *leads) {
    page.leads.push_back(l.dump());
  }
  return page;
}

Result<LsqLeadPage> fetch_leads_page(http::HttpClient& client, const CrmConfig& crm, std::string_view modified_since,
                                     int page_index, int* http_status, const Clock& clock) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = fmt::format("{}/v2/LeadManagement.svc/Leads.Get?accessKey={}&secretKey={}", crm.base_url,
                        http::url_encode(crm.access_key), http::url_encode(crm.secret_key));
  Json body{{"Parameter",
             {{"LookupName", "ModifiedOn"}, {"LookupValue", std::string(modified_since)}, {"SqlOperator", ">="}}},
            {"Columns", {{"Include_CSV", "ProspectID, FirstName, LastName, Phone, EmailAddress, ModifiedOn"}}},
            {"Sorting", {{"ColumnName", "ModifiedOn"}, {"Direction", "0"}}},
            {"Paging", {{"PageIndex", page_index}, {"PageSize", crm.page_size}}}};
  req.set_body(body.dump(), "application/json");
  req.timeout = crm.timeout;
  auto res = client.send_sync(std::move(req));
  if (!res) {
    if (http_status) *http_status = 0;
    return std::unexpected(res.error().with_context("LeadSquared"));
  }
  if (http_status) *http_status = res->status;
  if (res->status == 200) return parse_leads_response(res->body);
  std::string reason;
  auto j = Json::parse(res->body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("ExceptionMessage") && j["ExceptionMessage"].is_string()) {
    reason = j["ExceptionMessage"].get<std::string>();
  } else if (!j.is_discarded() && j.is_object() && j.contains("Message") && j["Message"].is_string()) {
    reason = j["Message"].get<std::string>();
  }
  const auto msg = fmt::format("LeadSquared answered HTTP {}{}{}", res->status, reason.empty() ? "" : ": ", reason);
  if (res->status == 429) {
    Error e(ErrorCode::kRateLimited, msg);
    e.retry_after = http::parse_retry_after(res->headers, clock.now());
    return std::unexpected(e);
  }
  if (res->status >= 500) return make_error(ErrorCode::kUnavailable, msg);
  if (res->status == 401 || res->status == 403) return make_error(ErrorCode::kUnauthenticated, msg);
  return make_error(ErrorCode::kInvalidArgument, msg);
}

CrmSync::CrmSync(SyncDeps deps) : d_(std::move(deps)), m_(d_.metrics) {}

Throttle& CrmSync::throttle_for(const std::string& key) {
  std::lock_guard lock(mu_);
  auto& t = throttles_[key];
  if (!t) t = std::make_unique<Throttle>(kLsqRequests, kLsqWindow, d_.clock);
  return *t;
}

Result<SyncReport> CrmSync::run_once(const storage::TenantId& t) {
  SyncReport rep;
  rep.source = std::string(kCrmSource);
  auto loaded = detail::load_config(d_, t, rep);
  if (!loaded) return std::unexpected(loaded.error());
  if (!*loaded) return rep;
  const storage::PipelineConfig* config = &**loaded;
  auto result = [&](std::string_view r) { m_.runs->Add({{"source", "crm"}, {"result", std::string(r)}}).Increment(); };
  auto crm = parse_crm(*config);
  if (!crm) return std::unexpected(crm.error());
  if (!*crm) {
    rep.configured = false;
    rep.note = "no CRM configured";
    if (auto st = refresh_lead_filter_state(d_, m_, t, config->lead_filter_mode); !st) {
      return std::unexpected(st.error());
    }
    return rep;
  }
  if (!d_.http) return make_error(ErrorCode::kFailedPrecondition, "the CRM sync has no HTTP client");
  auto lock = d_.run_locks.try_acquire(t, kCrmSource);
  if (!lock) return std::unexpected(lock.error());
  if (!*lock) {
    rep.note = "another CRM sync of this business is running";
    return rep;
  }
  auto fail = [&](const Error& e) -> Result<SyncReport> {
    result("error");
    // The lead filter state still reflects the leads stored so far. The pass fails with `e`
    // whatever happens here (the caller needs the first cause); a failed refresh is logged
    // and done again by the next pass.
    if (auto st = refresh_lead_filter_state(d_, m_, t, config->lead_filter_mode); !st) {
      log::warn("lead filter state not refreshed after a failed CRM sync",
                {{"bid", t.bid()}, {"error", st.error().to_string()}});
    }
    return std::unexpected(e);
  };
  auto mark = d_.watermarks.get(t, kCrmSource);
  if (!mark) return fail(mark.error());
  std::string since = "1970-01-01 00:00:00";
  storage::Timestamp newest{};
  if (*mark) {
    auto parsed = parse_lsq_time(**mark);
    if (!parsed) return fail(parsed.error());
    newest = *parsed;
    since = format_lsq_time(newest);
  }
  // The provider's limit is per account: one throttle per access key.
  Throttle& throttle = throttle_for((*crm)->base_url + "|" + (*crm)->access_key);
  for (int page = 1; page <= kMaxPages; ++page) {
    Backoff backoff(std::chrono::milliseconds(500), std::chrono::seconds(10));
    Result<LsqLeadPage> got = make_error(ErrorCode::kInternal, "not sent");
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
      if (!detail::pause(d_, throttle.reserve())) return fail(Error(ErrorCode::kUnavailable, "shutting down"));
      int status = 0;
      got = fetch_leads_page(*d_.http, **crm, since, page, &status, d_.clock);
      ++rep.requests;
      m_.http->Add({{"source", "crm"}, {"status", status ? std::to_string(status) : std::string("error")}}).Increment();
      if (got) break;
      const auto fate = message_fate(got.error().code);
      if (fate != MessageFate::kRetry || attempt == kMaxAttempts) break;
      auto wait = backoff.next();
      if (got.error().retry_after) wait = std::max(wait, *got.error().retry_after);
      log::warn("LeadSquared request failed; retrying",
                {{"error", got.error().message}, {"attempt", std::to_string(attempt)}});
      if (!detail::pause(d_, wait)) return fail(Error(ErrorCode::kUnavailable, "shutting down"));
    }
    if (!got) return fail(got.error());
    for (const auto& text : got->leads) {
      auto lead = Json::parse(text, nullptr, false);
      std::string problem;
      storage::CrmLead out;
      if (!lead.is_object()) {
        problem = "lead is not an object";
      } else {
        const auto id = lead.value("ProspectID", Json());
        const auto phone = lead.value("Phone", Json());
        const auto modified = lead.value("ModifiedOn", Json());
        if (!id.is_string() || id.get<std::string>().empty() || id.get<std::string>().size() > 128) {
          problem = "ProspectID missing";
        } else if (!modified.is_string()) {
          problem = "ModifiedOn missing";
        } else if (!phone.is_string() || phone.get<std::string>().empty()) {
          problem = "Phone missing";
        } else {
          auto when = parse_lsq_time(modified.get<std::string>());
          auto e164 = storage::normalize_phone_e164(phone.get<std::string>(), config->default_country_code);
          if (!when) {
            problem = when.error().message;
          } else if (!e164) {
            problem = e164.error().message;
          } else {
            out.lead_id = id.get<std::string>();
            out.phone = *e164;
            out.modified_at = *when;
            out.fields_json = lead.dump();
          }
        }
      }
      if (!problem.empty()) {
        ++rep.rejected;
        ++rep.skipped;
        m_.rejected->Add({{"source", "crm"}}).Increment();
        log::warn("CRM lead skipped", {{"reason", problem}});
        continue;
      }
      if (auto st = d_.leads.upsert(t, out); !st) return fail(st.error());
      ++rep.leads;
      m_.leads->Add({}).Increment();
      newest = std::max(newest, out.modified_at);
    }
    rep.rows += static_cast<std::int64_t>(got->leads.size());
    if (static_cast<int>(got->leads.size()) < (*crm)->page_size) break;
  }
  // Leads modified at the newest time are fetched again next time (>=): upserts are
  // idempotent, and a lead modified in the same second later is not missed.
  rep.position = format_lsq_time(newest);
  if (newest != storage::Timestamp{}) {
    if (auto st = d_.watermarks.put(t, kCrmSource, rep.position); !st) return fail(st.error());
  }
  auto blocked = refresh_lead_filter_state(d_, m_, t, config->lead_filter_mode);
  if (!blocked) return std::unexpected(blocked.error());
  rep.blocked = *blocked;
  result("ok");
  return rep;
}

}  // namespace earshot::sync
