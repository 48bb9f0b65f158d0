#include "earshot/audio/vad.hpp"

#include <algorithm>
#include <cmath>

namespace earshot::audio {
namespace {

constexpr float kSilenceDb = -120.0f;

float to_db(double power) {
  return power <= 1e-12 ? kSilenceDb : static_cast<float>(10.0 * std::log10(power));
}

struct FrameSums {
  double energy = 0;  // sum of s^2
  double lag1 = 0;    // sum of s[i] * s[i-1]
  float peak = 0;     // max |s|
  int crossings = 0;  // sign changes, counting from the sample before the frame
};

// One frame's sums in eight independent float lanes (a 20 ms frame at 8-48 kHz is 160-960
// samples, well inside float's precision), so the compiler can keep them in vector
// registers instead of one serial double chain per sum.
FrameSums frame_sums(std::span<const float> x, std::size_t begin, std::size_t end) {
  constexpr std::size_t kLanes = 8;
  float e[kLanes] = {}, r[kLanes] = {}, pk[kLanes] = {};
  int zc[kLanes] = {};
  const float* p = x.data();
  const float before = begin > 0 ? p[begin - 1] : 0.0f;
  std::size_t i = begin;
  // The first sample pairs with the one before the frame; the rest pair inside it.
  if (i < end) {
    const float s = p[i];
    e[0] += s * s;
    r[0] += s * before;
    zc[0] += (s >= 0) != (before >= 0) ? 1 : 0;
    pk[0] = std::fabs(s);
    ++i;
  }
  for (; i + kLanes <= end; i += kLanes) {
    for (std::size_t l = 0; l < kLanes; ++l) {
      const float s = p[i + l];
      const float prev = p[i + l - 1];
      e[l] += s * s;
      r[l] += s * prev;
      zc[l] += static_cast<int>((s >= 0) != (prev >= 0));
      pk[l] = std::max(pk[l], std::fabs(s));
    }
  }
  for (; i < end; ++i) {
    const float s = p[i];
    const float prev = p[i - 1];
    e[0] += s * s;
    r[0] += s * prev;
    zc[0] += (s >= 0) != (prev >= 0) ? 1 : 0;
    pk[0] = std::max(pk[0], std::fabs(s));
  }
  FrameSums out;
  for (std::size_t l = 0; l < kLanes; ++l) {
    out.energy += e[l];
    out.lag1 += r[l];
    out.crossings += zc[l];
    out.peak = std::max(out.peak, pk[l]);
  }
  return out;
}

}  // namespace

ChannelActivity detect_voice(std::span<const float> x, int sample_rate, const VadOptions& o) {
  ChannelActivity out;
  out.frame_ms = o.frame_ms;
  const std::size_t frame_len =
      std::max<std::size_t>(1, static_cast<std::size_t>(sample_rate) * static_cast<std::size_t>(o.frame_ms) / 1000);
  const std::size_t n_frames = x.size() / frame_len + (x.size() % frame_len != 0 ? 1 : 0);
  out.frame_dbfs.resize(n_frames);
  out.frame_peak.resize(n_frames);
  std::vector<float> autocorr(n_frames);
  std::vector<float> zcr(n_frames);

  out.frame_energy.resize(n_frames);
  for (std::size_t f = 0; f < n_frames; ++f) {
    const std::size_t begin = f * frame_len;
    const std::size_t end = std::min(x.size(), begin + frame_len);
    const FrameSums sums = frame_sums(x, begin, end);
    const double n = static_cast<double>(end - begin);
    out.frame_energy[f] = static_cast<float>(sums.energy / n);
    out.frame_dbfs[f] = to_db(sums.energy / n);
    out.frame_peak[f] = sums.peak;
    autocorr[f] = sums.energy > 0 ? static_cast<float>(sums.lag1 / sums.energy) : 0.0f;
    zcr[f] = static_cast<float>(sums.crossings / n);
  }
  if (n_frames == 0) return out;

  std::vector<float> sorted = out.frame_dbfs;
  const auto k = static_cast<std::size_t>(o.floor_percentile * static_cast<double>(n_frames - 1));
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
  out.noise_floor_dbfs = sorted[k];
  const double threshold = std::max(out.noise_floor_dbfs + o.above_floor_db, o.min_speech_dbfs);

  // Raw decision per frame: loud enough, and either voiced-looking or far above threshold
  // (a loud fricative inside speech).
  std::vector<char> raw(n_frames);
  for (std::size_t f = 0; f < n_frames; ++f) {
    const bool loud = out.frame_dbfs[f] > threshold;
    const bool voiced = autocorr[f] > o.min_autocorr;
    const bool strong = out.frame_dbfs[f] > threshold + 10 && zcr[f] < 0.6f;
    raw[f] = loud && (voiced || strong) ? 1 : 0;
  }

  // Onset + hangover smoothing.
  std::int64_t start = -1;
  int run = 0;
  int since_speech = 0;
  const auto ms = [&](std::size_t frame) {
    return std::min<std::int64_t>(static_cast<std::int64_t>(frame) * o.frame_ms,
                                  static_cast<std::int64_t>(x.size()) * 1000 / sample_rate);
  };
  std::size_t last_speech = 0;
  for (std::size_t f = 0; f < n_frames; ++f) {
    if (raw[f]) {
      ++run;
      last_speech = f;
      since_speech = 0;
      if (start < 0 && run >= o.onset_frames) {
        start = static_cast<std::int64_t>(f + 1 - static_cast<std::size_t>(run));
      }
    } else {
      run = 0;
      if (start >= 0 && ++since_speech > o.hangover_frames) {
        // End at the last speech frame plus a short tail (half the hangover) so an interval
        // does not swallow the whole hangover as talk time.
        const std::size_t end_frame =
            std::min(n_frames, last_speech + 1 + static_cast<std::size_t>(o.hangover_frames / 4));
        out.speech.push_back({ms(static_cast<std::size_t>(start)), ms(end_frame)});
        start = -1;
      }
    }
  }
  if (start >= 0) {
    const std::size_t end_frame = std::min(n_frames, last_speech + 1 + static_cast<std::size_t>(o.hangover_frames / 4));
    out.speech.push_back({ms(static_cast<std::size_t>(start)), ms(end_frame)});
  }
  std::erase_if(out.speech, [&](const Interval& i) { return i.length() < o.min_interval_ms; });
  return out;
}

Loudness loudness_in(const ChannelActivity& a, std::span<const Interval> intervals) {
  Loudness l;
  double power = 0;
  float peak = 0;
  for (const auto& iv : intervals) {
    const auto first = static_cast<std::size_t>(std::max<std::int64_t>(0, iv.start_ms / a.frame_ms));
    const auto last = static_cast<std::size_t>(std::max<std::int64_t>(0, (iv.end_ms + a.frame_ms - 1) / a.frame_ms));
    for (std::size_t f = first; f < std::min(last, a.frame_dbfs.size()); ++f) {
      power += std::pow(10.0, a.frame_dbfs[f] / 10.0);
      peak = std::max(peak, a.frame_peak[f]);
      ++l.frames;
    }
  }
  if (l.frames > 0) {
    l.mean_dbfs = to_db(power / static_cast<double>(l.frames));
    l.peak_dbfs = peak > 0 ? 20.0 * std::log10(peak) : kSilenceDb;
  }
  return l;
}

std::vector<float> loudness_series(std::span<const float> x, int sample_rate, int step_ms) {
  const std::size_t step =
      std::max<std::size_t>(1, static_cast<std::size_t>(sample_rate) * static_cast<std::size_t>(step_ms) / 1000);
  std::vector<float> out;
  out.reserve(x.size() / step + 1);
  for (std::size_t begin = 0; begin < x.size(); begin += step) {
    const std::size_t end = std::min(x.size(), begin + step);
    double e = 0;
    for (std::size_t i = begin; i < end; ++i) e += static_cast<double>(x[i]) * x[i];
    out.push_back(to_db(e / static_cast<double>(end - begin)));
  }
  return out;
}

std::vector<float> loudness_series(const ChannelActivity& a, std::size_t samples, int sample_rate, int step_ms) {
  const std::size_t frame_len =
      std::max<std::size_t>(1, static_cast<std::size_t>(sample_rate) * static_cast<std::size_t>(a.frame_ms) / 1000);
  const std::size_t step =
      std::max<std::size_t>(1, static_cast<std::size_t>(sample_rate) * static_cast<std::size_t>(step_ms) / 1000);
  // Whole frames per step only; otherwise the samples are read again.
  if (a.frame_energy.empty() || step % frame_len != 0 || a.frame_energy.size() * frame_len < samples) {
    return {};
  }
  const std::size_t per_step = step / frame_len;
  std::vector<float> out;
  out.reserve(samples / step + 1);
  for (std::size_t begin = 0; begin < samples; begin += step) {
    const std::size_t end = std::min(samples, begin + step);
    double e = 0;
    const std::size_t f0 = begin / frame_len;
    for (std::size_t f = f0; f < f0 + per_step && f < a.frame_energy.size(); ++f) {
      // A frame's mean power times its length (the last frame may be short).
      const std::size_t fb = f * frame_len;
      const std::size_t fe = std::min(samples, fb + frame_len);
      if (fe <= fb) break;
      e += static_cast<double>(a.frame_energy[f]) * static_cast<double>(fe - fb);
    }
    out.push_back(to_db(e / static_cast<double>(end - begin)));
  }
  return out;
}

}  // namespace earshot::audio
