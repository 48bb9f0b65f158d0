// The transcribe stage against the in-memory storage fakes, an in-memory audio store and a
// scripted transcriber: a stereo call is measured from its channels and gets the
// transcriber's transcript, the call moves to transcribed and analyze.{bid} gets its message;
// a redelivery does nothing twice; undecodable audio and a missing recording fail the call
// with the reason and dead-letter; an unavailable database or store is retried without
// failing the call; another business's call is never touched; a backlog finishes call by
// call in the order it started. Hermetic: audio is synthesised on the machine (flite), time
// comes from a FakeClock, no services.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "audio_fixture.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/pipeline/transcribe_stage.hpp"
#include "earshot/queue/messages.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/objectstore/audio_store_fake.hpp"
#include "fakes/pipeline/transcriber_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"
#include "fakes/storage/pipeline_configs_fake.hpp"
#include "fakes/storage/transcripts_fake.hpp"
#include "stage_outcome.hpp"
#include "support/test_env.hpp"

namespace earshot::pipeline {
namespace {

using nlohmann::json;
using storage::CallStatus;
using storage::EventOutcome;
using storage::TenantId;

constexpr int kRate = 16000;

// A stereo call: the agent speaks on channel 0 from 0.5 s, the customer on channel 1 0.8 s
// after the agent stops, then 4 s of silence. The truth is the speech placement.
const earshot::testing::TestCall& stereo_call() {
  static const earshot::testing::TestCall call = [] {
    std::vector<earshot::testing::Placement> parts;
    parts.push_back({0, 500, earshot::testing::speak("Thank you for calling the support line", "slt", kRate)});
    parts.push_back({1, parts.back().end_ms(kRate) + 800,
                     earshot::testing::speak("My internet has been slow since Monday", "rms", kRate)});
    return earshot::testing::build_call(2, parts.back().end_ms(kRate) + 4000, parts, kRate);
  }();
  return call;
}

std::vector<std::uint8_t> wav_of(const earshot::testing::TestCall& call) {
  audio::AudioBuffer buffer;
  buffer.sample_rate = call.rate;
  buffer.channels = call.channels;
  const auto bytes = audio::encode_wav_pcm16(buffer);
  return {bytes.begin(), bytes.end()};
}

// What the scripted transcriber answers: one turn each, speakers already mapped.
stt::Transcript scripted_transcript() {
  stt::Transcript t;
  t.provider = "fake-stt";
  t.language = "en";
  t.segments = {{"agent", 500, 2600, "Thank you for calling the support line", 0.9, {}},
                {"customer",
                 3400,
                 5600,
                 "My internet has been slow since Monday",
                 0.8,
                 {{"My", 3400, 3700, 0.9}, {"internet", 3700, 4200, 0.8}}}};
  return t;
}

class TranscribeStageUnit : public ::testing::Test {
 protected:
  TranscribeStageUnit() {
    EXPECT_TRUE(topology.resolve());
    transcriber->set_reply(scripted_transcript());
    TranscribeStageOptions options;
    options.work_threads = 1;
    options.db_threads = 1;
    stage = std::make_unique<TranscribeStage>(
        TranscribeStageDeps{calls, transcripts, metrics_repo, configs, events, store, transcribers, metrics, clock,
                            topology, audio::DecodeLimits{}},
        options);
  }

  // A pending call of `t` whose recording is `uri`.
  storage::Id new_call(const TenantId& t, const std::string& external_id, const std::string& uri, int channels = 2) {
    storage::CallInput in;
    in.external_id = external_id;
    in.audio_uri = uri;
    in.channels = channels;
    in.started_at = storage::to_timestamp(clock.now());
    auto up = calls.upsert(t, in);
    EXPECT_TRUE(up) << up.error().to_string();
    return up ? up->id : 0;
  }

  // The transcribe message of call `id` as the stage worker hands it over, under the
  // envelope of business `bid`.
  static queue::IncomingMessage message(const std::string& bid, storage::Id id) {
    queue::IncomingMessage m;
    m.envelope.bid = bid;
    m.envelope.stage = queue::Stage::kTranscribe;
    m.envelope.trace_id = "trace-" + std::to_string(id);
    m.body = queue::TranscribeRequest::for_call(bid, id, "store://" + bid + "/unused.wav", 2).to_json();
    return m;
  }

