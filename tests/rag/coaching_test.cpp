// Coaching: which similar call was handled better, and the nudges from concrete differences.
#include "earshot/rag/coaching.hpp"

#include <gtest/gtest.h>

namespace earshot::rag {
namespace {

CallProfile call(std::int64_t id, std::optional<std::int64_t> agent, std::optional<double> qa, std::string outcome) {
  CallProfile p;
  p.call_id = id;
  p.human_agent_id = agent;
  p.qa_score = qa;
  p.outcome = std::move(outcome);
  return p;
}

TEST(Coaching, OutcomesAreRanked) {
  EXPECT_EQ(outcome_rank("resolved"), 2);
  EXPECT_EQ(outcome_rank("refunded"), 2);
  EXPECT_EQ(outcome_rank("callback_scheduled"), 1);
  EXPECT_EQ(outcome_rank("escalated"), 0);
  EXPECT_EQ(outcome_rank("unknown"), std::nullopt);
}

TEST(Coaching, HandledBetterNeedsAnotherAgentAndAHigherScoreOrBetterOutcome) {
  const auto me = call(1, 10, 0.5, "unresolved");
  EXPECT_TRUE(handled_better(me, call(2, 11, 0.8, "unknown")));      // higher QA score
  EXPECT_FALSE(handled_better(me, call(2, 10, 0.9, "resolved")));    // same agent
  EXPECT_FALSE(handled_better(me, call(2, std::nullopt, 0.9, "")));  // unknown agent
  EXPECT_FALSE(handled_better(me, call(2, 11, 0.52, "unknown")));    // within 0.05
  EXPECT_TRUE(handled_better(me, call(2, 11, 0.5, "resolved")));     // better outcome, same score
  EXPECT_TRUE(handled_better(me, call(2, 11, std::nullopt, "callback_scheduled")));
  EXPECT_FALSE(handled_better(me, call(2, 11, 0.3, "resolved")));   // better outcome, lower score
  EXPECT_FALSE(handled_better(me, call(2, 11, 0.5, "escalated")));  // same rank
  EXPECT_FALSE(handled_better(call(1, 10, std::nullopt, "unknown"), call(2, 11, std::nullopt, "resolved")));
  // A call without an agent may learn from any agent's call.
  EXPECT_TRUE(handled_better(call(1, std::nullopt, 0.2, "unknown"), call(2, 11, 0.9, "unknown")));
}

TEST(Coaching, NudgesNameTheMetricBothValuesAndTheExample) {
  auto me = call(1, 10, 0.4, "unresolved");
  me.agent_talk_ratio = 0.72;
  me.patience_ms = 150;
  me.question_rate_per_hour = 20;
  me.longest_monologue_ms = 60'000;
  me.categories = {"escalation", "greeting"};
  me.qa_answers = {{"Standard/greet", "yes"}, {"Standard/verify", "no"}, {"Standard/close", "no"}};
  auto ex = call(42, 11, 0.9, "resolved");
  ex.agent_talk_ratio = 0.45;
  ex.patience_ms = 900;
  ex.question_rate_per_hour = 45;
  ex.longest_monologue_ms = 20'000;
  ex.categories = {"greeting", "empathy"};
  ex.qa_answers = {{"Standard/greet", "yes"}, {"Standard/verify", "yes"}, {"Standard/close", "n/a"}};
  const auto n = coaching_nudges(me, ex);
  ASSERT_EQ(n.size(), 7U);
  EXPECT_EQ(n[0].metric, "agent_talk_ratio");
  EXPECT_EQ(std::get<double>(n[0].value), 0.72);
  EXPECT_EQ(std::get<double>(n[0].example_value), 0.45);
  EXPECT_NE(n[0].advice.find("let the customer speak more"), std::string::npos) << n[0].advice;
  EXPECT_NE(n[0].advice.find("72%"), std::string::npos) << n[0].advice;
  EXPECT_EQ(n[1].metric, "patience_ms");
  EXPECT_EQ(std::get<double>(n[1].value), 150);
  EXPECT_EQ(std::get<double>(n[1].example_value), 900);
  EXPECT_EQ(n[2].metric, "question_rate_per_hour");
  EXPECT_EQ(n[3].metric, "longest_monologue_ms");
  EXPECT_EQ(std::get<double>(n[3].value), 60'000);
  EXPECT_EQ(std::get<double>(n[3].example_value), 20'000);
  EXPECT_EQ(n[4].metric, "category");
  EXPECT_EQ(n[4].name, "empathy");
  EXPECT_EQ(std::get<bool>(n[4].value), false);
  EXPECT_EQ(std::get<bool>(n[4].example_value), true);
  EXPECT_EQ(n[5].name, "escalation");
  EXPECT_EQ(std::get<bool>(n[5].value), true);
  EXPECT_EQ(n[6].metric, "qa_answer");
  EXPECT_EQ(n[6].name, "Standard/verify");
  EXPECT_EQ(std::get<std::string>(n[6].value), "no");
  EXPECT_EQ(std::get<std::string>(n[6].example_value), "yes");
  for (const auto& x : n) {
    EXPECT_EQ(x.example_call_id, 42);
    EXPECT_NE(x.advice.find("42"), std::string::npos) << x.advice;
  }
}

TEST(Coaching, SmallOrUnfavourableDifferencesAndMissingMetricsSayNothing) {
  auto me = call(1, 10, 0.4, "unresolved");
  me.agent_talk_ratio = 0.50;
  me.patience_ms = 900;              // more patient than the example
  me.question_rate_per_hour = 40;    // asks more
  me.longest_monologue_ms = 20'000;  // shorter
  auto ex = call(2, 11, 0.9, "resolved");
  ex.agent_talk_ratio = 0.55;  // within 0.10
  ex.patience_ms = 300;
  ex.question_rate_per_hour = 45;  // +5 per hour only
  ex.longest_monologue_ms = 30'000;
  EXPECT_TRUE(coaching_nudges(me, ex).empty());
  CallProfile bare = call(3, 12, 0.9, "resolved");  // no metrics measured
  EXPECT_TRUE(coaching_nudges(me, bare).empty());
}

}  // namespace
}  // namespace earshot::rag
