// The transcribe stage through the real queue fabric and the real database: a stored stereo
// recording becomes a transcript and audio metrics, the call moves to transcribed and
// analyze.{bid} receives its message; redelivery changes nothing; bad audio fails the call
// with the reason and dead-letters the message.
#include "earshot/pipeline/transcribe_stage.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "audio_fixture.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "queue_fixture.hpp"
#include "test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::pipeline {
namespace {

using namespace std::chrono_literals;
using queue::Stage;

const std::string kAgent = "Thank you for calling the support line how can I help you today";
const std::string kCustomer = "My internet connection has been very slow since last Monday";

class TranscribeStageTest : public queue::testing::QueueTest {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    root_ = std::filesystem::temp_directory_path() / ("earshot-store-" + earshot::testing::unique_suffix());
    std::filesystem::create_directories(root_);
    store_ = std::make_unique<objectstore::LocalObjectStore>(root_.string());
    auto keys = crypto::Keyring::parse(fmt::format("k1:{}", crypto::Keyring::generate_key_base64()), "k1");
    ASSERT_TRUE(keys);
    keyring_.emplace(std::move(*keys));
    auto& db = earshot::testing::StorageEnvironment::db();
    calls_ = std::make_unique<storage::MySqlCallRepository>(db);
    transcripts_ = std::make_unique<storage::MySqlTranscriptRepository>(db);
    metrics_repo_ = std::make_unique<storage::MySqlMetricsRepository>(db);
    configs_ = std::make_unique<storage::MySqlPipelineConfigRepository>(db, *keyring_);
    events_ = std::make_unique<storage::MySqlProcessingEventRepository>(db);
    stage_ = std::make_unique<TranscribeStage>(
        TranscribeStageDeps{*calls_, *transcripts_, *metrics_repo_, *configs_, *events_, *store_, factory_, *metrics,
                            SystemClock::instance(), topo, audio::DecodeLimits{}});
  }
  void TearDown() override {
    QueueTest::TearDown();
    std::filesystem::remove_all(root_);
  }

  // Stores `bytes` and creates a pending call pointing at them.
  storage::Id new_call(const storage::TenantId& t, const std::string& name, std::span<const std::uint8_t> bytes,
                       int channels) {
    auto uri = store_->write(t.bid() + "/" + name, bytes);
    EXPECT_TRUE(uri) << uri.error().to_string();
    storage::CallInput in;
    in.external_id = name;
    in.audio_uri = *uri;
    in.channels = channels;
    in.started_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    auto up = calls_->upsert(t, in);
    EXPECT_TRUE(up) << up.error().to_string();
    return up->id;
  }

  queue::OutgoingMessage transcribe_message(const storage::TenantId& t, storage::Id id) {
    queue::Envelope env;
    env.bid = t.bid();
    env.stage = Stage::kTranscribe;
    env.trace_id = "trace-" + std::to_string(id);
    nlohmann::json body{{"schema_version", 1},
                        {"bid", t.bid()},
                        {"call_id", std::to_string(id)},
                        {"audio", {{"uri", "store://unused"}, {"format", "wav"}}}};
    return queue::make_stage_message(topo, env, body.dump());
  }

  storage::CallStatus status(const storage::TenantId& t, storage::Id id) {
    auto c = calls_->get(t, id);
    return c ? c->status : storage::CallStatus::kPending;
  }

  std::filesystem::path root_;
  std::unique_ptr<objectstore::LocalObjectStore> store_;
  std::optional<crypto::Keyring> keyring_;
  std::unique_ptr<storage::MySqlCallRepository> calls_;
  std::unique_ptr<storage::MySqlTranscriptRepository> transcripts_;
  std::unique_ptr<storage::MySqlMetricsRepository> metrics_repo_;
  std::unique_ptr<storage::MySqlPipelineConfigRepository> configs_;
  std::unique_ptr<storage::MySqlProcessingEventRepository> events_;
  LocalTranscriberFactory factory_;
  std::unique_ptr<TranscribeStage> stage_;
};