  storage::CallRecord call(const TenantId& t, storage::Id id) {
    auto c = calls.get(t, id);
    EXPECT_TRUE(c) << c.error().to_string();
    return c ? *c : storage::CallRecord{};
  }

  std::vector<EventOutcome> outcomes(const TenantId& t, storage::Id id) {
    std::vector<EventOutcome> out;
    const auto list = events.list_for_call(t, id).value();
    for (const auto& e : list) out.push_back(e.outcome);
    return out;
  }

  // A second stage over the same fakes with its own options and metrics.
  std::unique_ptr<TranscribeStage> stage_with(const TranscribeStageOptions& options, Metrics& own,
                                              cache::ProviderJobStore* provider_jobs = nullptr) {
    return std::make_unique<TranscribeStage>(
        TranscribeStageDeps{calls, transcripts, metrics_repo, configs, events, store, transcribers, own, clock,
                            topology, audio::DecodeLimits{}, provider_jobs},
        options);
  }

  // The ids of the calls whose completion was given, in that order.
  struct Finished {
    std::mutex mu;
    std::vector<storage::Id> ids;
    std::vector<std::size_t> next_messages;
    std::size_t count() {
      std::lock_guard l(mu);
      return ids.size();
    }
  };

  // Starts call `id` on `s`, recording its completion in `finished`.
  static void start_recorded(TranscribeStage& s, const std::string& bid, storage::Id id,
                             const std::shared_ptr<Finished>& finished) {
    s.start(message(bid, id), [finished, id](queue::HandlerResult r) {
      std::lock_guard l(finished->mu);
      finished->ids.push_back(id);
      finished->next_messages.push_back(testing::next_messages(r).size());
    });
  }

  // Holds the scripted transcriber's transcriptions; whatever happens in the test, none
  // stays held when the stages shut down.
  struct HeldTranscriber {
    explicit HeldTranscriber(earshot::testing::FakeTranscriber& held) : t(held) { t.hold(); }
    ~HeldTranscriber() { t.release_all(); }
    HeldTranscriber(const HeldTranscriber&) = delete;
    HeldTranscriber& operator=(const HeldTranscriber&) = delete;
    earshot::testing::FakeTranscriber& t;
  };

