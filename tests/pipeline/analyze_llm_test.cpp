// LLM agents and embeddings through the analyze stage, against the fake providers (exact
// wire formats), the real MariaDB, RabbitMQ and Redis: the default agents end to end through
// the queue (secrets decrypted, QA answered by an agent's field, escalation from an agent's
// output, embeddings, live events); invalid output repaired; invalid twice fails the agent,
// not the call; throttling retried; a Redis cache hit makes no provider call and re-analysis
// keeps the history.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "analyze_fixture.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/default_agents.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/repository_set.hpp"
#include "fakes/llm/fake_llm.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "queue_fixture.hpp"
#include "test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::pipeline {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using queue::Stage;

// Valid answers for each default agent (the fake picks one by the "Task: <name>" line).
const std::map<std::string, std::string>& agent_replies() {
  static const std::map<std::string, std::string> r = {
      {"summary",
       R"({"summary":"The customer wanted a refund for a broken blender and got one.","key_points":["refund issued"]})"},
      {"bant",
       R"({"budget":{"value":"about 200 dollars","evidence":"I can spend about 200 dollars"},"authority":{"value":"decides alone","evidence":"I decide"},"need":{"value":"a working blender","evidence":"I need a blender that works"},"timeline":{"value":"this week","evidence":"by Friday"},"qualified":true})"},
      {"sop_compliance",
       R"({"score":80,"violations":[{"step":"verification","detail":"identity not verified","evidence":null}]})"},
      {"objections",
       R"({"objections":[{"type":"price","quote":"too expensive","handled":true,"response":"offered a discount"}]})"},
      {"coaching_tips", R"({"tips":[{"tip":"Verify identity first.","evidence":null}],"strength":"Calm tone."})"},
      {"issue_outcome",
       R"({"issue":"broken blender","outcome":"refunded","action_items":[{"owner":"company","action":"send refund confirmation","due":null}],"escalate":true,"escalation_reason":"customer threatened to leave"})"},
  };
  return r;
}

class AnalyzeLlmTest : public queue::testing::QueueTest {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    auto keys = crypto::Keyring::parse(fmt::format("k1:{}", crypto::Keyring::generate_key_base64()), "k1");
    ASSERT_TRUE(keys);
    keyring_.emplace(std::move(*keys));
    mysql_ = std::make_unique<storage::MySqlRepositories>(earshot::testing::StorageEnvironment::db(), *keyring_);

    auto redis = cache::RedisClient::make({earshot::testing::endpoints().redis_url, 2s}, 2);
    ASSERT_TRUE(redis) << redis.error().to_string();
    redis_ = std::move(*redis);
    cache_ =
        std::make_unique<RedisResultCache>(*redis_, 1h, "earshot:llm:test:" + earshot::testing::unique_suffix() + ":");
    live_ = std::make_unique<cache::LiveEvents>(*redis_, SystemClock::instance());

