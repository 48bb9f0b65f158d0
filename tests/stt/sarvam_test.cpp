#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "earshot/stt/adapters.hpp"
#include "earshot/stt/speakers.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "stt/stt_test_util.hpp"
#include "support/timing.hpp"

namespace earshot::stt {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FailureKind;
using earshot::testing::FakeSarvam;

const std::string kJobBase = "/speech-to-text/job/v1";

class SarvamTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake.start()); }
  SarvamProvider provider(ProviderConfig c) { return SarvamProvider(std::move(c), client, SystemClock::instance()); }
  ProviderConfig config() { return testing::fake_config("sarvam", fake); }
  // Short and needing no diarization: the synchronous endpoint.
  SttJob short_mono() {
    auto job = testing::job_for(testing::make_wav(1, 2.0), 1, 2.0);
    job.diarize = false;
    return job;
  }

  FakeSarvam fake;
  http::CurlHttpClient client;
};

TEST_F(SarvamTest, ShortAudioUsesTheSynchronousEndpoint) {
  auto p = provider(config());
  auto t = testing::run(p, short_mono());
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text"), 1);
  EXPECT_EQ(fake.count(kJobBase), 0);
  ASSERT_EQ(t->segments.size(), 2U);  // the channel-0 lines of the script (marked mono file)
  EXPECT_EQ(t->segments[0].text, "Thank you for calling Acme, how can I help you today?");
  EXPECT_EQ(t->segments[0].start_ms, 1500);
  EXPECT_EQ(t->segments[0].end_ms, 4500);
  EXPECT_EQ(t->segments[0].speaker, "unknown");
  EXPECT_EQ(t->language, "en-IN");
}