std::vector<std::uint8_t> wav_bytes(const earshot::testing::TestCall& call) {
  const auto path = earshot::testing::temp_path("call.wav");
  earshot::testing::write_wav16(path, call.channels, call.rate);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  std::remove(path.c_str());
  return bytes;
}

TEST_F(TranscribeStageTest, StereoCallIsTranscribedMeasuredAndHandedToAnalyze) {
  auto t = earshot::testing::new_tenant("stt");
  declare(Stage::kTranscribe, t.bid());
  declare(Stage::kAnalyze, t.bid());
  const int r = 16000;
  std::vector<earshot::testing::Placement> parts;
  parts.push_back({0, 500, earshot::testing::speak(kAgent, "slt", r)});
  parts.push_back({1, parts.back().end_ms(r) + 800, earshot::testing::speak(kCustomer, "rms", r)});
  auto call = earshot::testing::build_call(2, parts.back().end_ms(r) + 4000, parts, r);
  const auto id = new_call(t, "stereo-1.wav", wav_bytes(call), 2);

  queue::InMemoryBusinessDirectory dir;
  dir.enable(t.bid());
  queue::InMemoryOutcomeRecorder rec;
  queue::StageWorkerOptions o;
  o.stage = Stage::kTranscribe;
  auto worker = make_worker(*stage_, dir, rec, o);
  ASSERT_TRUE(worker->start());
  ASSERT_TRUE(admin->declare_exchanges());
  queue::Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(transcribe_message(t, id)));

  ASSERT_TRUE(earshot::testing::wait_until([&] { return status(t, id) == storage::CallStatus::kTranscribed; }, 60s));
  ASSERT_TRUE(
      earshot::testing::wait_until([&] { return depth(queue::work_queue(Stage::kAnalyze, t.bid())) == 1; }, 10s));

  auto tr = transcripts_->get(t, id);
  ASSERT_TRUE(tr) << tr.error().to_string();
  EXPECT_EQ(tr->provider, "pocketsphinx");
  EXPECT_EQ(tr->version, 1);
  auto segs = nlohmann::json::parse(tr->segments_json);
  ASSERT_GE(segs.size(), 2u);
  EXPECT_EQ(segs[0]["speaker"], "agent");
  EXPECT_NE(tr->full_text.find("support line"), std::string::npos) << tr->full_text;
  EXPECT_NE(tr->full_text.find("internet connection"), std::string::npos) << tr->full_text;

  auto m = metrics_repo_->get(t, id);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, storage::MetricsSource::kAudio);
  const auto agent_truth = call.truth[0][0].length();
  EXPECT_NEAR(static_cast<double>(m->agent_talk_ms), static_cast<double>(agent_truth), agent_truth * 0.05);
  ASSERT_TRUE(m->agent_talk_ratio.has_value());
  EXPECT_GT(*m->agent_talk_ratio, 0.3);
  EXPECT_EQ(nlohmann::json::parse(m->silences_json).size(), 1u);  // the trailing 4 s
  ASSERT_TRUE(m->agent_wpm.has_value());

  auto msg = admin->get(queue::work_queue(Stage::kAnalyze, t.bid()));
  ASSERT_TRUE(msg && msg->has_value());
  auto body = nlohmann::json::parse((*msg)->body);
  EXPECT_EQ(body["call_id"], std::to_string(id));
  EXPECT_EQ(queue::header_string((*msg)->headers, queue::header::kTraceId), "trace-" + std::to_string(id));

  // A redelivered message does not transcribe again; it re-sends the analyze message.
  ASSERT_TRUE(pub.publish(transcribe_message(t, id)));
  ASSERT_TRUE(
      earshot::testing::wait_until([&] { return depth(queue::work_queue(Stage::kAnalyze, t.bid())) == 1; }, 10s));
  EXPECT_EQ(transcripts_->get(t, id)->version, 1);
  EXPECT_EQ(status(t, id), storage::CallStatus::kTranscribed);
  auto events = events_->list_for_call(t, id);
  ASSERT_TRUE(events);
  int succeeded = 0, skipped = 0;
  for (const auto& e : *events) {
    succeeded += e.outcome == storage::EventOutcome::kSucceeded ? 1 : 0;
    skipped += e.outcome == storage::EventOutcome::kSkipped ? 1 : 0;
  }
  EXPECT_EQ(succeeded, 1);
  EXPECT_EQ(skipped, 1);
  worker->stop_intake();
  worker->drain(std::chrono::steady_clock::now() + 5s);
  worker->stop();
}

