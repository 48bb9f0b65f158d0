// Stereo calls built from flite speech at known offsets: the audio metrics must match the
// ground truth of the placement.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "audio_fixture.hpp"
#include "earshot/analytics/audio_metrics.hpp"

namespace earshot::analytics {
namespace {

using testing::Placement;
using testing::speak;

std::int64_t truth_total(const std::vector<audio::Interval>& v) {
  std::int64_t t = 0;
  for (const auto& i : v) t += i.length();
  return t;
}

audio::AudioBuffer to_buffer(const testing::TestCall& call) {
  audio::AudioBuffer b;
  b.sample_rate = call.rate;
  b.channels = call.channels;
  return b;
}

struct DesignedCall {
  testing::TestCall call;
  std::int64_t hold_start = 0, hold_end = 0;
  std::int64_t interruption_start = 0, interruption_end = 0;
};

// agent (left): greeting; customer: complaint; 4.5 s hold; agent apology, interrupted by
// the customer 1.2 s in (the agent goes on); agent resolution; 4 s of trailing silence.
DesignedCall designed_call() {
  DesignedCall d;
  auto a1 = speak("Thank you for calling Acme support my name is Sarah how can I help you today", "slt");
  auto c1 = speak("Hi I ordered a blender last week and it arrived completely broken", "rms");
  auto a2 = speak("I am really sorry to hear about that problem with your new blender from our store", "slt");
  auto c2 = speak("It was the red blender", "rms");
  auto a3 = speak("I have issued a full refund to your card", "slt");
  const int r = 8000;
  std::vector<Placement> parts;
  std::int64_t t = 500;
  parts.push_back({0, t, a1});
  t = parts.back().end_ms(r) + 800;
  parts.push_back({1, t, c1});
  d.hold_start = parts.back().end_ms(r);
  t = d.hold_start + 4500;
  d.hold_end = t;
  parts.push_back({0, t, a2});
  const auto a2_end = parts.back().end_ms(r);
  d.interruption_start = t + 1200;
  parts.push_back({1, d.interruption_start, c2});
  d.interruption_end = std::min(parts.back().end_ms(r), a2_end);
  t = std::max(a2_end, parts.back().end_ms(r)) + 1000;
  parts.push_back({0, t, a3});
  const auto end = parts.back().end_ms(r) + 4000;
  d.call = testing::build_call(2, end, parts, r);
  return d;
}

TEST(StereoCallMetrics, MatchTheGroundTruth) {
  auto d = designed_call();
  ASSERT_FALSE(d.call.truth[0].empty());
  auto m = measure_stereo(to_buffer(d.call), ChannelMap{});
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->source, MetricSource::kAudio);
  const auto& c = m->conversation;
  // Recorded in the test's XML output, so the margins are visible, not just pass/fail.
  RecordProperty("agent_talk_ms",
                 std::to_string(c.agent.talk_ms) + " truth " + std::to_string(truth_total(d.call.truth[0])));
  RecordProperty("customer_talk_ms",
                 std::to_string(c.customer.talk_ms) + " truth " + std::to_string(truth_total(d.call.truth[1])));
  RecordProperty("overtalk_ms",
                 std::to_string(c.overtalk_ms) + " truth " + std::to_string(d.interruption_end - d.interruption_start));
  RecordProperty("hold", std::to_string(c.silences.empty() ? -1 : c.silences[0].start_ms) + "-" +
                             std::to_string(c.silences.empty() ? -1 : c.silences[0].end_ms) + " truth " +
                             std::to_string(d.hold_start) + "-" + std::to_string(d.hold_end));
  const auto agent_truth = truth_total(d.call.truth[0]);
  const auto customer_truth = truth_total(d.call.truth[1]);
  EXPECT_NEAR(static_cast<double>(c.agent.talk_ms), static_cast<double>(agent_truth), agent_truth * 0.05);
  EXPECT_NEAR(static_cast<double>(c.customer.talk_ms), static_cast<double>(customer_truth), customer_truth * 0.05);

  // Silences of at least 3 s: the hold and the trailing silence, each within 300 ms.
  ASSERT_EQ(c.silences.size(), 2u) << "found " << c.silences.size();
  EXPECT_NEAR(static_cast<double>(c.silences[0].start_ms), static_cast<double>(d.hold_start), 300);
  EXPECT_NEAR(static_cast<double>(c.silences[0].end_ms), static_cast<double>(d.hold_end), 300);
  EXPECT_NEAR(static_cast<double>(c.silences[1].end_ms), static_cast<double>(d.call.duration_ms()), 300);

  // Exactly one interruption, by the customer; overtalk within 300 ms of the designed one.
  EXPECT_EQ(c.customer.interruptions, 1);
  EXPECT_EQ(c.agent.interruptions, 0);
  const auto designed_overtalk = d.interruption_end - d.interruption_start;
  EXPECT_NEAR(static_cast<double>(c.overtalk_ms), static_cast<double>(designed_overtalk), 300);

