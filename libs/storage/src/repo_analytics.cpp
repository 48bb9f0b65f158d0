// Read models over a business's calls: analytics aggregates and the pipeline status.
#include <string>

#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

namespace {

std::string day_of(const Value& v) {
  return v.as_string().substr(0, 10);
}

Status check_offset(int utc_offset_minutes) {
  if (utc_offset_minutes < -kMaxUtcOffsetMinutes || utc_offset_minutes > kMaxUtcOffsetMinutes) {
    return make_error(ErrorCode::kInvalidArgument, "utc_offset_minutes must be -840..840");
  }
  return {};
}

std::vector<CallCount> counts(const ExecResult& r) {
  std::vector<CallCount> out;
  out.reserve(r.rows.size());
  for (const auto& row : r.rows) out.push_back(CallCount{row[0].as_string(), row[1].as_int()});
  return out;
}

}  // namespace

Result<std::vector<AgentDay>> MySqlAnalyticsRepository::agent_days(const TenantId& t, Id human_agent_id, Timestamp from,
                                                                   Timestamp to, int utc_offset_minutes) {
  if (auto st = check_offset(utc_offset_minutes); !st) return std::unexpected(st.error());
  auto daily = db_.execute(
      "SELECT DATE_FORMAT(started_at + INTERVAL ? MINUTE, '%Y-%m-%d') AS local_day, COUNT(*), "
      "AVG(customer_sentiment), AVG(agent_talk_ratio), AVG(qa_score) "
      "FROM call_records WHERE bid = ? AND human_agent_id = ? AND started_at >= ? AND started_at < ? "
      "GROUP BY local_day ORDER BY local_day",
      {Value(utc_offset_minutes), Value(t.bid()), Value(human_agent_id), Value(from), Value(to)});
  if (!daily) return std::unexpected(daily.error());
  std::vector<AgentDay> out;
  for (const auto& row : daily->rows) {
    out.push_back(
        AgentDay{day_of(row[0]), row[1].as_int(), row[2].opt_double(), row[3].opt_double(), row[4].opt_double()});
  }
  return out;
}

Result<AnalyticsOverview> MySqlAnalyticsRepository::overview(const TenantId& t, Timestamp from, Timestamp to,
                                                             int utc_offset_minutes) {
  if (auto st = check_offset(utc_offset_minutes); !st) return std::unexpected(st.error());
  const Value args[] = {Value(t.bid()), Value(from), Value(to)};
  // The same with the offset first (for the local day or hour in the SELECT).
  const Value local_args[] = {Value(utc_offset_minutes), Value(t.bid()), Value(from), Value(to)};
  constexpr std::string_view where = " FROM call_records WHERE bid = ? AND started_at >= ? AND started_at < ? ";
  auto q = [&](const std::string& select, const std::string& tail) {
    return db_.execute(select + std::string(where) + tail, args);
  };
  auto totals =
      q("SELECT COUNT(*), AVG(agent_talk_ratio), AVG(customer_sentiment), AVG(qa_score), AVG(duration_ms), "
        "SUM(customer_sentiment < -0.05), SUM(customer_sentiment BETWEEN -0.05 AND 0.05), "
        "SUM(customer_sentiment > 0.05), SUM(customer_sentiment IS NULL)",
        "");
  if (!totals) return std::unexpected(totals.error());
  auto local = [&](const std::string& select, const std::string& tail) {
    return db_.execute(select + std::string(where) + tail, local_args);
  };
  auto by_day = local(
      "SELECT DATE_FORMAT(started_at + INTERVAL ? MINUTE, '%Y-%m-%d') AS local_day, COUNT(*), "
      "AVG(customer_sentiment), AVG(qa_score), AVG(agent_talk_ratio)",
      "GROUP BY local_day ORDER BY local_day");
  if (!by_day) return std::unexpected(by_day.error());
  auto by_hour =
      local("SELECT HOUR(started_at + INTERVAL ? MINUTE) AS local_hour, COUNT(*)", "GROUP BY local_hour ORDER BY 1");
  if (!by_hour) return std::unexpected(by_hour.error());
  auto by_issue = q("SELECT issue_category, COUNT(*)", "AND issue_category <> '' GROUP BY 1 ORDER BY 2 DESC LIMIT 50");
  if (!by_issue) return std::unexpected(by_issue.error());
  auto cats = db_.execute(
      "SELECT k.name, COUNT(*) FROM call_category_matches m JOIN call_records c ON c.bid = m.bid AND c.id = "
      "m.call_id "
      "JOIN categories k ON k.bid = m.bid AND k.id = m.category_id "
      "WHERE m.bid = ? AND c.started_at >= ? AND c.started_at < ? GROUP BY k.name ORDER BY 2 DESC LIMIT 50",
      args);
  if (!cats) return std::unexpected(cats.error());
  auto esc = db_.execute(
      "SELECT COUNT(DISTINCT e.call_id) FROM escalations e JOIN call_records c ON c.bid = e.bid AND c.id = e.call_id "
      "WHERE e.bid = ? AND c.started_at >= ? AND c.started_at < ?",
      args);
  if (!esc) return std::unexpected(esc.error());
  const auto& tr = totals->rows[0];
  AnalyticsOverview o;
  o.calls = tr[0].as_int();
  o.avg_talk_ratio = tr[1].opt_double();
  o.avg_sentiment = tr[2].opt_double();
  o.avg_qa_score = tr[3].opt_double();
  o.avg_duration_ms = tr[4].opt_double();
  o.negative = tr[5].as_int();
  o.neutral = tr[6].as_int();
  o.positive = tr[7].as_int();
  o.unscored = tr[8].as_int();
  for (const auto& row : by_day->rows) {
    o.by_day.push_back(
        DayStats{day_of(row[0]), row[1].as_int(), row[2].opt_double(), row[3].opt_double(), row[4].opt_double()});
  }
  for (const auto& row : by_hour->rows) o.by_hour.push_back(HourCount{row[0].as_int(), row[1].as_int()});
  o.by_issue = counts(*by_issue);
  o.by_category = counts(*cats);
  o.escalated_calls = esc->rows[0][0].as_int();
  return o;
}

