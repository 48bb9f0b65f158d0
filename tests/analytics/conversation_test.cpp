#include "earshot/analytics/conversation.hpp"

#include <gtest/gtest.h>

namespace earshot::analytics {
namespace {

TEST(Conversation, TalkTimesRatiosAndSilences) {
  // agent 0-10 s, customer 14-20 s, agent 20.5-25 s, silence to 30 s.
  auto m = compute_conversation({{0, 10000}, {20500, 25000}}, {{14000, 20000}}, 30000);
  EXPECT_EQ(m.agent.talk_ms, 14500);
  EXPECT_EQ(m.customer.talk_ms, 6000);
  EXPECT_DOUBLE_EQ(m.agent_talk_ratio, 14500.0 / 20500.0);
  EXPECT_DOUBLE_EQ(m.agent_talk_share_of_call, 14500.0 / 30000.0);
  EXPECT_EQ(m.non_talk_ms, 30000 - 20500 + 0);
  ASSERT_EQ(m.silences.size(), 2u);  // 10-14 s and 25-30 s; the 0.5 s gap is not one
  EXPECT_EQ(m.silences[0], (Interval{10000, 14000}));
  EXPECT_EQ(m.silences[1], (Interval{25000, 30000}));
  EXPECT_EQ(m.overtalk_ms, 0);
}

TEST(Conversation, LeadingSilenceCountsAndShortGapsDoNot) {
  auto m = compute_conversation({{3000, 5000}}, {{7999, 9000}}, 9000);
  ASSERT_EQ(m.silences.size(), 1u);
  EXPECT_EQ(m.silences[0], (Interval{0, 3000}));  // exactly 3 s counts; 2.999 s does not
}

TEST(Conversation, InterruptionNeedsTheOtherToContinue500ms) {
  // Customer cuts in at 4 s while agent speaks until 6 s: interruption (agent continues 2 s).
  // Agent cuts in at 11.8 s while customer speaks until 12.2 s: overtalk only (0.4 s left).
  auto m = compute_conversation({{0, 6000}, {11800, 15000}}, {{4000, 8000}, {9000, 12200}}, 15000);
  EXPECT_EQ(m.customer.interruptions, 1);
  EXPECT_EQ(m.customer.interruption_ms, 2000);
  EXPECT_EQ(m.agent.interruptions, 0);
  EXPECT_EQ(m.agent.interruption_ms, 0);
  EXPECT_EQ(m.overtalk_ms, 2000 + 400);
  ASSERT_EQ(m.overtalk.size(), 2u);
  EXPECT_EQ(m.overtalk[1], (Interval{11800, 12200}));
}

TEST(Conversation, InterruptionWhollyInsideTheOthersSpeech) {
  auto m = compute_conversation({{0, 10000}}, {{2000, 3000}}, 10000);
  EXPECT_EQ(m.customer.interruptions, 1);
  EXPECT_EQ(m.customer.interruption_ms, 1000);
}

TEST(Conversation, TurnsMonologuesInteractivityPatience) {
  // agent 0-4, 4.5-9 (gap 0.5 s, same turn), customer 10-12, agent 13.5-15, customer
  // 15.2-20, agent 22-23. Duration 60 s.
  auto m = compute_conversation({{0, 4000}, {4500, 9000}, {13500, 15000}, {22000, 23000}},
                                {{10000, 12000}, {15200, 20000}}, 60000);
  EXPECT_EQ(m.agent.longest_turn_ms, 9000);
  EXPECT_EQ(m.customer.longest_turn_ms, 4800);
  EXPECT_EQ(m.agent.turns, 3);
  EXPECT_EQ(m.customer.turns, 2);
  // A C A C A: 4 switches in one minute.
  EXPECT_DOUBLE_EQ(m.interactivity, 4.0);
  // Customer->agent gaps: 12->13.5 = 1500, 20->22 = 2000.
  EXPECT_EQ(m.patience_samples, 2);
  EXPECT_DOUBLE_EQ(m.patience_ms, 1750.0);
}

TEST(Conversation, CustomerSpeechInTheGapSplitsAgentTurns) {
  auto m = compute_conversation({{0, 3000}, {3600, 6000}}, {{3100, 3400}}, 6000);
  EXPECT_EQ(m.agent.turns, 2);
  EXPECT_EQ(m.agent.longest_turn_ms, 3000);
}

TEST(Conversation, NegativeGapsAreExcludedFromPatience) {
  // The agent starts before the customer finished: an interruption, not patience.
  auto m = compute_conversation({{0, 2000}, {5000, 8000}}, {{2500, 5500}}, 8000);
  EXPECT_EQ(m.patience_samples, 0);
  EXPECT_DOUBLE_EQ(m.patience_ms, 0.0);
}

TEST(Conversation, NobodySpokeIsAValidCall) {
  auto m = compute_conversation({}, {}, 12000);
  EXPECT_EQ(m.agent.talk_ms, 0);
  EXPECT_DOUBLE_EQ(m.agent_talk_ratio, 0.0);
  EXPECT_EQ(m.non_talk_ms, 12000);
  ASSERT_EQ(m.silences.size(), 1u);
  EXPECT_EQ(m.silences[0], (Interval{0, 12000}));
  EXPECT_DOUBLE_EQ(m.interactivity, 0.0);
}

TEST(Conversation, OverlappingAndOutOfRangeIntervalsAreNormalized) {
  auto m = compute_conversation({{5000, 7000}, {1000, 3000}, {2000, 5500}, {9000, 12000}}, {}, 10000);
  EXPECT_EQ(m.agent.talk_ms, 6000 + 1000);  // 1-7 s, then 9-10 s clipped to the duration
}

TEST(Conversation, OverlapInterruptionsListEachEvent) {
  const auto found = overlap_interruptions({{0, 6000}, {11800, 15000}}, {{4000, 8000}, {9000, 12200}});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], (Interruption{Role::kCustomer, 4000, 2000}));
  auto m = compute_conversation({{0, 6000}}, {{4000, 8000}}, 8000);
  EXPECT_FALSE(m.interruptions_inferred);
}

