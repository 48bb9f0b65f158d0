// The analyze stage against the in-memory storage fakes and, for the LLM agents, an
// in-process chat provider: a transcribed call gets its metrics, category matches, QA score,
// built-in analyses and escalation, moves to analyzed and notify.{bid} gets its message; a
// redelivery analyzes nothing twice; LLM agents' outputs are stored and a failed agent is
// recorded without failing the call; a call without a transcript fails with the reason; an
// unavailable database is retried; another business's call is never touched. Hermetic: no
// database, broker or network; time comes from a FakeClock.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "analyze_fixture.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/default_agents.hpp"
#include "earshot/queue/messages.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/llm/chat_provider_fake.hpp"
#include "fakes/pipeline/business_llm_fake.hpp"
#include "fakes/storage/agent_configs_fake.hpp"
#include "fakes/storage/analyses_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/category_matches_fake.hpp"
#include "fakes/storage/crm_leads_fake.hpp"
#include "fakes/storage/embeddings_fake.hpp"
#include "fakes/storage/escalations_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"
#include "fakes/storage/pipeline_configs_fake.hpp"
#include "fakes/storage/rule_sets_fake.hpp"
#include "fakes/storage/transcripts_fake.hpp"
#include "stage_outcome.hpp"

namespace earshot::pipeline {
namespace {

namespace fakes = earshot::testing;
using nlohmann::json;
using storage::CallStatus;
using storage::EventOutcome;
using storage::TenantId;

class AnalyzeStageUnit : public ::testing::Test {
 protected:
  AnalyzeStageUnit() {
    EXPECT_TRUE(topology.resolve());
    stage = std::make_unique<AnalyzeStage>(AnalyzeStageDeps{calls, transcripts, metrics_repo, agents, categories,
                                                            scorecards, matches, analyses, events, testing::lexicon(),
                                                            metrics, clock, topology});
  }

  storage::Id transcribed_call(const TenantId& t, const std::string& name, const json& segments) {
    return testing::transcribed_call(calls, transcripts, t,
                                     testing::call_input(name, storage::to_timestamp(clock.now())), segments);
  }

  // The latest analysis of each agent of the call, by agent name.
  std::map<std::string, storage::Analysis> latest(const TenantId& t, storage::Id call_id) {
    std::map<storage::Id, std::string> names;
    const auto stored = agents.list(t, false).value();
    for (const auto& c : stored) names[c.id] = c.name;
    std::map<std::string, storage::Analysis> out;
    const auto list = analyses.list_for_call(t, call_id, true).value();
    for (const auto& a : list) out[names[a.agent_config_id]] = a;
    return out;
  }

  std::vector<EventOutcome> outcomes(const TenantId& t, storage::Id id) {
    std::vector<EventOutcome> out;
    const auto list = events.list_for_call(t, id).value();
    for (const auto& e : list) out.push_back(e.outcome);
    return out;
  }

  // An LLM agent of `t` with a default agent's template and schema.
  void llm_agent(const TenantId& t, const std::string& name) {
    for (const auto& d : default_agents()) {
      if (d.name != name) continue;
      storage::AgentConfig c;
      c.name = d.name;
      c.kind = storage::AgentKind::kLlm;
      c.prompt_template = d.prompt_template;
      c.output_schema_json = d.output_schema;
      ASSERT_TRUE(agents.create(t, c));
      return;
    }
    FAIL() << "no default agent " << name;
  }

  void enable_llm() { stage->enable_llm({configs, providers, llm, &embeddings, &leads, std::chrono::seconds(10)}); }