  const TenantId acme = *TenantId::make("acme");
  const TenantId globex = *TenantId::make("globex");
  earshot::testing::FakeClock clock;
  earshot::testing::FakeCallRepository calls{&clock};
  earshot::testing::FakeMetricsRepository metrics_repo{calls};
  earshot::testing::FakeProcessingEventRepository events{calls};
  earshot::testing::FakeTranscriptRepository transcripts{calls, metrics_repo, events};
  earshot::testing::FakePipelineConfigRepository configs;
  earshot::testing::FakeAudioStore store;
  std::shared_ptr<earshot::testing::FakeTranscriber> transcriber =
      std::make_shared<earshot::testing::FakeTranscriber>();
  earshot::testing::FakeTranscriberFactory transcribers{transcriber};
  Metrics metrics{"transcribe-unit-test", "0", "test"};
  queue::TopologySettings topology;
  std::unique_ptr<TranscribeStage> stage;
};

TEST_F(TranscribeStageUnit, StereoCallIsMeasuredTranscribedStoredAndHandedToAnalyze) {
  storage::PipelineConfig pc;
  pc.stt_provider = "deepgram";
  pc.language = "hi";
  pc.channel_roles_json = R"({"0":"agent","1":"customer"})";
  ASSERT_TRUE(configs.put(acme, pc));
  const auto& truth = stereo_call();
  const auto id = new_call(acme, "stereo-1", store.put("acme/stereo-1.wav", wav_of(truth)));

  const auto sent = testing::next_messages(stage->handle(message("acme", id)));

  // analyze.acme gets the analyze message of this call, with the incoming trace.
  ASSERT_EQ(sent.size(), 1u);
  const auto& next = sent[0];
  EXPECT_EQ(next.exchange, topology.work_exchange);
  EXPECT_EQ(next.routing_key, "analyze.acme");
  EXPECT_EQ(queue::AnalyzeRequest::parse(next.body).value(), queue::AnalyzeRequest::for_call("acme", id));
  auto env = queue::decode_envelope(next.headers, next.message_id);
  ASSERT_TRUE(env) << env.error().to_string();
  EXPECT_EQ(env->stage, queue::Stage::kAnalyze);
  EXPECT_EQ(env->bid, "acme");
  EXPECT_EQ(env->trace_id, "trace-" + std::to_string(id));

  // The transcriber got the stereo audio with its voice activity and the business's language.
  EXPECT_EQ(transcribers.providers(), std::vector<std::string>{"deepgram"});
  const auto asked = transcriber->asked();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_TRUE(asked[0].stereo);
  EXPECT_EQ(asked[0].channels, 2u);
  EXPECT_EQ(asked[0].agent_channel, 0);
  EXPECT_EQ(asked[0].customer_channel, 1);
  EXPECT_EQ(asked[0].language, "hi");
  EXPECT_EQ(asked[0].encoded_bytes, wav_of(truth).size());
  EXPECT_TRUE(asked[0].had_speech);

  // The transcript as the transcriber wrote it, with the word timings it gave (redaction
  // places PII in the recording with them).
  auto tr = transcripts.get(acme, id);
  ASSERT_TRUE(tr) << tr.error().to_string();
  EXPECT_EQ(tr->provider, "fake-stt");
  EXPECT_EQ(tr->language, "en");
  EXPECT_EQ(tr->version, 1);
  EXPECT_EQ(tr->full_text, "Thank you for calling the support line\nMy internet has been slow since Monday");
  EXPECT_EQ(json::parse(tr->segments_json), json::parse(R"([{"speaker":"agent","start_ms":500,"end_ms":2600,
                               "text":"Thank you for calling the support line","confidence":0.9},
                              {"speaker":"customer","start_ms":3400,"end_ms":5600,
                               "text":"My internet has been slow since Monday","confidence":0.8,
                               "words":[{"text":"My","start_ms":3400,"end_ms":3700},
                                        {"text":"internet","start_ms":3700,"end_ms":4200}]}])"));

  // Metrics from the channels: talk close to the placed speech, the trailing 4 s of silence.
  auto m = metrics_repo.get(acme, id);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->source, storage::MetricsSource::kAudio);
  EXPECT_EQ(m->duration_ms, truth.duration_ms());
  const auto agent_truth = static_cast<double>(truth.truth[0][0].length());
  const auto customer_truth = static_cast<double>(truth.truth[1][0].length());
  EXPECT_NEAR(static_cast<double>(m->agent_talk_ms), agent_truth, agent_truth * 0.05);
  EXPECT_NEAR(static_cast<double>(m->customer_talk_ms), customer_truth, customer_truth * 0.05);
  const auto silences = json::parse(m->silences_json);
  ASSERT_EQ(silences.size(), 1u);
  EXPECT_NEAR(silences[0]["duration_ms"].get<double>(), 4000.0, 300.0);
  ASSERT_TRUE(m->agent_wpm.has_value());
  EXPECT_DOUBLE_EQ(*m->agent_wpm, 7 / (static_cast<double>(m->agent_talk_ms) / 60000.0));  // 7 words
  ASSERT_TRUE(m->customer_wpm.has_value());
  EXPECT_DOUBLE_EQ(*m->customer_wpm, 7 / (static_cast<double>(m->customer_talk_ms) / 60000.0));

  // The call is transcribed; its events: started, succeeded.
  EXPECT_EQ(call(acme, id).status, CallStatus::kTranscribed);
  EXPECT_EQ(outcomes(acme, id), (std::vector<EventOutcome>{EventOutcome::kStarted, EventOutcome::kSucceeded}));
  EXPECT_NE(metrics.serialize().find(R"(earshot_calls_transcribed_total{provider="fake-stt"} 1)"), std::string::npos);
  // The call's seconds, per business and provider (what an estimate of the provider's bill uses).
  const std::string text = metrics.serialize();
  const std::string series = R"(earshot_stt_audio_seconds_total{bid="acme",provider="fake-stt"} )";
  const auto at = text.find(series);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_NEAR(std::stod(text.substr(at + series.size())), static_cast<double>(truth.duration_ms()) / 1000.0, 1e-6);
}

