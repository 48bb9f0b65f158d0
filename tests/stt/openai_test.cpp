#include <gtest/gtest.h>

#include "earshot/stt/adapters.hpp"
#include "earshot/stt/speakers.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "stt/stt_test_util.hpp"
#include "support/timing.hpp"

namespace earshot::stt {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FailureKind;
using earshot::testing::FakeOpenAi;

class OpenAiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake.start()); }
  OpenAiSttProvider provider(ProviderConfig c, OpenAiSttProvider::Mode mode = OpenAiSttProvider::Mode::kOpenAi) {
    return OpenAiSttProvider(std::move(c), client, SystemClock::instance(), mode);
  }
  ProviderConfig config() {
    auto c = testing::fake_config("openai", fake);
    c.language = "en-US";
    return c;
  }
  SttJob mono() { return testing::job_for(testing::make_wav(1, 2.0), 1, 2.0); }

  FakeOpenAi fake;
  http::CurlHttpClient client;
};

TEST_F(OpenAiTest, VerboseJsonWithSegmentAndWordTimestamps) {
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/v1/audio/transcriptions"), 1);
  const auto fields = fake.last_fields();
  EXPECT_EQ(fields.find("file")->second, "audio.wav|audio/wav");
  EXPECT_EQ(fields.find("model")->second, "whisper-1");
  EXPECT_EQ(fields.find("language")->second, "en");
  EXPECT_EQ(fields.find("response_format")->second, "verbose_json");
  auto [b, e] = fields.equal_range("timestamp_granularities[]");
  std::vector<std::string> grans;
  for (auto it = b; it != e; ++it) grans.push_back(it->second);
  EXPECT_EQ(grans, (std::vector<std::string>{"segment", "word"}));
  ASSERT_EQ(t->segments.size(), 2U);  // the channel-0 lines of the script (marked mono file)
  EXPECT_EQ(t->language, "english");
  EXPECT_EQ(t->segments[0].text, "Thank you for calling Acme, how can I help you today?");
  EXPECT_EQ(t->segments[0].start_ms, 1500);
  EXPECT_EQ(t->segments[0].end_ms, 4500);
  ASSERT_EQ(t->segments[0].words.size(), 11U);
  EXPECT_EQ(t->segments[0].words[4].text, "Acme,");
  EXPECT_NEAR(t->segments[0].confidence, 0.905, 0.01);
  // No speakers from OpenAI on a mono mix: labels stay unknown rather than guessed.
  EXPECT_FALSE(t->diarized);
  EXPECT_EQ(t->segments[0].speaker, "unknown");
}

TEST_F(OpenAiTest, AnMp3IsSentAsAnMp3) {
  auto p = provider(config());
  auto job = mono();
  job.audio = "ID3\x03" + std::string(2000, '\x01');  // the fake transcribes anything
  auto t = testing::run(p, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.last_fields().find("file")->second, "audio.mp3|audio/mpeg");
}

