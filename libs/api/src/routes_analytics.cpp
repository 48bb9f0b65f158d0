// /api/v1/analytics/...: agent leaderboard and detail, overview, regions; CSV of every list.
// Benchmarks (the shared metrics document): top reps talk about 43% of the time; conversion
// drops when rep talk time exceeds 65%.
#include <algorithm>

#include "earshot/api/gateway.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;
using storage::Value;

namespace {

constexpr double kTopRepTalkRatio = 0.43;
constexpr double kTalkRatioRisk = 0.65;

Json benchmarks() {
  return Json{{"agent_talk_ratio", {{"top_reps", kTopRepTalkRatio}, {"risk_above", kTalkRatioRisk}}}};
}

struct Range {
  storage::Timestamp from, to;
};

// from/to query parameters; default the last 30 days; at most 366 days.
Result<Range> date_range(const Request& req, const Clock& clock) {
  auto from = detail::query_time(req, "from");
  if (!from) return std::unexpected(from.error());
  auto to = detail::query_time(req, "to");
  if (!to) return std::unexpected(to.error());
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
    storage::MySqlHumanAgentRepository agents(s.db);
    auto all = agents.list(detail::tenant_of(req.caller_bid()));
    if (!all) return std::unexpected(all.error());
    std::vector<Json> rows;
    for (const auto& a : *all) {
      if (*team && a.team != **team) continue;
      rows.push_back(agent_row(a));
    }
    // Agents without a value sort last either way; ties by id for a stable order.
    std::stable_sort(rows.begin(), rows.end(), [&](const Json& a, const Json& b) {
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
    if (auto st = detail::only_query(req, {"from", "to"}); !st) return std::unexpected(st.error());
    auto id = req.id_param("id");
    if (!id) return std::unexpected(id.error());
    auto range = date_range(req, s.clock);
    if (!range) return std::unexpected(range.error());
    const auto t = detail::tenant_of(req.caller_bid());
    storage::MySqlHumanAgentRepository agents(s.db);
    auto a = agents.get(t, *id);
    if (!a) return std::unexpected(a.error());
    auto daily = s.db.execute(
        "SELECT DATE_FORMAT(started_at, '%Y-%m-%d'), COUNT(*), AVG(customer_sentiment), AVG(agent_talk_ratio), "
        "AVG(qa_score) "
        "FROM call_records WHERE bid = ? AND human_agent_id = ? AND started_at >= ? AND started_at < ? "
        "GROUP BY DATE_FORMAT(started_at, '%Y-%m-%d') ORDER BY 1",
        {Value(t.bid()), Value(*id), Value(range->from), Value(range->to)});
    if (!daily) return std::unexpected(daily.error());
    Json series = Json::array();
    for (const auto& row : daily->rows) {
      series.push_back(Json{{"day", row[0].as_string().substr(0, 10)},
                            {"calls", row[1].as_int()},
                            {"avg_sentiment", detail::opt(row[2].opt_double())},
                            {"avg_talk_ratio", detail::opt(row[3].opt_double())},
                            {"qa_score", detail::opt(row[4].opt_double())}});
    }
    Json j = agent_row(*a);
    j["trend"] = detail::parsed(a->trend_json);
    j["daily"] = series;
    j["benchmarks"] = benchmarks();
    return Reply::ok(j);
  });

  router.add("GET", "/api/v1/analytics/overview", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"from", "to"}); !st) return std::unexpected(st.error());
    auto range = date_range(req, s.clock);
    if (!range) return std::unexpected(range.error());
    const auto t = detail::tenant_of(req.caller_bid());
    const Value args[] = {Value(t.bid()), Value(range->from), Value(range->to)};
    constexpr std::string_view where = " FROM call_records WHERE bid = ? AND started_at >= ? AND started_at < ? ";
    auto q = [&](const std::string& select, const std::string& tail) {
      return s.db.execute(select + std::string(where) + tail, args);
    };
    auto totals =
        q("SELECT COUNT(*), AVG(agent_talk_ratio), AVG(customer_sentiment), AVG(qa_score), AVG(duration_ms), "
          "SUM(customer_sentiment < -0.05), SUM(customer_sentiment BETWEEN -0.05 AND 0.05), "
          "SUM(customer_sentiment > 0.05), SUM(customer_sentiment IS NULL)",
          "");
    if (!totals) return std::unexpected(totals.error());
    auto by_day = q("SELECT DATE_FORMAT(started_at, '%Y-%m-%d'), COUNT(*)", "GROUP BY 1 ORDER BY 1");
    if (!by_day) return std::unexpected(by_day.error());
    auto by_hour = q("SELECT HOUR(started_at), COUNT(*)", "GROUP BY 1 ORDER BY 1");
    if (!by_hour) return std::unexpected(by_hour.error());
    auto by_issue =
        q("SELECT issue_category, COUNT(*)", "AND issue_category <> '' GROUP BY 1 ORDER BY 2 DESC LIMIT 50");
    if (!by_issue) return std::unexpected(by_issue.error());
    auto cats = s.db.execute(
        "SELECT k.name, COUNT(*) FROM call_category_matches m JOIN call_records c ON c.bid = m.bid AND c.id = "
        "m.call_id "
        "JOIN categories k ON k.bid = m.bid AND k.id = m.category_id "
        "WHERE m.bid = ? AND c.started_at >= ? AND c.started_at < ? GROUP BY k.name ORDER BY 2 DESC LIMIT 50",
        args);
    if (!cats) return std::unexpected(cats.error());
    auto esc = s.db.execute(
        "SELECT COUNT(DISTINCT e.call_id) FROM escalations e JOIN call_records c ON c.bid = e.bid AND c.id = e.call_id "
        "WHERE e.bid = ? AND c.started_at >= ? AND c.started_at < ?",
        args);
    if (!esc) return std::unexpected(esc.error());
    const auto& tr = totals->rows[0];
    const auto calls = tr[0].as_int();
    Json days = Json::array();
    for (const auto& r : by_day->rows)
      days.push_back({{"day", r[0].as_string().substr(0, 10)}, {"calls", r[1].as_int()}});
    Json hours = Json::array();
    for (const auto& r : by_hour->rows) hours.push_back({{"hour", r[0].as_int()}, {"calls", r[1].as_int()}});
    Json issues = Json::array();
    for (const auto& r : by_issue->rows)
      issues.push_back({{"issue_category", r[0].as_string()}, {"calls", r[1].as_int()}});
    Json categories = Json::array();
    for (const auto& r : cats->rows) categories.push_back({{"category", r[0].as_string()}, {"calls", r[1].as_int()}});
    const auto escalated = esc->rows[0][0].as_int();
    return Reply::ok(Json{{"from", detail::iso(range->from)},
                          {"to", detail::iso(range->to)},
                          {"calls", calls},
                          {"volume_by_day", days},
                          {"volume_by_hour", hours},
                          {"sentiment_distribution",
                           {{"negative", tr[5].as_int()},
                            {"neutral", tr[6].as_int()},
                            {"positive", tr[7].as_int()},
                            {"unscored", tr[8].as_int()}}},
                          {"categories", categories},
                          {"issue_categories", issues},
                          {"escalated_calls", escalated},
                          {"escalation_rate", calls > 0 ? Json(double(escalated) / double(calls)) : Json(nullptr)},
                          {"averages",
                           {{"agent_talk_ratio", detail::opt(tr[1].opt_double())},
                            {"customer_sentiment", detail::opt(tr[2].opt_double())},
                            {"qa_score", detail::opt(tr[3].opt_double())},
                            {"duration_ms", detail::opt(tr[4].opt_double())}}},
                          {"benchmarks", benchmarks()}});
  });

  router.add("GET", "/api/v1/analytics/regions", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"from", "to", "group", "format"}); !st) return std::unexpected(st.error());
    auto range = date_range(req, s.clock);
    if (!range) return std::unexpected(range.error());
    const auto group = req.query_param("group").value_or("city");
    std::string key;
    if (group == "city") {
      key = "city";
    } else if (group == "state") {
      key = "COALESCE(JSON_UNQUOTE(JSON_EXTRACT(metadata, '$.state')), '')";
    } else {
      return invalid("group must be city|state");
    }
    const auto t = detail::tenant_of(req.caller_bid());
    auto rows = s.db.execute(
        "SELECT " + key +
            " AS region, COUNT(*), AVG(customer_sentiment), AVG(agent_talk_ratio), AVG(qa_score), "
            "SUM(EXISTS(SELECT 1 FROM escalations e WHERE e.bid = call_records.bid AND e.call_id = call_records.id)) "
            "FROM call_records WHERE bid = ? AND started_at >= ? AND started_at < ? GROUP BY region ORDER BY 2 DESC",
        {Value(t.bid()), Value(range->from), Value(range->to)});
    if (!rows) return std::unexpected(rows.error());
    Json items = Json::array();
    for (const auto& r : rows->rows) {
      items.push_back(Json{{"region", r[0].as_string()},
                           {"calls", r[1].as_int()},
                           {"avg_sentiment", detail::opt(r[2].opt_double())},
                           {"avg_talk_ratio", detail::opt(r[3].opt_double())},
                           {"qa_score", detail::opt(r[4].opt_double())},
                           {"escalated_calls", r[5].as_int()}});
    }
    return detail::list_reply(req, items,
                              {"region", "calls", "avg_sentiment", "avg_talk_ratio", "qa_score", "escalated_calls"},
                              "regions-by-" + group, Json{{"group", group}});
  });
}

}  // namespace earshot::api
