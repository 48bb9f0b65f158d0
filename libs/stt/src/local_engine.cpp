#include "earshot/stt/local_engine.hpp"

#include <fmt/format.h>
#include <ngram_model.h>
#include <pocketsphinx.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
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

namespace {

// One pocketsphinx decoder at one sample rate.
struct Decoder {
  cmd_ln_t* config = nullptr;
  ps_decoder_t* ps = nullptr;
  int rate = 0;
  Decoder() = default;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  ~Decoder() {
    if (ps != nullptr) ps_free(ps);
    if (config != nullptr) cmd_ln_free_r(config);
  }
};

// The embedded call-center model, written to a private temporary file for sphinxbase to
// read (it reads models from files only) and removed at once.
ngram_model_t* read_call_center_model(cmd_ln_t* config, logmath_t* lmath) {
  static std::atomic<int> counter{0};
  const auto path = std::filesystem::temp_directory_path() /
                    fmt::format("earshot-callcenter-{}-{}.lm", ::getpid(), counter.fetch_add(1));
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const auto text = call_center_arpa();
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) return nullptr;
  }
  ngram_model_t* lm = ngram_model_read(config, path.c_str(), NGRAM_ARPA, lmath);
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return lm;
}

// The model's feature parameters for the telephone band: the model's feat.params overrides
// the decoder's own arguments, so the narrow-band filter bank goes in a private copy of it
// (removed once the decoder is loaded). `overrides` are "-name value" pairs replacing the
// model's lines (and added when the model has none).
class FeatParams {
 public:
  FeatParams(const std::string& model_params, const std::vector<std::pair<std::string, std::string>>& overrides) {
    std::ifstream in(model_params);
    std::vector<std::pair<std::string, std::string>> lines;
    std::string name, value;
    while (in >> name >> value) lines.emplace_back(name, value);
    for (const auto& [k, v] : overrides) {
      auto it = std::find_if(lines.begin(), lines.end(), [&k](const auto& l) { return l.first == k; });
      if (it != lines.end()) {
        it->second = v;
      } else {
        lines.emplace_back(k, v);
      }
    }
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("earshot-feat-{}-{}.params", ::getpid(), counter.fetch_add(1));
    std::ofstream out(path_, std::ios::trunc);
    for (const auto& [k, v] : lines) out << k << ' ' << v << '\n';
    ok_ = static_cast<bool>(out);
  }
  ~FeatParams() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  FeatParams(const FeatParams&) = delete;
  FeatParams& operator=(const FeatParams&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
  bool ok_ = false;
};

// The phones the dictionary gives `word`, if it has it.
std::optional<std::string> lookup(ps_decoder_t* ps, const std::string& word) {
  char* p = ps_lookup_word(ps, word.c_str());
  if (p == nullptr) return std::nullopt;
  std::string out(p);
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): allocated by pocketsphinx with malloc
  return out;
}

// Adds the business's words to the dictionary; the language-model side is done on the models.
Status add_to_dictionary(ps_decoder_t* ps, const std::vector<VocabularyWord>& vocabulary) {
  for (const auto& v : vocabulary) {
    std::string phones = v.pronunciation;
    if (phones.empty() && !v.sounds_like.empty()) {
      std::istringstream in(v.sounds_like);
      std::string w;
      while (in >> w) {
        const auto p = lookup(ps, w);
        phones += (phones.empty() ? "" : " ") + (p ? *p : letter_pronunciation(w));
      }
    }
    const auto existing = lookup(ps, v.word);
    if (phones.empty()) {
      if (existing) continue;  // the dictionary's own pronunciation
      phones = letter_pronunciation(v.word);
    }
    if (phones.empty()) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("vocabulary: no pronunciation for '{}'", v.word));
    }
    std::string name = v.word;
    if (existing) {
      if (*existing == phones) continue;
      // Another pronunciation of a known word: the first free alternate slot, word(2) ...
      for (int alt = 2; alt < 10 && lookup(ps, name); ++alt) name = fmt::format("{}({})", v.word, alt);
      if (lookup(ps, name)) continue;
    }
    if (ps_add_word(ps, name.c_str(), phones.c_str(), FALSE) < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("vocabulary: pocketsphinx refused '{}' /{}/", v.word, phones));
    }
  }
  return {};
}

}  // namespace