    ASSERT_TRUE(ollama_.start());
    ASSERT_TRUE(openai_.start());
    http_ = std::make_unique<http::CurlHttpClient>();
    providers_ = std::make_unique<LlmProviderFactory>(*http_, SystemClock::instance(), settings_);
    llm_ = std::make_unique<LlmAgents>(cache_.get(), *metrics, SystemClock::instance(), settings_);
    stage_ = std::make_unique<AnalyzeStage>(testing::analyze_deps(repos(), *metrics, SystemClock::instance(), topo));
    stage_->enable_llm({repos().pipeline_configs, *providers_, *llm_, &repos().embeddings, nullptr, 60s});
    stage_->enable_live_events(*live_);
  }

  void TearDown() override {
    http_->shutdown();
    ollama_.stop();
    openai_.stop();
    QueueTest::TearDown();
  }

  // A business whose chain is the fake Ollama (or OpenAI with its key as a sealed secret).
  storage::TenantId business(bool openai = false) {
    auto t = earshot::testing::new_tenant("llm");
    storage::PipelineConfig pc;
    if (openai) {
      pc.llm_chain_json =
          json::array({{{"provider", "openai"}, {"model", "gpt-test"}, {"base_url", openai_.base_url()}}}).dump();
      pc.secrets["openai_api_key"] = openai_.api_key();
    } else {
      pc.llm_chain_json =
          json::array({{{"provider", "ollama"}, {"model", "llama-test"}, {"base_url", ollama_.base_url()}}}).dump();
    }
    EXPECT_TRUE(repos().pipeline_configs.put(t, pc));
    return t;
  }

  // One LLM agent: the default summary agent's template and schema.
  storage::Id summary_agent(const storage::TenantId& t) {
    const auto& d = default_agents().front();
    storage::AgentConfig c;
    c.name = d.name;
    c.kind = storage::AgentKind::kLlm;
    c.prompt_template = d.prompt_template;
    c.output_schema_json = d.output_schema;
    auto id = repos().agent_configs.create(t, c);
    EXPECT_TRUE(id);
    return id ? *id : 0;
  }

  storage::Id transcribed_call(const storage::TenantId& t, const std::string& name) {
    return testing::transcribed_call(repos().calls, repos().transcripts, t,
                                     testing::call_input(name, storage::to_timestamp(std::chrono::system_clock::now())),
                                     testing::blender_refund_segments());
  }

  // Runs the stage on the call; true when it finished with Done.
  bool analyze(const storage::TenantId& t, storage::Id id) {
    auto r = stage_->handle(testing::analyze_message(t, id));
    if (!r) {
      ADD_FAILURE() << r.error().to_string();
      return false;
    }
    return std::holds_alternative<queue::Done>(*r);
  }

  storage::CallStatus status(const storage::TenantId& t, storage::Id id) {
    return testing::status_of(repos().calls, t, id);
  }

  storage::Repositories& repos() { return mysql_->repos(); }

  // The latest analysis of agent `name`.
  std::optional<storage::Analysis> latest(const storage::TenantId& t, storage::Id call, const std::string& name) {
    auto cfgs = repos().agent_configs.list(t, false);
    auto list = repos().analyses.list_for_call(t, call, true);
    if (!cfgs || !list) return std::nullopt;
    for (const auto& c : *cfgs) {
      if (c.name != name) continue;
      for (const auto& a : *list) {
        if (a.agent_config_id == c.id) return a;
      }
    }
    return std::nullopt;
  }

  std::optional<crypto::Keyring> keyring_;
  std::unique_ptr<storage::MySqlRepositories> mysql_;
  std::unique_ptr<cache::RedisClient> redis_;
  std::unique_ptr<RedisResultCache> cache_;
  std::unique_ptr<cache::LiveEvents> live_;
  earshot::testing::FakeOllama ollama_;
  earshot::testing::FakeOpenAiChat openai_;
  std::unique_ptr<http::CurlHttpClient> http_;
  LlmSettings settings_;
  std::unique_ptr<LlmProviderFactory> providers_;
  std::unique_ptr<LlmAgents> llm_;
  std::unique_ptr<AnalyzeStage> stage_;
};

