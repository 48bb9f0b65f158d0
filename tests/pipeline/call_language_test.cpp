// Calls that are not in English through the real database and queue fabric: a Hinglish call
// transcribed by the Sarvam fake (its real wire format, translate mode included) gets its
// language from the answer and an English rendering with the original's speakers and times,
// then the analyze stage (through RabbitMQ) scores the English; a Hinglish call with no
// translation source gets "not analyzed: language hi" and null metrics; one whose business has an
// LLM chain gets its rendering from it, stored in MariaDB; the LLM sentiment pass
// against the fake OpenAI and Ollama servers: a good answer replaces the lexicon's scores, a
// malformed answer and a provider error fall back to them with the reason.
#include "earshot/pipeline/call_language.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "analyze_fixture.hpp"
#include "audio_fixture.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/transcribe_stage.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/repository_set.hpp"
#include "fakes/llm/fake_llm.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "queue_fixture.hpp"
#include "test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::pipeline {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using queue::Stage;

// A Hinglish broadband complaint written for this test, with the English Sarvam's translate
// mode gives for each line. Speaker 1 greets (the agent), speaker 0 is the customer.
std::vector<earshot::testing::FakeUtterance> hinglish_call() {
  return {
      {1, 0, 0.2, 3.8, "Namaste, Acme Fibre se Priya baat kar rahi hoon, bataiye main kya madad karun?",
       "Hello, this is Priya from Acme Fibre, tell me how I can help you."},
      {0, 0, 4.3, 9.5, "Mera internet teen din se band hai aur koi complaint ka jawab nahi de raha.",
       "My internet has been down for three days and nobody is answering my complaint. This is terrible."},
      {1, 0, 10.0, 13.5, "Sorry sir, main abhi aapka connection check karti hoon, ek minute dijiye.",
       "Sorry sir, I will check your connection right now, please give me a minute."},
      {0, 0, 14.0, 19.0, "Pichli baar bhi aapne yahi bola tha, yeh bilkul bekaar service hai.",
       "You said the same thing last time too, this is a useless, awful service."},
  };
}

