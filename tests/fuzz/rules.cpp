// Category rules and QA scorecards as the admin API stores them, then applied to a fixed
// call, with the rest of the input as the output of an LLM agent a scorecard question reads.
// Input: "<rules or scorecard JSON>\n<agent output JSON>".
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "earshot/analytics/categories.hpp"

namespace a = earshot::analytics;

namespace {

a::CallFacts facts() {
  a::CallFacts f;
  f.duration_ms = 60'000;
  f.segments = {{.role = a::Role::kAgent, .start_ms = 0, .end_ms = 4'000, .text = "Hello, thanks for calling."},
                {.role = a::Role::kCustomer, .start_ms = 4'500, .end_ms = 12'000, .text = "I want a refund please"},
                {.role = a::Role::kAgent, .start_ms = 11'000, .end_ms = 30'000, .text = "Refunds are processed"}};
  f.segment_sentiment = {0.5, -0.6, 0.1};
  f.silences = {{30'000, 42'000}};
  f.agent_interruption_ms = 1'000;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string rules(input.substr(0, nl));
  const std::string output(nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1));
  static const a::CallFacts call = facts();

  if (auto category = a::parse_category("fuzz", rules)) {
    if (auto match = a::match_category(*category, call)) {
      for (const auto& span : match->spans) {
        if (span.end_ms < span.start_ms) __builtin_trap();
      }
    }
  }
  if (auto card = a::parse_scorecard("fuzz", rules)) {
    const std::map<std::string, double> metrics{{"agent_talk_ratio", 0.55}, {"silence_ratio", 0.2}};
    std::map<std::string, std::string> outputs;
    for (const auto& q : card->questions) {
      if (q.kind == a::QaQuestion::Kind::kAgent) outputs[q.agent] = output;
    }
    const auto result = a::score_call(*card, call, metrics, outputs);
    if (result.score && !(*result.score >= 0.0 && *result.score <= 1.0)) __builtin_trap();
    for (const auto& answer : result.answers) (void)a::answer_name(answer.answer);
  }
  return 0;
}
