// /api/v1/analytics/...: agent leaderboard and detail, overview, regions; CSV of every list.
// Benchmarks (the shared metrics document): top reps talk about 43% of the time; conversion
// drops when rep talk time exceeds 65%.
#include <algorithm>

#include "earshot/api/gateway.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;

namespace {

constexpr double kTopRepTalkRatio = 0.43;
constexpr double kTalkRatioRisk = 0.65;

Json benchmarks() {
  return Json{{"agent_talk_ratio", {{"top_reps", kTopRepTalkRatio}, {"risk_above", kTalkRatioRisk}}}};
}

struct Range {
  storage::Timestamp from, to;
};

// utc_offset_minutes: the caller's time zone as minutes east of UTC (0 when absent).
Result<int> utc_offset(const Request& req) {
  auto v = detail::query_int(req, "utc_offset_minutes", -storage::kMaxUtcOffsetMinutes, storage::kMaxUtcOffsetMinutes);
  if (!v) return std::unexpected(v.error());
  return static_cast<int>(v->value_or(0));
}

// from/to query parameters; default the last 30 days; at most 366 days. A date alone
// ("2026-11-21") is the start of that local day (UTC + `offset_minutes`); a time is the
// instant it names.
Result<Range> date_range(const Request& req, const Clock& clock, int offset_minutes = 0) {
  auto from = detail::query_time(req, "from");
  if (!from) return std::unexpected(from.error());
  auto to = detail::query_time(req, "to");
  if (!to) return std::unexpected(to.error());
  auto local = [&](const char* name, std::optional<storage::Timestamp>& t) {
    const auto text = req.query_param(name);
    if (t && text && text->size() == 10) *t -= std::chrono::minutes(offset_minutes);
  };
  local("from", *from);
  local("to", *to);
  Range r;
  r.to = to->value_or(storage::to_timestamp(clock.now()));
  r.from = from->value_or(r.to - std::chrono::days(30));
  if (r.from >= r.to) return invalid("from must be before to");
  if (r.to - r.from > std::chrono::days(366)) return invalid("the range may span at most 366 days");
  return r;
}

Json agent_row(const storage::HumanAgent& a) {
  const auto talk = a.avg_talk_ratio();
  return Json{{"id", a.id},
              {"external_id", a.external_id},
              {"name", a.name},
              {"team", a.team},
              {"city", a.city},
              {"total_calls", a.total_calls},
              {"avg_sentiment", detail::opt(a.avg_customer_sentiment())},
              {"avg_talk_ratio", detail::opt(talk)},
              {"qa_score", detail::opt(a.avg_qa_score())},
              {"escalations", a.escalations},
              {"talk_ratio_above_risk", talk ? Json(*talk > kTalkRatioRisk) : Json(nullptr)}};
}

}  // namespace