TEST_F(TranscribeStageTest, BadAudioFailsTheCallWithTheReasonAndDeadLetters) {
  auto t = earshot::testing::new_tenant("stt");
  declare(Stage::kTranscribe, t.bid());
  declare(Stage::kAnalyze, t.bid());
  const std::string text = "this recording is actually a text file";
  const auto id = new_call(t, "broken.wav", std::vector<std::uint8_t>(text.begin(), text.end()), 2);
  queue::InMemoryBusinessDirectory dir;
  dir.enable(t.bid());
  queue::InMemoryOutcomeRecorder rec;
  queue::StageWorkerOptions o;
  o.stage = Stage::kTranscribe;
  auto worker = make_worker(*stage_, dir, rec, o);
  ASSERT_TRUE(worker->start());
  queue::Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(transcribe_message(t, id)));
  ASSERT_TRUE(earshot::testing::wait_until([&] { return status(t, id) == storage::CallStatus::kFailed; }, 30s));
  auto c = calls_->get(t, id);
  EXPECT_EQ(c->failed_stage, "transcribe");
  EXPECT_NE(c->failed_reason.find("not a recognised audio file"), std::string::npos) << c->failed_reason;
  ASSERT_TRUE(earshot::testing::wait_until(
      [&] { return depth(queue::dead_letter_queue(Stage::kTranscribe, t.bid())) == 1; }, 10s));
  auto dead = admin->get(queue::dead_letter_queue(Stage::kTranscribe, t.bid()));
  ASSERT_TRUE(dead && dead->has_value());
  EXPECT_NE(queue::header_string((*dead)->headers, queue::header::kErrorReason)->find("not a recognised"),
            std::string::npos);
  EXPECT_EQ(depth(queue::work_queue(Stage::kAnalyze, t.bid())), 0u);
  worker->stop_intake();
  worker->drain(std::chrono::steady_clock::now() + 5s);
  worker->stop();
}

TEST_F(TranscribeStageTest, UnknownCallOrForeignBusinessIsDeadLetteredNotFound) {
  auto t = earshot::testing::new_tenant("stt");
  auto other = earshot::testing::new_tenant("stt");
  const std::string text = "x";
  const auto foreign_id = new_call(other, "theirs.wav", std::vector<std::uint8_t>(text.begin(), text.end()), 1);
  queue::IncomingMessage msg;
  msg.envelope.bid = t.bid();
  msg.envelope.stage = Stage::kTranscribe;
  msg.body = nlohmann::json{{"schema_version", 1},
                            {"bid", t.bid()},
                            {"call_id", std::to_string(foreign_id)},
                            {"audio", {{"uri", "store://x"}, {"format", "wav"}}}}
                 .dump();
  auto out = stage_->handle(msg);
  ASSERT_TRUE(out);
  auto* fail = std::get_if<queue::Fail>(&*out);
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(fail->code, ErrorCode::kNotFound);
  EXPECT_EQ(status(other, foreign_id), storage::CallStatus::kPending);  // untouched
}

