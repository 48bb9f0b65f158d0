#include "earshot/audio/diarize.hpp"

#include <kiss_fftr.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <numbers>
#include <numeric>

#include "earshot/audio/audio.hpp"

namespace earshot::audio {
namespace {

constexpr int kRate = 8000;  // the telephone band: every recording is diarized at 8 kHz

struct FftFree {
  void operator()(kiss_fftr_state* s) const { kiss_fftr_free(s); }
};

double hz_to_mel(double hz) {
  return 2595.0 * std::log10(1.0 + hz / 700.0);
}
double mel_to_hz(double mel) {
  return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
}

// ---------------------------------------------------------------------------- statistics

// Running sums over a sequence of frames (selected frames, in order), for the mean and the
// diagonal variance of any range in O(dims).
class PrefixStats {
 public:
  PrefixStats(const std::vector<const float*>& frames, int dims) : dims_(static_cast<std::size_t>(dims)) {
    sum_.assign((frames.size() + 1) * dims_, 0.0);
    sq_.assign((frames.size() + 1) * dims_, 0.0);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      for (std::size_t k = 0; k < dims_; ++k) {
        const double v = frames[i][k];
        sum_[(i + 1) * dims_ + k] = sum_[i * dims_ + k] + v;
        sq_[(i + 1) * dims_ + k] = sq_[i * dims_ + k] + v * v;
      }
    }
  }
  // Sum of the log variances (the log determinant of a diagonal covariance) of [a, b).
  [[nodiscard]] double log_det(std::size_t a, std::size_t b) const {
    const auto n = static_cast<double>(b - a);
    double ld = 0;
    for (std::size_t k = 0; k < dims_; ++k) {
      const double m = (sum_[b * dims_ + k] - sum_[a * dims_ + k]) / n;
      const double var = (sq_[b * dims_ + k] - sq_[a * dims_ + k]) / n - m * m;
      ld += std::log(std::max(var, 1e-4));
    }
    return ld;
  }

 private:
  std::size_t dims_;
  std::vector<double> sum_, sq_;
};

// ---------------------------------------------------------------------------- the mixture

// A diagonal-covariance Gaussian mixture over normalised MFCC frames.
class Gmm {
 public:
  void train(const std::vector<const float*>& x, int dims, int components) {
    dims_ = static_cast<std::size_t>(dims);
    const std::size_t n = x.size();
    const std::size_t k = std::clamp<std::size_t>(n / 50, 1, static_cast<std::size_t>(components));
    mean_.assign(k * dims_, 0.0);
    var_.assign(k * dims_, 1.0);
    weight_.assign(k, 1.0 / static_cast<double>(k));
    if (n == 0) {
      finish();
      return;
    }
    // Means start at evenly spaced frames; a few k-means passes, then EM.
    for (std::size_t c = 0; c < k; ++c) {
      const float* f = x[(c * n) / k + (n / k) / 2];
      for (std::size_t d = 0; d < dims_; ++d) mean_[c * dims_ + d] = f[d];
    }
    std::vector<std::size_t> assign(n, 0);
    for (int it = 0; it < 4; ++it) {
      std::vector<double> sum(k * dims_, 0.0);
      std::vector<double> count(k, 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        double best = std::numeric_limits<double>::max();
        for (std::size_t c = 0; c < k; ++c) {
          double dist = 0;
          for (std::size_t d = 0; d < dims_; ++d) {
            const double diff = x[i][d] - mean_[c * dims_ + d];
            dist += diff * diff;
          }
          if (dist < best) {
            best = dist;
            assign[i] = c;
          }
        }
        count[assign[i]] += 1;
        for (std::size_t d = 0; d < dims_; ++d) sum[assign[i] * dims_ + d] += x[i][d];
      }
      for (std::size_t c = 0; c < k; ++c) {
        if (count[c] == 0) continue;
        for (std::size_t d = 0; d < dims_; ++d) mean_[c * dims_ + d] = sum[c * dims_ + d] / count[c];
      }
    }
    std::vector<double> resp(k);
    for (int it = 0; it < 5; ++it) {
      finish();
      std::vector<double> s0(k, 1e-9), s1(k * dims_, 0.0), s2(k * dims_, 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        double top = -std::numeric_limits<double>::max();
        for (std::size_t c = 0; c < k; ++c) {
          resp[c] = component_ll(c, x[i]);
          top = std::max(top, resp[c]);
        }
        double total = 0;
        for (std::size_t c = 0; c < k; ++c) total += (resp[c] = std::exp(resp[c] - top));
        for (std::size_t c = 0; c < k; ++c) {
          const double r = resp[c] / total;
          s0[c] += r;
          for (std::size_t d = 0; d < dims_; ++d) {
            s1[c * dims_ + d] += r * x[i][d];
            s2[c * dims_ + d] += r * x[i][d] * x[i][d];
          }
        }
      }
      for (std::size_t c = 0; c < k; ++c) {
        weight_[c] = s0[c] / static_cast<double>(n);
        for (std::size_t d = 0; d < dims_; ++d) {
          const double m = s1[c * dims_ + d] / s0[c];
          mean_[c * dims_ + d] = m;
          var_[c * dims_ + d] = std::max(s2[c * dims_ + d] / s0[c] - m * m, 0.01);
        }
      }
    }
    finish();
  }