TEST_F(TranscribeStageUnit, RedeliveryOfATranscribedCallReSendsAnalyzeAndTranscribesNothing) {
  const auto id = new_call(acme, "again", store.put("acme/again.wav", wav_of(stereo_call())));
  ASSERT_EQ(testing::next_messages(stage->handle(message("acme", id))).size(), 1u);
  ASSERT_EQ(call(acme, id).status, CallStatus::kTranscribed);

  const auto again = testing::next_messages(stage->handle(message("acme", id)));
  ASSERT_EQ(again.size(), 1u);  // the analyze message again, in case it was lost
  EXPECT_EQ(queue::AnalyzeRequest::parse(again[0].body).value(), queue::AnalyzeRequest::for_call("acme", id));

  EXPECT_EQ(transcriber->asked().size(), 1u);
  EXPECT_EQ(store.reads(), 1);
  EXPECT_EQ(transcripts.get(acme, id)->version, 1);
  EXPECT_EQ(call(acme, id).status, CallStatus::kTranscribed);
  const auto list = events.list_for_call(acme, id).value();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[2].outcome, EventOutcome::kSkipped);
  EXPECT_EQ(list[2].error, "already transcribed");
}

TEST_F(TranscribeStageUnit, UndecodableAudioFailsTheCallWithTheReasonAndDeadLetters) {
  const std::string text = "this recording is actually a text file";
  const auto id = new_call(acme, "broken", store.put("acme/broken.wav", {text.begin(), text.end()}));

  const auto fail = testing::failure_of(stage->handle(message("acme", id)));
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->code, ErrorCode::kInvalidArgument);
  EXPECT_NE(fail->reason.find("not a recognised audio file"), std::string::npos) << fail->reason;

  const auto c = call(acme, id);
  EXPECT_EQ(c.status, CallStatus::kFailed);
  EXPECT_EQ(c.failed_stage, "transcribe");
  EXPECT_EQ(c.failed_reason, fail->reason);
  EXPECT_TRUE(transcriber->asked().empty());
  EXPECT_FALSE(transcripts.get(acme, id));
  const auto list = events.list_for_call(acme, id).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].outcome, EventOutcome::kFailed);
  EXPECT_EQ(list[1].error, "invalid_argument: " + fail->reason);
  EXPECT_NE(metrics.serialize().find(R"(earshot_calls_failed_total{code="invalid_argument",stage="transcribe"} 1)"),
            std::string::npos);
}

TEST_F(TranscribeStageUnit, MissingRecordingFailsTheCallAndDeadLetters) {
  const auto id = new_call(acme, "gone", "store://acme/gone.wav");

  const auto fail = testing::failure_of(stage->handle(message("acme", id)));
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->code, ErrorCode::kNotFound);
  EXPECT_EQ(fail->reason, "object store://acme/gone.wav not found");

  const auto c = call(acme, id);
  EXPECT_EQ(c.status, CallStatus::kFailed);
  EXPECT_EQ(c.failed_reason, "object store://acme/gone.wav not found");
  EXPECT_EQ(store.reads(), 1);
  EXPECT_TRUE(transcriber->asked().empty());
}

TEST_F(TranscribeStageUnit, UnavailableDatabaseIsRetriedAndTheRetrySucceeds) {
  const auto id = new_call(acme, "retry-db", store.put("acme/retry-db.wav", wav_of(stereo_call())));
  calls.fail_next(Error(ErrorCode::kUnavailable, "database is down"));

  auto r = stage->handle(message("acme", id));
  ASSERT_FALSE(r);  // an error the worker retries (message_fate kRetry), not a dead letter
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(message_fate(r.error().code), MessageFate::kRetry);
  EXPECT_EQ(call(acme, id).status, CallStatus::kPending);
  EXPECT_EQ(store.reads(), 0);
  EXPECT_TRUE(events.list_for_call(acme, id)->empty());

  ASSERT_EQ(testing::next_messages(stage->handle(message("acme", id))).size(), 1u);
  EXPECT_EQ(call(acme, id).status, CallStatus::kTranscribed);
  EXPECT_EQ(transcripts.get(acme, id)->version, 1);
}

