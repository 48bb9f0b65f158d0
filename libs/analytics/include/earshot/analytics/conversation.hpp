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
  // Interruptions inferred from turn-taking (one speaker at a time, as diarization of a mono
  // recording gives) rather than measured from overlapping speech.
  bool interruptions_inferred = false;
  std::vector<Turn> turns;  // merged turns of both speakers, by start time
};

struct ConversationOptions {
  std::int64_t min_silence_ms = 3000;
  std::int64_t interruption_min_continue_ms = 500;
  std::int64_t turn_merge_gap_ms = 1000;
};

// One interruption: who cut in, when they started, and the overlap that followed.
struct Interruption {
  Role by = Role::kAgent;
  std::int64_t start_ms = 0;
  std::int64_t duration_ms = 0;
  friend bool operator==(const Interruption&, const Interruption&) = default;
};

// The overlap rule (what compute_conversation counts): B interrupts A when B starts while A
// speaks and A goes on for at least `min_continue_ms` after B started; the duration is the
// overlap that follows. Sorted by start.
[[nodiscard]] std::vector<Interruption> overlap_interruptions(std::vector<Interval> agent,
                                                              std::vector<Interval> customer,
                                                              std::int64_t min_continue_ms = 500);

// Interruptions inferred from turn-taking, for speakers that never overlap (a diarized mono
// recording gives one speaker at a time). B interrupts A when B's speech begins inside one
// continuous stretch of A's speech and A goes on in that same stretch after B's words: B
// started before A stopped, or latched on with no gap (B starts at most `max_gap_ms` after
// A's piece ends, A resumes as soon after B's), with no pause of the mix within
// `margin_ms` of either change, and A had been speaking for at least `min_before_ms`. A
// resuming is the evidence the overlap rule asks for (A continued after B started); the
// duration is B's words, the overlap as far as it can be seen.
//
// `speech` is the voice activity of the mix with a short hangover (turn_taking_vad()), so
// that a pause of about 150 ms splits it; a pause between A's and B's words means B waited
// for A, however short the pause. With `takeovers`, a latched change after which B keeps the
// floor (at least `takeover_min_after_ms`, A not resuming) counts too, for `assumed_overlap_ms`
// (the least the overlap rule implies); off by default: on the development calls such changes
// were mostly turn-taking with a short overlap, not interruptions.
struct TurnTakingOptions {
  std::int64_t max_gap_ms = 0;
  std::int64_t margin_ms = 150;
  std::int64_t min_before_ms = 500;
  bool takeovers = false;
  std::int64_t takeover_min_after_ms = 1000;
  std::int64_t assumed_overlap_ms = 500;
};
// Voice activity options for the `speech` of turn_taking_interruptions: 80 ms hangover.
[[nodiscard]] audio::VadOptions turn_taking_vad();
[[nodiscard]] std::vector<Interruption> turn_taking_interruptions(std::vector<Interval> agent,
                                                                  std::vector<Interval> customer,
                                                                  std::span<const Interval> speech,
                                                                  const TurnTakingOptions& options = {});

// Replaces the metrics' interruption counts and durations with `found`.
void set_interruptions(ConversationMetrics& m, std::span<const Interruption> found, bool inferred);

// Sorts and merges overlapping or touching intervals.
[[nodiscard]] std::vector<Interval> normalize(std::vector<Interval> v);

[[nodiscard]] ConversationMetrics compute_conversation(std::vector<Interval> agent, std::vector<Interval> customer,
                                                       std::int64_t duration_ms,
                                                       const ConversationOptions& options = {});

}  // namespace earshot::analytics