  // Loudness: flite speaks at roughly -20..-10 dBFS mean; peaks above the mean, below 0.
  EXPECT_GT(m->loudness.agent.mean_dbfs, -35);
  EXPECT_LT(m->loudness.agent.mean_dbfs, m->loudness.agent.peak_dbfs);
  EXPECT_LE(m->loudness.agent.peak_dbfs, 0.0);
  ASSERT_EQ(m->loudness_series.size(), 2u);
  EXPECT_EQ(m->loudness_series[0].size(), static_cast<std::size_t>((d.call.duration_ms() + 999) / 1000));
}

TEST(StereoCallMetrics, SwappedChannelMapSwapsRoles) {
  auto d = designed_call();
  auto normal = measure_stereo(to_buffer(d.call), ChannelMap{});
  auto swapped = measure_stereo(to_buffer(d.call), *ChannelMap::parse("customer,agent"));
  ASSERT_TRUE(normal && swapped);
  EXPECT_EQ(normal->conversation.agent.talk_ms, swapped->conversation.customer.talk_ms);
  EXPECT_EQ(normal->conversation.customer.interruptions, swapped->conversation.agent.interruptions);
  EXPECT_FALSE(ChannelMap::parse("left,right").has_value());
}

TEST(StereoCallMetrics, SilentAndNoiseOnlyCallsHaveZeroTalk) {
  audio::AudioBuffer silent;
  silent.sample_rate = 8000;
  silent.channels.assign(2, std::vector<float>(8000 * 20, 0.0f));
  auto m = measure_stereo(silent, ChannelMap{});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->conversation.agent.talk_ms + m->conversation.customer.talk_ms, 0);
  EXPECT_EQ(m->conversation.non_talk_ms, 20000);
  ASSERT_EQ(m->conversation.silences.size(), 1u);

  audio::AudioBuffer noise = silent;
  std::mt19937 rng(3);
  std::normal_distribution<float> hiss(0.0f, 0.03f);  // about -30 dBFS of line hiss
  for (auto& ch : noise.channels) {
    for (auto& s : ch) s = hiss(rng);
  }
  m = measure_stereo(noise, ChannelMap{});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->conversation.agent.talk_ms, 0);
  EXPECT_EQ(m->conversation.customer.talk_ms, 0);
}

TEST(StereoCallMetrics, MonoCannotBeMeasuredPerChannel) {
  audio::AudioBuffer mono;
  mono.sample_rate = 8000;
  mono.channels.assign(1, std::vector<float>(8000, 0.0f));
  auto m = measure_stereo(mono, ChannelMap{});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  auto from_segments = measure_from_segments(mono, {{0, 400}}, {{500, 900}});
  EXPECT_EQ(from_segments.source, MetricSource::kTranscript);
  EXPECT_EQ(from_segments.conversation.agent.talk_ms, 400);
}

TEST(FrameEnergy, AgreesWithADoubleSumAndFeedsTheSameLoudnessSeries) {
  // Noise with loud bursts, a length that is neither whole frames nor whole seconds.
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  const int rate = 8000;
  std::vector<float> x(static_cast<std::size_t>(rate) * 7 + 123);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool burst = (i / 4000) % 3 == 1;
    x[i] = std::clamp(noise(rng) * (burst ? 30.0f : 1.0f), -1.0f, 1.0f);
  }
  const auto a = audio::detect_voice(x, rate);
  const std::size_t frame_len = static_cast<std::size_t>(rate) * static_cast<std::size_t>(a.frame_ms) / 1000;
  ASSERT_EQ(a.frame_energy.size(), (x.size() + frame_len - 1) / frame_len);
  for (std::size_t f = 0; f < a.frame_energy.size(); ++f) {
    const std::size_t b = f * frame_len, e = std::min(x.size(), b + frame_len);
    double sum = 0;
    for (std::size_t i = b; i < e; ++i) sum += static_cast<double>(x[i]) * x[i];
    const double want = sum / static_cast<double>(e - b);
    ASSERT_NEAR(a.frame_energy[f], want, want * 1e-5 + 1e-12) << "frame " << f;
  }
  const auto from_samples = audio::loudness_series(x, rate);
  const auto from_frames = audio::loudness_series(a, x.size(), rate);
  ASSERT_EQ(from_frames.size(), from_samples.size());
  ASSERT_EQ(from_frames.size(), 8u);
  for (std::size_t k = 0; k < from_samples.size(); ++k) {
    EXPECT_NEAR(from_frames[k], from_samples[k], 0.001) << "second " << k;
  }
  // A step that is not whole frames falls back to nothing (the caller reads the samples).
  EXPECT_TRUE(audio::loudness_series(a, x.size(), rate, 1005).empty());
}

}  // namespace
}  // namespace earshot::analytics