class CallLanguageTest : public queue::testing::QueueTest {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    auto keys = crypto::Keyring::parse(fmt::format("k1:{}", crypto::Keyring::generate_key_base64()), "k1");
    ASSERT_TRUE(keys);
    keyring_.emplace(std::move(*keys));
    mysql_ = std::make_unique<storage::MySqlRepositories>(earshot::testing::StorageEnvironment::db(), *keyring_);
    root_ = std::filesystem::temp_directory_path() / ("earshot-lang-" + earshot::testing::unique_suffix());
    std::filesystem::create_directories(root_);
    store_ = std::make_unique<objectstore::LocalObjectStore>(root_.string());
    ASSERT_TRUE(sarvam_.start());
    ASSERT_TRUE(ollama_.start());
    ASSERT_TRUE(openai_.start());
    http_ = std::make_unique<http::CurlHttpClient>();
    transcribers_ = std::make_unique<ProviderTranscriberFactory>(*http_, SystemClock::instance(), *metrics);
    providers_ = std::make_unique<LlmProviderFactory>(*http_, SystemClock::instance(), settings_);
    llm_ = std::make_unique<LlmAgents>(nullptr, *metrics, SystemClock::instance(), settings_);
    analyze_ = std::make_unique<AnalyzeStage>(testing::analyze_deps(repos(), *metrics, SystemClock::instance(), topo));
    analyze_->enable_llm({repos().pipeline_configs, *providers_, *llm_, nullptr, nullptr, 60s});
  }

  void TearDown() override {
    http_->shutdown();
    sarvam_.stop();
    ollama_.stop();
    openai_.stop();
    QueueTest::TearDown();
    std::filesystem::remove_all(root_);
  }

  storage::Repositories& repos() { return mysql_->repos(); }

  // A mono recording of `seconds` (a quiet tone: the fake transcribes by its script).
  std::vector<std::uint8_t> recording(double seconds) {
    const int rate = 8000;
    std::vector<float> samples(static_cast<std::size_t>(seconds * rate));
    for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = 0.1F * std::sin(static_cast<float>(i) * 0.2F);
    const auto path = earshot::testing::temp_path("lang.wav");
    earshot::testing::write_wav16(path, {samples}, rate);
    std::ifstream in(path, std::ios::binary);
    std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
    std::remove(path.c_str());
    return bytes;
  }

  // A pending call of `t` with its recording stored.
  storage::Id audio_call(const storage::TenantId& t, const std::string& name) {
    const auto bytes = recording(20.0);
    auto uri = store_->write(t.bid() + "/" + name, bytes);
    EXPECT_TRUE(uri) << uri.error().to_string();
    storage::CallInput in;
    in.external_id = name;
    in.audio_uri = *uri;
    in.channels = 1;
    in.started_at = storage::to_timestamp(std::chrono::system_clock::now());
    auto up = repos().calls.upsert(t, in);
    EXPECT_TRUE(up) << up.error().to_string();
    return up->id;
  }

  queue::HandlerResult transcribe(TranscribeStage& stage, const storage::TenantId& t, storage::Id id) {
    queue::IncomingMessage msg;
    msg.envelope.bid = t.bid();
    msg.envelope.stage = Stage::kTranscribe;
    msg.body = json{{"schema_version", 1},
                    {"bid", t.bid()},
                    {"call_id", std::to_string(id)},
                    {"audio", {{"uri", "store://x"}, {"format", "wav"}}}}
                   .dump();
    return stage.handle(msg);
  }

  // Analyzes the calls through RabbitMQ with the stage worker, waiting until each is analyzed.
  void analyze_through_queue(const storage::TenantId& t, const std::vector<storage::Id>& ids) {
    declare(Stage::kAnalyze, t.bid());
    declare(Stage::kNotify, t.bid());
    queue::InMemoryBusinessDirectory dir;
    dir.enable(t.bid());
    queue::InMemoryOutcomeRecorder rec;
    queue::StageWorkerOptions o;
    o.stage = Stage::kAnalyze;
    auto worker = make_worker(*analyze_, dir, rec, o);
    ASSERT_TRUE(worker->start());
    queue::Publisher pub(amqp, {});
    pub.start();
    for (const auto id : ids) {
      queue::Envelope env;
      env.bid = t.bid();
      env.stage = Stage::kAnalyze;
      env.trace_id = "trace-" + std::to_string(id);
      ASSERT_TRUE(pub.publish(queue::make_stage_message(topo, env,
                                                        json{{"schema_version", 1},
                                                             {"bid", t.bid()},
                                                             {"call_id", std::to_string(id)},
                                                             {"transcript_id", std::to_string(id)}}
                                                            .dump())));
    }
    for (const auto id : ids) {
      EXPECT_TRUE(earshot::testing::wait_until(
          [&] { return testing::status_of(repos().calls, t, id) == storage::CallStatus::kAnalyzed; }, 30s))
          << storage::status_name(testing::status_of(repos().calls, t, id));
    }
    worker->stop_intake();
    worker->drain(std::chrono::steady_clock::now() + 5s);
    worker->stop();
  }

  // The latest output of each built-in analysis of the call, by name.
  std::map<std::string, json> outputs(const storage::TenantId& t, storage::Id id) {
    std::map<storage::Id, std::string> names;
    const auto stored = repos().agent_configs.list(t, false).value();
    for (const auto& c : stored) names[c.id] = c.name;
    std::map<std::string, json> out;
    const auto list = repos().analyses.list_for_call(t, id, true).value();
    for (const auto& a : list) {
      out[names[a.agent_config_id]] = json::parse(a.output_json);
    }
    return out;
  }

  std::filesystem::path root_;
  std::unique_ptr<objectstore::LocalObjectStore> store_;
  std::optional<crypto::Keyring> keyring_;
  std::unique_ptr<storage::MySqlRepositories> mysql_;
  earshot::testing::FakeSarvam sarvam_;
  earshot::testing::FakeOllama ollama_;
  earshot::testing::FakeOpenAiChat openai_;
  std::unique_ptr<http::CurlHttpClient> http_;
  std::unique_ptr<ProviderTranscriberFactory> transcribers_;
  LlmSettings settings_;
  std::unique_ptr<LlmProviderFactory> providers_;
  std::unique_ptr<LlmAgents> llm_;
  std::unique_ptr<AnalyzeStage> analyze_;
};