TEST_F(AnalyzeLlmTest, DefaultAgentsEndToEndThroughQueueDatabaseAndRedis) {
  auto t = business(/*openai=*/true);
  declare(Stage::kAnalyze, t.bid());
  declare(Stage::kNotify, t.bid());
  auto seeded = seed_default_agents(repos().agent_configs, t);
  ASSERT_TRUE(seeded);
  EXPECT_EQ(*seeded, 6);
  EXPECT_EQ(*seed_default_agents(repos().agent_configs, t), 0);  // idempotent
  for (const auto& [name, reply] : agent_replies()) openai_.set_reply_for("Task: " + name, reply);
  storage::RuleSet card;
  card.name = "Sales QA";
  card.rules_json = R"({"questions":[
      {"id":"qualified","weight":2,"answer":{"kind":"agent","agent":"bant","field":"/qualified","equals":true}},
      {"id":"sop","weight":1,"answer":{"kind":"agent","agent":"sop_compliance","field":"/violations/0/step","equals":"greeting"}}]})";
  ASSERT_TRUE(repos().scorecards.create(t, card));
  const auto id = transcribed_call(t, "e2e");
  auto before = live_->last_id(t.bid());
  ASSERT_TRUE(before);

  queue::InMemoryBusinessDirectory dir;
  dir.enable(t.bid());
  queue::InMemoryOutcomeRecorder rec;
  queue::StageWorkerOptions o;
  o.stage = Stage::kAnalyze;
  auto worker = make_worker(*stage_, dir, rec, o);
  ASSERT_TRUE(worker->start());
  queue::Publisher pub(amqp, {});
  pub.start();
  queue::Envelope env;
  env.bid = t.bid();
  env.stage = Stage::kAnalyze;
  env.trace_id = "trace";
  ASSERT_TRUE(pub.publish(queue::make_stage_message(topo, env,
                                                    json{{"schema_version", 1},
                                                         {"bid", t.bid()},
                                                         {"call_id", std::to_string(id)},
                                                         {"transcript_id", std::to_string(id)}}
                                                        .dump())));
  ASSERT_TRUE(earshot::testing::wait_until([&] { return status(t, id) == storage::CallStatus::kAnalyzed; }, 30s))
      << storage::status_name(status(t, id));
  ASSERT_TRUE(
      earshot::testing::wait_until([&] { return depth(queue::work_queue(Stage::kNotify, t.bid())) == 1; }, 10s));
  worker->stop_intake();
  worker->drain(std::chrono::steady_clock::now() + 5s);
  worker->stop();

  // Six agents asked once each, with the key from the sealed secret and the redacted transcript.
  EXPECT_EQ(openai_.chat_count(), 6);
  EXPECT_EQ(openai_.last_body().find("a.b@example.com"), std::string::npos);
  EXPECT_NE(openai_.last_body().find("[EMAIL]"), std::string::npos);
  auto list = repos().analyses.list_for_call(t, id, true);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 5u + 6u);
  for (const auto& [name, reply] : agent_replies()) {
    auto a = latest(t, id, name);
    ASSERT_TRUE(a) << name;
    EXPECT_FALSE(a->failed) << name << ": " << a->error;
    EXPECT_EQ(json::parse(a->output_json), json::parse(reply)) << name;
    EXPECT_EQ(a->model, "openai:gpt-test");
    EXPECT_EQ(a->prompt_hash.size(), 64u);
  }
  // QA from the agents' fields: qualified yes (2), the SOP violation is not "greeting" (no, 1).
  auto call = repos().calls.get(t, id);
  ASSERT_TRUE(call->qa_score.has_value());
  EXPECT_NEAR(*call->qa_score, 2.0 / 3.0, 1e-9);
  // The issue_outcome agent asked for an escalation.
  auto esc = repos().escalations.list(t, std::nullopt, 10);
  ASSERT_TRUE(esc);
  ASSERT_EQ(esc->size(), 1u);
  EXPECT_NE((*esc)[0].reason.find("agent issue_outcome: customer threatened to leave"), std::string::npos)
      << (*esc)[0].reason;
  // Embeddings: the whole call and its chunk, from the offline default embedder.
  auto emb = repos().embeddings.list_for_call(t, id);
  ASSERT_TRUE(emb);
  ASSERT_EQ(emb->size(), 2u);
  EXPECT_EQ((*emb)[0].chunk_index, -1);
  EXPECT_EQ((*emb)[1].chunk_index, 0);
  EXPECT_EQ((*emb)[1].model, "hashed-bow:256");
  EXPECT_EQ((*emb)[1].vector.size(), 256u);
  EXPECT_NE((*emb)[1].text.find("[EMAIL]"), std::string::npos);
  EXPECT_EQ((*emb)[1].vector, llm::HashedBowEmbedder(256).embed_one((*emb)[1].text));
  // Live events: analyzing, then analyzed.
  auto events = live_->read_after(t.bid(), *before, 100);
  ASSERT_TRUE(events);
  std::vector<std::string> statuses;
  for (const auto& e : *events) {
    auto j = json::parse(e.json);
    if (j["type"] == "call.status" && j["data"]["call_id"] == id) statuses.push_back(j["data"]["status"]);
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"analyzing", "analyzed"}));
}