// A business configured for Deepgram: the worker calls the (fake) provider over HTTP, maps
// its channels to roles and stores the result; an auth failure fails the call with the
// reason; throttling is retried inside the job.
TEST_F(TranscribeStageTest, ConfiguredProviderTranscribesAndItsFailuresAreReported) {
  earshot::testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  http::CurlHttpClient client;
  ProviderTranscriberFactory providers(client, SystemClock::instance(), *metrics);
  TranscribeStage stage(TranscribeStageDeps{*calls_, *transcripts_, *metrics_repo_, *configs_, *events_, *store_,
                                            providers, *metrics, SystemClock::instance(), topo, audio::DecodeLimits{}});
  auto t = earshot::testing::new_tenant("dg");
  storage::PipelineConfig config;
  config.stt_provider = "deepgram";
  config.stt_options_json = nlohmann::json{{"base_url", fake.base_url()}, {"initial_backoff_ms", 50}}.dump();
  config.secrets["stt_api_key"] = fake.api_key();
  ASSERT_TRUE(configs_->put(t, config));

  const int r = 8000;
  std::vector<earshot::testing::Placement> parts;
  parts.push_back({0, 300, earshot::testing::speak(kAgent, "slt", r)});
  parts.push_back({1, parts.back().end_ms(r) + 500, earshot::testing::speak(kCustomer, "rms", r)});
  auto call = earshot::testing::build_call(2, parts.back().end_ms(r) + 1000, parts, r);
  const auto bytes = wav_bytes(call);
  auto handle = [&](storage::Id id) {
    queue::IncomingMessage msg;
    msg.envelope.bid = t.bid();
    msg.envelope.stage = Stage::kTranscribe;
    msg.body = nlohmann::json{{"schema_version", 1},
                              {"bid", t.bid()},
                              {"call_id", std::to_string(id)},
                              {"audio", {{"uri", "store://x"}, {"format", "wav"}}}}
                   .dump();
    return stage.handle(msg);
  };

  fake.fail_next(earshot::testing::FailurePlan::of(1, earshot::testing::FailureKind::kRateLimit).after_ms(100));
  const auto ok_id = new_call(t, "dg-ok.wav", bytes, 2);
  auto out = handle(ok_id);
  ASSERT_TRUE(out) << out.error().to_string();
  ASSERT_NE(std::get_if<queue::Done>(&*out), nullptr);
  EXPECT_EQ(status(t, ok_id), storage::CallStatus::kTranscribed);
  EXPECT_EQ(fake.count("/v1/listen"), 2);  // the 429, then the answer
  // The recording went from the local store's file as it is, on both attempts.
  EXPECT_EQ(fake.last_body(), std::string(bytes.begin(), bytes.end()));
  auto tr = transcripts_->get(t, ok_id);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->provider, "deepgram");
  auto segs = nlohmann::json::parse(tr->segments_json);
  ASSERT_FALSE(segs.empty());
  std::set<std::string> speakers;
  for (const auto& s : segs) speakers.insert(s["speaker"].get<std::string>());
  EXPECT_EQ(speakers, (std::set<std::string>{"agent", "customer"}));
  EXPECT_NE(metrics->serialize().find(R"(earshot_stt_provider_requests_total{provider="deepgram",status="429"} 1)"),
            std::string::npos);

  fake.fail_next(earshot::testing::FailurePlan::of(1, earshot::testing::FailureKind::kAuth));
  const auto bad_id = new_call(t, "dg-auth.wav", bytes, 2);
  out = handle(bad_id);
  ASSERT_TRUE(out);
  auto* fail = std::get_if<queue::Fail>(&*out);
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(status(t, bad_id), storage::CallStatus::kFailed);
  EXPECT_FALSE(calls_->get(t, bad_id)->failed_reason.empty());
  client.shutdown();
}