struct LocalEngine::Impl {
  LocalEngineOptions options;
  std::unique_ptr<Decoder> wideband;    // 16 kHz
  std::unique_ptr<Decoder> narrowband;  // 8 kHz

  Result<std::unique_ptr<Decoder>> make_decoder(int rate) const;
  Result<Decoder*> decoder_for(int sample_rate);
};

Result<std::unique_ptr<Decoder>> LocalEngine::Impl::make_decoder(int rate) const {
  const std::string hmm = options.model_dir + "/en-us";
  const std::string lm_path = options.model_dir + "/en-us.lm.bin";
  const std::string dict = options.model_dir + "/cmudict-en-us.dict";
  const std::string lw = fmt::format("{}", options.language_weight);
  std::vector<std::string> args = {"-hmm", hmm, "-dict", dict, "-lw", lw};
  if (std::find(options.extra_args.begin(), options.extra_args.end(), "-logfn") == options.extra_args.end()) {
    args.insert(args.end(), {"-logfn", "/dev/null"});
  }
  std::optional<FeatParams> feat;
  if (rate == 8000) {
    // The telephone band: 8 kHz frames of 25.6 ms in a 256-point FFT, and the mel filters
    // between 130 Hz and 3.5 kHz (the model's 130-6800 Hz would leave the top ones empty).
    // Feature parameters among the extra arguments go into the copy of feat.params.
    std::vector<std::pair<std::string, std::string>> overrides = {{"-upperf", "3500"}};
    std::vector<std::string> rest;
    for (std::size_t i = 0; i < options.extra_args.size(); ++i) {
      const auto& a = options.extra_args[i];
      if ((a == "-upperf" || a == "-lowerf" || a == "-nfilt" || a == "-transform" || a == "-lifter" || a == "-cmn" ||
           a == "-varnorm" || a == "-agc" || a == "-cmninit") &&
          i + 1 < options.extra_args.size()) {
        overrides.emplace_back(a, options.extra_args[++i]);
      } else {
        rest.push_back(a);
      }
    }
    feat.emplace(hmm + "/feat.params", overrides);
    if (!feat->ok()) return make_error(ErrorCode::kInternal, "could not write the telephone-band feature parameters");
    args.insert(args.end(), {"-samprate", "8000", "-nfft", "256", "-featparams", feat->path()});
    args.insert(args.end(), rest.begin(), rest.end());
  } else {
    args.insert(args.end(), {"-samprate", "16000"});
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  }
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& a : args) argv.push_back(a.data());
  auto d = std::make_unique<Decoder>();
  d->rate = rate;
  d->config = cmd_ln_parse_r(nullptr, ps_args(), static_cast<int32>(argv.size()), argv.data(), TRUE);
  if (d->config == nullptr) return make_error(ErrorCode::kInternal, "pocketsphinx rejected its configuration");
  d->ps = ps_init(d->config);
  if (d->ps == nullptr) return make_error(ErrorCode::kInternal, "pocketsphinx failed to load its model");
  if (auto s = add_to_dictionary(d->ps, options.vocabulary); !s) return std::unexpected(s.error());

  logmath_t* lmath = ps_get_logmath(d->ps);
  ngram_model_t* general = ngram_model_read(d->config, lm_path.c_str(), NGRAM_AUTO, lmath);
  if (general == nullptr) return make_error(ErrorCode::kInternal, "pocketsphinx failed to load its language model");
  ngram_model_t* model = general;
  if (options.call_center_weight > 0) {
    ngram_model_t* domain = read_call_center_model(d->config, lmath);
    if (domain == nullptr) {
      ngram_model_free(general);
      return make_error(ErrorCode::kInternal, "pocketsphinx failed to load the call-center language model");
    }
    // The business's words, boosted in the call-center model (words the model has keep
    // their n-grams). Added before the models are combined: the combination knows every
    // word of the general model and would refuse them as duplicates.
    for (const auto& v : options.vocabulary) {
      if (ngram_wid(domain, v.word.c_str()) == ngram_unknown_wid(domain)) {
        ngram_model_add_word(domain, v.word.c_str(), static_cast<float32>(v.boost));
      }
    }
    std::array<ngram_model_t*, 2> models = {general, domain};
    std::array<const char*, 2> names = {"general", "callcenter"};
    const std::array<float32, 2> weights = {static_cast<float32>(1 - options.call_center_weight),
                                            static_cast<float32>(options.call_center_weight)};
    model = ngram_model_set_init(d->config, models.data(), const_cast<char**>(names.data()), weights.data(), 2);
    if (model == nullptr) {
      ngram_model_free(general);
      ngram_model_free(domain);
      return make_error(ErrorCode::kInternal, "pocketsphinx failed to combine the language models");
    }
  } else {
    for (const auto& v : options.vocabulary) {
      if (ngram_wid(general, v.word.c_str()) == ngram_unknown_wid(general)) {
        ngram_model_add_word(general, v.word.c_str(), static_cast<float32>(v.boost));
      }
    }
  }
  const int set = ps_set_lm(d->ps, "callcenter", model);
  ngram_model_free(model);  // the search holds its own reference
  if (set < 0 || ps_set_search(d->ps, "callcenter") < 0) {
    return make_error(ErrorCode::kInternal, "pocketsphinx failed to set up its search");
  }
  return d;
}

