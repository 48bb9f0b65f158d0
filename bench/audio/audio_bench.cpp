// Audio pipeline speed: decode + voice activity + conversation metrics on 8 kHz stereo WAV,
// in times real time per core (the thread's CPU time, so other load on the machine does
// not count), split into decode and measuring; and the offline speech engine's real-time
// factor at 8 and 16 kHz, with its word error rate on flite speech (telephone band vs
// wideband). The heap is tuned as in every binary (earshot::tune_allocator).
//
//   build/bin/audio_bench [--minutes N] [--repeat N] [--pipeline-only 1]
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "earshot/analytics/audio_metrics.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/core/service.hpp"
#include "earshot/stt/local_engine.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// This thread's CPU time in seconds.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
using earshot::audio::AudioBuffer;

const std::vector<std::string> kSentences = {
    "Thank you for calling the support line how can I help you today",
    "My internet connection has been very slow since last Monday",
    "I can check the line for you and send a technician tomorrow morning",
    "That would be great thank you very much",
};

AudioBuffer speak(const std::string& text, const char* voice, int rate) {
  const std::string path = fmt::format("/tmp/earshot-bench-{}.wav", std::hash<std::string>{}(text));
  const std::string cmd = fmt::format("flite -voice {} -t \"{}\" -o {}", voice, text, path);
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "flite failed (install it with scripts/install-deps.sh)\n");
    std::exit(1);
  }
  auto a = earshot::audio::decode_file(path);
  std::remove(path.c_str());
  if (!a) std::exit(1);
  AudioBuffer out;
  out.sample_rate = rate;
  out.channels.push_back(earshot::audio::resample(a->channels[0], a->sample_rate, rate));
  return out;
}

double wer(const std::string& ref, const std::string& hyp) {
  auto words = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::vector<std::string> out;
    std::string w;
    for (char c : s + " ") {
      if (std::isalnum(static_cast<unsigned char>(c)) != 0)
        w += c;
      else if (!w.empty()) {
        out.push_back(w);
        w.clear();
      }
    }
    return out;
  };
  auto r = words(ref), h = words(hyp);
  std::vector<std::vector<std::size_t>> d(r.size() + 1, std::vector<std::size_t>(h.size() + 1));
  for (std::size_t i = 0; i <= r.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= h.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= r.size(); ++i)
    for (std::size_t j = 1; j <= h.size(); ++j)
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1)});
  return static_cast<double>(d[r.size()][h.size()]) / static_cast<double>(r.size());
}

}  // namespace

int main(int argc, char** argv) {
  int minutes = 10;
  int repeat = 5;
  bool pipeline_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--minutes")
      minutes = std::atoi(argv[i + 1]);
    else if (a == "--repeat")
      repeat = std::atoi(argv[i + 1]);
    else if (a == "--pipeline-only")
      pipeline_only = std::atoi(argv[i + 1]) != 0;
  }
  earshot::tune_allocator();

  // A long 8 kHz stereo call: sentences alternate between channels with pauses.
  const int rate = 8000;
  std::vector<std::vector<float>> clips;
  for (std::size_t i = 0; i < kSentences.size(); ++i) {
    clips.push_back(speak(kSentences[i], i % 2 == 0 ? "slt" : "rms", rate).channels[0]);
  }
  const std::size_t total = static_cast<std::size_t>(minutes) * 60 * rate;
  std::vector<std::vector<float>> ch(2, std::vector<float>(total, 0.0f));
  std::size_t pos = rate / 2;
  for (std::size_t k = 0; pos < total; ++k) {
    const auto& clip = clips[k % clips.size()];
    auto& dst = ch[k % 2];
    for (std::size_t i = 0; i < clip.size() && pos + i < total; ++i) dst[pos + i] = clip[i];
    pos += clip.size() + static_cast<std::size_t>(rate) * (k % 5 == 4 ? 4 : 1) / 2;
  }
  AudioBuffer call;
  call.sample_rate = rate;
  call.channels = std::move(ch);
  const std::string wav = earshot::audio::encode_wav_pcm16(call);
  const std::vector<std::uint8_t> bytes(wav.begin(), wav.end());
  const double audio_s = static_cast<double>(total) / rate;

  std::vector<double> per_run, decode_s, measure_s;
  std::int64_t talk = 0;
  for (int r = 0; r < repeat; ++r) {
    const double t0 = cpu_now();
    auto decoded = earshot::audio::decode(bytes);
    const double t1 = cpu_now();
    auto m = earshot::analytics::measure_stereo(*decoded, earshot::analytics::ChannelMap{});
    const double t2 = cpu_now();
    talk = m->conversation.agent.talk_ms + m->conversation.customer.talk_ms;
    per_run.push_back(t2 - t0);
    decode_s.push_back(t1 - t0);
    measure_s.push_back(t2 - t1);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double med = median(per_run);
  const double best = *std::min_element(per_run.begin(), per_run.end());
  fmt::print("audio pipeline (decode + VAD + metrics), {} min 8 kHz stereo WAV, {} runs, one core (CPU time):\n",
             minutes, repeat);
  fmt::print("  median {:.4f} s, best {:.4f} s -> {:.0f}x real time (best {:.0f}x); talk found {:.1f} s\n", med, best,
             audio_s / med, audio_s / best, static_cast<double>(talk) / 1000.0);
  fmt::print("  median decode {:.1f} ms, VAD + metrics {:.1f} ms\n", median(decode_s) * 1000.0,
             median(measure_s) * 1000.0);
  if (pipeline_only) return 0;

  // Offline engine.
  auto engine = earshot::stt::LocalEngine::create();
  if (!engine) {
    fmt::print("offline engine unavailable: {}\n", engine.error().message);
    return 1;
  }
  for (int r : {16000, 8000}) {
    double speech_s = 0, cpu_s = 0, errors = 0, words = 0;
    for (std::size_t i = 0; i < kSentences.size(); ++i) {
      auto clip = speak(kSentences[i], i % 2 == 0 ? "slt" : "rms", r);
      auto act = earshot::audio::detect_voice(clip.channels[0], r);
      const auto t0 = Clock::now();
      auto segs = (*engine)->transcribe(clip.channels[0], r, act.speech, "agent");
      cpu_s += std::chrono::duration<double>(Clock::now() - t0).count();
      speech_s += static_cast<double>(clip.channels[0].size()) / r;
      std::string hyp;
      for (const auto& s : *segs) hyp += s.text + " ";
      const double w = static_cast<double>(earshot::stt::count_words(kSentences[i]));
      errors += wer(kSentences[i], hyp) * w;
      words += w;
    }
    fmt::print("offline engine at {} kHz: real-time factor {:.2f} (one thread), WER {:.1f}% on {} flite words\n",
               r / 1000, cpu_s / speech_s, 100.0 * errors / words, words);
  }
  return 0;
}