TEST_F(CallLanguageTest, HinglishCallThroughSarvamGetsAnEnglishRenderingAndRealScores) {
  auto t = earshot::testing::new_tenant("lang");
  storage::PipelineConfig pc;
  pc.stt_provider = "sarvam";
  pc.language = "hi-IN";
  pc.stt_options_json = json{{"base_url", sarvam_.base_url()}, {"poll_interval_ms", 20}}.dump();
  pc.secrets["stt_api_key"] = sarvam_.api_key();
  ASSERT_TRUE(repos().pipeline_configs.put(t, pc));
  sarvam_.set_script(hinglish_call());
  sarvam_.set_language_code("hi-IN");
  sarvam_.set_polls_until_complete(1);
  TranscribeStage stage(TranscribeStageDeps{repos().calls, repos().transcripts, repos().metrics,
                                            repos().pipeline_configs, repos().events, *store_, *transcribers_, *metrics,
                                            SystemClock::instance(), topo, audio::DecodeLimits{}});
  const auto id = audio_call(t, "hinglish.wav");
  auto out = transcribe(stage, t, id);
  ASSERT_TRUE(out) << out.error().to_string();
  ASSERT_NE(std::get_if<queue::Done>(&*out), nullptr);

  // Two batch jobs: the transcript, then the English rendering on the translate endpoints.
  EXPECT_EQ(sarvam_.count("/speech-to-text/job/v1/upload-files"), 1);
  EXPECT_EQ(sarvam_.count("/speech-to-text-translate/job/v1/upload-files"), 1);
  auto tr = repos().transcripts.get(t, id);
  ASSERT_TRUE(tr) << tr.error().to_string();
  EXPECT_EQ(tr->language, "hi-IN");
  EXPECT_EQ(tr->language_source, "provider");
  EXPECT_EQ(tr->english_source, "sarvam");
  const auto original = json::parse(tr->segments_json);
  const auto english = json::parse(tr->english_segments_json);
  ASSERT_EQ(original.size(), 4u);
  ASSERT_EQ(english.size(), original.size());
  for (std::size_t i = 0; i < english.size(); ++i) {
    EXPECT_EQ(english[i]["speaker"], original[i]["speaker"]) << i;
    EXPECT_EQ(english[i]["start_ms"], original[i]["start_ms"]) << i;
    EXPECT_EQ(english[i]["end_ms"], original[i]["end_ms"]) << i;
    EXPECT_EQ(english[i]["text"], hinglish_call()[i].english) << i;
    EXPECT_EQ(original[i]["text"], hinglish_call()[i].text) << i;
  }
  EXPECT_EQ(original[0]["speaker"], "agent");
  EXPECT_EQ(original[1]["speaker"], "customer");

  analyze_through_queue(t, {id});
  const auto a = outputs(t, id);
  const auto& s = a.at("builtin.sentiment");
  EXPECT_FALSE(s.contains("analyzed")) << s;
  EXPECT_EQ(s["text"], "sarvam");
  EXPECT_EQ(s["language"], "hi-IN");
  auto m = repos().metrics.get(t, id);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->customer_sentiment.has_value());
  EXPECT_LT(*m->customer_sentiment, -0.3) << "the customer's complaints, read in English";
  ASSERT_TRUE(m->agent_sentiment.has_value());
  EXPECT_GT(*m->agent_sentiment, *m->customer_sentiment + 0.3) << "the agent's help reads far above the complaints";
  EXPECT_TRUE(a.at("builtin.summary").contains("outcome"));
  EXPECT_EQ(ollama_.chat_count() + openai_.chat_count(), 0);  // no LLM involved
}