TEST_F(TranscribeStageUnit, UnavailableStoreIsRetriedWithoutFailingTheCall) {
  const auto id = new_call(acme, "retry-store", store.put("acme/retry-store.wav", wav_of(stereo_call())));
  store.fail_next(Error(ErrorCode::kUnavailable, "store is down"));

  auto r = stage->handle(message("acme", id));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "store is down");
  const auto c = call(acme, id);
  EXPECT_EQ(c.status, CallStatus::kTranscribing);  // a redelivery does it again
  EXPECT_TRUE(c.failed_reason.empty());

  ASSERT_EQ(testing::next_messages(stage->handle(message("acme", id))).size(), 1u);
  EXPECT_EQ(call(acme, id).status, CallStatus::kTranscribed);
  EXPECT_EQ(store.reads(), 2);
}

TEST_F(TranscribeStageUnit, CallOfAnotherBusinessIsNotTouched) {
  const auto id = new_call(acme, "acme-call", store.put("acme/acme-call.wav", wav_of(stereo_call())));

  // globex's message naming acme's call id: globex has no such call.
  const auto fail = testing::failure_of(stage->handle(message("globex", id)));
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->code, ErrorCode::kNotFound);
  EXPECT_EQ(fail->reason, "call " + std::to_string(id) + " does not exist for business globex");

  const auto c = call(acme, id);
  EXPECT_EQ(c.status, CallStatus::kPending);
  EXPECT_TRUE(c.failed_reason.empty());
  EXPECT_TRUE(events.list_for_call(acme, id)->empty());
  EXPECT_FALSE(transcripts.get(acme, id));
  EXPECT_EQ(store.reads(), 0);
  EXPECT_TRUE(transcriber->asked().empty());
}

TEST_F(TranscribeStageUnit, RecordingOfAnotherBusinessIsNeverRead) {
  // globex's call pointing at acme's recording.
  const auto uri = store.put("acme/secret.wav", wav_of(stereo_call()));
  const auto id = new_call(globex, "sneaky", uri);

  const auto fail = testing::failure_of(stage->handle(message("globex", id)));
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(fail->reason.starts_with("recording refused: ")) << fail->reason;
  EXPECT_EQ(call(globex, id).status, CallStatus::kFailed);
  EXPECT_EQ(store.reads(), 0);
  EXPECT_TRUE(transcriber->asked().empty());
}

// Four calls start at once on one CPU thread, and the transcriber lets one transcription
// through at a time: the next only once the call before it has finished (its transcript
// stored, its completion given). The oldest call's next step goes before the younger
// calls' decoding, so each call finishes while the next one waits for its transcription.
// First-posted-first would decode (and hold the CPU thread in) the second call's
// transcription before the first call's measuring, and the first call would not finish.
TEST_F(TranscribeStageUnit, ABacklogFinishesCallByCallInTheOrderItStarted) {
  auto finished = std::make_shared<Finished>();
  HeldTranscriber held{*transcriber};

  std::vector<storage::Id> ids;
  for (int i = 0; i < 4; ++i) {
    const auto name = fmt::format("backlog-{}", i);
    ids.push_back(new_call(acme, name, store.put("acme/" + name + ".wav", wav_of(stereo_call()))));
  }
  for (const auto id : ids) start_recorded(*stage, "acme", id, finished);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(
        earshot::testing::wait_until([&] { return transcriber->asked().size() == i + 1; }, std::chrono::seconds(20)))
        << "call " << i << " was never transcribed";
    transcriber->allow();
    ASSERT_TRUE(earshot::testing::wait_until([&] { return finished->count() == i + 1; }, std::chrono::seconds(10)))
        << "call " << i << " did not finish before the next call's transcription was let through";
  }
  std::lock_guard l(finished->mu);
  EXPECT_EQ(finished->ids, ids);
  EXPECT_EQ(finished->next_messages, (std::vector<std::size_t>(ids.size(), 1u)));  // each forwarded to analyze
  for (const auto id : ids) EXPECT_EQ(call(acme, id).status, CallStatus::kTranscribed);
}

