#include <gtest/gtest.h>

#include "earshot/stt/adapters.hpp"
#include "earshot/stt/speakers.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "stt/stt_test_util.hpp"

namespace earshot::stt {
namespace {

using earshot::testing::FailureKind;
using earshot::testing::FakeSarvam;

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