  const TenantId acme = *TenantId::make("acme");
  const TenantId globex = *TenantId::make("globex");
  fakes::FakeClock clock;
  fakes::FakeCallRepository calls{&clock};
  fakes::FakeMetricsRepository metrics_repo{calls};
  fakes::FakeProcessingEventRepository events{calls};
  fakes::FakeTranscriptRepository transcripts{calls, metrics_repo, events};
  fakes::FakeAgentConfigRepository agents;
  fakes::FakeRuleSetRepository categories;
  fakes::FakeRuleSetRepository scorecards;
  fakes::FakeCategoryMatchRepository matches{calls};
  fakes::FakeEscalationRepository escalations{calls};
  fakes::FakeAnalysisRepository analyses{calls, escalations};
  Metrics metrics{"analyze-unit-test", "0", "test"};
  queue::TopologySettings topology;
  std::unique_ptr<AnalyzeStage> stage;
  // What enable_llm() adds.
  fakes::FakePipelineConfigRepository configs;
  fakes::FakeChatProvider chat;
  llm::HashedBowEmbedder embedder{256};
  fakes::FakeBusinessLlmSource providers{&chat, &embedder};
  LlmSettings settings;
  LlmAgents llm{nullptr, metrics, clock, settings};
  fakes::FakeEmbeddingRepository embeddings{calls};
  fakes::FakeCrmLeadRepository leads;
};

TEST_F(AnalyzeStageUnit, TranscribedCallGetsMetricsCategoriesQaAnalysesAndNotify) {
  storage::RuleSet refund;
  refund.name = "Refund request";
  refund.rules_json = R"([{"type":"transcript","phrases":["refund"],"match":"forms","speaker":"customer"}])";
  const auto refund_id = categories.create(acme, refund);
  ASSERT_TRUE(refund_id);
  storage::RuleSet lawyer;
  lawyer.name = "Mentions lawyer";
  lawyer.rules_json = R"([{"type":"transcript","phrases":["lawyer"]}])";
  ASSERT_TRUE(categories.create(acme, lawyer));
  storage::RuleSet card;
  card.name = "QA";
  card.rules_json = R"({"questions":[
      {"id":"greet","text":"Did the agent greet the caller?","weight":3,"answer":{"kind":"rule","rules":[{"type":"transcript","phrases":["thank you for calling"],"speaker":"agent","window":{"first_ms":5000}}]}},
      {"id":"hold","weight":1,"answer":{"kind":"rule","rules":[{"type":"non_talk","min_ms":10000,"negate":true}]}}]})";
  ASSERT_TRUE(scorecards.create(acme, card));
  const auto id = transcribed_call(acme, "c-1", testing::angry_customer_segments());

  const auto sent = testing::next_messages(stage->handle(testing::analyze_message(acme, id, "trace-unit")));

  // notify.acme gets call.analyzed for this call, with the incoming trace.
  ASSERT_EQ(sent.size(), 1u);
  const auto& next = sent[0];
  EXPECT_EQ(next.exchange, topology.work_exchange);
  EXPECT_EQ(next.routing_key, "notify.acme");
  EXPECT_EQ(
      queue::NotifyRequest::parse(next.body).value(),
      (queue::NotifyRequest{.bid = "acme", .call_id = std::to_string(id), .event = queue::NotifyEvent::kCallAnalyzed}));
  auto env = queue::decode_envelope(next.headers, next.message_id);
  ASSERT_TRUE(env) << env.error().to_string();
  EXPECT_EQ(env->stage, queue::Stage::kNotify);
  EXPECT_EQ(env->trace_id, "trace-unit");

  // Metrics from the transcript (no audio metrics existed), with sentiment.
  auto m = metrics_repo.get(acme, id);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->source, storage::MetricsSource::kTranscript);
  EXPECT_EQ(m->agent_talk_ms, 4000 + 6500);
  EXPECT_EQ(m->customer_talk_ms, 6500 + 6000);
  EXPECT_EQ(m->duration_ms, 40000);
  ASSERT_TRUE(m->customer_sentiment_q[0].has_value());
  EXPECT_LT(*m->customer_sentiment_q[0], -0.5);
  ASSERT_TRUE(m->question_rate_per_hour.has_value());

  // The refund category only; QA: greeting yes (3), the 12 s silence fails "hold" (1).
  auto ms = matches.list_for_call(acme, id).value();
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].category_id, *refund_id);
  const auto call = calls.get(acme, id).value();
  ASSERT_TRUE(call.qa_score.has_value());
  EXPECT_DOUBLE_EQ(*call.qa_score, 0.75);
  EXPECT_EQ(call.status, CallStatus::kAnalyzed);

  // The five built-in analyses, on built-in agent configs made for the business.
  const auto by_agent = latest(acme, id);
  std::set<std::string> names;
  for (const auto& [name, a] : by_agent) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{kBuiltinAgents[0].data(), kBuiltinAgents[1].data(), kBuiltinAgents[2].data(),
                                          kBuiltinAgents[3].data(), kBuiltinAgents[4].data()}));
  EXPECT_EQ(agents.list(acme, false)->size(), 5u);
  const auto pii = json::parse(by_agent.at("builtin.pii").output_json);
  EXPECT_EQ(pii["redacted_segments"][1]["text"].get<std::string>().find("a.b@example.com"), std::string::npos);
  EXPECT_NE(pii["redacted_segments"][1]["text"].get<std::string>().find("[EMAIL]"), std::string::npos);
  const auto qa = json::parse(by_agent.at("builtin.qa").output_json);
  EXPECT_EQ(qa["score"], 0.75);
  // Each answer carries its question's text ("" when the scorecard gives none).
  ASSERT_EQ(qa["scorecards"].size(), 1u);
  const auto& answers = qa["scorecards"][0]["answers"];
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0],
            (json{{"id", "greet"}, {"text", "Did the agent greet the caller?"}, {"answer", "yes"}, {"weight", 3.0}}));
  EXPECT_EQ(answers[1]["id"], "hold");
  EXPECT_EQ(answers[1]["text"], "");
  EXPECT_EQ(answers[1]["answer"], "no");
  EXPECT_EQ(json::parse(by_agent.at("builtin.categories").output_json)["matches"][0]["name"], "Refund request");
  EXPECT_EQ(json::parse(by_agent.at("builtin.summary").output_json)["outcome"], "refunded");

  // The furious customer asking for a supervisor opens an escalation.
  auto esc = escalations.list_for_call(acme, id).value();
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_NE(esc[0].reason.find("supervisor"), std::string::npos) << esc[0].reason;

  EXPECT_EQ(outcomes(acme, id), (std::vector<EventOutcome>{EventOutcome::kStarted, EventOutcome::kSucceeded}));
  EXPECT_NE(metrics.serialize().find("earshot_calls_analyzed_total 1"), std::string::npos);
}

