#pragma once
// Coaching from similar calls (GET /api/v1/calls/{id}/recommendations): which similar calls
// another agent handled better, and nudges from the concrete differences between this call
// and each such example. Metrics as the metrics definitions name them (docs/rag.md,
// "Recommendations"): agent talk ratio, patience, question rate, longest monologue, the rule
// categories matched and the QA scorecard answers.
//
// Everything here is pure (no I/O) and thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace earshot::rag {

// What coaching compares of one call (from the call record, its metrics, its latest builtin
// analyses and its category matches).
struct CallProfile {
  std::int64_t call_id = 0;
  std::optional<std::int64_t> human_agent_id;
  std::optional<double> qa_score;  // 0..1
  std::string outcome;             // builtin.summary's outcome ("resolved", ..., "unknown")
  std::optional<double> agent_talk_ratio;
  std::optional<double> patience_ms;
  std::optional<double> question_rate_per_hour;
  std::optional<std::int64_t> longest_monologue_ms;
  std::set<std::string> categories;               // names of the rule categories matched
  std::map<std::string, std::string> qa_answers;  // "scorecard/question" -> yes | no | n/a
};

// Outcomes ranked: resolved, refunded, replacement and retained 2; callback_scheduled 1;
// unresolved, escalated and cancelled 0; unknown (or anything else): none.
[[nodiscard]] std::optional<int> outcome_rank(std::string_view outcome);

// True when `example` was handled better than `call` by another agent: a different (known)
// human agent, and a QA score higher by at least 0.05, or an outcome ranked higher (when
// both are ranked) and a QA score not lower.
[[nodiscard]] bool handled_better(const CallProfile& call, const CallProfile& example);

using NudgeValue = std::variant<double, bool, std::string>;

struct Nudge {
  std::string metric;        // agent_talk_ratio | patience_ms | question_rate_per_hour |
                             // longest_monologue_ms | category | qa_answer
  std::string name;          // the category or "scorecard/question" (empty for the metrics)
  NudgeValue value;          // this call's
  NudgeValue example_value;  // the example's
  std::int64_t example_call_id = 0;
  std::string advice;  // one sentence a coach would say
  friend bool operator==(const Nudge&, const Nudge&) = default;
};

// Thresholds below which a difference is not worth a nudge.
struct NudgeThresholds {
  double talk_ratio = 0.10;            // absolute difference of the agent's talk ratio
  double patience_ms = 300;            // the example waited this much longer
  double question_rate = 10;           // questions per hour more in the example, and 25 % more
  std::int64_t monologue_ms = 15'000;  // this call's longest monologue longer by this, and 50 %
};

// Nudges from the differences between `call` and `example` (in the order of the fields
// above; categories and QA answers sorted by name). Only differences in the example's favour:
// talk ratio either way (closer to the example's), longer patience, more questions, shorter
// monologues, categories the example matched and this call did not (and the reverse), QA
// questions the example answered yes and this call no. Nothing is said about a metric
// either call lacks.
[[nodiscard]] std::vector<Nudge> coaching_nudges(const CallProfile& call, const CallProfile& example,
                                                 const NudgeThresholds& thresholds = {});

}  // namespace earshot::rag