// Diarized mono: one speaker at a time. The agent speaks 0-6 s in one stretch of speech; the
// customer's words 3-3.4 s come between with no pause, and the agent goes on.
TEST(TurnTaking, WordsOverTheOthersSpeechWithoutAPauseInterrupt) {
  const std::vector<Interval> speech = {{0, 6000}};
  const auto found = turn_taking_interruptions({{0, 3000}, {3400, 6000}}, {{3000, 3400}}, speech);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], (Interruption{Role::kCustomer, 3000, 400}));
  auto m = compute_conversation({{0, 3000}, {3400, 6000}}, {{3000, 3400}}, 6000);
  EXPECT_EQ(m.customer.interruptions, 0);  // nothing overlaps
  set_interruptions(m, found, true);
  EXPECT_EQ(m.customer.interruptions, 1);
  EXPECT_EQ(m.customer.interruption_ms, 400);
  EXPECT_EQ(m.agent.interruptions, 0);
  EXPECT_TRUE(m.interruptions_inferred);
}

TEST(TurnTaking, APauseNearTheChangeMeansTheSpeakerWaited) {
  // The mix pauses 2.95-3.0 s (a back-channel in the agent's pause between sentences).
  const std::vector<Interval> paused = {{0, 2950}, {3000, 6000}};
  EXPECT_TRUE(turn_taking_interruptions({{0, 3000}, {3400, 6000}}, {{3000, 3400}}, paused).empty());
  // A pause after the customer's words, before the agent resumes: the same.
  const std::vector<Interval> paused_after = {{0, 3500}, {3550, 6000}};
  EXPECT_TRUE(turn_taking_interruptions({{0, 3000}, {3400, 6000}}, {{3000, 3400}}, paused_after).empty());
  // A gap between the pieces themselves.
  const std::vector<Interval> speech = {{0, 6000}};
  EXPECT_TRUE(turn_taking_interruptions({{0, 3000}, {3500, 6000}}, {{3100, 3400}}, speech).empty());
}

TEST(TurnTaking, TheInterruptedSpeakerMustHaveBeenSpeaking) {
  const std::vector<Interval> speech = {{0, 6000}};
  // The agent had said 300 ms when the customer came in: not cut off mid-turn.
  EXPECT_TRUE(turn_taking_interruptions({{0, 300}, {700, 6000}}, {{300, 700}}, speech).empty());
  TurnTakingOptions loose;
  loose.min_before_ms = 200;
  EXPECT_EQ(turn_taking_interruptions({{0, 300}, {700, 6000}}, {{300, 700}}, speech, loose).size(), 1u);
}

TEST(TurnTaking, TakeoversCountOnlyWhenAskedFor) {
  // The customer takes over at 3 s with no pause and keeps the floor: the overlap, if any,
  // cannot be seen, so by default this is turn-taking, not an interruption.
  const std::vector<Interval> speech = {{0, 6000}};
  EXPECT_TRUE(turn_taking_interruptions({{0, 3000}}, {{3000, 6000}}, speech).empty());
  TurnTakingOptions o;
  o.takeovers = true;
  const auto found = turn_taking_interruptions({{0, 3000}}, {{3000, 6000}}, speech, o);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], (Interruption{Role::kCustomer, 3000, 500}));
  // Too short a turn to be taking the floor.
  EXPECT_TRUE(turn_taking_interruptions({{0, 3000}}, {{3000, 3600}}, speech, o).empty());
}

TEST(TurnTaking, EmptyAndOneSpeakerInputs) {
  const std::vector<Interval> speech = {{0, 6000}};
  EXPECT_TRUE(turn_taking_interruptions({}, {}, speech).empty());
  EXPECT_TRUE(turn_taking_interruptions({{0, 3000}, {3000, 6000}}, {}, speech).empty());
  EXPECT_TRUE(turn_taking_interruptions({{0, 3000}, {3400, 6000}}, {{3000, 3400}}, {}).empty());
  // Unsorted and reversed intervals are normalised, not trusted.
  const auto found = turn_taking_interruptions({{3400, 6000}, {0, 3000}, {500, 100}}, {{3000, 3400}}, speech);
  EXPECT_EQ(found.size(), 1u);
}

}  // namespace
}  // namespace earshot::analytics
