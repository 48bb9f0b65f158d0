#include "telephone_speech.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <numbers>

#include "earshot/audio/audio.hpp"

namespace earshot::testing {
namespace {

// One RBJ biquad section, direct form I.
struct Biquad {
  double b0, b1, b2, a1, a2;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  double step(double x) {
    const double y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
    return y;
  }
};

Biquad make_biquad(bool high_pass, double cutoff_hz, double q, double rate) {
  const double w = 2 * std::numbers::pi * cutoff_hz / rate;
  const double alpha = std::sin(w) / (2 * q);
  const double c = std::cos(w);
  const double a0 = 1 + alpha;
  Biquad f{};
  if (high_pass) {
    f.b0 = (1 + c) / 2 / a0;
    f.b1 = -(1 + c) / a0;
  } else {
    f.b0 = (1 - c) / 2 / a0;
    f.b1 = (1 - c) / a0;
  }
  f.b2 = f.b0;
  f.a1 = -2 * c / a0;
  f.a2 = (1 - alpha) / a0;
  return f;
}

// G.711 mu-law: compress to 8 bits and expand again.
float mu_law_round_trip(float x) {
  constexpr double kMu = 255.0;
  const double v = std::clamp(static_cast<double>(x), -1.0, 1.0);
  const double y = std::copysign(std::log1p(kMu * std::abs(v)) / std::log1p(kMu), v);
  const double q = std::round(y * 127.0) / 127.0;
  return static_cast<float>(std::copysign((std::pow(1 + kMu, std::abs(q)) - 1) / kMu, q));
}

}  // namespace

std::vector<float> telephone_channel(std::vector<float> s) {
  // Butterworth 4th order = two sections with Q 0.5412 and 1.3066.
  constexpr double kQ[2] = {0.54119610, 1.30656296};
  std::vector<Biquad> chain;
  for (double q : kQ) chain.push_back(make_biquad(true, 300, q, 8000));
  for (double q : kQ) chain.push_back(make_biquad(false, 3400, q, 8000));
  for (auto& x : s) {
    double v = x;
    for (auto& f : chain) v = f.step(v);
    x = mu_law_round_trip(static_cast<float>(v));
  }
  return s;
}

std::vector<float> telephone_speech(const std::string& text, const std::string& voice) {
  static std::atomic<int> counter{0};
  const std::string base = fmt::format(
      "{}/earshot-tel-{}-{}", std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp", ::getpid(), counter++);
  std::ofstream(base + ".txt") << text;
  const std::string cmd = fmt::format("flite -voice {} -f {}.txt -o {}.wav", voice, base, base);
  const int rc = std::system(cmd.c_str());
  auto decoded = audio::decode_file(base + ".wav");
  std::remove((base + ".txt").c_str());
  std::remove((base + ".wav").c_str());
  if (rc != 0 || !decoded || decoded->channels.empty()) return {};
  auto s8k = audio::resample(decoded->channels[0], decoded->sample_rate, 8000);
  std::vector<float> padded(800, 0.0f);
  padded.insert(padded.end(), s8k.begin(), s8k.end());
  padded.insert(padded.end(), 800, 0.0f);
  return telephone_channel(std::move(padded));
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text + " ") {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '\'') {
      w += static_cast<char>(std::tolower(u));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  return out;
}

std::size_t word_errors(const std::vector<std::string>& r, const std::vector<std::string>& h) {
  std::vector<std::size_t> prev(h.size() + 1), cur(h.size() + 1);
  for (std::size_t j = 0; j <= h.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= r.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= h.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[h.size()];
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<std::string> read_sentences(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())) != 0) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

}  // namespace earshot::testing