TEST_F(AnalyzeStageUnit, RedeliveryOfAnAnalyzedCallReSendsNotifyAndAnalyzesNothingTwice) {
  const auto id = transcribed_call(acme, "twice", testing::angry_customer_segments());
  ASSERT_EQ(testing::next_messages(stage->handle(testing::analyze_message(acme, id))).size(), 1u);
  ASSERT_EQ(calls.get(acme, id)->status, CallStatus::kAnalyzed);

  const auto again = testing::next_messages(stage->handle(testing::analyze_message(acme, id)));
  ASSERT_EQ(again.size(), 1u);  // call.analyzed again, in case it was lost
  EXPECT_EQ(queue::NotifyRequest::parse(again[0].body)->call_id, std::to_string(id));

  EXPECT_EQ(analyses.list_for_call(acme, id, false)->size(), 5u);
  EXPECT_EQ(escalations.list_for_call(acme, id)->size(), 1u);
  EXPECT_EQ(agents.list(acme, false)->size(), 5u);
  const auto list = events.list_for_call(acme, id).value();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[2].outcome, EventOutcome::kSkipped);
  EXPECT_EQ(list[2].error, "already analyzed");
}

TEST_F(AnalyzeStageUnit, LlmAgentOutputsAreStoredAndAFailedAgentDoesNotFailTheCall) {
  enable_llm();
  llm_agent(acme, "summary");
  llm_agent(acme, "issue_outcome");
  llm_agent(acme, "coaching_tips");
  const std::string summary =
      R"({"summary":"The customer wanted a refund for a broken blender and got one.","key_points":["refund issued"]})";
  const std::string outcome =
      R"({"issue":"broken blender","outcome":"refunded","action_items":[{"owner":"company","action":"send refund confirmation","due":null}],"escalate":true,"escalation_reason":"customer threatened to leave"})";
  chat.set_reply_for("Task: summary", summary);
  chat.set_reply_for("Task: issue_outcome", outcome);
  chat.fail_for("Task: coaching_tips", Error(ErrorCode::kPermissionDenied, "quota exhausted"));
  ASSERT_TRUE(leads.upsert(acme, {0, "+15550001", "L-1", R"({"plan":"gold-tier"})", {}}));
  auto in = testing::call_input("llm", storage::to_timestamp(clock.now()));
  in.customer_phone = "+15550001";
  const auto id = testing::transcribed_call(calls, transcripts, acme, in, testing::blender_refund_segments());

  ASSERT_EQ(testing::next_messages(stage->handle(testing::analyze_message(acme, id))).size(), 1u);
  EXPECT_EQ(calls.get(acme, id)->status, CallStatus::kAnalyzed);
  EXPECT_EQ(providers.asked(), std::vector<std::string>{"acme"});

  // One request per agent, each with the redacted transcript and the customer's CRM lead.
  const auto requests = chat.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& req : requests) {
    const auto prompt = fakes::FakeChatProvider::prompt_of(req);
    EXPECT_EQ(prompt.find("a.b@example.com"), std::string::npos);
    EXPECT_NE(prompt.find("[EMAIL]"), std::string::npos);
    EXPECT_NE(prompt.find(R"({"plan":"gold-tier"})"), std::string::npos);
  }

  const auto by_agent = latest(acme, id);
  EXPECT_EQ(by_agent.size(), 5u + 3u);
  const auto& s = by_agent.at("summary");
  EXPECT_FALSE(s.failed) << s.error;
  EXPECT_EQ(json::parse(s.output_json), json::parse(summary));
  EXPECT_EQ(s.model, "fake:chat-model");
  EXPECT_EQ(s.prompt_hash.size(), 64u);
  EXPECT_FALSE(by_agent.at("issue_outcome").failed);
  const auto& tips = by_agent.at("coaching_tips");
  EXPECT_TRUE(tips.failed);
  EXPECT_EQ(tips.output_json, "{}");
  EXPECT_EQ(tips.error, "fake:chat-model: permission_denied: quota exhausted");
  EXPECT_NE(
      metrics.serialize().find(R"(earshot_agent_failures_total{agent="coaching_tips",reason="permission_denied"} 1)"),
      std::string::npos);
  // Tokens the provider reported, per business: the two answers (a failed request reports none).
  const auto output_tokens = summary.size() / 4 + outcome.size() / 4;
  EXPECT_NE(
      metrics.serialize().find(fmt::format(
          R"(earshot_llm_tokens_total{{bid="acme",kind="output",provider="fake:chat-model"}} {})", output_tokens)),
      std::string::npos)
      << metrics.serialize();
  EXPECT_NE(metrics.serialize().find(R"(earshot_llm_tokens_total{bid="acme",kind="input",provider="fake:chat-model"})"),
            std::string::npos);

  // The issue_outcome agent asked for an escalation.
  auto esc = escalations.list_for_call(acme, id).value();
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_NE(esc[0].reason.find("agent issue_outcome: customer threatened to leave"), std::string::npos)
      << esc[0].reason;

  // Embeddings of the redacted transcript: the whole call, then its one chunk.
  auto emb = embeddings.list_for_call(acme, id).value();
  ASSERT_EQ(emb.size(), 2u);
  EXPECT_EQ(emb[0].chunk_index, -1);
  EXPECT_EQ(emb[1].chunk_index, 0);
  EXPECT_EQ(emb[1].model, "hashed-bow:256");
  EXPECT_NE(emb[1].text.find("[EMAIL]"), std::string::npos);
  EXPECT_EQ(emb[1].vector, embedder.embed_one(emb[1].text));
}