  [[nodiscard]] double log_likelihood(const float* f) const {
    double top = -std::numeric_limits<double>::max();
    std::array<double, 64> ll{};
    const std::size_t k = weight_.size();
    for (std::size_t c = 0; c < k; ++c) top = std::max(top, ll[c] = component_ll(c, f));
    double total = 0;
    for (std::size_t c = 0; c < k; ++c) total += std::exp(ll[c] - top);
    return top + std::log(total);
  }

 private:
  // Per component: log weight - 0.5 * (log det + dims log 2 pi).
  void finish() {
    constant_.assign(weight_.size(), 0.0);
    for (std::size_t c = 0; c < weight_.size(); ++c) {
      double ld = 0;
      for (std::size_t d = 0; d < dims_; ++d) ld += std::log(var_[c * dims_ + d]);
      constant_[c] = std::log(std::max(weight_[c], 1e-6)) -
                     0.5 * (ld + static_cast<double>(dims_) * std::log(2 * std::numbers::pi));
    }
  }
  [[nodiscard]] double component_ll(std::size_t c, const float* f) const {
    double q = 0;
    for (std::size_t d = 0; d < dims_; ++d) {
      const double diff = f[d] - mean_[c * dims_ + d];
      q += diff * diff / var_[c * dims_ + d];
    }
    return constant_[c] - 0.5 * q;
  }

  std::size_t dims_ = 0;
  std::vector<double> mean_, var_, weight_, constant_;
};

// ---------------------------------------------------------------------------- pieces

// A stretch of one speech interval between change points: frames [first, last) of the
// feature matrix, with the selected (loud enough) frames among them.
struct Piece {
  std::size_t first = 0;
  std::size_t last = 0;
  std::vector<const float*> frames;
  std::vector<double> embedding;  // mean and standard deviation per dimension
  int speaker = -1;
};

std::vector<double> embed(const std::vector<const float*>& frames, std::size_t dims) {
  std::vector<double> e(2 * dims, 0.0);
  const auto n = static_cast<double>(frames.size());
  for (const float* f : frames) {
    for (std::size_t d = 0; d < dims; ++d) {
      e[d] += f[d];
      e[dims + d] += static_cast<double>(f[d]) * f[d];
    }
  }
  for (std::size_t d = 0; d < dims; ++d) {
    e[d] /= n;
    e[dims + d] = std::sqrt(std::max(e[dims + d] / n - e[d] * e[d], 0.0));
  }
  return e;
}

double squared_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return s;
}