// Defence in depth: a call whose stored recording lies under another business's prefix
// (written by older code, or by a sync) fails with the reason; the recording is never read
// and nothing is transcribed.
TEST_F(TranscribeStageTest, ARecordingOfAnotherBusinessFailsTheCallUnread) {
  auto victim = earshot::testing::new_tenant("sttv");
  auto t = earshot::testing::new_tenant("stta");
  const int r = 8000;
  std::vector<earshot::testing::Placement> parts;
  parts.push_back({0, 300, earshot::testing::speak(kAgent, "slt", r)});
  auto call = earshot::testing::build_call(1, parts.back().end_ms(r) + 500, parts, r);
  auto foreign = store_->write(victim.bid() + "/ingest/secret.wav", wav_bytes(call));
  ASSERT_TRUE(foreign);
  for (const std::string& uri : {*foreign, "store://" + t.bid() + "/../" + victim.bid() + "/ingest/secret.wav"}) {
    storage::CallInput in;
    in.external_id = "foreign-" + earshot::testing::unique_suffix();
    in.audio_uri = uri;
    in.channels = 1;
    in.started_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    auto up = calls_->upsert(t, in);
    ASSERT_TRUE(up);
    queue::IncomingMessage msg;
    msg.envelope.bid = t.bid();
    msg.envelope.stage = Stage::kTranscribe;
    msg.body = nlohmann::json{{"schema_version", 1},
                              {"bid", t.bid()},
                              {"call_id", std::to_string(up->id)},
                              {"audio", {{"uri", uri}, {"format", "wav"}}}}
                   .dump();
    auto out = stage_->handle(msg);
    ASSERT_TRUE(out) << out.error().to_string();
    ASSERT_NE(std::get_if<queue::Fail>(&*out), nullptr) << uri;
    auto c = calls_->get(t, up->id);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->status, storage::CallStatus::kFailed) << uri;
    EXPECT_NE(c->failed_reason.find("recording refused"), std::string::npos) << c->failed_reason;
    EXPECT_FALSE(transcripts_->get(t, up->id)) << uri;
  }
}

// call.status events of one call, oldest first, from the business's live stream.
std::vector<nlohmann::json> status_events(cache::LiveEvents& live, const std::string& bid, storage::Id id) {
  std::vector<nlohmann::json> out;
  auto events = live.read_after(bid, "", 10000);
  EXPECT_TRUE(events) << events.error().to_string();
  if (!events) return out;
  for (const auto& e : *events) {
    auto j = nlohmann::json::parse(e.json);
    if (j["type"] == "call.status" && j["data"]["call_id"] == id) out.push_back(j["data"]);
  }
  return out;
}

std::unique_ptr<cache::RedisClient> test_redis() {
  cache::RedisSettings rs;
  rs.url = earshot::testing::endpoints().redis_url;
  rs.timeout = 2s;
  auto r = cache::RedisClient::make(rs, 2);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? std::move(*r) : nullptr;
}