// An embedder whose request runs while the business saves a change of embedder: the call's
// vectors come from the old one after the re-embedding pass may have gone past the call.
class ChangingEmbedder final : public llm::EmbeddingProvider {
 public:
  ChangingEmbedder(llm::EmbeddingProvider& inner, std::function<void()> during)
      : inner_(inner), during_(std::move(during)) {}
  void embed(std::vector<std::string> texts, llm::EmbedCallback done) override {
    during_();
    inner_.embed(std::move(texts), std::move(done));
  }
  [[nodiscard]] std::string id() const override { return inner_.id(); }

 private:
  llm::EmbeddingProvider& inner_;
  std::function<void()> during_;
};

TEST_F(AnalyzeStageUnit, AChangeOfEmbedderDuringTheAnalysisQueuesTheCallsReembedding) {
  storage::PipelineConfig changed;
  changed.embedding_provider = "hashed-bow:128";
  ChangingEmbedder changing(embedder, [&] { ASSERT_TRUE(configs.put(acme, changed)); });
  fakes::FakeBusinessLlmSource source{&chat, &changing};
  stage->enable_llm({configs, source, llm, &embeddings, &leads, std::chrono::seconds(10)});
  const auto id = transcribed_call(acme, "straddles", testing::blender_refund_segments());

  const auto next = testing::next_messages(stage->handle(testing::analyze_message(acme, id)));
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].routing_key, "notify.acme");
  EXPECT_EQ(next[1].routing_key, "embed.acme");
  const auto again = queue::EmbedRequest::parse(next[1].body).value();
  EXPECT_EQ(again, (queue::EmbedRequest{.bid = "acme",
                                        .kind = queue::EmbedKind::kReembed,
                                        .id = "hashed-bow:128",
                                        .version = {},
                                        .after = {},
                                        .call = id}));
  EXPECT_EQ(embeddings.list_for_call(acme, id)->front().model, "hashed-bow:256");  // the old embedder's

  // Unchanged during the next call's analysis: only the notify message.
  const auto calm = transcribed_call(acme, "calm", testing::blender_refund_segments());
  stage->enable_llm({configs, providers, llm, &embeddings, &leads, std::chrono::seconds(10)});
  EXPECT_EQ(testing::next_messages(stage->handle(testing::analyze_message(acme, calm))).size(), 1u);
}