TEST_F(CallLanguageTest, HinglishCallWithoutTranslationSourceIsNotAnalyzed) {
  // Offline engine business, no LLM chain: the Hinglish text call has no English anywhere.
  auto t = earshot::testing::new_tenant("lang");
  ASSERT_TRUE(repos().pipeline_configs.put(t, storage::PipelineConfig{}));
  json segs = json::array();
  for (const auto& u : hinglish_call()) {
    segs.push_back(testing::turn(u.speaker == 1 ? "agent" : "customer", static_cast<std::int64_t>(u.start_s * 1000),
                                 static_cast<std::int64_t>(u.end_s * 1000), u.text.c_str()));
  }
  const auto id = testing::transcribed_call(
      repos().calls, repos().transcripts, t,
      testing::call_input("hinglish-text", storage::to_timestamp(std::chrono::system_clock::now())), segs);
  analyze_through_queue(t, {id});
  const auto a = outputs(t, id);
  for (const auto& analyzer : kAnalyzerLanguages) {
    const auto it = a.find(std::string(analyzer.analyzer));
    ASSERT_NE(it, a.end()) << analyzer.analyzer;
    EXPECT_EQ(it->second["analyzed"], false) << analyzer.analyzer;
    EXPECT_EQ(it->second["reason"], "not analyzed: language hi") << analyzer.analyzer;
  }
  auto m = repos().metrics.get(t, id);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->customer_sentiment.has_value());
  EXPECT_FALSE(m->agent_sentiment.has_value());
  EXPECT_FALSE(m->question_rate_per_hour.has_value());
  EXPECT_GT(m->customer_talk_ms, 0);
  auto detail = repos().call_details.detail(t, id);
  ASSERT_TRUE(detail);
  ASSERT_TRUE(detail->transcript);
  EXPECT_TRUE(detail->transcript->english_segments_json.empty());
  auto c = repos().calls.get(t, id);
  EXPECT_FALSE(c->qa_score.has_value());
}

TEST_F(CallLanguageTest, HinglishTextCallIsTranslatedByTheLlmChainAndTheRenderingStored) {
  auto t = earshot::testing::new_tenant("lang");
  storage::PipelineConfig pc;
  pc.llm_chain_json =
      json::array({{{"provider", "ollama"}, {"model", "llama-test"}, {"base_url", ollama_.base_url()}}}).dump();
  ASSERT_TRUE(repos().pipeline_configs.put(t, pc));
  json segs = json::array();
  json reply = json::array();
  const auto script = hinglish_call();
  for (std::size_t i = 0; i < script.size(); ++i) {
    const auto& u = script[i];
    segs.push_back(testing::turn(u.speaker == 1 ? "agent" : "customer", static_cast<std::int64_t>(u.start_s * 1000),
                                 static_cast<std::int64_t>(u.end_s * 1000), u.text.c_str()));
    reply.push_back({{"i", i}, {"text", u.english}});
  }
  ollama_.set_reply_for("Task: translate", json{{"segments", reply}}.dump());
  const auto id = testing::transcribed_call(
      repos().calls, repos().transcripts, t,
      testing::call_input("hinglish-llm", storage::to_timestamp(std::chrono::system_clock::now())), segs);
  analyze_through_queue(t, {id});
  EXPECT_EQ(ollama_.chat_count(), 1);
  auto detail = repos().call_details.detail(t, id);
  ASSERT_TRUE(detail) << detail.error().to_string();
  ASSERT_TRUE(detail->transcript);
  EXPECT_EQ(detail->transcript->english_source, "llm");
  const auto english = json::parse(detail->transcript->english_segments_json);
  ASSERT_EQ(english.size(), script.size());
  EXPECT_EQ(english[1]["text"], script[1].english);
  EXPECT_EQ(english[1]["speaker"], "customer");
  EXPECT_EQ(outputs(t, id).at("builtin.sentiment")["text"], "llm");
  EXPECT_LT(*repos().metrics.get(t, id)->customer_sentiment, -0.3);
}

// An English call whose complaints VADER alone reads as neutral (the call-center layer does not).
json hold_complaint() {
  return json::array({testing::turn("agent", 0, 4000, "Thank you for calling Acme, how can I help?"),
                      testing::turn("customer", 4500, 11000, "I have been on hold for forty five minutes."),
                      testing::turn("agent", 11500, 16000, "I will look into it now."),
                      testing::turn("customer", 16500, 22000, "The technician never showed up either.")});
}

