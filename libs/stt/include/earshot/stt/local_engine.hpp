#pragma once
// The offline speech engine: CMU pocketsphinx with the Debian en-us model, used when a
// business configures no provider (and in demos and tests). Each speech interval found by
// voice activity detection is decoded as one utterance at 16 kHz, which yields segments with
// exact times and word timings.
//
// Thread safety: one LocalEngine per thread (a decoder is not shareable). Loading the model
// takes a fraction of a second; reuse an engine across calls.

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "earshot/audio/vad.hpp"
#include "earshot/core/error.hpp"
#include "earshot/stt/transcript.hpp"

namespace earshot::stt {

struct LocalEngineOptions {
  std::string model_dir = "/usr/share/pocketsphinx/model/en-us";
  double language_weight = 5.0;
};

class LocalEngine {
 public:
  static Result<std::unique_ptr<LocalEngine>> create(const LocalEngineOptions& options = {});
  ~LocalEngine();
  LocalEngine(const LocalEngine&) = delete;
  LocalEngine& operator=(const LocalEngine&) = delete;

  // Transcribes the given speech intervals of one channel; each segment gets `speaker`.
  [[nodiscard]] Result<std::vector<Segment>> transcribe(std::span<const float> samples, int sample_rate,
                                                        std::span<const audio::Interval> speech,
                                                        const std::string& speaker);

 private:
  LocalEngine() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::stt