TEST_F(AnalyzeStageUnit, BadLlmChainFailsTheAgentsWithTheReasonNotTheCall) {
  enable_llm();
  llm_agent(acme, "summary");
  providers.fail_next(Error(ErrorCode::kInvalidArgument, "llm_chain[0]: unknown provider 'nope'"));
  const auto id = transcribed_call(acme, "bad-chain", testing::blender_refund_segments());

  ASSERT_EQ(testing::next_messages(stage->handle(testing::analyze_message(acme, id))).size(), 1u);
  EXPECT_EQ(calls.get(acme, id)->status, CallStatus::kAnalyzed);
  const auto a = latest(acme, id).at("summary");
  EXPECT_TRUE(a.failed);
  EXPECT_EQ(a.error, "llm_chain[0]: unknown provider 'nope'");
  EXPECT_TRUE(chat.requests().empty());
  EXPECT_TRUE(embeddings.list_for_call(acme, id)->empty());
}

// Stored segments whose fields have the wrong types (a speaker that is a number, text that
// is an object) are read as unknown speaker and empty text; the call is analysed, not thrown on.
TEST_F(AnalyzeStageUnit, StoredSegmentsWithFieldsOfTheWrongTypeAreReadNotThrownOn) {
  const json segments = json::array({
      {{"speaker", 7}, {"start_ms", 0}, {"end_ms", 2000}, {"text", {{"not", "text"}}}},
      {{"speaker", "customer"}, {"start_ms", 2500}, {"end_ms", 4000}, {"text", "I want a refund"}},
      {{"speaker", nullptr}, {"start_ms", "soon"}, {"end_ms", 5000}, {"text", 12}},
  });
  const auto id = transcribed_call(acme, "odd-types", segments);
  const auto sent = testing::next_messages(stage->handle(testing::analyze_message(acme, id)));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(calls.get(acme, id).value().status, CallStatus::kAnalyzed);
  const auto m = metrics_repo.get(acme, id);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->customer_talk_ms, 1500);
}

