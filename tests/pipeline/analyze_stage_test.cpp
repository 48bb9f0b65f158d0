// The analyze stage through the real queue fabric and the real database: a transcribed
// call gets its analyses (history kept), metrics, categories, QA score, escalation and the
// agent's aggregates; the call moves to analyzed and notify.{bid} receives its message.
#include "earshot/pipeline/analyze_stage.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "earshot/core/clock.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "queue_fixture.hpp"
#include "test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::pipeline {
namespace {

using namespace std::chrono_literals;
using queue::Stage;
using storage::MySqlRuleSetRepository;

const analytics::SentimentLexicon& lexicon() {
  static const analytics::SentimentLexicon lex = [] {
    auto l = analytics::SentimentLexicon::load_file(std::string(EARSHOT_SOURCE_DIR) +
                                                    "/.local/assets/vader-1.1.3/vader_lexicon.txt");
    EXPECT_TRUE(l) << l.error().to_string();
    return l ? std::move(*l) : *analytics::SentimentLexicon::parse("good\t1.9\t0.9\t[]");
  }();
  return lex;
}

class AnalyzeStageTest : public queue::testing::QueueTest {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    auto& db = earshot::testing::StorageEnvironment::db();
    calls_ = std::make_unique<storage::MySqlCallRepository>(db);
    transcripts_ = std::make_unique<storage::MySqlTranscriptRepository>(db);
    metrics_repo_ = std::make_unique<storage::MySqlMetricsRepository>(db);
    agents_ = std::make_unique<storage::MySqlAgentConfigRepository>(db);
    categories_ = std::make_unique<MySqlRuleSetRepository>(db, MySqlRuleSetRepository::Kind::kCategories);
    scorecards_ = std::make_unique<MySqlRuleSetRepository>(db, MySqlRuleSetRepository::Kind::kScorecards);
    matches_ = std::make_unique<storage::MySqlCategoryMatchRepository>(db);
    analyses_ = std::make_unique<storage::MySqlAnalysisRepository>(db);
    events_ = std::make_unique<storage::MySqlProcessingEventRepository>(db);
    humans_ = std::make_unique<storage::MySqlHumanAgentRepository>(db);
    escalations_ = std::make_unique<storage::MySqlEscalationRepository>(db);
    stage_ = std::make_unique<AnalyzeStage>(
        AnalyzeStageDeps{*calls_, *transcripts_, *metrics_repo_, *agents_, *categories_, *scorecards_, *matches_,
                         *analyses_, *events_, lexicon(), *metrics, SystemClock::instance(), topo});
  }