// With one slot at a speech provider, calls waiting for it are let through oldest first
// (by the order their jobs started), whichever order their database steps reached the
// provider's queue in (two database threads): the first call holds the slot while the
// others start and queue, then each freed slot goes to the oldest waiting call.
TEST_F(TranscribeStageUnit, CallsWaitingForAProviderSlotAreServedOldestFirst) {
  storage::PipelineConfig pc;
  pc.stt_provider = "deepgram";
  ASSERT_TRUE(configs.put(acme, pc));
  TranscribeStageOptions options;
  options.work_threads = 2;
  options.db_threads = 2;
  options.provider_in_flight = 1;
  Metrics own{"transcribe-slot-order-test", "0", "test"};
  auto one_slot = stage_with(options, own);
  auto finished = std::make_shared<Finished>();
  HeldTranscriber held{*transcriber};

  std::vector<storage::Id> ids;
  for (int i = 0; i < 6; ++i) {
    const auto name = fmt::format("slot-{}", i);
    ids.push_back(new_call(acme, name, store.put("acme/" + name + ".wav", wav_of(stereo_call()))));
  }
  auto start = [&](storage::Id id) { start_recorded(*one_slot, "acme", id, finished); };
  start(ids[0]);
  ASSERT_TRUE(earshot::testing::wait_until([&] { return transcriber->asked().size() == 1; }, std::chrono::seconds(20)));
  for (std::size_t i = 1; i < ids.size(); ++i) start(ids[i]);
  ASSERT_TRUE(earshot::testing::wait_until(
      [&] {
        return own.serialize().find(R"(earshot_stt_provider_waiting{provider="deepgram"} 5)") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << own.serialize();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(
        earshot::testing::wait_until([&] { return transcriber->asked().size() == i + 1; }, std::chrono::seconds(20)))
        << "call " << i << " never reached the provider";
    transcriber->allow();
    ASSERT_TRUE(earshot::testing::wait_until([&] { return finished->count() == i + 1; }, std::chrono::seconds(10)))
        << "call " << i << " did not finish";
  }
  std::lock_guard l(finished->mu);
  EXPECT_EQ(finished->ids, ids);
  for (const auto id : ids) EXPECT_EQ(call(acme, id).status, CallStatus::kTranscribed);
}

// audio_in_flight bounds the recordings held at once: with one place and the offline engine
// held, the other calls wait unread (counted as waiting) until the first one is done.
TEST_F(TranscribeStageUnit, CallsBeyondTheAudioPlacesWaitUnreadUntilOneIsFree) {
  storage::PipelineConfig pc;
  pc.stt_provider = "pocketsphinx";
  ASSERT_TRUE(configs.put(acme, pc));
  TranscribeStageOptions options;
  options.work_threads = 2;
  options.db_threads = 2;
  options.audio_in_flight = 1;
  Metrics own{"transcribe-audio-places-test", "0", "test"};
  auto one_place = stage_with(options, own);
  auto finished = std::make_shared<Finished>();
  HeldTranscriber held{*transcriber};

  std::vector<storage::Id> ids;
  for (int i = 0; i < 3; ++i) {
    const auto name = fmt::format("place-{}", i);
    ids.push_back(new_call(acme, name, store.put("acme/" + name + ".wav", wav_of(stereo_call()))));
  }
  for (const auto id : ids) start_recorded(*one_place, "acme", id, finished);
  // Two calls wait while the one holding the place reaches the (held) transcriber; its
  // read and decoding may still be under way when the two start waiting.
  ASSERT_TRUE(earshot::testing::wait_until(
      [&] {
        return own.serialize().find("earshot_stt_audio_waiting 2") != std::string::npos &&
               transcriber->asked().size() == 1;
      },
      std::chrono::seconds(20)))
      << own.serialize();
  EXPECT_EQ(store.reads(), 1);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(
        earshot::testing::wait_until([&] { return transcriber->asked().size() == i + 1; }, std::chrono::seconds(20)));
    EXPECT_EQ(store.reads(), static_cast<int>(i) + 1);  // the next call is still unread
    transcriber->allow();
    ASSERT_TRUE(earshot::testing::wait_until([&] { return finished->count() == i + 1; }, std::chrono::seconds(20)))
        << "call " << i << " did not finish";
  }
  for (const auto id : ids) EXPECT_EQ(call(acme, id).status, CallStatus::kTranscribed);
}

// A Sarvam call's provider gets the call's ledger: the jobs an earlier delivery started are
// read from the store when the call is loaded (under its own business and call only), and a
// job the provider names is saved there. A Deepgram call (no jobs on the provider's side)
// gets no ledger.
TEST_F(TranscribeStageUnit, ASarvamCallsProviderJobsAreReadFromTheStoreAndNewOnesSaved) {
  storage::PipelineConfig pc;
  pc.stt_provider = "sarvam";
  ASSERT_TRUE(configs.put(acme, pc));
  ASSERT_TRUE(configs.put(globex, pc));
  cache::InMemoryProviderJobStore jobs;
  const auto id = new_call(acme, "resumed", store.put("acme/resumed.wav", wav_of(stereo_call())));
  const auto other = new_call(globex, "other", store.put("globex/other.wav", wav_of(stereo_call())));
  ASSERT_TRUE(jobs.save("acme", id, "sarvam|transcript", "job-0007"));
  ASSERT_TRUE(jobs.save("acme", id + 1000, "sarvam|transcript", "job-of-another-call"));
  ASSERT_TRUE(jobs.save("acme", other, "sarvam|transcript", "job-of-acme-same-id"));
  TranscribeStageOptions options;
  Metrics own{"transcribe-provider-jobs-test", "0", "test"};
  auto with_jobs = stage_with(options, own, &jobs);

  ASSERT_EQ(testing::next_messages(with_jobs->handle(message("acme", id))).size(), 1u);
  ASSERT_EQ(testing::next_messages(with_jobs->handle(message("globex", other))).size(), 1u);
  const auto asked = transcriber->asked();
  ASSERT_EQ(asked.size(), 2u);
  ASSERT_TRUE(asked[0].ledger);
  EXPECT_EQ(asked[0].ledger->recall("transcript"), "job-0007");
  EXPECT_EQ(asked[0].ledger->recall("english"), std::nullopt);
  ASSERT_TRUE(asked[1].ledger);
  EXPECT_EQ(asked[1].ledger->recall("transcript"), std::nullopt);  // globex's call: acme's entry is not its
  EXPECT_NE(own.serialize().find(R"(earshot_stt_provider_jobs_total{event="resumed",provider="sarvam"} 1)"),
            std::string::npos)
      << own.serialize();

  asked[1].ledger->remember("english", "job-0008");
  EXPECT_EQ(asked[1].ledger->recall("english"), "job-0008");
  ASSERT_TRUE(earshot::testing::wait_until(
      [&] {
        auto saved = jobs.load("globex", other);
        return saved && saved->contains("sarvam|english") && saved->at("sarvam|english") == "job-0008";
      },
      std::chrono::seconds(10)));
  EXPECT_FALSE(jobs.load("acme", other)->contains("sarvam|english"));

  pc.stt_provider = "deepgram";
  ASSERT_TRUE(configs.put(acme, pc));
  const auto plain = new_call(acme, "plain", store.put("acme/plain.wav", wav_of(stereo_call())));
  Metrics own_fresh{"transcribe-provider-jobs-test-2", "0", "test"};
  auto fresh = stage_with(options, own_fresh, &jobs);  // its config cache has not seen acme's Sarvam config
  ASSERT_EQ(testing::next_messages(fresh->handle(message("acme", plain))).size(), 1u);
  ASSERT_EQ(transcriber->asked().size(), 3u);
  EXPECT_FALSE(transcriber->asked()[2].ledger);
}

}  // namespace
}  // namespace earshot::pipeline