// Change points inside one interval's selected frames: peaks of delta-BIC between the
// adjacent windows, at least half a window apart. Returns positions in `frames`.
std::vector<std::size_t> find_changes(const std::vector<const float*>& frames, int dims, const DiarizeOptions& o) {
  const std::size_t n = frames.size();
  const auto w = static_cast<std::size_t>(std::max(1, o.change_window_ms / 10));
  const auto step = static_cast<std::size_t>(std::max(1, o.change_step_ms / 10));
  const std::size_t min_side = std::max<std::size_t>(30, w / 3);
  std::vector<std::size_t> out;
  if (n < 2 * min_side) return out;
  const PrefixStats stats(frames, dims);
  std::vector<std::pair<double, std::size_t>> peaks;
  std::vector<double> score;
  std::vector<std::size_t> at;
  for (std::size_t i = min_side; i + min_side <= n; i += step) {
    const std::size_t a = i > w ? i - w : 0;
    const std::size_t b = std::min(n, i + w);
    const auto n1 = static_cast<double>(i - a);
    const auto n2 = static_cast<double>(b - i);
    const double nn = n1 + n2;
    const double penalty = o.change_penalty * 0.5 * (2.0 * dims) * std::log(nn);
    score.push_back(0.5 * (nn * stats.log_det(a, b) - n1 * stats.log_det(a, i) - n2 * stats.log_det(i, b)) - penalty);
    at.push_back(i);
  }
  for (std::size_t j = 0; j < score.size(); ++j) {
    const bool left_ok = j == 0 || score[j] >= score[j - 1];
    const bool right_ok = j + 1 == score.size() || score[j] > score[j + 1];
    if (score[j] > 0 && left_ok && right_ok) peaks.emplace_back(score[j], at[j]);
  }
  std::sort(peaks.begin(), peaks.end(), std::greater<>());
  for (const auto& [s, i] : peaks) {
    if (std::all_of(out.begin(), out.end(), [&](std::size_t c) { return (c > i ? c - i : i - c) >= w / 2; })) {
      out.push_back(i);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Two groups of pieces (those with an embedding): Ward's agglomerative clustering of the
// longest pieces, then weighted k-means over all. Returns the two centroids' squared
// distance divided by the mean within-group squared distance, or 0 when there are fewer
// than two pieces.
double cluster_two(std::vector<Piece>& pieces, int seeds) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < pieces.size(); ++i)
    if (!pieces[i].embedding.empty()) idx.push_back(i);
  if (idx.size() < 2) {
    for (auto i : idx) pieces[i].speaker = 0;
    return 0;
  }
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return pieces[a].frames.size() > pieces[b].frames.size(); });
  const std::size_t n_seed = std::min(idx.size(), static_cast<std::size_t>(std::max(2, seeds)));

  struct Cluster {
    std::vector<double> centroid;
    double weight = 0;
    std::vector<std::size_t> members;
  };
  std::vector<Cluster> clusters;
  for (std::size_t s = 0; s < n_seed; ++s) {
    const auto& p = pieces[idx[s]];
    clusters.push_back({p.embedding, static_cast<double>(p.frames.size()), {idx[s]}});
  }
  auto ward = [](const Cluster& a, const Cluster& b) {
    return a.weight * b.weight / (a.weight + b.weight) * squared_distance(a.centroid, b.centroid);
  };
  while (clusters.size() > 2) {
    double best = std::numeric_limits<double>::max();
    std::size_t bi = 0, bj = 1;
    for (std::size_t i = 0; i < clusters.size(); ++i) {
      for (std::size_t j = i + 1; j < clusters.size(); ++j) {
        const double c = ward(clusters[i], clusters[j]);
        if (c < best) {
          best = c;
          bi = i;
          bj = j;
        }
      }
    }
    auto& a = clusters[bi];
    auto& b = clusters[bj];
    const double w = a.weight + b.weight;
    for (std::size_t d = 0; d < a.centroid.size(); ++d) {
      a.centroid[d] = (a.centroid[d] * a.weight + b.centroid[d] * b.weight) / w;
    }
    a.weight = w;
    a.members.insert(a.members.end(), b.members.begin(), b.members.end());
    clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(bj));
  }
  std::array<std::vector<double>, 2> centroid = {clusters[0].centroid, clusters[1].centroid};
  for (int it = 0; it < 20; ++it) {
    bool changed = false;
    for (auto i : idx) {
      const int s =
          squared_distance(pieces[i].embedding, centroid[0]) <= squared_distance(pieces[i].embedding, centroid[1]) ? 0
                                                                                                                   : 1;
      changed = changed || s != pieces[i].speaker;
      pieces[i].speaker = s;
    }
    if (!changed && it > 0) break;
    for (int s = 0; s < 2; ++s) {
      std::vector<double> sum(centroid[0].size(), 0.0);
      double w = 0;
      for (auto i : idx) {
        if (pieces[i].speaker != s) continue;
        const auto pw = static_cast<double>(pieces[i].frames.size());
        for (std::size_t d = 0; d < sum.size(); ++d) sum[d] += pieces[i].embedding[d] * pw;
        w += pw;
      }
      if (w > 0) {
        for (auto& v : sum) v /= w;
        centroid[static_cast<std::size_t>(s)] = std::move(sum);
      }
    }
  }
  double within = 0, weight = 0;
  for (auto i : idx) {
    const auto pw = static_cast<double>(pieces[i].frames.size());
    within += pw * squared_distance(pieces[i].embedding, centroid[static_cast<std::size_t>(pieces[i].speaker)]);
    weight += pw;
  }
  within /= std::max(weight, 1.0);
  return squared_distance(centroid[0], centroid[1]) / std::max(within, 1e-9);
}

