#include "earshot/rag/coaching.hpp"

#include <fmt/format.h>

#include <cmath>

namespace earshot::rag {

std::optional<int> outcome_rank(std::string_view outcome) {
  if (outcome == "resolved" || outcome == "refunded" || outcome == "replacement" || outcome == "retained") return 2;
  if (outcome == "callback_scheduled") return 1;
  if (outcome == "unresolved" || outcome == "escalated" || outcome == "cancelled") return 0;
  return std::nullopt;
}

bool handled_better(const CallProfile& call, const CallProfile& example) {
  if (!example.human_agent_id || example.human_agent_id == call.human_agent_id) return false;
  if (call.qa_score && example.qa_score && *example.qa_score >= *call.qa_score + 0.05) return true;
  const auto mine = outcome_rank(call.outcome);
  const auto theirs = outcome_rank(example.outcome);
  if (!mine || !theirs || *theirs <= *mine) return false;
  return !(call.qa_score && example.qa_score && *example.qa_score < *call.qa_score);
}

namespace {

std::string pct(double ratio) {
  return fmt::format("{:.0f}%", ratio * 100);
}

}  // namespace

std::vector<Nudge> coaching_nudges(const CallProfile& call, const CallProfile& example,
                                   const NudgeThresholds& thresholds) {
  std::vector<Nudge> out;
  const auto id = example.call_id;
  if (call.agent_talk_ratio && example.agent_talk_ratio &&
      std::abs(*call.agent_talk_ratio - *example.agent_talk_ratio) >= thresholds.talk_ratio) {
    const bool more = *call.agent_talk_ratio > *example.agent_talk_ratio;
    out.push_back({"agent_talk_ratio", "", *call.agent_talk_ratio, *example.agent_talk_ratio, id,
                   fmt::format("The agent talked {} of the time here against {} in call {}: {}",
                               pct(*call.agent_talk_ratio), pct(*example.agent_talk_ratio), id,
                               more ? "let the customer speak more." : "take more of the conversation.")});
  }
  if (call.patience_ms && example.patience_ms && *example.patience_ms - *call.patience_ms >= thresholds.patience_ms) {
    out.push_back({"patience_ms", "", *call.patience_ms, *example.patience_ms, id,
                   fmt::format("Wait longer before answering: {:.0f} ms after the customer stops here, {:.0f} ms in "
                               "call {}.",
                               *call.patience_ms, *example.patience_ms, id)});
  }
  if (call.question_rate_per_hour && example.question_rate_per_hour &&
      *example.question_rate_per_hour - *call.question_rate_per_hour >= thresholds.question_rate &&
      *example.question_rate_per_hour >= *call.question_rate_per_hour * 1.25) {
    out.push_back({"question_rate_per_hour", "", *call.question_rate_per_hour, *example.question_rate_per_hour, id,
                   fmt::format("Ask more questions: {:.0f} per hour of talk here, {:.0f} in call {}.",
                               *call.question_rate_per_hour, *example.question_rate_per_hour, id)});
  }
  if (call.longest_monologue_ms && example.longest_monologue_ms &&
      *call.longest_monologue_ms - *example.longest_monologue_ms >= thresholds.monologue_ms &&
      static_cast<double>(*call.longest_monologue_ms) >= static_cast<double>(*example.longest_monologue_ms) * 1.5) {
    out.push_back({"longest_monologue_ms", "", static_cast<double>(*call.longest_monologue_ms),
                   static_cast<double>(*example.longest_monologue_ms), id,
                   fmt::format("Break up long explanations: the longest one lasted {:.0f} s here, {:.0f} s in call {}.",
                               static_cast<double>(*call.longest_monologue_ms) / 1000.0,
                               static_cast<double>(*example.longest_monologue_ms) / 1000.0, id)});
  }
  std::set<std::string> names = call.categories;
  names.insert(example.categories.begin(), example.categories.end());
  for (const auto& n : names) {
    const bool here = call.categories.contains(n);
    const bool there = example.categories.contains(n);
    if (here == there) continue;
    out.push_back({"category", n, here, there, id,
                   there ? fmt::format("Call {} matched '{}' and this call did not.", id, n)
                         : fmt::format("This call matched '{}' and call {} did not.", n, id)});
  }
  for (const auto& [question, answer] : call.qa_answers) {
    auto it = example.qa_answers.find(question);
    if (answer != "no" || it == example.qa_answers.end() || it->second != "yes") continue;
    out.push_back({"qa_answer", question, answer, it->second, id,
                   fmt::format("QA '{}': no here, yes in call {}.", question, id)});
  }
  return out;
}

}  // namespace earshot::rag
