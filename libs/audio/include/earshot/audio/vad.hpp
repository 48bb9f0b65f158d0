#pragma once
// Voice activity detection for one channel of a call recording, tuned for 8 kHz telephone
// audio but rate-independent.
//
// Per 20 ms frame: energy (dBFS), zero-crossing rate and lag-1 autocorrelation (a cheap
// spectral-tilt cue: voiced speech is dominated by low frequencies, hiss is flat). The noise
// floor is a low percentile of the file's frame energies (post-call: the whole file is
// known). A frame is speech when it is well above both the floor and an absolute minimum
// and its spectrum looks like speech; onsets need two such frames, and a hangover keeps
// speech on through the short pauses inside words and phrases.

#include <cstdint>
#include <span>
#include <vector>

namespace earshot::audio {

struct Interval {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  [[nodiscard]] std::int64_t length() const { return end_ms - start_ms; }
  friend bool operator==(const Interval&, const Interval&) = default;
};

struct VadOptions {
  int frame_ms = 20;
  double floor_percentile = 0.10;  // of frame energies
  double above_floor_db = 12.0;    // speech must be this far above the floor
  double min_speech_dbfs = -50.0;  // and above this absolute level
  double min_autocorr = 0.25;      // lag-1 autocorrelation of voiced frames
  int onset_frames = 2;            // consecutive speech frames to start an interval
  int hangover_frames = 15;        // 300 ms kept after the last speech frame
  std::int64_t min_interval_ms = 100;
};

struct ChannelActivity {
  std::vector<Interval> speech;
  std::vector<float> frame_dbfs;    // energy of every frame, for loudness
  std::vector<float> frame_peak;    // absolute sample peak of every frame
  std::vector<float> frame_energy;  // mean power (mean of s^2) of every frame
  int frame_ms = 20;
  double noise_floor_dbfs = 0;
};

[[nodiscard]] ChannelActivity detect_voice(std::span<const float> samples, int sample_rate,
                                           const VadOptions& options = {});

struct Loudness {
  double mean_dbfs = -120.0;  // power mean over the frames inside the intervals
  double peak_dbfs = -120.0;  // highest sample peak inside the intervals
  std::int64_t frames = 0;
};

// Loudness of the frames of `activity` that fall inside `intervals`.
[[nodiscard]] Loudness loudness_in(const ChannelActivity& activity, std::span<const Interval> intervals);

// RMS level per `step_ms` window (1 s for charts), in dBFS, floored at -120.
[[nodiscard]] std::vector<float> loudness_series(std::span<const float> samples, int sample_rate, int step_ms = 1000);

// The same series from the frame energies detect_voice() measured over those `samples`
// samples, without reading them again. Empty when a step is not a whole number of frames
// or the activity does not cover the samples (then use the overload above).
[[nodiscard]] std::vector<float> loudness_series(const ChannelActivity& activity, std::size_t samples, int sample_rate,
                                                 int step_ms = 1000);

}  // namespace earshot::audio