// Every analytics read is an aggregate a few seconds of lag cannot mislead: it goes to the
// read replica when there is one (docs/storage.md, "Read replica").
void add_analytics_routes(Router& router, GatewayServices& s) {
  Policy read;
  read.api_key_scope = "read";

  router.add("GET", "/api/v1/analytics/agents", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"sort", "order", "format", "team"}); !st) return std::unexpected(st.error());
    const auto sort = req.query_param("sort").value_or("avg_sentiment");
    static const std::vector<std::string> sorts = {"avg_sentiment", "avg_talk_ratio", "total_calls", "qa_score",
                                                   "escalations"};
    if (std::find(sorts.begin(), sorts.end(), sort) == sorts.end()) {
      return invalid("sort must be avg_sentiment|avg_talk_ratio|total_calls|qa_score|escalations");
    }
    const auto order = req.query_param("order").value_or("desc");
    if (order != "asc" && order != "desc") return invalid("order must be asc|desc");
    auto team = detail::query_str(req, "team", 128);
    if (!team) return std::unexpected(team.error());
    auto& agents = read_repos_of(s).human_agents;
    auto all = agents.list(detail::tenant_of(req.caller_bid()));
    if (!all) return std::unexpected(all.error());
    std::vector<Json> rows;
    for (const auto& a : *all) {
      if (*team && a.team != **team) continue;
      rows.push_back(agent_row(a));
    }
    // Agents without a value sort last either way; ties by id, so the order is total (and
    // std::sort as stable as a stable sort).
    std::sort(rows.begin(), rows.end(), [&](const Json& a, const Json& b) {
      const Json& x = a[sort];
      const Json& y = b[sort];
      if (x.is_null() != y.is_null()) return y.is_null();
      if (x.is_null() || x == y) return a["id"].get<std::int64_t>() < b["id"].get<std::int64_t>();
      return order == "desc" ? x.get<double>() > y.get<double>() : x.get<double>() < y.get<double>();
    });
    return detail::list_reply(req, Json(rows),
                              {"id", "external_id", "name", "team", "city", "total_calls", "avg_sentiment",
                               "avg_talk_ratio", "qa_score", "escalations", "talk_ratio_above_risk"},
                              "agents", Json{{"benchmarks", benchmarks()}});
  });

  router.add("GET", "/api/v1/analytics/agents/{id}", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"from", "to", "utc_offset_minutes"}); !st) {
      return std::unexpected(st.error());
    }
    auto id = req.id_param("id");
    if (!id) return std::unexpected(id.error());
    auto offset = utc_offset(req);
    if (!offset) return std::unexpected(offset.error());
    auto range = date_range(req, s.clock, *offset);
    if (!range) return std::unexpected(range.error());
    const auto t = detail::tenant_of(req.caller_bid());
    auto& agents = read_repos_of(s).human_agents;
    auto a = agents.get(t, *id);
    if (!a) return std::unexpected(a.error());
    auto daily = read_repos_of(s).analytics.agent_days(t, *id, range->from, range->to, *offset);
    if (!daily) return std::unexpected(daily.error());
    Json series = Json::array();
    for (const auto& d : *daily) {
      series.push_back(Json{{"day", d.day},
                            {"calls", d.calls},
                            {"avg_sentiment", detail::opt(d.avg_sentiment)},
                            {"avg_talk_ratio", detail::opt(d.avg_talk_ratio)},
                            {"qa_score", detail::opt(d.qa_score)}});
    }
    Json j = agent_row(*a);
    j["trend"] = detail::parsed(a->trend_json);
    j["daily"] = series;
    j["benchmarks"] = benchmarks();
    return Reply::ok(j);
  });

  router.add("GET", "/api/v1/analytics/overview", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"from", "to", "utc_offset_minutes"}); !st) {
      return std::unexpected(st.error());
    }
    auto offset = utc_offset(req);
    if (!offset) return std::unexpected(offset.error());
    auto range = date_range(req, s.clock, *offset);
    if (!range) return std::unexpected(range.error());
    const auto t = detail::tenant_of(req.caller_bid());
    auto o = read_repos_of(s).analytics.overview(t, range->from, range->to, *offset);
    if (!o) return std::unexpected(o.error());
    Json days = Json::array();
    for (const auto& r : o->by_day) {
      days.push_back({{"day", r.day},
                      {"calls", r.calls},
                      {"avg_customer_sentiment", detail::opt(r.avg_customer_sentiment)},
                      {"avg_qa_score", detail::opt(r.avg_qa_score)},
                      {"avg_agent_talk_ratio", detail::opt(r.avg_agent_talk_ratio)}});
    }
    Json hours = Json::array();
    for (const auto& r : o->by_hour) hours.push_back({{"hour", r.hour}, {"calls", r.calls}});
    Json issues = Json::array();
    for (const auto& r : o->by_issue) issues.push_back({{"issue_category", r.key}, {"calls", r.calls}});
    Json categories = Json::array();
    for (const auto& r : o->by_category) categories.push_back({{"category", r.key}, {"calls", r.calls}});
    const auto calls = o->calls;
    const auto escalated = o->escalated_calls;
    return Reply::ok(Json{
        {"from", detail::iso(range->from)},
        {"to", detail::iso(range->to)},
        {"utc_offset_minutes", *offset},
        {"calls", calls},
        {"volume_by_day", days},
        {"volume_by_hour", hours},
        {"sentiment_distribution",
         {{"negative", o->negative}, {"neutral", o->neutral}, {"positive", o->positive}, {"unscored", o->unscored}}},
        {"categories", categories},
        {"issue_categories", issues},
        {"escalated_calls", escalated},
        {"escalation_rate", calls > 0 ? Json(double(escalated) / double(calls)) : Json(nullptr)},
        {"averages",
         {{"agent_talk_ratio", detail::opt(o->avg_talk_ratio)},
          {"customer_sentiment", detail::opt(o->avg_sentiment)},
          {"qa_score", detail::opt(o->avg_qa_score)},
          {"duration_ms", detail::opt(o->avg_duration_ms)}}},
        {"benchmarks", benchmarks()}});
  });

  router.add("GET", "/api/v1/analytics/regions", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"from", "to", "group", "format"}); !st) return std::unexpected(st.error());
    auto range = date_range(req, s.clock);
    if (!range) return std::unexpected(range.error());
    const auto group = req.query_param("group").value_or("city");
    storage::RegionGroup by = storage::RegionGroup::kCity;
    if (group == "state") {
      by = storage::RegionGroup::kState;
    } else if (group != "city") {
      return invalid("group must be city|state");
    }
    const auto t = detail::tenant_of(req.caller_bid());
    auto rows = read_repos_of(s).analytics.regions(t, by, range->from, range->to);
    if (!rows) return std::unexpected(rows.error());
    Json items = Json::array();
    for (const auto& r : *rows) {
      items.push_back(Json{{"region", r.region},
                           {"calls", r.calls},
                           {"avg_sentiment", detail::opt(r.avg_sentiment)},
                           {"avg_talk_ratio", detail::opt(r.avg_talk_ratio)},
                           {"qa_score", detail::opt(r.qa_score)},
                           {"escalated_calls", r.escalated_calls}});
    }
    return detail::list_reply(req, items,
                              {"region", "calls", "avg_sentiment", "avg_talk_ratio", "qa_score", "escalated_calls"},
                              "regions-by-" + group, Json{{"group", group}});
  });
}

}  // namespace earshot::api
