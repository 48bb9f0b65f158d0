#pragma once
// The offline speech engine: CMU pocketsphinx with the Debian en-us acoustic model, used when
// a business configures no provider (and in demos and tests). Each speech interval found by
// voice activity detection is decoded as one utterance, which yields segments with exact
// times and word timings.
//
// - Front end: wideband audio is decoded at 16 kHz. Telephone audio (8 kHz or less) is
//   decoded by the front end `telephone_front_end` names: kNarrowband keeps it at 8 kHz with
//   a 256-point FFT and the mel filters inside the telephone band; kWideband upsamples it
//   to 16 kHz (the band above 4 kHz is then empty).
// - Language model: the general en-us trigram model interpolated with a call-center model
//   built from the templates in libs/stt/lm at build time (weight `call_center_weight`; 0
//   leaves the general model alone), so off-domain speech still decodes.
// - Vocabulary: a business's words (vocabulary.hpp) added to the dictionary and, boosted,
//   to the call-center model.
//
// Thread safety: one LocalEngine per thread (a decoder is not shareable). Loading the models
// takes a fraction of a second per front end; reuse an engine across calls.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/audio/vad.hpp"
#include "earshot/core/error.hpp"
#include "earshot/stt/transcript.hpp"
#include "earshot/stt/vocabulary.hpp"

namespace earshot::stt {

enum class FrontEnd { kNarrowband, kWideband };

struct LocalEngineOptions {
  std::string model_dir = "/usr/share/pocketsphinx/model/en-us";
  double language_weight = 7.0;
  FrontEnd telephone_front_end = FrontEnd::kWideband;
  double call_center_weight = 0.5;  // in [0, 1)
  std::vector<VocabularyWord> vocabulary;
  // Further decoder arguments ("-beam", "1e-60", ...), after the engine's own: for
  // measurements of other settings.
  std::vector<std::string> extra_args;
};

// The call-center language model (ARPA text) generated from libs/stt/lm at build time.
[[nodiscard]] std::string_view call_center_arpa();

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