Result<Decoder*> LocalEngine::Impl::decoder_for(int sample_rate) {
  const bool narrow = sample_rate <= 8000 && options.telephone_front_end == FrontEnd::kNarrowband;
  auto& slot = narrow ? narrowband : wideband;
  if (!slot) {
    auto d = make_decoder(narrow ? 8000 : 16000);
    if (!d) return std::unexpected(d.error());
    slot = std::move(*d);
  }
  return slot.get();
}

Result<std::unique_ptr<LocalEngine>> LocalEngine::create(const LocalEngineOptions& o) {
  for (const auto& p : {o.model_dir + "/en-us", o.model_dir + "/en-us.lm.bin", o.model_dir + "/cmudict-en-us.dict"}) {
    if (!std::filesystem::exists(p)) {
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("offline speech model missing: {} (install pocketsphinx-en-us)", p));
    }
  }
  if (!(o.call_center_weight >= 0 && o.call_center_weight < 1)) {
    return make_error(ErrorCode::kInvalidArgument, "call_center_weight must be in [0, 1)");
  }
  if (o.vocabulary.size() > kMaxVocabularyWords) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("vocabulary: at most {} words", kMaxVocabularyWords));
  }
  std::unique_ptr<LocalEngine> engine(new LocalEngine());
  engine->impl_ = std::make_unique<Impl>();
  engine->impl_->options = o;
  // Load the telephone decoder now: a missing or broken model fails here, not on a call.
  auto d = engine->impl_->decoder_for(8000);
  if (!d) return std::unexpected(d.error());
  return engine;
}

LocalEngine::~LocalEngine() = default;

Result<std::vector<Segment>> LocalEngine::transcribe(std::span<const float> samples, int rate,
                                                     std::span<const audio::Interval> speech,
                                                     const std::string& speaker) {
  if (rate <= 0) return make_error(ErrorCode::kInvalidArgument, "transcribe: sample rate must be positive");
  std::vector<Segment> out;
  if (speech.empty()) return out;
  auto decoder = impl_->decoder_for(rate);
  if (!decoder) return std::unexpected(decoder.error());
  ps_decoder_t* ps = (*decoder)->ps;
  const int decode_rate = (*decoder)->rate;
  for (const auto& iv : speech) {
    // A little context on both sides helps the recogniser's first and last phones.
    const std::int64_t pad_ms = 250;
    const auto from = static_cast<std::size_t>(std::max<std::int64_t>(0, iv.start_ms - pad_ms) * rate / 1000);
    const auto to = std::min(samples.size(), static_cast<std::size_t>((iv.end_ms + pad_ms) * rate / 1000));
    if (to <= from) continue;
    const auto pcm = audio::to_pcm16(audio::resample(samples.subspan(from, to - from), rate, decode_rate));
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
