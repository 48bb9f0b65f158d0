// Diarization of mono calls: the error measure itself, the features, bad input, the
// diarization error rate on the held-out part of the synthetic two-voice telephone set
// (diar_corpus.hpp), and the interruptions inferred from its turn-taking; printed and held
// to floors.
#include "earshot/audio/diarize.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "audio_fixture.hpp"
#include "diar_corpus.hpp"
#include "earshot/analytics/audio_metrics.hpp"

namespace earshot::audio {
namespace {

using Turns = std::vector<SpeakerTurn>;

// Clips synthesised once per run of this binary, removed at exit.
const std::string& clip_dir() {
  static const std::string dir = testing::temp_path("diar-clips");
  static const struct Cleanup {
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup;
  return dir;
}

TEST(DiarizationError, PerfectAndRelabelledHypothesesScoreZero) {
  const Turns ref = {{0, 3000, 0}, {3500, 6000, 1}, {6200, 9000, 0}};
  EXPECT_DOUBLE_EQ(diarization_error(ref, ref).der, 0.0);
  Turns swapped = ref;
  for (auto& t : swapped) t.speaker = 7 - t.speaker;  // other label values, mapped by overlap
  EXPECT_DOUBLE_EQ(diarization_error(ref, swapped).der, 0.0);
}

TEST(DiarizationError, CountsMissFalseAlarmAndConfusion) {
  const Turns ref = {{0, 4000, 0}, {4000, 8000, 1}};
  // No collar: every 10 ms scored.
  const auto all_one = diarization_error(ref, Turns{{0, 8000, 0}}, 0);
  EXPECT_NEAR(all_one.confusion, 0.5, 1e-9);
  EXPECT_NEAR(all_one.der, 0.5, 1e-9);
  const auto nothing = diarization_error(ref, Turns{}, 0);
  EXPECT_NEAR(nothing.missed, 1.0, 1e-9);
  const auto extra = diarization_error(ref, Turns{{0, 4000, 0}, {4000, 8000, 1}, {8000, 10000, 1}}, 0);
  EXPECT_NEAR(extra.false_alarm, 0.25, 1e-9);
  EXPECT_EQ(extra.reference_ms, 8000);
  // Overlapping reference speech counts twice; one hypothesis speaker there misses the other.
  const auto overlap = diarization_error(Turns{{0, 2000, 0}, {1000, 3000, 1}}, Turns{{0, 1500, 0}, {1500, 3000, 1}}, 0);
  EXPECT_EQ(overlap.reference_ms, 4000);
  EXPECT_NEAR(overlap.missed, 0.25, 1e-9);  // 1 s of two speakers, one found
  EXPECT_NEAR(overlap.confusion, 0.0, 1e-9);
}

TEST(DiarizationError, CollarAroundReferenceBoundariesIsNotScored) {
  const Turns ref = {{0, 4000, 0}, {4000, 8000, 1}};
  // The change is found 200 ms late: inside the 250 ms collar, no error.
  EXPECT_DOUBLE_EQ(diarization_error(ref, Turns{{0, 4200, 0}, {4200, 8000, 1}}, 250).der, 0.0);
  EXPECT_GT(diarization_error(ref, Turns{{0, 4200, 0}, {4200, 8000, 1}}, 0).der, 0.02);
}

TEST(Mfcc, FramesEvery10MsAtAnyRate) {
  for (const int rate : {8000, 16000, 44100}) {
    std::vector<float> tone(static_cast<std::size_t>(rate), 0.0f);  // 1 s
    for (std::size_t i = 0; i < tone.size(); ++i) {
      tone[i] = 0.3f * static_cast<float>(std::sin(2 * std::numbers::pi * 440.0 * static_cast<double>(i) / rate));
    }
    const auto f = mfcc(tone, rate);
    EXPECT_EQ(f.frames(), 100U) << rate;
    EXPECT_EQ(f.dims, 16);
    for (float v : f.values) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(Mfcc, CepstraIgnoreLevelAndFollowTheSpectrum) {
  const auto tone = [](double hz, float amp) {
    std::vector<float> x(8000);
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = amp * static_cast<float>(std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / 8000.0));
    }
    return x;
  };
  const auto soft = mfcc(tone(440, 0.05f), 8000);
  const auto loud = mfcc(tone(440, 0.5f), 8000);
  const auto high = mfcc(tone(1500, 0.05f), 8000);
  const std::size_t f = 50;  // a frame in the middle
  EXPECT_NEAR(loud.log_energy[f] - soft.log_energy[f], 20.0, 0.1);
  double level_change = 0, pitch_change = 0;
  for (int d = 0; d < soft.dims; ++d) {
    level_change = std::max(level_change, static_cast<double>(std::fabs(loud.frame(f)[d] - soft.frame(f)[d])));
    pitch_change = std::max(pitch_change, static_cast<double>(std::fabs(high.frame(f)[d] - soft.frame(f)[d])));
  }
  EXPECT_LT(level_change, 0.01);  // a gain is a constant in every log band: only c0 sees it
  EXPECT_GT(pitch_change, 1.0);
}

TEST(Diarize, SilenceAndDegenerateInputGiveNoSpeakers) {
  EXPECT_EQ(diarize(std::vector<float>{}, 8000).speakers, 0);
  EXPECT_EQ(diarize(std::vector<float>(8000, 0.0f), 8000).speakers, 0);
  EXPECT_TRUE(diarize(std::vector<float>(8000, 0.0f), 8000).turns.empty());
  EXPECT_EQ(diarize(std::vector<float>(100, 0.5f), 0).speakers, 0);
  // Speech intervals outside the audio are ignored, not read.
  const std::vector<Interval> outside = {{50'000, 60'000}};
  EXPECT_EQ(diarize(std::vector<float>(8000, 0.1f), 8000, outside).speakers, 0);
  // A lone click inside a claimed interval: too little to tell voices apart.
  std::vector<float> click(16000, 0.0f);
  click[8000] = 0.9f;
  const std::vector<Interval> around = {{400, 600}};
  const auto d = diarize(click, 8000, around);
  EXPECT_LE(d.speakers, 1);
}

// One voice alone (a voicemail, an announcement): the conservative one-voice check finds
// part of them; the rest are split in two (a documented limit). Held-out voices and lines.
TEST(Diarize, OneVoiceRecordings) {
  int one = 0;
  for (int i = 0; i < 6; ++i) {
    const auto call = testing::make_single_voice_call(testing::kHeldOutFirst + i, clip_dir());
    const auto d = diarize(call.samples, call.rate);
    EXPECT_GE(d.speakers, 1) << call.name;
    one += d.speakers == 1 ? 1 : 0;
    fmt::print("{:<52} speakers {}, separation {:.1f}\n", call.name, d.speakers, d.separation);
  }
  fmt::print("one-voice recordings found as one speaker: {} of 6\n", one);
  RecordProperty("one_voice_found", one);
  EXPECT_GE(one, 1);
}

// The figure docs/audio.md reports. Held-out calls only: none of them was used to choose
// the diarizer's settings.
TEST(Diarize, HeldOutTwoVoiceTelephoneCalls) {
  double ref_ms = 0, missed = 0, false_alarm = 0, confusion = 0, audio_s = 0, cpu_s = 0;
  double worst = 0;
  for (int i = 0; i < testing::kHeldOutCalls; ++i) {
    const auto call = testing::make_diar_call(testing::kHeldOutFirst + i, clip_dir());
    const auto t0 = std::chrono::steady_clock::now();
    const auto d = diarize(call.samples, call.rate);
    cpu_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    audio_s += static_cast<double>(call.duration_ms()) / 1000.0;
    const auto e = diarization_error(call.truth, d.turns, 250);
    EXPECT_EQ(d.speakers, 2) << call.name;
    const auto r = static_cast<double>(e.reference_ms);
    ref_ms += r;
    missed += e.missed * r;
    false_alarm += e.false_alarm * r;
    confusion += e.confusion * r;
    worst = std::max(worst, e.der);
    fmt::print("{:<52} DER {:5.1f}% (miss {:4.1f}, false alarm {:4.1f}, confusion {:4.1f})\n", call.name, 100 * e.der,
               100 * e.missed, 100 * e.false_alarm, 100 * e.confusion);
  }
  const double der = (missed + false_alarm + confusion) / ref_ms;
  fmt::print(
      "held-out set: {} calls, {:.1f} min: DER {:.1f}% (missed {:.1f}%, false alarm {:.1f}%, confusion {:.1f}%), "
      "250 ms collar, overlaps scored; worst call {:.1f}%; {:.0f}x real time\n",
      testing::kHeldOutCalls, audio_s / 60, 100 * der, 100 * missed / ref_ms, 100 * false_alarm / ref_ms,
      100 * confusion / ref_ms, 100 * worst, audio_s / cpu_s);
  RecordProperty("der_percent", fmt::format("{:.1f}", 100 * der));
  RecordProperty("confusion_percent", fmt::format("{:.1f}", 100 * confusion / ref_ms));
  RecordProperty("times_real_time", fmt::format("{:.0f}", audio_s / cpu_s));
  EXPECT_LT(der, 0.04);  // measured 2.4%; the target is 15%
  EXPECT_LT(worst, 0.15);
}

// Interruptions on diarized mono calls, inferred from turn-taking by the mono path's own
// measurement (measure_from_segments), against the overlap rule on the placed speech
// (the other continues >= 500 ms after one starts: over-speech back-channels and a few
// turn changes). Held-out calls; the rule's settings were chosen on the development calls.
TEST(Diarize, HeldOutInterruptionsFromTurnTaking) {
  testing::InterruptionScore total;
  int inferred_calls = 0;
  for (int i = 0; i < testing::kHeldOutCalls; ++i) {
    const auto call = testing::make_diar_call(testing::kHeldOutFirst + i, clip_dir());
    const auto d = diarize(call.samples, call.rate);
    AudioBuffer audio;
    audio.sample_rate = call.rate;
    audio.channels = {call.samples};
    std::vector<Interval> agent, customer;
    for (const auto& t : d.turns) (t.speaker == 0 ? agent : customer).push_back({t.start_ms, t.end_ms});
    const auto m = analytics::measure_from_segments(audio, agent, customer);
    inferred_calls += m.conversation.interruptions_inferred ? 1 : 0;
    const auto found =
        testing::found_interruptions(d, detect_voice(call.samples, call.rate, analytics::turn_taking_vad()).speech);
    // The metrics carry exactly the events found.
    int by_agent = 0, by_customer = 0;
    std::int64_t agent_ms = 0, customer_ms = 0;
    for (const auto& f : found) {
      (f.by == analytics::Role::kAgent ? by_agent : by_customer) += 1;
      (f.by == analytics::Role::kAgent ? agent_ms : customer_ms) += f.duration_ms;
    }
    EXPECT_EQ(m.conversation.agent.interruptions, by_agent) << call.name;
    EXPECT_EQ(m.conversation.customer.interruptions, by_customer) << call.name;
    EXPECT_EQ(m.conversation.agent.interruption_ms, agent_ms) << call.name;
    EXPECT_EQ(m.conversation.customer.interruption_ms, customer_ms) << call.name;
    const auto score = testing::score_interruptions(testing::reference_interruptions(call), found);
    total += score;
    fmt::print("{:<52} interruptions: {} found, {} in the reference, {} matched\n", call.name, score.found,
               score.reference, score.matched);
  }
  fmt::print(
      "held-out set: interruptions from turn-taking: {} found, {} in the reference, {} matched: precision "
      "{:.0f}%, recall {:.0f}%\n",
      total.found, total.reference, total.matched, 100 * total.precision(), 100 * total.recall());
  RecordProperty("interruption_precision_percent", fmt::format("{:.0f}", 100 * total.precision()));
  RecordProperty("interruption_recall_percent", fmt::format("{:.0f}", 100 * total.recall()));
  EXPECT_EQ(inferred_calls, testing::kHeldOutCalls);  // diarized turns never overlap
  EXPECT_GE(total.reference, 20);
  EXPECT_GE(total.precision(), 0.40);  // measured 50% (4 of 8)
  EXPECT_GE(total.recall(), 0.12);     // measured 17% (4 of 24)
}

}  // namespace
}  // namespace earshot::audio