// How much better each speaker's own model explains its frames than the other's, in nats
// per frame, cross-validated: models trained on the frames of even seconds score the frames
// of odd seconds and the other way round. Two voices: several nats; one voice cut in two
// by the clustering: near zero.
double cross_likelihood(const Features& feats, const std::vector<char>& selected, const std::vector<int>& label,
                        int components) {
  double total = 0, count = 0;
  for (std::size_t fold = 0; fold < 2; ++fold) {
    std::array<std::vector<const float*>, 2> train, test;
    for (std::size_t f = 0; f < label.size(); ++f) {
      if (!selected[f] || label[f] < 0) continue;
      auto& into = (f / 100) % 2 == fold ? train : test;
      into[static_cast<std::size_t>(label[f])].push_back(feats.frame(f));
    }
    if (train[0].size() < 50 || train[1].size() < 50) return 0;
    std::array<Gmm, 2> gmm;
    for (std::size_t s = 0; s < 2; ++s) gmm[s].train(train[s], feats.dims, components);
    for (std::size_t s = 0; s < 2; ++s) {
      for (const float* f : test[s]) {
        total += gmm[s].log_likelihood(f) - gmm[1 - s].log_likelihood(f);
        count += 1;
      }
    }
  }
  return count > 0 ? total / count : 0;
}

}  // namespace

// ---------------------------------------------------------------------------- MFCC

