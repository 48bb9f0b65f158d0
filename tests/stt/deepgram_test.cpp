#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "earshot/stt/adapters.hpp"
#include "earshot/stt/speakers.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "stt/stt_test_util.hpp"
#include "support/timing.hpp"

namespace earshot::stt {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FailureKind;
using earshot::testing::FailurePlan;
using earshot::testing::FakeDeepgram;

class DeepgramTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake.start()); }
  DeepgramProvider provider(ProviderConfig c) {
    return DeepgramProvider(std::move(c), client, SystemClock::instance());
  }
  ProviderConfig config() { return testing::fake_config("deepgram", fake); }
  SttJob mono() { return testing::job_for(testing::make_wav(1, 2.0), 1, 2.0); }
  // A two-channel call transcribed per channel.
  static SttJob per_channel() {
    auto job = testing::job_for(testing::make_wav(2, 2.0), 2, 2.0);
    job.separate_channels = true;
    return job;
  }

  FakeDeepgram fake;
  http::CurlHttpClient client;
};

TEST_F(DeepgramTest, DiarizedTranscriptMapsToAgentAndCustomer) {
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/v1/listen"), 1);
  const auto q = fake.last_query();
  for (const char* part : {"model=nova-3", "diarize=true", "utterances=true", "punctuate=true", "smart_format=true"}) {
    EXPECT_NE(q.find(part), std::string::npos) << part << " in " << q;
  }
  EXPECT_EQ(q.find("multichannel"), std::string::npos);
  EXPECT_EQ(fake.last_content_type(), "audio/wav");
  ASSERT_EQ(t->segments.size(), 4U);
  EXPECT_TRUE(t->diarized);
  EXPECT_EQ(t->segments[0].speaker, "0");
  EXPECT_EQ(t->segments[1].start_ms, 1500);
  EXPECT_EQ(t->segments[1].end_ms, 4500);
  EXPECT_FALSE(t->segments[1].words.empty());
  EXPECT_EQ(t->segments[1].words.front().text, "Thank");
  EXPECT_DOUBLE_EQ(t->segments[1].confidence, 0.91);
  map_speakers(*t);
  EXPECT_EQ(t->segments[0].speaker, "customer");
  EXPECT_EQ(t->segments[1].speaker, "agent");
  EXPECT_EQ(t->segments[3].speaker, "agent");
}

TEST_F(DeepgramTest, PerChannelUsesMultichannelNatively) {
  auto made = make_provider(config(), client, SystemClock::instance());
  ASSERT_TRUE(made);
  auto t = testing::run(**made, per_channel());
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/v1/listen"), 1);  // one request: no split
  EXPECT_NE(fake.last_query().find("multichannel=true"), std::string::npos);
  EXPECT_FALSE(t->diarized);
  EXPECT_EQ(t->segments[0].speaker, "ch1");
  EXPECT_EQ(t->segments[1].speaker, "ch0");
  map_speakers(*t);
  EXPECT_EQ(t->segments[0].speaker, "customer");
  EXPECT_EQ(t->segments[1].speaker, "agent");
}

// A long call's answer: utterances without their own words take their channel's words in
// their time range, each word once, in order (the words are looked up, not rescanned and
// copied per utterance).
TEST_F(DeepgramTest, EachUtteranceGetsExactlyTheWordsOfItsChannelAndTimeRange) {
  std::vector<earshot::testing::FakeUtterance> script;
  for (int i = 0; i < 400; ++i) {
    const int ch = i % 2;
    script.push_back({.speaker = ch,
                      .channel = ch,
                      .start_s = i * 1.0,
                      .end_s = i * 1.0 + 0.9,
                      .text = fmt::format("Utterance {} on channel {}.", i, ch)});
  }
  fake.set_script(script);
  auto made = make_provider(config(), client, SystemClock::instance());
  ASSERT_TRUE(made);
  auto t = testing::run(**made, per_channel());
  ASSERT_TRUE(t) << t.error().to_string();
  ASSERT_EQ(t->segments.size(), script.size());
  for (std::size_t i = 0; i < script.size(); ++i) {
    const auto& seg = t->segments[i];
    EXPECT_EQ(seg.speaker, fmt::format("ch{}", script[i].channel)) << i;
    std::string joined;
    for (const auto& w : seg.words) joined += (joined.empty() ? "" : " ") + w.text;
    EXPECT_EQ(joined, script[i].text) << "segment " << i;
  }
}

// A job with audio_file: the request body is the stored file, read as it is sent (the job
// holds only the file's first bytes, for its content type).
TEST_F(DeepgramTest, AJobWithAFileSendsTheFileAsItsBody) {
  const auto wav = testing::make_wav(2, 2.0);
  const auto path = std::filesystem::temp_directory_path() / ("earshot-deepgram-file-" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    out << wav;
  }
  auto p = provider(config());
  EXPECT_TRUE(p.streams_files());
  auto job = testing::job_for(wav.substr(0, 64), 2, 2.0);
  job.separate_channels = true;
  job.audio_file = std::make_shared<const http::FileBody>(http::FileBody{.path = path.string(), .length = wav.size()});
  auto t = testing::run(p, std::move(job));
  std::filesystem::remove(path);
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.last_content_type(), "audio/wav");
  EXPECT_EQ(fake.last_body(), wav);
  EXPECT_FALSE(t->segments.empty());
}