TEST_F(SarvamTest, DiarizationRunsTheBatchJobFlowEndToEnd) {
  fake.set_polls_until_complete(3);
  auto p = provider(config());
  auto job = testing::job_for(testing::make_wav(1, 2.0), 1, 2.0);
  const std::string audio = job.audio;
  auto t = testing::run(p, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text/job/v1/job-"), 1 + 3);  // start + status polls
  EXPECT_EQ(fake.count(kJobBase + "/upload-files"), 1);
  EXPECT_EQ(fake.count(kJobBase + "/download-files"), 1);
  EXPECT_EQ(fake.count("/blob/upload/"), 1);
  EXPECT_EQ(fake.count("/blob/output/"), 1);
  EXPECT_EQ(fake.count("/speech-to-text/job/v1/job-0001/status"), 3);
  EXPECT_EQ(fake.last_upload(), audio);
  const auto params = nlohmann::json::parse(fake.last_job_parameters());
  EXPECT_EQ(params["with_diarization"], true);
  EXPECT_EQ(params["num_speakers"], 2);
  EXPECT_EQ(params["model"], "saarika:v2.5");
  EXPECT_EQ(params["language_code"], "unknown");
  // The order of the flow as the fake saw it.
  std::vector<std::string> paths;
  for (const auto& r : fake.requests()) paths.push_back(r.method + " " + r.path);
  ASSERT_GE(paths.size(), 9U);
  EXPECT_EQ(paths[0], "POST " + kJobBase);
  EXPECT_EQ(paths[1], "POST " + kJobBase + "/upload-files");
  EXPECT_EQ(paths[2], "PUT /blob/upload/job-0001/audio.wav");
  EXPECT_EQ(paths[3], "POST " + kJobBase + "/job-0001/start");
  EXPECT_EQ(paths[4], "GET " + kJobBase + "/job-0001/status");
  EXPECT_EQ(paths[7], "POST " + kJobBase + "/download-files");
  EXPECT_EQ(paths[8], "GET /blob/output/job-0001/audio.wav.json");

  EXPECT_TRUE(t->diarized);
  ASSERT_EQ(t->segments.size(), 4U);
  EXPECT_EQ(t->segments[0].speaker, "SPEAKER_00");
  EXPECT_EQ(t->segments[1].speaker, "SPEAKER_01");
  auto applied = map_speakers(*t);
  EXPECT_EQ(applied["SPEAKER_01"], "agent");  // greeted, though SPEAKER_00 spoke first
  EXPECT_EQ(applied["SPEAKER_00"], "customer");
}

TEST_F(SarvamTest, LongAudioGoesThroughTheBatchApiEvenWithoutDiarization) {
  auto p = provider(config());
  auto job = testing::job_for(testing::make_wav(1, 31.0), 1, 31.0);
  job.diarize = false;
  auto t = testing::run(p, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text/job/v1/upload-files"), 1);
  const auto params = nlohmann::json::parse(fake.last_job_parameters());
  EXPECT_EQ(params["with_diarization"], false);
  EXPECT_FALSE(t->diarized);
  EXPECT_EQ(t->segments.size(), 4U);
}

// A ledger in memory: what a provider named, and how many times it named anything.
class MemoryLedger final : public JobLedger {
 public:
  [[nodiscard]] std::optional<std::string> recall(const std::string& key) const override {
    std::lock_guard l(mu_);
    auto it = jobs_.find(key);
    return it == jobs_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  void remember(const std::string& key, const std::string& provider_job) override {
    std::lock_guard l(mu_);
    jobs_[key] = provider_job;
    ++named_;
  }
  [[nodiscard]] std::map<std::string, std::string> jobs() const {
    std::lock_guard l(mu_);
    return jobs_;
  }
  [[nodiscard]] int named() const {
    std::lock_guard l(mu_);
    return named_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> jobs_;
  int named_ = 0;
};

// A two-second call wanting diarization (the batch flow) whose jobs are named in `ledger`.
SttJob named_batch_job(const std::shared_ptr<JobLedger>& ledger) {
  auto job = testing::job_for(testing::make_wav(1, 2.0), 1, 2.0);
  job.id = "transcript";
  job.ledger = ledger;
  return job;
}

// How many batch jobs the fake was asked to create.
int jobs_created(const FakeSarvam& fake) {
  int n = 0;
  for (const auto& r : fake.requests()) n += r.method == "POST" && r.path == kJobBase ? 1 : 0;
  return n;
}

// A started batch job is named in the job's ledger under the job's id; the same job run
// again with that ledger (a redelivered call) polls the named job for its result: no second
// job, no second upload.
TEST_F(SarvamTest, AStartedBatchJobIsNamedAndARedeliveryPollsItInsteadOfStartingAnother) {
  auto ledger = std::make_shared<MemoryLedger>();
  auto p = provider(config());
  auto job = named_batch_job(ledger);
  auto first = testing::run(p, job);
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_EQ(ledger->jobs().size(), 1u);
  EXPECT_TRUE(ledger->jobs().begin()->first.starts_with("transcript|"));
  EXPECT_EQ(ledger->jobs().begin()->second, "job-0001");

  auto again = testing::run(p, job);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(jobs_created(fake), 1);
  EXPECT_EQ(fake.count("/blob/upload/"), 1);
  EXPECT_EQ(fake.count(kJobBase + "/job-0001/start"), 1);
  EXPECT_EQ(fake.count(kJobBase + "/download-files"), 2);
  EXPECT_EQ(ledger->named(), 1);
  ASSERT_EQ(again->segments.size(), first->segments.size());
  for (std::size_t i = 0; i < first->segments.size(); ++i) EXPECT_EQ(again->segments[i].text, first->segments[i].text);
}

// A named job Sarvam no longer knows (404 on its status: expired, or another account's) is
// not an error: the job starts afresh and the new job is named.
TEST_F(SarvamTest, ANamedJobTheProviderDoesNotKnowIsStartedAfresh) {
  auto ledger = std::make_shared<MemoryLedger>();
  auto p = provider(config());
  auto job = named_batch_job(ledger);
  ASSERT_TRUE(testing::run(p, job));
  const auto key = ledger->jobs().begin()->first;
  ledger->remember(key, "job-9999");  // a job Sarvam does not know
  auto t = testing::run(p, job);
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count(kJobBase + "/job-9999/status"), 1);
  EXPECT_EQ(jobs_created(fake), 2);
  EXPECT_EQ(ledger->jobs(), (std::map<std::string, std::string>{{key, "job-0002"}}));
  EXPECT_FALSE(t->segments.empty());
}

// A named job that ended Failed is not the answer of a later delivery (a reprocess of the
// failed call): it starts a job of its own.
TEST_F(SarvamTest, ANamedJobThatFailedIsNotResumedButStartedAgain) {
  fake.set_batch_failure("audio could not be processed");
  auto ledger = std::make_shared<MemoryLedger>();
  auto p = provider(config());
  auto job = named_batch_job(ledger);
  EXPECT_FALSE(testing::run(p, job));
  EXPECT_EQ(ledger->jobs().begin()->second, "job-0001");
  auto again = testing::run(p, job);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("audio could not be processed"), std::string::npos) << again.error().message;
  EXPECT_EQ(jobs_created(fake), 2);
  EXPECT_EQ(ledger->jobs().begin()->second, "job-0002");
}

// A job with other settings (another model or language after a config change) is not the
// named job of the same call: it gets its own.
TEST_F(SarvamTest, AJobWithOtherSettingsIsNotResumed) {
  auto ledger = std::make_shared<MemoryLedger>();
  auto p = provider(config());
  auto job = named_batch_job(ledger);
  job.language = "hi-IN";
  ASSERT_TRUE(testing::run(p, job));
  job.language = "ta-IN";
  ASSERT_TRUE(testing::run(p, job));
  EXPECT_EQ(jobs_created(fake), 2);
  EXPECT_EQ(ledger->jobs().size(), 2u);
}

// Split per channel, each channel's batch job is named under its own key.
TEST_F(SarvamTest, EachChannelsBatchJobIsNamedUnderItsOwnKey) {
  auto made = make_provider(config(), client, SystemClock::instance());
  ASSERT_TRUE(made);
  auto ledger = std::make_shared<MemoryLedger>();
  auto job = testing::job_for(testing::make_wav(2, 31.0), 2, 31.0);
  job.separate_channels = true;
  job.id = "transcript";
  job.ledger = ledger;
  auto t = testing::run(**made, job);
  ASSERT_TRUE(t) << t.error().to_string();
  const auto named = ledger->jobs();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_TRUE(named.begin()->first.starts_with("transcript#ch0|")) << named.begin()->first;
  EXPECT_TRUE(std::next(named.begin())->first.starts_with("transcript#ch1|")) << std::next(named.begin())->first;
  EXPECT_NE(named.begin()->second, std::next(named.begin())->second);
  auto again = testing::run(**made, job);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(jobs_created(fake), 2);  // the redelivery resumed both
}

TEST_F(SarvamTest, TransientFailuresInsideTheFlowAreRetried) {
  fake.fail_next(
      earshot::testing::FailurePlan::of(1, FailureKind::kUnavailable).only("/speech-to-text/job/v1/job-0001/status"));
  auto p = provider(config());
  auto t = testing::run(p, testing::job_for(testing::make_wav(1, 2.0), 1, 2.0));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text/job/v1/job-0001/status"), 3);  // 503, Running, Completed
}

TEST_F(SarvamTest, FailedJobFailsWithItsReason) {
  fake.set_batch_failure("audio could not be decoded");
  auto p = provider(config());
  auto t = testing::run(p, testing::job_for(testing::make_wav(1, 2.0), 1, 2.0));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(t.error().message.find("audio could not be decoded"), std::string::npos) << t.error().message;
  EXPECT_NE(t.error().message.find("job-0001"), std::string::npos);
  EXPECT_EQ(fake.count("/speech-to-text/job/v1/download-files"), 0);
}

TEST_F(SarvamTest, BatchJobThatNeverFinishesHitsTheDeadline) {
  fake.set_polls_until_complete(1'000'000);
  auto c = config();
  c.deadline = 600ms * earshot::testing::kTimingSlack;  // long enough for a first status poll
  auto p = provider(c);
  const auto start = std::chrono::steady_clock::now();
  auto t = testing::run(p, testing::job_for(testing::make_wav(1, 2.0), 1, 2.0));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kTimeout) << t.error().to_string();
  EXPECT_NE(t.error().message.find("Running"), std::string::npos) << t.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms * earshot::testing::kTimingSlack);
}

