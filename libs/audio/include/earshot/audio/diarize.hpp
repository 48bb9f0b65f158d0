#pragma once
// Offline speaker diarization of a mono recording: who spoke when, for two-party calls.
//
// Speech comes from voice activity detection (vad.hpp). Per 10 ms frame the audio, taken to
// the telephone band (8 kHz), gets MFCCs (a 256-point FFT, 24 mel bands from 200 to 3,700 Hz,
// cepstra 1..16; c0 is the frame's log energy and only selects frames). Inside speech
// intervals a speaker change is a peak of the Bayesian information criterion between the
// adjacent 1.5 s windows (diagonal Gaussians). The pieces between changes are clustered into
// two speakers: each piece is embedded as the mean and standard deviation of its MFCCs,
// agglomerative clustering (duration-weighted centroid linkage) gives two groups, k-means
// refines them. Then one Gaussian mixture per speaker is trained on its frames and a Viterbi
// pass over the speech frames (a penalty per speaker switch, free at a pause) places the
// boundaries again, twice; short back-channels between the other speaker's phrases are
// decided there by their frames' likelihood. Overlapping speech is given to one speaker.
//
// Speaker 0 is the one who speaks first. Then the two voices are compared: one Gaussian per
// speaker trained on half of its frames (alternate seconds) scores the other half; when its
// own model explains a speaker's frames better than the other's by less than
// `single_speaker_distance` nats per frame on average, the recording is one speaker. This
// check is conservative (a missed second speaker costs far more): a one-voice recording is
// often still split in two (docs/audio.md).

#include <cstdint>
#include <span>
#include <vector>

#include "earshot/audio/vad.hpp"

namespace earshot::audio {

// Frame features: `dims` values per frame, frames of `hop_ms`, row-major.
struct Features {
  int dims = 0;
  int hop_ms = 10;
  std::vector<float> values;
  std::vector<float> log_energy;  // per frame, dB
  [[nodiscard]] std::size_t frames() const { return dims == 0 ? 0 : values.size() / static_cast<std::size_t>(dims); }
  [[nodiscard]] const float* frame(std::size_t f) const { return values.data() + f * static_cast<std::size_t>(dims); }
};

struct MfccOptions {
  int window_ms = 25;
  int hop_ms = 10;
  int mel_bands = 24;
  int cepstra = 16;  // c1..c16
  double low_hz = 200.0;
  double high_hz = 3700.0;
};

// MFCCs of `samples` (any rate; taken to 8 kHz first).
[[nodiscard]] Features mfcc(std::span<const float> samples, int sample_rate, const MfccOptions& options = {});

struct SpeakerTurn {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  int speaker = 0;
  [[nodiscard]] std::int64_t length() const { return end_ms - start_ms; }
  friend bool operator==(const SpeakerTurn&, const SpeakerTurn&) = default;
};

struct DiarizeOptions {
  VadOptions vad;
  MfccOptions mfcc;
  int change_window_ms = 1500;      // each side of a candidate change point
  int change_step_ms = 100;         // candidates every step
  double change_penalty = 1.0;      // lambda of the BIC penalty
  int cluster_seed_segments = 300;  // the longest pieces clustered agglomeratively; the rest joins
  int gmm_components = 8;
  int resegment_passes = 2;
  double switch_penalty = 40.0;          // log-likelihood cost of a speaker switch inside speech
  double single_speaker_distance = 1.5;  // nats per frame; below: one speaker (0: always two)
};

struct Diarization {
  std::vector<SpeakerTurn> turns;  // sorted, not overlapping; consecutive turns of one speaker
                                   // are separate when a pause lies between them
  int speakers = 0;                // 0 (no speech), 1 or 2
  double separation = 0;           // cross-validated log-likelihood ratio of the two voices'
                                   // models, nats per frame (0: nothing to compare)
};

// Diarizes `samples` (mono) with its own voice activity detection.
[[nodiscard]] Diarization diarize(std::span<const float> samples, int sample_rate, const DiarizeOptions& options = {});

// The same over speech intervals already found (sorted, not overlapping).
[[nodiscard]] Diarization diarize(std::span<const float> samples, int sample_rate, std::span<const Interval> speech,
                                  const DiarizeOptions& options = {});

// Diarization error rate against a reference (md-eval's definition): over the scored time,
// missed speech + false alarm + speaker confusion, divided by the reference speech time
// (overlapping reference speakers count twice). The hypothesis speakers are mapped to the
// reference ones one-to-one, by the mapping that maximises the matched time. `collar_ms` on
// each side of every reference boundary is not scored.
struct DiarizationError {
  double der = 0;
  double missed = 0;  // fractions of the reference speech time
  double false_alarm = 0;
  double confusion = 0;
  std::int64_t reference_ms = 0;  // scored reference speech
};
[[nodiscard]] DiarizationError diarization_error(std::span<const SpeakerTurn> reference,
                                                 std::span<const SpeakerTurn> hypothesis, std::int64_t collar_ms = 250);

}  // namespace earshot::audio
