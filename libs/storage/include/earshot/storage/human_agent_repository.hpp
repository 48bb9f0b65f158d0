#pragma once
// The business's human agents (the people on the calls) with their running aggregates.
// Contract (tenant scoping, errors): repository_common.hpp.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

struct HumanAgentInput {
  std::string external_id;
  std::string name;
  std::string team;
  std::string city;
};

struct HumanAgent {
  Id id = 0;
  std::string external_id;
  std::string name;
  std::string team;
  std::string city;
  std::int64_t total_calls = 0;
  double talk_ratio_sum = 0;
  std::int64_t talk_ratio_count = 0;
  double customer_sentiment_sum = 0;
  std::int64_t customer_sentiment_count = 0;
  double qa_score_sum = 0;
  std::int64_t qa_score_count = 0;
  std::int64_t escalations = 0;
  std::string trend_json = "[]";  // newest last, at most kAgentTrendLength entries

  [[nodiscard]] std::optional<double> avg_talk_ratio() const {
    return talk_ratio_count ? std::optional(talk_ratio_sum / double(talk_ratio_count)) : std::nullopt;
  }
  [[nodiscard]] std::optional<double> avg_customer_sentiment() const {
    return customer_sentiment_count ? std::optional(customer_sentiment_sum / double(customer_sentiment_count))
                                    : std::nullopt;
  }
  [[nodiscard]] std::optional<double> avg_qa_score() const {
    return qa_score_count ? std::optional(qa_score_sum / double(qa_score_count)) : std::nullopt;
  }
};

inline constexpr std::size_t kAgentTrendLength = 50;

class HumanAgentRepository {
 public:
  virtual ~HumanAgentRepository() = default;
  // Creates or updates (name/team/city) the agent with this external id; returns its id.
  [[nodiscard]] virtual Result<Id> upsert(const TenantId& t, const HumanAgentInput& in) = 0;
  [[nodiscard]] virtual Result<HumanAgent> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<HumanAgent> find_by_external_id(const TenantId& t, std::string_view external_id) = 0;
  [[nodiscard]] virtual Result<std::vector<HumanAgent>> list(const TenantId& t) = 0;
};

}  // namespace earshot::storage