TEST_F(SarvamTest, BadKeyIsPermissionDeniedWithOneRequest) {
  auto c = config();
  c.api_key = "bad";
  auto p = provider(c);
  auto t = testing::run(p, short_mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kPermissionDenied) << t.error().to_string();
  EXPECT_NE(t.error().message.find("invalid_api_key_error"), std::string::npos);
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(SarvamTest, InsufficientQuotaIsNotRetriedThoughItIs429) {
  fake.fail_next(earshot::testing::FailurePlan::of(5, FailureKind::kQuota));
  auto p = provider(config());
  auto t = testing::run(p, short_mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kFailedPrecondition) << t.error().to_string();
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(SarvamTest, InvalidInputIsNotRetried) {
  fake.fail_next(earshot::testing::FailurePlan::of(5, FailureKind::kInvalidInput));
  auto p = provider(config());
  auto t = testing::run(p, short_mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument) << t.error().to_string();
  EXPECT_EQ(fake.count(), 1);
}

TEST_F(SarvamTest, RateLimitRetriedThenSucceeds) {
  fake.fail_next(earshot::testing::FailurePlan::of(2, FailureKind::kRateLimit));
  auto p = provider(config());
  auto t = testing::run(p, short_mono());
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count(), 3);
}

TEST_F(SarvamTest, RateLimitExhaustedIsRateLimitedWithRetryAfter) {
  fake.fail_next(earshot::testing::FailurePlan::of(100, FailureKind::kRateLimit).after_ms(50));
  auto p = provider(config());
  auto t = testing::run(p, short_mono());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kRateLimited) << t.error().to_string();
  ASSERT_TRUE(t.error().retry_after.has_value());
  EXPECT_EQ(t.error().retry_after->count(), 50);
  EXPECT_EQ(fake.count(), 4);
}

