#include <gtest/gtest.h>

#include <cmath>
#include <span>

#include "earshot/audio/audio.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/stt/adapters.hpp"
#include "earshot/stt/speakers.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "stt/stt_test_util.hpp"

namespace earshot::stt {
namespace {

using earshot::testing::FailureKind;
using earshot::testing::FakeSarvam;

TEST(WavWriter, RoundTripsThroughTheDecoder) {
  audio::AudioBuffer in;
  in.sample_rate = 8000;
  in.channels = {std::vector<float>(800), std::vector<float>(800)};
  for (std::size_t i = 0; i < 800; ++i) {
    in.channels[0][i] = 0.5F * static_cast<float>(std::sin(static_cast<double>(i) * 0.1));
    in.channels[1][i] = i % 2 == 0 ? 1.5F : -1.5F;  // clipped to full scale
  }
  const std::string wav = audio::encode_wav_pcm16(in);
  EXPECT_EQ(wav.size(), 44U + 800U * 2U * 2U);
  auto out =
      audio::decode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(wav.data()), wav.size()));
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(out->format, audio::AudioFormat::kWav);
  EXPECT_EQ(out->sample_rate, 8000);
  ASSERT_EQ(out->channels.size(), 2U);
  ASSERT_EQ(out->frames(), 800U);
  for (std::size_t i = 0; i < 800; ++i) {
    EXPECT_NEAR(out->channels[0][i], in.channels[0][i], 1e-4);
    EXPECT_NEAR(std::abs(out->channels[1][i]), 1.0F, 1e-3);
  }
  const std::string mono = audio::encode_wav_pcm16(in.channels[0], 16000);
  auto m =
      audio::decode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(mono.data()), mono.size()));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channels.size(), 1U);
  EXPECT_EQ(m->sample_rate, 16000);
  EXPECT_EQ(m->duration_ms(), 50);
}

class ChannelSplitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake.start());
    auto made = make_provider(testing::fake_config("sarvam", fake), client, SystemClock::instance());
    ASSERT_TRUE(made);
    provider = std::move(*made);
  }
  FakeSarvam fake;
  http::CurlHttpClient client;
  std::unique_ptr<SttProvider> provider;
};

TEST_F(ChannelSplitTest, StereoIsTranscribedPerChannelWithoutDiarization) {
  auto job = testing::job_for(testing::make_wav(2, 3.0), 2, 3.0);
  job.separate_channels = true;
  auto t = testing::run(*provider, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  // Two mono files of 3 s: the synchronous endpoint, no batch job, no diarization.
  EXPECT_EQ(fake.count("/speech-to-text"), 2);
  EXPECT_EQ(fake.count("/speech-to-text/job"), 0);
  EXPECT_FALSE(t->diarized);
  ASSERT_EQ(t->segments.size(), 4U);
  std::vector<std::string> labels;
  for (const auto& s : t->segments) labels.push_back(s.speaker);
  EXPECT_EQ(labels, (std::vector<std::string>{"ch1", "ch0", "ch1", "ch0"}));
  map_speakers(*t);
  EXPECT_EQ(t->segments[0].speaker, "customer");
  EXPECT_EQ(t->segments[1].speaker, "agent");
}

TEST_F(ChannelSplitTest, AFailedChannelFailsTheJobNamingTheChannel) {
  fake.fail_next(earshot::testing::FailurePlan::of(1, FailureKind::kInvalidInput));
  auto job = testing::job_for(testing::make_wav(2, 3.0), 2, 3.0);
  job.separate_channels = true;
  auto t = testing::run(*provider, std::move(job));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(t.error().message.find("channel "), std::string::npos) << t.error().message;
}

TEST_F(ChannelSplitTest, UndecodableAudioIsRefusedBeforeAnyRequest) {
  auto job = testing::job_for("definitely not audio, just text bytes", 2, 3.0);
  job.separate_channels = true;
  auto t = testing::run(*provider, std::move(job));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument) << t.error().to_string();
  EXPECT_EQ(fake.count(), 0);
}

TEST_F(ChannelSplitTest, MonoJobsPassThrough) {
  auto job = testing::job_for(testing::make_wav(1, 3.0), 1, 3.0);
  job.diarize = false;
  job.separate_channels = true;  // ignored: one channel
  auto t = testing::run(*provider, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text"), 1);
}

}  // namespace
}  // namespace earshot::stt