TEST_F(DeepgramTest, BadKeyFailsAtOnceUnauthenticated) {
  auto c = config();
  c.api_key = "wrong";
  auto p = provider(c);
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kUnauthenticated) << t.error().to_string();
  EXPECT_NE(t.error().message.find("INVALID_AUTH"), std::string::npos);
  EXPECT_EQ(t.error().message.find("wrong"), std::string::npos);  // the key never shows
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(DeepgramTest, NoCreditsFailsAtOnceFailedPrecondition) {
  fake.fail_next(earshot::testing::FailurePlan::of(5, FailureKind::kQuota));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kFailedPrecondition) << t.error().to_string();
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(DeepgramTest, BadInputFailsAtOnceInvalidArgument) {
  fake.fail_next(earshot::testing::FailurePlan::of(5, FailureKind::kInvalidInput));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument) << t.error().to_string();
  EXPECT_NE(t.error().message.find("corrupt"), std::string::npos);
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(DeepgramTest, RateLimitIsRetriedHonouringRetryAfterMs) {
  fake.fail_next(earshot::testing::FailurePlan::of(2, FailureKind::kRateLimit).after_ms(300));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count(), 3);
  for (auto gap : testing::gaps(fake, "/v1/listen")) {
    EXPECT_GE(gap, 295ms);  // measured on the server side
    EXPECT_LT(gap, 1000ms);
  }
}

TEST_F(DeepgramTest, EveryAttemptIsReportedToTheObserver) {
  fake.fail_next(earshot::testing::FailurePlan::of(1, FailureKind::kUnavailable));
  auto c = config();
  std::mutex mu;
  std::vector<int> statuses;
  c.on_request = [&](const http::RequestOutcome& o) {
    std::lock_guard lock(mu);
    statuses.push_back(o.status);
    EXPECT_EQ(o.what, "deepgram listen");
  };
  auto p = provider(c);
  auto t = testing::run(p, mono());
  ASSERT_TRUE(t) << t.error().to_string();
  std::lock_guard lock(mu);
  EXPECT_EQ(statuses, (std::vector<int>{503, 200}));
}

TEST_F(DeepgramTest, ServerErrorsAreRetriedUpToTheAttemptLimit) {
  fake.fail_next(earshot::testing::FailurePlan::of(100, FailureKind::kServerError));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kUnavailable) << t.error().to_string();
  EXPECT_EQ(fake.count(), 4);
}

TEST_F(DeepgramTest, ExhaustedThrottlingIsRateLimitedWithAHint) {
  fake.fail_next(earshot::testing::FailurePlan::of(100, FailureKind::kRateLimit));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kRateLimited) << t.error().to_string();
  EXPECT_TRUE(t.error().retry_after.has_value());
  EXPECT_EQ(fake.count(), 4);
}

TEST_F(DeepgramTest, TimeoutsAreRetriedAndTheDeadlineHolds) {
  fake.set_never_answer(true);
  auto c = config();
  c.timeout = 200ms * earshot::testing::kTimingSlack;  // each attempt must reach the fake
  c.retry.max_attempts = 3;
  auto p = provider(c);
  const auto start = std::chrono::steady_clock::now();
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kTimeout) << t.error().to_string();
  EXPECT_EQ(fake.count(), 3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s * earshot::testing::kTimingSlack);
}

TEST_F(DeepgramTest, OverallDeadlineCutsTheRequestTimeout) {
  fake.set_never_answer(true);
  auto c = config();
  c.timeout = 30s;
  c.deadline = 400ms;
  auto p = provider(c);
  const auto start = std::chrono::steady_clock::now();
  auto t = testing::run(p, mono());
  const auto wall = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kTimeout) << t.error().to_string();
  EXPECT_GE(wall, 380ms);
  EXPECT_LT(wall, 1500ms * earshot::testing::kTimingSlack);
}

TEST_F(DeepgramTest, MalformedBodyIsAClearErrorAndNotResent) {
  fake.set_malformed(true);
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(t.error().message.find("malformed response"), std::string::npos) << t.error().message;
  EXPECT_EQ(fake.count(), 1);
}

// Found by the stt_response fuzz target: an utterance naming channel 9.2e19 was converted to
// an index with undefined behaviour. A channel the answer does not list is a malformed answer.
TEST_F(DeepgramTest, AnUtteranceOnAChannelTheAnswerDoesNotListIsMalformed) {
  for (int channel : {2, 7, -1}) {
    auto script = earshot::testing::default_script();
    script.back().channel = channel;
    fake.set_script(script);
    auto made = make_provider(config(), client, SystemClock::instance());
    ASSERT_TRUE(made);
    auto t = testing::run(**made, per_channel());
    ASSERT_FALSE(t) << channel;
    EXPECT_EQ(t.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(t.error().message.find(fmt::format("utterance channel {} is not one of the 2 channels", channel)),
              std::string::npos)
        << t.error().message;
  }
  fake.set_script(earshot::testing::default_script());
  auto made = make_provider(config(), client, SystemClock::instance());
  ASSERT_TRUE(made);
  EXPECT_TRUE(testing::run(**made, per_channel()));  // channels 0 and 1 are read
}

}  // namespace
}  // namespace earshot::stt
