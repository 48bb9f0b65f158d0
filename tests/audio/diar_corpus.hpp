#pragma once
// A synthetic two-voice mono call set for diarization, built at run time (nothing is
// committed): call-center dialogues written for this set, spoken by two different
// synthetic voices (flite kal, awb, rms, slt; espeak-ng voices and variants), placed with
// call-like turn-taking (gaps, interruptions that overlap, back-channels such as "mm-hm" in
// the pauses of the other speaker and over their speech), mixed to mono, band-limited to
// the telephone band (300-3,400 Hz), G.711 mu-law coded at 8 kHz with a little line noise.
// The placement is the reference: speaker 0 the agent, 1 the customer.
//
// Two disjoint parts: the development calls (indices 0..kDevCalls-1), on which the
// diarizer's settings were chosen, and the held-out calls (kHeldOutFirst..), with other
// voice pairs and timings, never used for tuning. Used by tests/audio and bench/audio; no
// test framework needed.

#include <span>
#include <string>
#include <vector>

#include "earshot/analytics/conversation.hpp"
#include "earshot/audio/diarize.hpp"

namespace earshot::testing {

inline constexpr int kDevCalls = 8;
inline constexpr int kHeldOutFirst = 100;
inline constexpr int kHeldOutCalls = 12;

struct DiarCall {
  std::string name;  // "call 103: flite slt / espeak en-gb+m3"
  int rate = 8000;
  std::vector<float> samples;
  std::vector<audio::SpeakerTurn> truth;  // speaker 0: agent, 1: customer
  std::vector<std::string> agent_lines;   // what the agent says, in order
  [[nodiscard]] std::int64_t duration_ms() const { return static_cast<std::int64_t>(samples.size()) * 1000 / rate; }
};

// Builds call `index`. Clips are synthesised into `cache_dir` (created if missing) and reused
// from there. Throws std::runtime_error when a synthesiser fails.
DiarCall make_diar_call(int index, const std::string& cache_dir);

// The same speaker's words only (a one-voice recording of the agent's lines of call `index`).
DiarCall make_single_voice_call(int index, const std::string& cache_dir);

// One clip of `text` by `voice` ("flite:slt", "espeak:en-us+f3:pitch:speed"), at 8 kHz,
// trimmed of leading and trailing silence.
std::vector<float> synthesise(const std::string& voice, const std::string& text, const std::string& cache_dir);

// Interruptions of a call. The reference: the overlap rule on the placed speech (the other
// speaker continues >= 500 ms after one starts). Found: the turn-taking rule on a
// diarization (speaker 0 the agent, as the corpus places it) and the mix's voice activity.
std::vector<analytics::Interruption> reference_interruptions(const DiarCall& call);
std::vector<analytics::Interruption> found_interruptions(const audio::Diarization& d,
                                                         std::span<const audio::Interval> speech,
                                                         const analytics::TurnTakingOptions& options = {});

// Found interruptions matched one-to-one to reference ones: same interrupter, starts within
// `tolerance_ms`.
struct InterruptionScore {
  int reference = 0;
  int found = 0;
  int matched = 0;
  InterruptionScore& operator+=(const InterruptionScore& o);
  [[nodiscard]] double precision() const { return found == 0 ? 1.0 : static_cast<double>(matched) / found; }
  [[nodiscard]] double recall() const { return reference == 0 ? 1.0 : static_cast<double>(matched) / reference; }
};
InterruptionScore score_interruptions(std::span<const analytics::Interruption> reference,
                                      std::span<const analytics::Interruption> found, std::int64_t tolerance_ms = 1000);

// Telephone channel: 300-3,400 Hz band, mu-law round trip, noise at about -60 dBFS.
void telephone_band(std::vector<float>& samples, unsigned seed);

}  // namespace earshot::testing