// The stage as the stt worker runs it: asynchronous jobs on the queue harness, the provider
// over the HTTP loop. Thirty calls are in flight on two handler and two work threads while
// the provider (answering after 800 ms) never holds more than its cap of eight; each call is
// stored, forwarded and announced on the live stream, and the stage's metrics count them.
TEST_F(TranscribeStageTest, AsyncWorkerKeepsManyCallsInFlightWithinTheProviderCap) {
  earshot::testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  fake.set_latency(800ms);
  http::CurlHttpClient client;
  ProviderTranscriberFactory providers(client, SystemClock::instance(), *metrics);
  auto redis = test_redis();
  ASSERT_TRUE(redis);
  cache::LiveEvents live(*redis, SystemClock::instance(), metrics.get());
  TranscribeStageOptions so;
  so.work_threads = 2;
  so.provider_in_flight = 8;
  so.live_events = &live;
  TranscribeStage stage(TranscribeStageDeps{*calls_, *transcripts_, *metrics_repo_, *configs_, *events_, *store_,
                                            providers, *metrics, SystemClock::instance(), topo, audio::DecodeLimits{}},
                        so);
  auto t = earshot::testing::new_tenant("dga");
  declare(Stage::kTranscribe, t.bid());
  declare(Stage::kAnalyze, t.bid());
  storage::PipelineConfig config;
  config.stt_provider = "deepgram";
  config.stt_options_json = nlohmann::json{{"base_url", fake.base_url()}}.dump();
  config.secrets["stt_api_key"] = fake.api_key();
  ASSERT_TRUE(configs_->put(t, config));

  const int r = 8000;
  std::vector<earshot::testing::Placement> parts;
  parts.push_back({0, 300, earshot::testing::speak(kAgent, "slt", r)});
  parts.push_back({1, parts.back().end_ms(r) + 500, earshot::testing::speak(kCustomer, "rms", r)});
  auto call = earshot::testing::build_call(2, parts.back().end_ms(r) + 1000, parts, r);
  const auto bytes = wav_bytes(call);
  constexpr int kCalls = 30;
  std::vector<storage::Id> ids;
  for (int i = 0; i < kCalls; ++i) ids.push_back(new_call(t, fmt::format("many-{}.wav", i), bytes, 2));

  queue::InMemoryBusinessDirectory dir;
  dir.enable(t.bid());
  queue::InMemoryOutcomeRecorder rec;
  queue::StageWorkerOptions o;
  o.stage = Stage::kTranscribe;
  o.handler_threads = 2;
  o.max_in_flight = kCalls;
  o.per_business_in_flight = kCalls;
  queue::AsyncStageHandler& handler = stage;
  queue::StageWorker worker(amqp, topo, o, handler, dir, rec, *metrics, SystemClock::instance());
  ASSERT_TRUE(worker.start());
  queue::Publisher pub(amqp, {});
  pub.start();
  std::vector<queue::OutgoingMessage> batch;
  for (auto id : ids) batch.push_back(transcribe_message(t, id));
  ASSERT_TRUE(pub.publish_batch(std::move(batch)));

  ASSERT_TRUE(earshot::testing::wait_until(
      [&] { return rec.count(queue::OutcomeKind::kDone) == static_cast<std::size_t>(kCalls); }, 120s))
      << rec.count(queue::OutcomeKind::kDone) << " done";
  for (auto id : ids) EXPECT_EQ(status(t, id), storage::CallStatus::kTranscribed);
  EXPECT_EQ(fake.max_concurrent(), 8);  // the cap was reached and never exceeded
  EXPECT_EQ(fake.count("/v1/listen"), kCalls);
  ASSERT_TRUE(earshot::testing::wait_until(
      [&] { return depth(queue::work_queue(Stage::kAnalyze, t.bid())) == static_cast<std::uint32_t>(kCalls); }, 20s));
  auto tr = transcripts_->get(t, ids.back());
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->provider, "deepgram");
  auto m = metrics_repo_->get(t, ids.back());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, storage::MetricsSource::kAudio);

  const std::string text = metrics->serialize();
  auto has = [&](const std::string& line) { return text.find(line) != std::string::npos; };
  EXPECT_TRUE(has(fmt::format("earshot_calls_transcribed_total{{provider=\"deepgram\"}} {}", kCalls))) << text;
  EXPECT_TRUE(has(fmt::format("earshot_stt_duration_seconds_count{{provider=\"deepgram\"}} {}", kCalls)));
  EXPECT_TRUE(
      has(fmt::format("earshot_stt_provider_requests_total{{provider=\"deepgram\",status=\"200\"}} {}", kCalls)));
  EXPECT_TRUE(has("earshot_stt_provider_in_flight{provider=\"deepgram\"} 0"));
  const double audio_s = kCalls * static_cast<double>(call.channels[0].size()) / r;
  const std::string sample = "\nearshot_audio_processed_seconds_total ";
  const auto pos = text.find(sample);
  ASSERT_NE(pos, std::string::npos);
  EXPECT_NEAR(std::strtod(text.c_str() + pos + sample.size(), nullptr), audio_s, 0.01 * kCalls);

  auto statuses = status_events(live, t.bid(), ids.front());
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0]["status"], "transcribing");
  EXPECT_EQ(statuses[0]["previous"], "pending");
  EXPECT_EQ(statuses[1]["status"], "transcribed");
  EXPECT_EQ(statuses[1]["previous"], "transcribing");

  worker.stop_intake();
  worker.drain(std::chrono::steady_clock::now() + 5s);
  worker.stop();
  stage.shutdown();
  client.shutdown();
}