TEST_F(AnalyzeStageUnit, MissingTranscriptFailsTheCallWithTheReason) {
  auto up = calls.upsert(acme, testing::call_input("no-transcript", storage::to_timestamp(clock.now())));
  ASSERT_TRUE(up);
  ASSERT_TRUE(*calls.advance(acme, up->id, CallStatus::kPending, CallStatus::kTranscribing));
  ASSERT_TRUE(*calls.advance(acme, up->id, CallStatus::kTranscribing, CallStatus::kTranscribed));

  const auto fail = testing::failure_of(stage->handle(testing::analyze_message(acme, up->id)));
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(fail->reason, "call has no transcript");
  const auto c = calls.get(acme, up->id).value();
  EXPECT_EQ(c.status, CallStatus::kFailed);
  EXPECT_EQ(c.failed_stage, "analyze");
  EXPECT_EQ(c.failed_reason, "call has no transcript");
  EXPECT_EQ(outcomes(acme, up->id), (std::vector<EventOutcome>{EventOutcome::kStarted, EventOutcome::kFailed}));
  EXPECT_TRUE(analyses.list_for_call(acme, up->id, false)->empty());
}

TEST_F(AnalyzeStageUnit, CallNotYetTranscribedIsRetriedLater) {
  auto up = calls.upsert(acme, testing::call_input("early", storage::to_timestamp(clock.now())));
  ASSERT_TRUE(up);
  auto r = stage->handle(testing::analyze_message(acme, up->id));
  ASSERT_TRUE(r) << r.error().to_string();
  auto* retry = std::get_if<queue::Retry>(&*r);
  ASSERT_NE(retry, nullptr);
  EXPECT_EQ(retry->reason, "transcript not ready yet");
  EXPECT_EQ(retry->delay_hint, std::chrono::milliseconds(5000));
  EXPECT_EQ(calls.get(acme, up->id)->status, CallStatus::kPending);
}

TEST_F(AnalyzeStageUnit, UnavailableDatabaseIsRetriedAndTheRetrySucceeds) {
  const auto id = transcribed_call(acme, "retry", testing::blender_refund_segments());
  calls.fail_next(Error(ErrorCode::kUnavailable, "database is down"));

  auto r = stage->handle(testing::analyze_message(acme, id));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(message_fate(r.error().code), MessageFate::kRetry);
  EXPECT_EQ(calls.get(acme, id)->status, CallStatus::kTranscribed);
  EXPECT_TRUE(analyses.list_for_call(acme, id, false)->empty());

  ASSERT_EQ(testing::next_messages(stage->handle(testing::analyze_message(acme, id))).size(), 1u);
  EXPECT_EQ(calls.get(acme, id)->status, CallStatus::kAnalyzed);
  EXPECT_EQ(analyses.list_for_call(acme, id, false)->size(), 5u);
}

TEST_F(AnalyzeStageUnit, CallOfAnotherBusinessIsNotTouched) {
  const auto id = transcribed_call(acme, "acme-call", testing::angry_customer_segments());

  const auto fail = testing::failure_of(stage->handle(testing::analyze_message(globex, id)));
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->code, ErrorCode::kNotFound);
  EXPECT_EQ(fail->reason, "call " + std::to_string(id) + " does not exist for business globex");

  EXPECT_EQ(calls.get(acme, id)->status, CallStatus::kTranscribed);
  EXPECT_FALSE(metrics_repo.get(acme, id));
  EXPECT_TRUE(analyses.list_for_call(acme, id, false)->empty());
  EXPECT_TRUE(escalations.list_for_call(acme, id)->empty());
  EXPECT_TRUE(agents.list(globex, false)->empty());
  EXPECT_EQ(events.list_for_call(acme, id)->size(), 0u);
}

}  // namespace
}  // namespace earshot::pipeline
