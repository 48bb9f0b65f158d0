#pragma once
// Conversation metrics from speech intervals, exactly as the metrics definitions say
// (talk time, ratios, non-talk time and silences >= 3 s, overtalk, interruptions per
// interrupter, longest monologue / customer story, interactivity, patience).
// The same code serves both sources: per-channel voice activity on stereo recordings, and
// diarized transcript segments on mono recordings; the caller records which.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "earshot/audio/vad.hpp"

namespace earshot::analytics {

using audio::Interval;

enum class Role { kAgent, kCustomer };
[[nodiscard]] std::string_view role_name(Role r);

enum class MetricSource { kAudio, kTranscript };
[[nodiscard]] std::string_view source_name(MetricSource s);

struct Turn {
  Role role = Role::kAgent;
  Interval span;
};

struct SpeakerMetrics {
  std::int64_t talk_ms = 0;
  int interruptions = 0;             // times this speaker cut the other off
  std::int64_t interruption_ms = 0;  // overlap time of those interruptions
  std::int64_t longest_turn_ms = 0;
  int turns = 0;
};

struct ConversationMetrics {
  std::int64_t duration_ms = 0;
  SpeakerMetrics agent;
  SpeakerMetrics customer;
  double agent_talk_ratio = 0;          // agent / (agent + customer); 0 when nobody spoke
  double agent_talk_share_of_call = 0;  // agent talk / call duration
  std::int64_t non_talk_ms = 0;
  std::vector<Interval> silences;  // every silent stretch of at least min_silence_ms
  std::int64_t overtalk_ms = 0;
  std::vector<Interval> overtalk;
  double interactivity = 0;  // speaker switches per minute of call
  double patience_ms = 0;    // mean customer-end -> agent-start gap (non-negative gaps only)
  int patience_samples = 0;
  std::vector<Turn> turns;  // merged turns of both speakers, by start time
};

struct ConversationOptions {
  std::int64_t min_silence_ms = 3000;
  std::int64_t interruption_min_continue_ms = 500;
  std::int64_t turn_merge_gap_ms = 1000;
};

// Sorts and merges overlapping or touching intervals.
[[nodiscard]] std::vector<Interval> normalize(std::vector<Interval> v);

[[nodiscard]] ConversationMetrics compute_conversation(std::vector<Interval> agent, std::vector<Interval> customer,
                                                       std::int64_t duration_ms,
                                                       const ConversationOptions& options = {});

}  // namespace earshot::analytics