TEST_F(OpenAiTest, PerChannelSplitsStereoIntoTwoMonoRequests) {
  auto made = make_provider(config(), client, SystemClock::instance());
  ASSERT_TRUE(made);
  auto job = testing::job_for(testing::make_wav(2, 2.0), 2, 2.0);
  job.separate_channels = true;
  auto t = testing::run(**made, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/v1/audio/transcriptions"), 2);
  ASSERT_EQ(t->segments.size(), 4U);
  EXPECT_EQ(t->segments[0].speaker, "ch1");
  EXPECT_EQ(t->segments[1].speaker, "ch0");
  SpeakerMapping swapped;
  swapped.agent_on_left = false;
  auto copy = *t;
  map_speakers(*t);
  EXPECT_EQ(t->segments[1].speaker, "agent");
  map_speakers(copy, swapped);
  EXPECT_EQ(copy.segments[1].speaker, "customer");
}

TEST_F(OpenAiTest, RetryAfterSecondsIsHonoured) {
  fake.fail_next(earshot::testing::FailurePlan::of(1, FailureKind::kRateLimit).after_s(1));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_TRUE(t) << t.error().to_string();
  ASSERT_EQ(fake.count(), 2);
  const auto g = testing::gaps(fake, "/v1/audio/transcriptions");
  ASSERT_EQ(g.size(), 1U);
  EXPECT_GE(g[0], 990ms);
  EXPECT_LT(g[0], 1800ms);
}

TEST_F(OpenAiTest, RetryAfterHttpDateIsHonoured) {
  // Rounded to whole seconds by the date format: wait between 2 and 4 s after now, at least
  // 900 ms after the first attempt even when reaching it is slow (a sanitizer build).
  const auto when = std::chrono::system_clock::now() + 3s;
  const auto tt = std::chrono::system_clock::to_time_t(when);
  char buf[64];
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  fake.fail_next(earshot::testing::FailurePlan::of(1, FailureKind::kUnavailable).after_date(std::string(buf)));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_TRUE(t) << t.error().to_string();
  const auto g = testing::gaps(fake, "/v1/audio/transcriptions");
  ASSERT_EQ(g.size(), 1U);
  EXPECT_GE(g[0], 900ms);
  EXPECT_LT(g[0], 4100ms * earshot::testing::kTimingSlack);
}

TEST_F(OpenAiTest, InsufficientQuotaInTheFlatShapeIsNotRetried) {
  fake.set_flat_errors(true);
  fake.fail_next(earshot::testing::FailurePlan::of(5, FailureKind::kQuota));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kFailedPrecondition) << t.error().to_string();
  EXPECT_NE(t.error().message.find("insufficient_quota"), std::string::npos);
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(OpenAiTest, BadKeyAndBadInputFailAtOnce) {
  auto c = config();
  c.api_key = "nope";
  auto bad_key = provider(c);
  auto t = testing::run(bad_key, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kUnauthenticated) << t.error().to_string();
  EXPECT_EQ(fake.count(), 1);

  fake.fail_next(earshot::testing::FailurePlan::of(5, FailureKind::kInvalidInput));
  auto p = provider(config());
  t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument) << t.error().to_string();
  EXPECT_EQ(fake.count(), 2);
}

TEST_F(OpenAiTest, RateLimitInTheNestedShapeIsRetried) {
  fake.fail_next(earshot::testing::FailurePlan::of(2, FailureKind::kRateLimit));
  auto p = provider(config());
  auto t = testing::run(p, mono());
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count(), 3);
}

TEST_F(OpenAiTest, WhisperCppInferenceWithStereoDiarization) {
  auto c = testing::fake_config("whisper_cpp", fake);
  auto p = provider(c, OpenAiSttProvider::Mode::kWhisperCpp);
  auto t = testing::run(p, testing::job_for(testing::make_wav(2, 2.0), 2, 2.0));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/inference"), 1);
  const auto fields = fake.last_fields();
  EXPECT_EQ(fields.count("model"), 0U);
  EXPECT_EQ(fields.find("diarize")->second, "true");
  EXPECT_EQ(fields.find("response_format")->second, "verbose_json");
  EXPECT_TRUE(t->diarized);
  ASSERT_EQ(t->segments.size(), 4U);
  EXPECT_EQ(t->segments[0].speaker, "1");
  EXPECT_EQ(t->segments[1].words.front().text, "Thank");
  EXPECT_DOUBLE_EQ(t->segments[1].words.front().confidence, 0.9);
  map_speakers(*t);
  EXPECT_EQ(t->segments[0].speaker, "customer");
  EXPECT_EQ(t->segments[1].speaker, "agent");
}

TEST_F(OpenAiTest, WhisperCppErrorsAndMalformedBodies) {
  auto c = testing::fake_config("whisper_cpp", fake);
  auto p = provider(c, OpenAiSttProvider::Mode::kWhisperCpp);
  fake.set_malformed(true);
  auto t = testing::run(p, mono());
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("malformed response"), std::string::npos) << t.error().message;
  EXPECT_EQ(fake.count(), 1);
}

}  // namespace
}  // namespace earshot::stt