// Provider failures through the asynchronous worker: a refused key fails the call with the
// reason (dead letter, call.status failed with the reason); throttling that outlasts the
// adapter's attempts goes back to the queue with the provider's Retry-After as the hint and
// the call is transcribed on the next delivery.
TEST_F(TranscribeStageTest, AsyncWorkerFailsOrRetriesOnProviderErrors) {
  earshot::testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  http::CurlHttpClient client;
  ProviderTranscriberFactory providers(client, SystemClock::instance(), *metrics);
  auto redis = test_redis();
  ASSERT_TRUE(redis);
  cache::LiveEvents live(*redis, SystemClock::instance(), metrics.get());
  TranscribeStageOptions so;
  so.live_events = &live;
  TranscribeStage stage(TranscribeStageDeps{*calls_, *transcripts_, *metrics_repo_, *configs_, *events_, *store_,
                                            providers, *metrics, SystemClock::instance(), topo, audio::DecodeLimits{}},
                        so);
  auto t = earshot::testing::new_tenant("dge");
  declare(Stage::kTranscribe, t.bid());
  declare(Stage::kAnalyze, t.bid());
  storage::PipelineConfig config;
  config.stt_provider = "deepgram";
  config.stt_options_json = nlohmann::json{{"base_url", fake.base_url()}, {"max_attempts", 1}}.dump();
  config.secrets["stt_api_key"] = fake.api_key();
  ASSERT_TRUE(configs_->put(t, config));
  auto call = earshot::testing::build_call(2, 3000, {{0, 200, earshot::testing::speak(kAgent, "slt", 8000)}});
  const auto bytes = wav_bytes(call);

  queue::InMemoryBusinessDirectory dir;
  dir.enable(t.bid());
  queue::InMemoryOutcomeRecorder rec;
  queue::StageWorkerOptions o;
  o.stage = Stage::kTranscribe;
  o.max_in_flight = 8;
  queue::AsyncStageHandler& handler = stage;
  queue::StageWorker worker(amqp, topo, o, handler, dir, rec, *metrics, SystemClock::instance());
  ASSERT_TRUE(worker.start());
  queue::Publisher pub(amqp, {});
  pub.start();

  // A refused key: failed at once with the reason.
  fake.fail_next(earshot::testing::FailurePlan::of(1, earshot::testing::FailureKind::kAuth));
  const auto refused = new_call(t, "auth.wav", bytes, 2);
  ASSERT_TRUE(pub.publish(transcribe_message(t, refused)));
  ASSERT_TRUE(earshot::testing::wait_until(
      [&] { return depth(queue::dead_letter_queue(Stage::kTranscribe, t.bid())) == 1; }, 30s));
  EXPECT_EQ(status(t, refused), storage::CallStatus::kFailed);
  const auto reason = calls_->get(t, refused)->failed_reason;
  EXPECT_NE(reason.find("authentication failed"), std::string::npos) << reason;
  auto dead = admin->get(queue::dead_letter_queue(Stage::kTranscribe, t.bid()));
  ASSERT_TRUE(dead && dead->has_value());
  EXPECT_EQ(queue::header_string((*dead)->headers, queue::header::kErrorCode), "unauthenticated");
  EXPECT_EQ(queue::header_string((*dead)->headers, queue::header::kErrorReason), reason);
  auto statuses = status_events(live, t.bid(), refused);
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[1]["status"], "failed");
  EXPECT_EQ(statuses[1]["previous"], "transcribing");
  EXPECT_EQ(statuses[1]["reason"], reason);

  // Throttled beyond the adapter's single attempt: the queue retries the message.
  fake.fail_next(earshot::testing::FailurePlan::of(1, earshot::testing::FailureKind::kRateLimit).after_ms(400));
  const auto throttled = new_call(t, "throttled.wav", bytes, 2);
  ASSERT_TRUE(pub.publish(transcribe_message(t, throttled)));
  ASSERT_TRUE(
      earshot::testing::wait_until([&] { return status(t, throttled) == storage::CallStatus::kTranscribed; }, 30s));
  EXPECT_EQ(fake.count("/v1/listen"), 3);  // the refused one, the 429, the answer
  EXPECT_EQ(rec.count(queue::OutcomeKind::kRetried), 1u);
  auto events = events_->list_for_call(t, throttled);
  ASSERT_TRUE(events);
  bool second_attempt_succeeded = false;
  for (const auto& e : *events) {
    if (e.outcome == storage::EventOutcome::kSucceeded) second_attempt_succeeded = e.attempt == 2;
  }
  EXPECT_TRUE(second_attempt_succeeded);
  // The retry copy waited in the tier chosen by the Retry-After hint (600 ms, the first at
  // least as long as 400 ms).
  const auto reqs = fake.requests();
  ASSERT_GE(reqs.size(), 3u);
  EXPECT_GE(reqs[2].at - reqs[1].at, 550ms);
  EXPECT_TRUE(metrics->serialize().find(R"(earshot_stt_provider_requests_total{provider="deepgram",status="429"} 1)") !=
              std::string::npos);

  worker.stop_intake();
  worker.drain(std::chrono::steady_clock::now() + 5s);
  worker.stop();
  stage.shutdown();
  client.shutdown();
}