Features mfcc(std::span<const float> samples, int sample_rate, const MfccOptions& o) {
  Features out;
  out.dims = o.cepstra;
  out.hop_ms = o.hop_ms;
  if (samples.empty() || sample_rate <= 0) return out;
  std::vector<float> resampled;
  if (sample_rate != kRate) resampled = resample(samples, sample_rate, kRate);
  const std::span<const float> x = sample_rate == kRate ? samples : std::span<const float>(resampled);

  const auto win = static_cast<std::size_t>(o.window_ms * kRate / 1000);
  const auto hop = static_cast<std::size_t>(std::max(1, o.hop_ms * kRate / 1000));
  std::size_t nfft = 64;
  while (nfft < win) nfft *= 2;
  const std::size_t bins = nfft / 2 + 1;
  const std::size_t n_frames = (x.size() + hop - 1) / hop;

  std::vector<float> window(win);
  for (std::size_t i = 0; i < win; ++i) {
    window[i] = static_cast<float>(
        0.54 - 0.46 * std::cos(2 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(win - 1)));
  }
  // Triangular mel filters over the FFT bins.
  const auto bands = static_cast<std::size_t>(o.mel_bands);
  std::vector<std::vector<float>> filters(bands, std::vector<float>(bins, 0.0f));
  const double mel_lo = hz_to_mel(o.low_hz);
  const double mel_hi = hz_to_mel(std::min(o.high_hz, kRate / 2.0));
  std::vector<double> edge(bands + 2);
  for (std::size_t m = 0; m < bands + 2; ++m) {
    edge[m] = mel_to_hz(mel_lo + (mel_hi - mel_lo) * static_cast<double>(m) / static_cast<double>(bands + 1));
  }
  for (std::size_t m = 0; m < bands; ++m) {
    for (std::size_t b = 0; b < bins; ++b) {
      const double hz = static_cast<double>(b) * kRate / static_cast<double>(nfft);
      double v = 0;
      if (hz > edge[m] && hz <= edge[m + 1]) v = (hz - edge[m]) / (edge[m + 1] - edge[m]);
      if (hz > edge[m + 1] && hz < edge[m + 2]) v = (edge[m + 2] - hz) / (edge[m + 2] - edge[m + 1]);
      filters[m][b] = static_cast<float>(v);
    }
  }
  const auto ceps = static_cast<std::size_t>(o.cepstra);
  std::vector<float> dct(ceps * bands);
  for (std::size_t k = 0; k < ceps; ++k) {
    for (std::size_t m = 0; m < bands; ++m) {
      dct[k * bands + m] = static_cast<float>(std::cos(std::numbers::pi * static_cast<double>(k + 1) *
                                                       (static_cast<double>(m) + 0.5) / static_cast<double>(bands)));
    }
  }

  const std::unique_ptr<kiss_fftr_state, FftFree> fft(kiss_fftr_alloc(static_cast<int>(nfft), 0, nullptr, nullptr));
  std::vector<float> frame(nfft);
  std::vector<kiss_fft_cpx> spectrum(bins);
  std::vector<float> power(bins);
  std::vector<float> logmel(bands);
  out.values.resize(n_frames * ceps);
  out.log_energy.resize(n_frames);
  for (std::size_t f = 0; f < n_frames; ++f) {
    const std::size_t begin = f * hop;
    double energy = 0;
    std::fill(frame.begin(), frame.end(), 0.0f);
    for (std::size_t i = 0; i < win; ++i) {
      const std::size_t at = begin + i;
      if (at >= x.size()) break;
      const float prev = at > 0 ? x[at - 1] : 0.0f;
      energy += static_cast<double>(x[at]) * x[at];
      frame[i] = (x[at] - 0.97f * prev) * window[i];
    }
    out.log_energy[f] = static_cast<float>(10.0 * std::log10(energy / static_cast<double>(win) + 1e-12));
    kiss_fftr(fft.get(), frame.data(), spectrum.data());
    for (std::size_t b = 0; b < bins; ++b) power[b] = spectrum[b].r * spectrum[b].r + spectrum[b].i * spectrum[b].i;
    for (std::size_t m = 0; m < bands; ++m) {
      double e = 0;
      for (std::size_t b = 0; b < bins; ++b) e += static_cast<double>(filters[m][b]) * power[b];
      logmel[m] = static_cast<float>(std::log(e + 1e-10));
    }
    for (std::size_t k = 0; k < ceps; ++k) {
      double c = 0;
      for (std::size_t m = 0; m < bands; ++m) c += static_cast<double>(dct[k * bands + m]) * logmel[m];
      out.values[f * ceps + k] = static_cast<float>(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------- diarization

Diarization diarize(std::span<const float> samples, int sample_rate, const DiarizeOptions& options) {
  const auto activity = detect_voice(samples, sample_rate, options.vad);
  return diarize(samples, sample_rate, activity.speech, options);
}

Diarization diarize(std::span<const float> samples, int sample_rate, std::span<const Interval> speech,
                    const DiarizeOptions& o) {
  Diarization out;
  if (speech.empty() || samples.empty() || sample_rate <= 0) return out;
  Features feats = mfcc(samples, sample_rate, o.mfcc);
  const std::size_t n_frames = feats.frames();
  const auto dims = static_cast<std::size_t>(feats.dims);
  const std::int64_t hop = feats.hop_ms;
  if (n_frames == 0) return out;

  // Frames of speech loud enough to carry the voice (the rest of a speech interval, quiet
  // pauses and tails, is labelled with its neighbours but not used as evidence).
  std::vector<float> sorted = feats.log_energy;
  const std::size_t k = sorted.size() / 10;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
  const float loud = std::max(sorted[k] + 10.0f, -55.0f);
  std::vector<char> selected(n_frames, 0);
  struct Span {
    std::size_t first, last;
    std::int64_t start_ms, end_ms;
  };
  std::vector<Span> spans;
  const auto frame_count = static_cast<std::int64_t>(n_frames);
  for (const auto& iv : speech) {
    const auto first = static_cast<std::size_t>(std::clamp<std::int64_t>(iv.start_ms / hop, 0, frame_count));
    const auto last = static_cast<std::size_t>(std::clamp<std::int64_t>((iv.end_ms + hop - 1) / hop, 0, frame_count));
    if (last <= first) continue;
    spans.push_back({first, last, iv.start_ms, iv.end_ms});
    for (std::size_t f = first; f < last; ++f) selected[f] = feats.log_energy[f] > loud ? 1 : 0;
  }
  if (spans.empty()) return out;

  // Normalise every dimension over the selected frames (so that distances weigh them alike).
  std::vector<double> mean(dims, 0.0), sd(dims, 0.0);
  double count = 0;
  for (std::size_t f = 0; f < n_frames; ++f) {
    if (!selected[f]) continue;
    count += 1;
    for (std::size_t d = 0; d < dims; ++d) {
      mean[d] += feats.frame(f)[d];
      sd[d] += static_cast<double>(feats.frame(f)[d]) * feats.frame(f)[d];
    }
  }
  if (count < 10) {
    // Too little loud speech to tell voices apart: one speaker.
    for (const auto& s : spans) out.turns.push_back({s.start_ms, s.end_ms, 0});
    out.speakers = 1;
    return out;
  }
  for (std::size_t d = 0; d < dims; ++d) {
    mean[d] /= count;
    sd[d] = std::sqrt(std::max(sd[d] / count - mean[d] * mean[d], 1e-6));
  }
  for (std::size_t f = 0; f < n_frames; ++f) {
    for (std::size_t d = 0; d < dims; ++d) {
      auto& v = feats.values[f * dims + d];
      v = static_cast<float>((v - mean[d]) / sd[d]);
    }
  }

  // Change detection inside each interval, then pieces.
  std::vector<Piece> pieces;
  for (const auto& s : spans) {
    std::vector<const float*> frames;
    std::vector<std::size_t> frame_at;
    for (std::size_t f = s.first; f < s.last; ++f) {
      if (!selected[f]) continue;
      frames.push_back(feats.frame(f));
      frame_at.push_back(f);
    }
    auto changes = find_changes(frames, feats.dims, o);
    changes.push_back(frames.size());
    std::size_t from = 0;
    std::size_t first = s.first;
    for (const auto c : changes) {
      Piece p;
      p.first = first;
      p.last = c < frame_at.size() ? frame_at[c] : s.last;
      p.frames.assign(frames.begin() + static_cast<std::ptrdiff_t>(from),
                      frames.begin() + static_cast<std::ptrdiff_t>(c));
      if (p.frames.size() >= 10) p.embedding = embed(p.frames, dims);
      first = p.last;
      from = c;
      pieces.push_back(std::move(p));
    }
  }

  const bool two = cluster_two(pieces, o.cluster_seed_segments) > 0 &&
                   std::count_if(pieces.begin(), pieces.end(), [](const Piece& p) { return p.speaker == 1; }) > 0;

  std::vector<int> label(n_frames, -1);
  if (!two) {
    for (const auto& s : spans)
      for (std::size_t f = s.first; f < s.last; ++f) label[f] = 0;
  } else {
    for (const auto& p : pieces)
      for (std::size_t f = p.first; f < p.last; ++f) label[f] = p.speaker;
    // Viterbi resegmentation with one mixture per speaker.
    for (int pass = 0; pass < o.resegment_passes; ++pass) {
      std::array<std::vector<const float*>, 2> train;
      for (std::size_t f = 0; f < n_frames; ++f) {
        if (selected[f] && label[f] >= 0) train[static_cast<std::size_t>(label[f])].push_back(feats.frame(f));
      }
      if (train[0].empty() || train[1].empty()) break;
      std::array<Gmm, 2> gmm;
      for (std::size_t s = 0; s < 2; ++s) gmm[s].train(train[s], feats.dims, o.gmm_components);
      for (const auto& s : spans) {
        const std::size_t n = s.last - s.first;
        std::vector<std::array<char, 2>> back(n);
        std::array<double, 2> score = {0, 0};
        for (std::size_t i = 0; i < n; ++i) {
          const std::size_t f = s.first + i;
          std::array<double, 2> emit = {0, 0};
          if (selected[f]) {
            emit[0] = gmm[0].log_likelihood(feats.frame(f));
            emit[1] = gmm[1].log_likelihood(feats.frame(f));
            const double top = std::max(emit[0], emit[1]);
            emit[0] -= top;
            emit[1] -= top;
          }
          std::array<double, 2> next{};
          for (std::size_t t = 0; t < 2; ++t) {
            const double stay = score[t];
            const double move = score[1 - t] - (i == 0 ? 0.0 : o.switch_penalty);
            back[i][t] = stay >= move ? static_cast<char>(t) : static_cast<char>(1 - t);
            next[t] = std::max(stay, move) + emit[t];
          }
          score = next;
        }
        std::size_t state = score[0] >= score[1] ? 0 : 1;
        for (std::size_t i = n; i-- > 0;) {
          label[s.first + i] = static_cast<int>(state);
          state = static_cast<std::size_t>(static_cast<unsigned char>(back[i][state]));
        }
      }
    }
    // One Gaussian per side: the voices' average spectra, not the phones within them.
    out.separation = cross_likelihood(feats, selected, label, 1);
    if (out.separation < o.single_speaker_distance) std::fill(label.begin(), label.end(), 0);
  }

  // Frames to turns, with the intervals' own edges.
  for (const auto& s : spans) {
    std::size_t f = s.first;
    while (f < s.last) {
      std::size_t g = f;
      while (g < s.last && label[g] == label[f]) ++g;
      const std::int64_t start = f == s.first ? s.start_ms : static_cast<std::int64_t>(f) * hop;
      const std::int64_t end = g == s.last ? s.end_ms : static_cast<std::int64_t>(g) * hop;
      if (end > start) out.turns.push_back({start, end, std::max(0, label[f])});
      f = g;
    }
  }
  // Speaker 0 speaks first.
  if (!out.turns.empty() && out.turns.front().speaker == 1) {
    for (auto& t : out.turns) t.speaker = 1 - t.speaker;
  }
  out.speakers = 1;
  for (const auto& t : out.turns) out.speakers = std::max(out.speakers, t.speaker + 1);
  return out;
}

// ---------------------------------------------------------------------------- scoring

DiarizationError diarization_error(std::span<const SpeakerTurn> reference, std::span<const SpeakerTurn> hypothesis,
                                   std::int64_t collar_ms) {
  DiarizationError out;
  constexpr std::int64_t kStep = 10;
  std::int64_t end = 0;
  std::vector<int> ref_ids, hyp_ids;
  auto index_of = [](std::vector<int>& ids, int speaker) {
    auto it = std::find(ids.begin(), ids.end(), speaker);
    if (it == ids.end()) {
      ids.push_back(speaker);
      return ids.size() - 1;
    }
    return static_cast<std::size_t>(it - ids.begin());
  };
  for (const auto& t : reference) {
    end = std::max(end, t.end_ms);
    index_of(ref_ids, t.speaker);
  }
  for (const auto& t : hypothesis) {
    end = std::max(end, t.end_ms);
    index_of(hyp_ids, t.speaker);
  }
  const auto n = static_cast<std::size_t>((end + kStep - 1) / kStep);
  const std::size_t nr = ref_ids.size();
  const std::size_t nh = hyp_ids.size();
  std::vector<std::uint32_t> ref(n, 0), hyp(n, 0);  // bit sets of speakers per 10 ms
  std::vector<char> scored(n, 1);
  auto paint = [&](std::vector<std::uint32_t>& grid, std::vector<int>& ids, const SpeakerTurn& t) {
    const auto bit = std::uint32_t{1} << std::min<std::size_t>(31, index_of(ids, t.speaker));
    for (auto i = static_cast<std::size_t>(std::max<std::int64_t>(0, t.start_ms) / kStep);
         i < std::min(n, static_cast<std::size_t>(std::max<std::int64_t>(0, t.end_ms) / kStep)); ++i) {
      grid[i] |= bit;
    }
  };
  for (const auto& t : reference) {
    paint(ref, ref_ids, t);
    for (const std::int64_t edge : {t.start_ms, t.end_ms}) {
      const auto from = static_cast<std::size_t>(std::max<std::int64_t>(0, edge - collar_ms) / kStep);
      const auto to = std::min(n, static_cast<std::size_t>(std::max<std::int64_t>(0, edge + collar_ms) / kStep));
      for (std::size_t i = from; i < to; ++i) scored[i] = 0;
    }
  }
  for (const auto& t : hypothesis) paint(hyp, hyp_ids, t);

  // The one-to-one mapping hypothesis -> reference with the most matched time.
  std::vector<std::vector<std::int64_t>> overlap(nh, std::vector<std::int64_t>(nr, 0));
  for (std::size_t i = 0; i < n; ++i) {
    if (!scored[i]) continue;
    for (std::size_t h = 0; h < nh; ++h) {
      if ((hyp[i] >> h & 1U) == 0) continue;
      for (std::size_t r = 0; r < nr; ++r) overlap[h][r] += (ref[i] >> r & 1U);
    }
  }
  std::vector<int> map(nh, -1), best_map(nh, -1);
  std::int64_t best = -1;
  std::vector<char> used(nr, 0);
  std::function<void(std::size_t, std::int64_t)> search = [&](std::size_t h, std::int64_t total) {
    if (h == nh) {
      if (total > best) {
        best = total;
        best_map = map;
      }
      return;
    }
    map[h] = -1;
    search(h + 1, total);
    for (std::size_t r = 0; r < nr; ++r) {
      if (used[r]) continue;
      used[r] = 1;
      map[h] = static_cast<int>(r);
      search(h + 1, total + overlap[h][r]);
      used[r] = 0;
    }
  };
  if (nh <= 8 && nr <= 8) search(0, 0);

  std::int64_t total = 0, missed = 0, false_alarm = 0, confusion = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!scored[i]) continue;
    const int n_ref = std::popcount(ref[i]);
    const int n_hyp = std::popcount(hyp[i]);
    int correct = 0;
    for (std::size_t h = 0; h < nh; ++h) {
      if ((hyp[i] >> h & 1U) != 0 && best_map[h] >= 0 && (ref[i] >> best_map[h] & 1U) != 0) ++correct;
    }
    total += n_ref;
    missed += std::max(0, n_ref - n_hyp);
    false_alarm += std::max(0, n_hyp - n_ref);
    confusion += std::min(n_ref, n_hyp) - correct;
  }
  out.reference_ms = total * kStep;
  if (total > 0) {
    const auto t = static_cast<double>(total);
    out.missed = static_cast<double>(missed) / t;
    out.false_alarm = static_cast<double>(false_alarm) / t;
    out.confusion = static_cast<double>(confusion) / t;
    out.der = out.missed + out.false_alarm + out.confusion;
  }
  return out;
}

}  // namespace earshot::audio