  // A transcribed call of human agent `agent_id` whose customer is angry, then relieved.
  storage::Id transcribed_call(const storage::TenantId& t, const std::string& name, storage::Id agent_id) {
    storage::CallInput in;
    in.external_id = name;
    in.human_agent_id = agent_id;
    in.duration_ms = 40000;
    in.started_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    auto up = calls_->upsert(t, in);
    EXPECT_TRUE(up) << up.error().to_string();
    EXPECT_TRUE(*calls_->advance(t, up->id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
    nlohmann::json segs = nlohmann::json::array({
        {{"speaker", "agent"},
         {"start_ms", 0},
         {"end_ms", 4000},
         {"text", "Thank you for calling Acme, how can I help?"}},
        {{"speaker", "customer"},
         {"start_ms", 4500},
         {"end_ms", 11000},
         {"text",
          "This is terrible, I am furious, I want a refund and I want your supervisor. My email is a.b@example.com"}},
        {{"speaker", "agent"},
         {"start_ms", 11500},
         {"end_ms", 18000},
         {"text", "I am sorry. I have issued a full refund to your card."}},
        {{"speaker", "customer"}, {"start_ms", 30000}, {"end_ms", 36000}, {"text", "Okay, fine."}},
    });
    storage::Transcript tr;
    tr.call_id = up->id;
    tr.segments_json = segs.dump();
    tr.full_text = "transcript";
    tr.provider = "test";
    EXPECT_TRUE(transcripts_->put(t, tr));
    EXPECT_TRUE(*calls_->advance(t, up->id, storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed));
    return up->id;
  }

  queue::OutgoingMessage analyze_message(const storage::TenantId& t, storage::Id id) {
    queue::Envelope env;
    env.bid = t.bid();
    env.stage = Stage::kAnalyze;
    env.trace_id = "trace";
    nlohmann::json body{{"schema_version", 1},
                        {"bid", t.bid()},
                        {"call_id", std::to_string(id)},
                        {"transcript_id", std::to_string(id)}};
    return queue::make_stage_message(topo, env, body.dump());
  }

  storage::CallStatus status(const storage::TenantId& t, storage::Id id) {
    auto c = calls_->get(t, id);
    return c ? c->status : storage::CallStatus::kPending;
  }

  std::unique_ptr<storage::MySqlCallRepository> calls_;
  std::unique_ptr<storage::MySqlTranscriptRepository> transcripts_;
  std::unique_ptr<storage::MySqlMetricsRepository> metrics_repo_;
  std::unique_ptr<storage::MySqlAgentConfigRepository> agents_;
  std::unique_ptr<MySqlRuleSetRepository> categories_;
  std::unique_ptr<MySqlRuleSetRepository> scorecards_;
  std::unique_ptr<storage::MySqlCategoryMatchRepository> matches_;
  std::unique_ptr<storage::MySqlAnalysisRepository> analyses_;
  std::unique_ptr<storage::MySqlProcessingEventRepository> events_;
  std::unique_ptr<storage::MySqlHumanAgentRepository> humans_;
  std::unique_ptr<storage::MySqlEscalationRepository> escalations_;
  std::unique_ptr<AnalyzeStage> stage_;
};

TEST_F(AnalyzeStageTest, TranscribedCallIsAnalyzedEndToEnd) {
  auto t = earshot::testing::new_tenant("an");
  declare(Stage::kAnalyze, t.bid());
  declare(Stage::kNotify, t.bid());
  auto agent = humans_->upsert(t, {"ag-1", "Sarah", "support", "Pune"});
  ASSERT_TRUE(agent);
  storage::RuleSet refund;
  refund.name = "Refund request";
  refund.rules_json = R"([{"type":"transcript","phrases":["refund"],"match":"forms","speaker":"customer"}])";
  const auto refund_id = categories_->create(t, refund);
  ASSERT_TRUE(refund_id);
  storage::RuleSet never;
  never.name = "Mentions lawyer";
  never.rules_json = R"([{"type":"transcript","phrases":["lawyer"]}])";
  ASSERT_TRUE(categories_->create(t, never));
  storage::RuleSet card;
  card.name = "QA";
  card.rules_json = R"({"questions":[
      {"id":"greet","weight":3,"answer":{"kind":"rule","rules":[{"type":"transcript","phrases":["thank you for calling"],"speaker":"agent","window":{"first_ms":5000}}]}},
      {"id":"hold","weight":1,"answer":{"kind":"rule","rules":[{"type":"non_talk","min_ms":10000,"negate":true}]}}]})";
  ASSERT_TRUE(scorecards_->create(t, card));
  const auto id = transcribed_call(t, "c-1", *agent);

  queue::InMemoryBusinessDirectory dir;
  dir.enable(t.bid());
  queue::InMemoryOutcomeRecorder rec;
  queue::StageWorkerOptions o;
  o.stage = Stage::kAnalyze;
  auto worker = make_worker(*stage_, dir, rec, o);
  ASSERT_TRUE(worker->start());
  queue::Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(analyze_message(t, id)));
  ASSERT_TRUE(earshot::testing::wait_until([&] { return status(t, id) == storage::CallStatus::kAnalyzed; }, 30s))
      << storage::status_name(status(t, id));
  ASSERT_TRUE(
      earshot::testing::wait_until([&] { return depth(queue::work_queue(Stage::kNotify, t.bid())) == 1; }, 10s));

  // Metrics from the transcript (no audio metrics existed), with sentiment.
  auto m = metrics_repo_->get(t, id);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, storage::MetricsSource::kTranscript);
  EXPECT_EQ(m->agent_talk_ms, 4000 + 6500);
  ASSERT_TRUE(m->customer_sentiment.has_value());
  ASSERT_TRUE(m->customer_sentiment_q[0].has_value());
  EXPECT_LT(*m->customer_sentiment_q[0], -0.5);
  ASSERT_TRUE(m->question_rate_per_hour.has_value());

  auto call = calls_->get(t, id);
  ASSERT_TRUE(call->qa_score.has_value());
  EXPECT_DOUBLE_EQ(*call->qa_score, 0.75);  // greeting yes (3), the 12 s silence fails "hold" (1)

  auto ms = matches_->list_for_call(t, id);
  ASSERT_TRUE(ms);
  ASSERT_EQ(ms->size(), 1u);
  EXPECT_EQ((*ms)[0].category_id, *refund_id);

  auto list = analyses_->list_for_call(t, id, true);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 5u);
  bool redacted = false, refunded = false;
  for (const auto& a : *list) {
    if (a.output_json.find("[EMAIL]") != std::string::npos &&
        a.output_json.find("a.b@example.com") == std::string::npos) {
      redacted = true;
    }
    if (a.output_json.find(R"("outcome":"refunded")") != std::string::npos) refunded = true;
  }
  EXPECT_TRUE(redacted);
  EXPECT_TRUE(refunded);

  auto esc = escalations_->list(t, std::nullopt, 10);
  ASSERT_TRUE(esc);
  ASSERT_EQ(esc->size(), 1u);
  EXPECT_NE((*esc)[0].reason.find("supervisor"), std::string::npos) << (*esc)[0].reason;

  auto h = humans_->get(t, *agent);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->total_calls, 1);
  EXPECT_EQ(h->escalations, 1);
  ASSERT_TRUE(h->avg_qa_score());
  EXPECT_DOUBLE_EQ(*h->avg_qa_score(), 0.75);

  // Redelivery: nothing is analyzed twice; the notify message is re-sent.
  ASSERT_TRUE(pub.publish(analyze_message(t, id)));
  ASSERT_TRUE(
      earshot::testing::wait_until([&] { return depth(queue::work_queue(Stage::kNotify, t.bid())) == 2; }, 10s));
  EXPECT_EQ(analyses_->list_for_call(t, id, false)->size(), 5u);
  EXPECT_EQ(humans_->get(t, *agent)->total_calls, 1);
  worker->stop_intake();
  worker->drain(std::chrono::steady_clock::now() + 5s);
  worker->stop();
}