// Recordings behind http URLs: loopback (and other internal) addresses are refused unless
// the config allows them, and the refusal fails the call with the reason.
TEST_F(TranscribeStageTest, AudioUrlsAreFetchedOnlyFromAllowedAddresses) {
  const std::string text = "not audio";
  auto call = earshot::testing::build_call(2, 3000, {{0, 200, earshot::testing::speak(kAgent, "slt", 8000)}});
  const auto bytes = wav_bytes(call);
  httplib::Server srv;
  srv.Get("/rec.wav", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(bytes.begin(), bytes.end()), "audio/wav");
  });
  const int port = srv.bind_to_any_port("127.0.0.1");
  std::thread th([&] { srv.listen_after_bind(); });
  http::CurlHttpClient client;
  auto run = [&](bool allow, const std::string& path) {
    objectstore::HttpAudioStore::Options o;
    o.policy.allow_loopback = allow;
    objectstore::HttpAudioStore fetcher(client, *store_, o);
    TranscribeStage stage(TranscribeStageDeps{*calls_, *transcripts_, *metrics_repo_, *configs_, *events_, fetcher,
                                              factory_, *metrics, SystemClock::instance(), topo,
                                              audio::DecodeLimits{}});
    auto t = earshot::testing::new_tenant("url");
    storage::PipelineConfig config;
    config.stt_provider = "none";
    EXPECT_TRUE(configs_->put(t, config));
    storage::CallInput in;
    in.external_id = "u1";
    in.audio_uri = fmt::format("http://127.0.0.1:{}{}", port, path);
    in.channels = 2;
    auto up = calls_->upsert(t, in);
    EXPECT_TRUE(up);
    queue::IncomingMessage msg;
    msg.envelope.bid = t.bid();
    msg.envelope.stage = Stage::kTranscribe;
    msg.body = nlohmann::json{{"schema_version", 1},
                              {"bid", t.bid()},
                              {"call_id", std::to_string(up->id)},
                              {"audio", {{"uri", in.audio_uri}, {"format", "wav"}}}}
                   .dump();
    auto out = stage.handle(msg);
    return std::make_tuple(t, up->id, out);
  };
  auto [t1, refused_id, refused] = run(false, "/rec.wav");
  ASSERT_TRUE(refused);
  ASSERT_NE(std::get_if<queue::Fail>(&*refused), nullptr);
  EXPECT_EQ(status(t1, refused_id), storage::CallStatus::kFailed);
  EXPECT_NE(calls_->get(t1, refused_id)->failed_reason.find("loopback"), std::string::npos)
      << calls_->get(t1, refused_id)->failed_reason;

  auto [t2, ok_id, ok] = run(true, "/rec.wav");
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_NE(std::get_if<queue::Done>(&*ok), nullptr);
  EXPECT_EQ(status(t2, ok_id), storage::CallStatus::kTranscribed);

  auto [t3, missing_id, missing] = run(true, "/nothing.wav");
  ASSERT_TRUE(missing);
  auto* fail = std::get_if<queue::Fail>(&*missing);
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(fail->code, ErrorCode::kNotFound);
  (void)text;
  srv.stop();
  th.join();
  client.shutdown();
}

}  // namespace
}  // namespace earshot::pipeline