// The asynchronous path (what earshot-analyze runs): with one work thread, four calls are all
// waiting on their agents at once (no thread is held per call), and each finishes once its
// agent answers.
TEST_F(AnalyzeLlmTest, CallsWaitingOnTheirAgentsHoldNoWorkThread) {
  AnalyzeStage stage(testing::analyze_deps(repos(), *metrics, SystemClock::instance(), topo), {.work_threads = 1});
  stage.enable_llm({repos().pipeline_configs, *providers_, *llm_, &repos().embeddings, nullptr, 60s});
  auto t = business();
  summary_agent(t);
  ollama_.set_reply(agent_replies().at("summary"));
  std::vector<storage::Id> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(transcribed_call(t, fmt::format("async-{}", i)));
  std::mutex mu;
  std::vector<queue::HandlerResult> results;
  ollama_.hold(true);
  for (auto id : ids) {
    stage.start(testing::analyze_message(t, id), [&](queue::HandlerResult r) {
      std::lock_guard l(mu);
      results.push_back(std::move(r));
    });
  }
  EXPECT_TRUE(earshot::testing::wait_until([&] { return ollama_.count("/api/chat") == 4; }, 30s))
      << ollama_.count("/api/chat") << " agent requests in flight";
  {
    std::lock_guard l(mu);
    EXPECT_TRUE(results.empty());
  }
  for (auto id : ids) EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzing);
  ollama_.hold(false);
  ASSERT_TRUE(earshot::testing::wait_until(
      [&] {
        std::lock_guard l(mu);
        return results.size() == 4;
      },
      30s));
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_TRUE(std::holds_alternative<queue::Done>(*r));
    EXPECT_EQ(std::get<queue::Done>(*r).next.size(), 1u);  // the notify message
  }
  for (auto id : ids) {
    EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzed);
    auto a = latest(t, id, "summary");
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->failed) << a->error;
    auto emb = repos().embeddings.list_for_call(t, id);
    ASSERT_TRUE(emb);
    EXPECT_EQ(emb->size(), 2u);
  }
  EXPECT_EQ(ollama_.chat_count(), 4);
}

// A stage shut down (SIGTERM) while a call's agents are asked: the answer arriving later is
// dropped with its completion, nothing is written, and the call stays analyzing for the
// broker's redelivery.
TEST_F(AnalyzeLlmTest, AnAnswerAfterShutdownIsDroppedAndTheCallStaysAnalyzing) {
  auto stage = std::make_unique<AnalyzeStage>(testing::analyze_deps(repos(), *metrics, SystemClock::instance(), topo),
                                              AnalyzeStageOptions{.work_threads = 2});
  stage->enable_llm({repos().pipeline_configs, *providers_, *llm_, &repos().embeddings, nullptr, 60s});
  auto t = business();
  summary_agent(t);
  ollama_.set_reply(agent_replies().at("summary"));
  const auto id = transcribed_call(t, "shutdown");
  std::atomic<int> completions{0};
  ollama_.hold(true);
  stage->start(testing::analyze_message(t, id), [&](queue::HandlerResult) { ++completions; });
  ASSERT_TRUE(earshot::testing::wait_until([&] { return ollama_.count("/api/chat") == 1; }, 30s));
  stage->shutdown();
  ollama_.hold(false);
  ASSERT_TRUE(earshot::testing::wait_until([&] { return ollama_.chat_count() == 1; }, 30s));
  http_->shutdown();  // every answer has been handed over (and dropped) once the client stops
  stage.reset();
  EXPECT_EQ(completions.load(), 0);
  EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzing);
  EXPECT_FALSE(latest(t, id, "summary").has_value());
}

TEST_F(AnalyzeLlmTest, InvalidOutputIsRepairedOnce) {
  auto t = business();
  summary_agent(t);
  ollama_.set_reply(agent_replies().at("summary"));
  ollama_.set_invalid_output_next(1);
  const auto id = transcribed_call(t, "repair");
  ASSERT_TRUE(analyze(t, id));
  EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzed);
  EXPECT_EQ(ollama_.chat_count(), 2);
  EXPECT_NE(ollama_.last_body().find("Your answer does not satisfy the required JSON Schema"), std::string::npos);
  auto a = latest(t, id, "summary");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->failed) << a->error;
  EXPECT_EQ(json::parse(a->output_json)["summary"], "The customer wanted a refund for a broken blender and got one.");
}

TEST_F(AnalyzeLlmTest, InvalidTwiceFailsTheAgentNotTheCall) {
  auto t = business();
  summary_agent(t);
  ollama_.set_invalid_output_always(true);
  const auto id = transcribed_call(t, "invalid");
  ASSERT_TRUE(analyze(t, id));
  EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzed);
  EXPECT_EQ(ollama_.chat_count(), 2);
  auto a = latest(t, id, "summary");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->failed);
  EXPECT_NE(a->error.find("output failed schema validation after one repair"), std::string::npos) << a->error;
  EXPECT_EQ(repos().analyses.list_for_call(t, id, true)->size(), 5u + 1u);  // the built-ins are all there
  EXPECT_NE(metrics->serialize().find(R"(earshot_agent_failures_total{agent="summary",reason="invalid_output"} 1)"),
            std::string::npos);
}