Result<std::vector<RegionStats>> MySqlAnalyticsRepository::regions(const TenantId& t, RegionGroup group, Timestamp from,
                                                                   Timestamp to) {
  const std::string key =
      group == RegionGroup::kCity ? "city" : "COALESCE(JSON_UNQUOTE(JSON_EXTRACT(metadata, '$.state')), '')";
  auto rows = db_.execute(
      "SELECT " + key +
          " AS region, COUNT(*), AVG(customer_sentiment), AVG(agent_talk_ratio), AVG(qa_score), "
          "SUM(EXISTS(SELECT 1 FROM escalations e WHERE e.bid = call_records.bid AND e.call_id = call_records.id)) "
          "FROM call_records WHERE bid = ? AND started_at >= ? AND started_at < ? GROUP BY region ORDER BY 2 DESC",
      {Value(t.bid()), Value(from), Value(to)});
  if (!rows) return std::unexpected(rows.error());
  std::vector<RegionStats> out;
  for (const auto& r : rows->rows) {
    out.push_back(RegionStats{r[0].as_string(), r[1].as_int(), r[2].opt_double(), r[3].opt_double(), r[4].opt_double(),
                              r[5].as_int()});
  }
  return out;
}

Result<std::vector<WatermarkState>> MySqlPipelineStatusRepository::watermarks(const TenantId& t) {
  auto r = db_.execute("SELECT source, position, updated_at FROM sync_watermarks WHERE bid = ? ORDER BY source",
                       {Value(t.bid())});
  if (!r) return std::unexpected(r.error());
  std::vector<WatermarkState> out;
  for (const auto& row : r->rows)
    out.push_back(WatermarkState{row[0].as_string(), row[1].as_string(), row[2].as_time()});
  return out;
}

Result<std::vector<FailedCall>> MySqlPipelineStatusRepository::recent_failures(const TenantId& t, int limit) {
  auto r = db_.execute(
      "SELECT id, external_id, failed_stage, failed_reason, attempts, status_changed_at FROM call_records "
      "WHERE bid = ? AND status = 'failed' ORDER BY status_changed_at DESC, id DESC LIMIT ?",
      {Value(t.bid()), Value(limit)});
  if (!r) return std::unexpected(r.error());
  std::vector<FailedCall> out;
  for (const auto& row : r->rows) {
    out.push_back(FailedCall{row[0].as_int(), row[1].as_string(), row[2].as_string(), row[3].as_string(),
                             row[4].as_int(), row[5].as_time()});
  }
  return out;
}

}  // namespace earshot::storage