TEST_F(SarvamTest, MalformedBodyIsAClearError) {
  fake.set_malformed(true);
  auto p = provider(config());
  auto t = testing::run(p, short_mono());
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("malformed response"), std::string::npos) << t.error().message;
  EXPECT_EQ(fake.count(), 1);
}

// ---- speech to English (translate mode) ----

// A Hinglish call: each line with its English rendering, as Sarvam's translate mode returns it.
std::vector<earshot::testing::FakeUtterance> hinglish_script() {
  return {
      {1, 0, 0.0, 3.0, "Namaste, Acme Fibre se Priya baat kar rahi hoon, bataiye kya madad karun?",
       "Hello, this is Priya from Acme Fibre, tell me how I can help."},
      {0, 0, 3.5, 7.0, "Mera internet teen din se band hai aur koi jawab nahi de raha.",
       "My internet has been down for three days and nobody is answering."},
  };
}

TEST_F(SarvamTest, ShortAudioTranslatesThroughTheTranslateEndpoint) {
  fake.set_script(hinglish_script());
  fake.set_language_code("hi-IN");
  auto p = provider(config());
  ASSERT_TRUE(p.supports_translation());
  auto job = short_mono();
  job.translate = true;
  auto t = testing::run(p, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text-translate"), 1);
  EXPECT_EQ(fake.count(), 1);
  ASSERT_EQ(t->segments.size(), 2U);
  EXPECT_EQ(t->segments[0].text, "Hello, this is Priya from Acme Fibre, tell me how I can help.");
  EXPECT_EQ(t->segments[1].text, "My internet has been down for three days and nobody is answering.");
  EXPECT_EQ(t->segments[1].start_ms, 3500);
  // The source language the service detected.
  EXPECT_EQ(t->reported_language, "hi-IN");
}

TEST_F(SarvamTest, TranscriptionReportsTheLanguageTheServiceAnswered) {
  fake.set_script(hinglish_script());
  fake.set_language_code("hi-IN");
  auto p = provider(config());
  auto t = testing::run(p, short_mono());
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text-translate"), 0);
  EXPECT_EQ(t->reported_language, "hi-IN");
  EXPECT_EQ(t->language, "hi-IN");
  EXPECT_EQ(t->segments[0].text, "Namaste, Acme Fibre se Priya baat kar rahi hoon, bataiye kya madad karun?");
}

TEST_F(SarvamTest, DiarizedTranslationRunsTheTranslateBatchFlow) {
  fake.set_script(hinglish_script());
  fake.set_language_code("hi-IN");
  fake.set_polls_until_complete(1);
  auto p = provider(config());
  auto job = testing::job_for(testing::make_wav(1, 2.0), 1, 2.0);
  job.translate = true;
  auto t = testing::run(p, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  const std::string base = "/speech-to-text-translate/job/v1";
  EXPECT_EQ(fake.count(base + "/upload-files"), 1);
  EXPECT_EQ(fake.count(base + "/download-files"), 1);
  EXPECT_EQ(fake.count(kJobBase), 0);
  const auto params = nlohmann::json::parse(fake.last_job_parameters());
  EXPECT_EQ(params["model"], "saaras:v2.5");
  EXPECT_FALSE(params.contains("language_code"));  // the translate service detects it
  EXPECT_FALSE(params.contains("mode"));
  EXPECT_EQ(params["with_diarization"], true);
  ASSERT_EQ(t->segments.size(), 2U);
  EXPECT_EQ(t->segments[0].speaker, "SPEAKER_01");
  EXPECT_EQ(t->segments[1].text, "My internet has been down for three days and nobody is answering.");
  EXPECT_TRUE(t->diarized);
}

TEST_F(SarvamTest, SaarasV3TranslatesWithModeTranslateOnTheSameEndpoints) {
  fake.set_script(hinglish_script());
  fake.set_language_code("hi-IN");
  fake.set_polls_until_complete(1);
  auto c = config();
  c.model = "saaras:v3";
  c.language = "hi-IN";
  auto p = provider(c);
  auto job = testing::job_for(testing::make_wav(1, 2.0), 1, 2.0);
  job.translate = true;
  auto t = testing::run(p, std::move(job));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text-translate"), 0);
  const auto params = nlohmann::json::parse(fake.last_job_parameters());
  EXPECT_EQ(params["model"], "saaras:v3");
  EXPECT_EQ(params["mode"], "translate");
  EXPECT_EQ(params["language_code"], "hi-IN");
  EXPECT_EQ(t->segments[0].text, "Hello, this is Priya from Acme Fibre, tell me how I can help.");

  // Short audio: the synchronous endpoint with mode=translate.
  auto sync = short_mono();
  sync.translate = true;
  auto s = testing::run(p, std::move(sync));
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->segments[0].text, "Hello, this is Priya from Acme Fibre, tell me how I can help.");
}

TEST_F(SarvamTest, TranslateErrorsAreReadLikeTranscriptionErrors) {
  fake.fail_next(earshot::testing::FailurePlan::of(1, FailureKind::kQuota).only("/speech-to-text-translate"));
  auto p = provider(config());
  auto job = short_mono();
  job.translate = true;
  auto t = testing::run(p, std::move(job));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kFailedPrecondition) << t.error().to_string();
  EXPECT_EQ(fake.count("/speech-to-text-translate"), 1);  // quota gone: not retried
}

}  // namespace
}  // namespace earshot::stt
