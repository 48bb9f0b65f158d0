#include "earshot/stt/local_engine.hpp"

#include <fmt/format.h>
#include <pocketsphinx.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "earshot/audio/audio.hpp"

namespace earshot::stt {

int count_words(const std::string& text) {
  std::istringstream in(text);
  std::string w;
  int n = 0;
  while (in >> w) ++n;
  return n;
}

struct LocalEngine::Impl {
  cmd_ln_t* config = nullptr;
  ps_decoder_t* decoder = nullptr;
  ~Impl() {
    if (decoder != nullptr) ps_free(decoder);
    if (config != nullptr) cmd_ln_free_r(config);
  }
};

Result<std::unique_ptr<LocalEngine>> LocalEngine::create(const LocalEngineOptions& o) {
  const std::string hmm = o.model_dir + "/en-us";
  const std::string lm = o.model_dir + "/en-us.lm.bin";
  const std::string dict = o.model_dir + "/cmudict-en-us.dict";
  for (const auto& p : {hmm, lm, dict}) {
    if (!std::filesystem::exists(p)) {
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("offline speech model missing: {} (install pocketsphinx-en-us)", p));
    }
  }
  const std::string lw = fmt::format("{}", o.language_weight);
  std::unique_ptr<LocalEngine> engine(new LocalEngine());
  engine->impl_ = std::make_unique<Impl>();
  engine->impl_->config =
      cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", lm.c_str(), "-dict", dict.c_str(), "-lw",
                  lw.c_str(), "-samprate", "16000", "-logfn", "/dev/null", nullptr);
  if (engine->impl_->config == nullptr) {
    return make_error(ErrorCode::kInternal, "pocketsphinx rejected its configuration");
  }
  engine->impl_->decoder = ps_init(engine->impl_->config);
  if (engine->impl_->decoder == nullptr) {
    return make_error(ErrorCode::kInternal, "pocketsphinx failed to load its model");
  }
  return engine;
}

LocalEngine::~LocalEngine() = default;

Result<std::vector<Segment>> LocalEngine::transcribe(std::span<const float> samples, int rate,
                                                     std::span<const audio::Interval> speech,
                                                     const std::string& speaker) {
  std::vector<Segment> out;
  ps_decoder_t* ps = impl_->decoder;
  for (const auto& iv : speech) {
    // A little context on both sides helps the recogniser's first and last phones.
    const std::int64_t pad_ms = 250;
    const auto from = static_cast<std::size_t>(std::max<std::int64_t>(0, iv.start_ms - pad_ms) * rate / 1000);
    const auto to = std::min(samples.size(), static_cast<std::size_t>((iv.end_ms + pad_ms) * rate / 1000));
    if (to <= from) continue;
    const auto pcm = audio::to_pcm16(audio::resample(samples.subspan(from, to - from), rate, 16000));
    if (ps_start_utt(ps) < 0) return make_error(ErrorCode::kInternal, "pocketsphinx: start_utt failed");
    ps_process_raw(ps, pcm.data(), pcm.size(), FALSE, TRUE);
    ps_end_utt(ps);
    int32 score = 0;
    const char* hyp = ps_get_hyp(ps, &score);
    if (hyp == nullptr || *hyp == '\0') continue;
    Segment seg;
    seg.speaker = speaker;
    seg.start_ms = iv.start_ms;
    seg.end_ms = iv.end_ms;
    seg.text = hyp;
    const std::int64_t base_ms = static_cast<std::int64_t>(from) * 1000 / rate;
    double conf_sum = 0;
    for (ps_seg_t* s = ps_seg_iter(ps); s != nullptr; s = ps_seg_next(s)) {
      std::string w = ps_seg_word(s);
      if (w.empty() || w[0] == '<' || w[0] == '[') continue;                      // <s>, </s>, <sil>, [NOISE]
      if (auto paren = w.find('('); paren != std::string::npos) w.resize(paren);  // alt prons
      int sf = 0, ef = 0;
      ps_seg_frames(s, &sf, &ef);
      const double p = logmath_exp(ps_get_logmath(ps), ps_seg_prob(s, nullptr, nullptr, nullptr));
      seg.words.push_back({w, base_ms + std::int64_t{sf} * 10, base_ms + (std::int64_t{ef} + 1) * 10, p});
      conf_sum += p;
    }
    seg.confidence = seg.words.empty() ? 0 : conf_sum / static_cast<double>(seg.words.size());
    out.push_back(std::move(seg));
  }
  return out;
}

}  // namespace earshot::stt
