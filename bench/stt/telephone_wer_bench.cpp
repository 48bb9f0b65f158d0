// Word error rate of the offline engine on telephone speech: call-center sentences said by
// four flite voices (one voice per sentence, in turn), band-limited to 300-3400 Hz at 8 kHz
// through mu-law (tests/stt/telephone_speech.hpp), decoded in stages: today's engine (16 kHz
// upsampling, general language model), the 8 kHz front end instead, then (16 kHz front
// end, the engine's defaults) + the call-center language model, + a business vocabulary. Prints WER per stage and voice
// and the real-time factor (decoding CPU time of the thread over audio time).
//
//   build/bin/telephone_wer_bench [--set tests/stt/data/telephone_heldout.txt]... [--stage NAME]
//       [--lw 6.5] [--weight 0.5] [--front narrow|wide] [--vocabulary JSON] [--extra "-arg value ..."]
//       [--show-errors]
// With --lw/--weight/--front/--extra/--vocabulary one custom stage runs instead of the list.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "earshot/audio/vad.hpp"
#include "earshot/stt/local_engine.hpp"
#include "earshot/stt/vocabulary.hpp"
#include "stt/telephone_speech.hpp"

namespace {

using earshot::stt::FrontEnd;
using earshot::stt::LocalEngineOptions;

struct Clip {
  std::string text;
  std::string voice;
  std::vector<float> samples;
};

struct Stage {
  std::string name;
  LocalEngineOptions options;
};

// The vocabulary a business answering as "Northside Energy" with agent Paula would set.
constexpr const char* kBenchVocabulary = R"({"vocabulary": ["northside", "paula"]})";

std::vector<std::string> split_args(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> sets;
  std::string only;
  bool custom = false, show_errors = false;
  LocalEngineOptions tuned;  // the engine's defaults
  std::string vocab_json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--set") {
      sets.push_back(next());
    } else if (a == "--stage") {
      only = next();
    } else if (a == "--lw") {
      tuned.language_weight = std::atof(next().c_str());
      custom = true;
    } else if (a == "--weight") {
      tuned.call_center_weight = std::atof(next().c_str());
      custom = true;
    } else if (a == "--front") {
      tuned.telephone_front_end = next() == "wide" ? FrontEnd::kWideband : FrontEnd::kNarrowband;
      custom = true;
    } else if (a == "--extra") {
      tuned.extra_args = split_args(next());
      custom = true;
    } else if (a == "--vocabulary") {
      vocab_json = next();
      custom = true;
    } else if (a == "--show-errors") {
      show_errors = true;
    } else {
      fmt::print(stderr, "unknown argument {}\n", a);
      return 2;
    }
  }
  if (sets.empty()) sets.push_back(std::string(EARSHOT_SOURCE_DIR) + "/tests/stt/data/telephone_heldout.txt");
  if (!vocab_json.empty()) {
    auto v = earshot::stt::parse_local_stt_options(vocab_json);
    if (!v) {
      fmt::print(stderr, "{}\n", v.error().message);
      return 2;
    }
    tuned.vocabulary = v->vocabulary;
  }

  std::vector<Stage> stages;
  if (custom) {
    stages.push_back({"custom", tuned});
  } else {
    LocalEngineOptions today;
    today.telephone_front_end = FrontEnd::kWideband;
    today.call_center_weight = 0;
    today.language_weight = 5.0;
    LocalEngineOptions narrow = today;
    narrow.telephone_front_end = FrontEnd::kNarrowband;
    LocalEngineOptions lm = LocalEngineOptions{};
    LocalEngineOptions vocab = lm;
    vocab.vocabulary = earshot::stt::parse_local_stt_options(kBenchVocabulary)->vocabulary;
    stages = {{"before (16 kHz upsampling, general LM)", today},
              {"8 kHz front end (filters to 3.5 kHz)", narrow},
              {"+ call-center LM", lm},
              {"+ business vocabulary", vocab}};
  }

  // Synthesis once per run.
  std::vector<Clip> clips;
  double audio_s = 0;
  for (const auto& path : sets) {
    const auto sentences = earshot::testing::read_sentences(path);
    if (sentences.empty()) {
      fmt::print(stderr, "no sentences in {}\n", path);
      return 2;
    }
    for (std::size_t i = 0; i < sentences.size(); ++i) {
      const auto& voice = earshot::testing::kTelephoneVoices[i % earshot::testing::kTelephoneVoices.size()];
      auto s = earshot::testing::telephone_speech(sentences[i], voice);
      if (s.empty()) {
        fmt::print(stderr, "flite failed (install it with scripts/install-deps.sh)\n");
        return 1;
      }
      audio_s += static_cast<double>(s.size()) / 8000.0;
      clips.push_back({sentences[i], voice, std::move(s)});
    }
  }
  fmt::print("{} sentences, {:.0f} s of 8 kHz telephone speech (flite kal, awb, slt, rms in turn)\n", clips.size(),
             audio_s);
  std::fflush(stdout);

  for (const auto& stage : stages) {
    if (!only.empty() && stage.name.find(only) == std::string::npos) continue;
    auto engine = earshot::stt::LocalEngine::create(stage.options);
    if (!engine) {
      fmt::print(stderr, "engine: {}\n", engine.error().message);
      return 1;
    }
    std::size_t errors = 0, words = 0;
    std::map<std::string, std::pair<std::size_t, std::size_t>> by_voice;
    double cpu_s = 0;
    for (const auto& c : clips) {
      auto act = earshot::audio::detect_voice(c.samples, 8000);
      const double t0 = earshot::testing::thread_cpu_seconds();
      auto segs = (*engine)->transcribe(c.samples, 8000, act.speech, "agent");
      cpu_s += earshot::testing::thread_cpu_seconds() - t0;
      if (!segs) {
        fmt::print(stderr, "transcribe: {}\n", segs.error().message);
        return 1;
      }
      std::string hyp;
      for (const auto& s : *segs) hyp += s.text + " ";
      const auto ref = earshot::testing::words_of(c.text);
      const auto e = earshot::testing::word_errors(ref, earshot::testing::words_of(hyp));
      errors += e;
      words += ref.size();
      by_voice[c.voice].first += e;
      by_voice[c.voice].second += ref.size();
      if (show_errors && e > 0) fmt::print("  [{}] {}\n        -> {}\n", c.voice, c.text, hyp);
    }
    std::string voices;
    for (const auto& [v, ew] : by_voice) {
      voices += fmt::format(" {} {:.1f}%", v, 100.0 * static_cast<double>(ew.first) / static_cast<double>(ew.second));
    }
    fmt::print("{:<42} WER {:5.1f}% ({} errors / {} words;{}), real-time factor {:.2f}\n", stage.name,
               100.0 * static_cast<double>(errors) / static_cast<double>(words), errors, words, voices,
               cpu_s / audio_s);
    std::fflush(stdout);  // each stage as it ends (minutes each)
  }
  return 0;
}
