#pragma once
// The analytics read models (/api/v1/analytics/...): aggregates over a business's calls
// started in [from, to). Errors as in repository_common.hpp; every query is scoped by bid.
// Days and hours are local to `utc_offset_minutes` (local time = UTC + offset, -840..840;
// kInvalidArgument outside): a call started 23:30 UTC is on the next day at +60.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

// One day of an agent's calls.
struct AgentDay {
  std::string day;  // YYYY-MM-DD
  std::int64_t calls = 0;
  std::optional<double> avg_sentiment;   // customer sentiment
  std::optional<double> avg_talk_ratio;  // agent talk ratio
  std::optional<double> qa_score;
};

// A count of calls by a key (a day, an issue category, a category name).
struct CallCount {
  std::string key;
  std::int64_t calls = 0;
};

// One day of calls with the day's averages (each none when no call that day has one).
struct DayStats {
  std::string day;  // YYYY-MM-DD
  std::int64_t calls = 0;
  std::optional<double> avg_customer_sentiment;
  std::optional<double> avg_qa_score;
  std::optional<double> avg_agent_talk_ratio;
};

struct HourCount {
  std::int64_t hour = 0;  // 0..23
  std::int64_t calls = 0;
};

struct AnalyticsOverview {
  std::int64_t calls = 0;
  std::optional<double> avg_talk_ratio;
  std::optional<double> avg_sentiment;
  std::optional<double> avg_qa_score;
  std::optional<double> avg_duration_ms;
  // Customer sentiment below -0.05, within [-0.05, 0.05], above 0.05, and not scored.
  std::int64_t negative = 0;
  std::int64_t neutral = 0;
  std::int64_t positive = 0;
  std::int64_t unscored = 0;
  std::vector<DayStats> by_day;        // by day
  std::vector<HourCount> by_hour;      // hour of the day, by hour
  std::vector<CallCount> by_issue;     // non-empty issue categories, most calls first, at most 50
  std::vector<CallCount> by_category;  // matched categories by name, most calls first, at most 50
  std::int64_t escalated_calls = 0;    // calls with at least one escalation
};

enum class RegionGroup { kCity, kState };  // state: metadata's "state", '' when absent

struct RegionStats {
  std::string region;
  std::int64_t calls = 0;
  std::optional<double> avg_sentiment;
  std::optional<double> avg_talk_ratio;
  std::optional<double> qa_score;
  std::int64_t escalated_calls = 0;
};

inline constexpr int kMaxUtcOffsetMinutes = 840;  // UTC+14 (and -14 h, with room)

class AnalyticsRepository {
 public:
  virtual ~AnalyticsRepository() = default;
  // The agent's calls by day, oldest first (no row for a day without calls).
  [[nodiscard]] virtual Result<std::vector<AgentDay>> agent_days(const TenantId& t, Id human_agent_id, Timestamp from,
                                                                 Timestamp to, int utc_offset_minutes) = 0;
  [[nodiscard]] virtual Result<AnalyticsOverview> overview(const TenantId& t, Timestamp from, Timestamp to,
                                                           int utc_offset_minutes) = 0;
  // Calls by region, most calls first.
  [[nodiscard]] virtual Result<std::vector<RegionStats>> regions(const TenantId& t, RegionGroup group, Timestamp from,
                                                                 Timestamp to) = 0;
};

}  // namespace earshot::storage