TEST_F(CallLanguageTest, LlmSentimentPassGoodMalformedAndFailedAnswers) {
  const std::string good = R"({"turns":[{"i":0,"label":"neutral","score":0.1},{"i":1,"label":"negative","score":-0.7},
      {"i":2,"label":"neutral","score":0.0},{"i":3,"label":"negative","score":-0.8}]})";
  auto business = [&](bool openai) {
    auto t = earshot::testing::new_tenant("sent");
    storage::PipelineConfig pc;
    pc.llm_sentiment = true;
    if (openai) {
      pc.llm_chain_json =
          json::array({{{"provider", "openai"}, {"model", "gpt-test"}, {"base_url", openai_.base_url()}}}).dump();
      pc.secrets["openai_api_key"] = openai_.api_key();
    } else {
      pc.llm_chain_json =
          json::array({{{"provider", "ollama"}, {"model", "llama-test"}, {"base_url", ollama_.base_url()}}}).dump();
    }
    EXPECT_TRUE(repos().pipeline_configs.put(t, pc));
    auto stored = repos().pipeline_configs.get(t);
    EXPECT_TRUE(stored && stored->llm_sentiment);  // the setting round-trips through MariaDB
    return t;
  };
  auto call = [&](const storage::TenantId& t, const std::string& name) {
    return testing::transcribed_call(repos().calls, repos().transcripts, t,
                                     testing::call_input(name, storage::to_timestamp(std::chrono::system_clock::now())),
                                     hold_complaint());
  };

  // A good answer (OpenAI wire format): the scores replace the lexicon's.
  openai_.set_reply_for("Task: sentiment", good);
  auto t1 = business(/*openai=*/true);
  const auto good_id = call(t1, "good");
  analyze_through_queue(t1, {good_id});
  auto s = outputs(t1, good_id).at("builtin.sentiment");
  EXPECT_EQ(s["segments"], json::parse("[0.1,-0.7,0.0,-0.8]"));
  EXPECT_EQ(s["llm"]["scorer"], "llm");
  EXPECT_EQ(s["llm"]["provider"], "openai:gpt-test");
  EXPECT_EQ(openai_.chat_count(), 1);
  EXPECT_NEAR(*repos().metrics.get(t1, good_id)->customer_sentiment, (-0.7 * 6500 + -0.8 * 5500) / 12000, 1e-9);

  // A malformed answer (Ollama wire format), twice (the repair too): the lexicon's scores.
  ollama_.set_invalid_output_always(true);
  auto t2 = business(/*openai=*/false);
  const auto bad_id = call(t2, "malformed");
  analyze_through_queue(t2, {bad_id});
  s = outputs(t2, bad_id).at("builtin.sentiment");
  EXPECT_EQ(s["llm"]["scorer"], "lexicon");
  EXPECT_EQ(s["llm"]["fallback"], true);
  EXPECT_NE(s["llm"]["reason"].get<std::string>().find("LLM sentiment failed"), std::string::npos) << s;
  // The lexicon's scores: the greeting formula neutral, the long hold negative.
  EXPECT_EQ(s["segments"][0].get<double>(), 0.0);
  EXPECT_LT(s["segments"][1].get<double>(), -0.2);
  ollama_.set_invalid_output_always(false);

  // A provider error (bad key): the lexicon's scores, the reason kept.
  openai_.fail_next(earshot::testing::FailurePlan::of(1, earshot::testing::FailureKind::kAuth));
  auto t3 = business(/*openai=*/true);
  const auto err_id = call(t3, "error");
  analyze_through_queue(t3, {err_id});
  s = outputs(t3, err_id).at("builtin.sentiment");
  EXPECT_EQ(s["llm"]["fallback"], true);
  EXPECT_EQ(s["llm"]["scorer"], "lexicon");
  EXPECT_EQ(testing::status_of(repos().calls, t3, err_id), storage::CallStatus::kAnalyzed);
}

}  // namespace
}  // namespace earshot::pipeline