TEST_F(AnalyzeLlmTest, ThrottlingIsRetried) {
  auto t = business();
  summary_agent(t);
  ollama_.set_reply(agent_replies().at("summary"));
  ollama_.fail_next(earshot::testing::FailurePlan::of(1, earshot::testing::FailureKind::kRateLimit).after_ms(50));
  const auto id = transcribed_call(t, "throttled");
  ASSERT_TRUE(analyze(t, id));
  EXPECT_EQ(ollama_.count("/api/chat"), 2);
  auto a = latest(t, id, "summary");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->failed) << a->error;
}

TEST_F(AnalyzeLlmTest, RedisCacheHitMakesNoProviderCallAndReanalysisKeepsHistory) {
  auto t = business();
  summary_agent(t);
  ollama_.set_reply(agent_replies().at("summary"));
  const auto id = transcribed_call(t, "cached");
  ASSERT_TRUE(analyze(t, id));
  ASSERT_EQ(ollama_.chat_count(), 1);
  auto first = latest(t, id, "summary");
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->cache_hit);

  // Re-analysis (as POST /calls/{id}/reprocess does): same model, prompt version, transcript.
  ASSERT_TRUE(*repos().calls.reprocess(t, id));
  ASSERT_TRUE(*repos().calls.advance(t, id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
  ASSERT_TRUE(*repos().calls.advance(t, id, storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed));
  ASSERT_TRUE(analyze(t, id));
  EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzed);
  EXPECT_EQ(ollama_.chat_count(), 1);  // answered from Redis
  auto second = latest(t, id, "summary");
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->output_json, first->output_json);
  EXPECT_EQ(second->prompt_hash, first->prompt_hash);
  auto all = repos().analyses.list_for_call(t, id, false);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u * (5u + 1u));  // both runs kept; only the second is latest
  EXPECT_EQ(repos().analyses.list_for_call(t, id, true)->size(), 5u + 1u);
  EXPECT_NE(metrics->serialize().find(R"(earshot_llm_cache_total{result="hit"} 1)"), std::string::npos);

  // A new prompt version (the agent edited) misses the cache.
  auto cfg = repos().agent_configs.list(t, false);
  ASSERT_TRUE(cfg);
  for (auto c : *cfg) {
    if (c.name != "summary") continue;
    c.prompt_template += "\nBe brief.";
    ASSERT_TRUE(*repos().agent_configs.update(t, c));
  }
  ASSERT_TRUE(*repos().calls.reprocess(t, id));
  ASSERT_TRUE(*repos().calls.advance(t, id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
  ASSERT_TRUE(*repos().calls.advance(t, id, storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed));
  ASSERT_TRUE(analyze(t, id));
  EXPECT_EQ(ollama_.chat_count(), 2);
  EXPECT_EQ(latest(t, id, "summary")->agent_version, 2);
}

TEST_F(AnalyzeLlmTest, BusinessWithoutLlmChainGetsBuiltinsAndEmbeddingsOnly) {
  auto t = earshot::testing::new_tenant("llm");
  ASSERT_TRUE(seed_default_agents(repos().agent_configs, t));
  const auto id = transcribed_call(t, "nochain");
  ASSERT_TRUE(analyze(t, id));
  EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzed);
  EXPECT_EQ(repos().analyses.list_for_call(t, id, true)->size(), 5u);
  EXPECT_EQ(repos().embeddings.list_for_call(t, id)->size(), 2u);
}

TEST_F(AnalyzeLlmTest, BadChainFailsTheAgentsWithTheReason) {
  auto t = earshot::testing::new_tenant("llm");
  storage::PipelineConfig pc;
  pc.llm_chain_json = R"([{"provider":"bedrock","model":"m"}])";  // no AWS keys in the secrets
  ASSERT_TRUE(repos().pipeline_configs.put(t, pc));
  summary_agent(t);
  const auto id = transcribed_call(t, "badchain");
  ASSERT_TRUE(analyze(t, id));
  EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzed);
  auto a = latest(t, id, "summary");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->failed);
  EXPECT_NE(a->error.find("aws_access_key_id"), std::string::npos) << a->error;
}

}  // namespace
}  // namespace earshot::pipeline
