#pragma once
// The categories rule engine and QA scorecards, as the shared metrics document defines them.
//
// A category matches when all of its 1-20 rules match. Rules (JSON):
//   {"type":"transcript", "phrases":["refund","money back"], "match":"exact"|"forms",
//    "speaker":"agent"|"customer"|"anyone", "window":W, "negate":false}
//   {"type":"non_talk", "min_ms":5000, "window":W, "negate":false}
//   {"type":"interruption", "speaker":"agent"|"customer"|"anyone", "min_ms":2000, "negate":false}
//   {"type":"sentiment", "speaker":"customer", "value":"positive"|"negative"|"neutral"|"mixed",
//    "window":W, "negate":false}
// W (optional; default the whole call): {"first_ms":N} | {"last_ms":N} |
//   {"start_pct":A, "end_pct":B} (0 <= A < B <= 100).
// "forms" matches word forms (refund, refunds, refunded, refunding). A match records the
// spans that made each rule true (none for negated rules).
//
// A scorecard: {"questions":[{"id","text","weight":>0, "answer":A}]} where A is
//   {"kind":"rule", "rules":[...same rules...]}                      yes when they all match
//   {"kind":"metric", "metric":"agent_talk_ratio", "op":"<=", "value":0.65}   n/a when unknown
//   {"kind":"agent", "agent":"sop", "field":"/greeting_done", "equals":true}  n/a when absent
// score = sum(weight of yes) / sum(weight of answered questions); n/a leaves the potential.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "earshot/analytics/transcript.hpp"
#include "earshot/core/error.hpp"

namespace earshot::analytics {

struct Window {
  enum class Kind { kWhole, kFirst, kLast, kRelative } kind = Kind::kWhole;
  std::int64_t ms = 0;
  double start_pct = 0, end_pct = 100;
  [[nodiscard]] Interval resolve(std::int64_t duration_ms) const;
};

enum class Speaker { kAgent, kCustomer, kAnyone };

struct Rule {
  enum class Type { kTranscript, kNonTalk, kInterruption, kSentiment } type = Type::kTranscript;
  std::vector<std::vector<std::string>> phrases;  // lower-case tokens per phrase
  bool word_forms = false;
  Speaker speaker = Speaker::kAnyone;
  Window window;
  std::int64_t min_ms = 0;
  std::string sentiment;  // positive | negative | neutral | mixed
  bool negate = false;
};

struct Category {
  std::string name;
  std::vector<Rule> rules;
};

// Validates and parses; kInvalidArgument naming the offending field ("rules[2].window").
[[nodiscard]] Result<std::vector<Rule>> parse_rules(const std::string& rules_json);
[[nodiscard]] Result<Category> parse_category(const std::string& name, const std::string& rules_json);

// What the rules look at.
struct CallFacts {
  std::int64_t duration_ms = 0;
  std::vector<TranscriptSegment> segments;
  std::vector<double> segment_sentiment;  // same order as segments (may be empty)
  std::vector<Interval> silences;         // non-talk stretches (any length)
  std::int64_t agent_interruption_ms = 0;
  std::int64_t customer_interruption_ms = 0;
};

struct CategoryMatch {
  std::string name;
  std::vector<Interval> spans;
};

[[nodiscard]] bool rule_matches(const Rule& rule, const CallFacts& facts, std::vector<Interval>* spans);
[[nodiscard]] std::optional<CategoryMatch> match_category(const Category& c, const CallFacts& facts);

// ---- QA scorecards -------------------------------------------------------------------------

enum class Answer { kYes, kNo, kNotApplicable };

struct QaQuestion {
  std::string id;
  std::string text;
  double weight = 1;
  enum class Kind { kRule, kMetric, kAgent } kind = Kind::kRule;
  std::vector<Rule> rules;
  std::string metric;
  std::string op;  // < <= > >= == !=
  double value = 0;
  std::string agent;
  std::string field;  // JSON pointer into the agent's output
  std::string equals_json;
};

struct Scorecard {
  std::string name;
  std::vector<QaQuestion> questions;
};

[[nodiscard]] Result<Scorecard> parse_scorecard(const std::string& name, const std::string& json);

struct QaAnswer {
  std::string id;
  Answer answer = Answer::kNotApplicable;
  double weight = 0;
};

struct QaResult {
  std::optional<double> score;  // none when no question was answered
  std::vector<QaAnswer> answers;
};

// `metrics`: named numeric metrics of the call; `agent_outputs`: agent name -> output JSON.
[[nodiscard]] QaResult score_call(const Scorecard& card, const CallFacts& facts,
                                  const std::map<std::string, double>& metrics,
                                  const std::map<std::string, std::string>& agent_outputs);

[[nodiscard]] std::string_view answer_name(Answer a);

}  // namespace earshot::analytics
