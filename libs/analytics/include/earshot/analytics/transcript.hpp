#pragma once
// Analyses over a speaker-labelled transcript: sentiment per segment, per quarter and per
// call (the shared metrics document's definitions), talk speed and question rate.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "earshot/analytics/conversation.hpp"
#include "earshot/analytics/sentiment.hpp"

namespace earshot::analytics {

struct TranscriptSegment {
  Role role = Role::kAgent;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string text;
};

struct SpeakerSentiment {
  std::optional<double> call;                    // duration-weighted mean of segment scores
  std::array<std::optional<double>, 4> quarter;  // mean of segment scores per quarter
};

struct SentimentTimeline {
  std::vector<double> segment;  // compound score per segment, same order as the input
  SpeakerSentiment agent;
  SpeakerSentiment customer;
  std::optional<double> customer_change;  // customer Q4 - Q1 (when both exist)
};

// `duration_ms` of the call (quarters split it in four equal parts); a segment belongs to
// quarter min(floor(midpoint * 4 / duration), 3).
[[nodiscard]] SentimentTimeline sentiment_timeline(const std::vector<TranscriptSegment>& segments,
                                                   std::int64_t duration_ms, const SentimentAnalyzer& analyzer);

// The same timeline over per-segment scores already made (an LLM's, say): duration weighted
// per call, quarter by midpoint, customer change Q4 - Q1. A segment without a score counts 0.
[[nodiscard]] SentimentTimeline sentiment_timeline_of_scores(const std::vector<TranscriptSegment>& segments,
                                                             std::int64_t duration_ms, std::span<const double> scores);

struct TalkSpeed {
  std::optional<double> agent_wpm;
  std::optional<double> customer_wpm;
  std::optional<double> agent_questions_per_hour;  // per hour of agent talk time
  int agent_questions = 0;
};

// Words per minute of each speaker's talk time (from `conversation`, or from the segments
// when it is empty), and the agent's question rate: a question is a segment that ends in
// '?' or starts with an interrogative word.
[[nodiscard]] TalkSpeed talk_speed(const std::vector<TranscriptSegment>& segments, std::int64_t agent_talk_ms,
                                   std::int64_t customer_talk_ms);

[[nodiscard]] bool is_question(const std::string& text);

// Speech intervals per role from segments (for transcript-sourced conversation metrics).
void intervals_from_segments(const std::vector<TranscriptSegment>& segments, std::vector<Interval>& agent,
                             std::vector<Interval>& customer);

}  // namespace earshot::analytics