TEST_F(AnalyzeStageTest, CallNotYetTranscribedIsRetriedAndMissingTranscriptFails) {
  auto t = earshot::testing::new_tenant("an");
  storage::CallInput in;
  in.external_id = "early";
  auto up = calls_->upsert(t, in);
  ASSERT_TRUE(up);
  queue::IncomingMessage msg;
  msg.envelope.bid = t.bid();
  msg.envelope.stage = Stage::kAnalyze;
  msg.body = nlohmann::json{
      {"schema_version", 1},
      {"bid", t.bid()},
      {"call_id", std::to_string(up->id)},
      {"transcript_id",
       "x"}}.dump();
  auto out = stage_->handle(msg);
  ASSERT_TRUE(out);
  EXPECT_NE(std::get_if<queue::Retry>(&*out), nullptr);

  ASSERT_TRUE(*calls_->advance(t, up->id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
  ASSERT_TRUE(*calls_->advance(t, up->id, storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed));
  out = stage_->handle(msg);
  ASSERT_TRUE(out);
  auto* fail = std::get_if<queue::Fail>(&*out);
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(status(t, up->id), storage::CallStatus::kFailed);
  EXPECT_EQ(calls_->get(t, up->id)->failed_reason, "call has no transcript");
}

}  // namespace
}  // namespace earshot::pipeline
