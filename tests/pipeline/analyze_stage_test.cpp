// The analyze stage through the real queue fabric and the real database: a transcribed
// call gets its analyses (history kept), metrics, categories, QA score, escalation and the
// agent's aggregates; the call moves to analyzed and notify.{bid} receives its message.
#include "earshot/pipeline/analyze_stage.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "analyze_fixture.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/repository_set.hpp"
#include "failing_writes.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "queue_fixture.hpp"
#include "test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::pipeline {
namespace {

using namespace std::chrono_literals;
using queue::Stage;

class AnalyzeStageTest : public queue::testing::QueueTest {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    auto keys = crypto::Keyring::parse(fmt::format("k1:{}", crypto::Keyring::generate_key_base64()), "k1");
    ASSERT_TRUE(keys);
    keyring_.emplace(std::move(*keys));
    mysql_ = std::make_unique<storage::MySqlRepositories>(earshot::testing::StorageEnvironment::db(), *keyring_);
    stage_ = std::make_unique<AnalyzeStage>(testing::analyze_deps(repos(), *metrics, SystemClock::instance(), topo));
  }

  storage::Repositories& repos() { return mysql_->repos(); }

  // A transcribed call of human agent `agent_id` whose customer is angry, then relieved.
  storage::Id transcribed_call(const storage::TenantId& t, const std::string& name, storage::Id agent_id) {
    auto in = testing::call_input(name, storage::to_timestamp(std::chrono::system_clock::now()));
    in.human_agent_id = agent_id;
    return testing::transcribed_call(repos().calls, repos().transcripts, t, in, testing::angry_customer_segments());
  }

  queue::OutgoingMessage analyze_message(const storage::TenantId& t, storage::Id id) {
    return queue::make_stage_message(topo, queue::AnalyzeRequest::for_call(t.bid(), id), "trace");
  }

  storage::CallStatus status(const storage::TenantId& t, storage::Id id) {
    return testing::status_of(repos().calls, t, id);
  }

  std::optional<crypto::Keyring> keyring_;
  std::unique_ptr<storage::MySqlRepositories> mysql_;
  std::unique_ptr<AnalyzeStage> stage_;
};

TEST_F(AnalyzeStageTest, TranscribedCallIsAnalyzedEndToEnd) {
  auto t = earshot::testing::new_tenant("an");
  declare(Stage::kAnalyze, t.bid());
  declare(Stage::kNotify, t.bid());
  auto agent = repos().human_agents.upsert(t, {"ag-1", "Sarah", "support", "Pune"});
  ASSERT_TRUE(agent);
  storage::RuleSet refund;
  refund.name = "Refund request";
  refund.rules_json = R"([{"type":"transcript","phrases":["refund"],"match":"forms","speaker":"customer"}])";
  const auto refund_id = repos().categories.create(t, refund);
  ASSERT_TRUE(refund_id);
  storage::RuleSet never;
  never.name = "Mentions lawyer";
  never.rules_json = R"([{"type":"transcript","phrases":["lawyer"]}])";
  ASSERT_TRUE(repos().categories.create(t, never));
  storage::RuleSet card;
  card.name = "QA";
  card.rules_json = R"({"questions":[
      {"id":"greet","weight":3,"answer":{"kind":"rule","rules":[{"type":"transcript","phrases":["thank you for calling"],"speaker":"agent","window":{"first_ms":5000}}]}},
      {"id":"hold","weight":1,"answer":{"kind":"rule","rules":[{"type":"non_talk","min_ms":10000,"negate":true}]}}]})";
  ASSERT_TRUE(repos().scorecards.create(t, card));
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
  auto m = repos().metrics.get(t, id);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, storage::MetricsSource::kTranscript);
  EXPECT_EQ(m->agent_talk_ms, 4000 + 6500);
  ASSERT_TRUE(m->customer_sentiment.has_value());
  ASSERT_TRUE(m->customer_sentiment_q[0].has_value());
  EXPECT_LT(*m->customer_sentiment_q[0], -0.5);
  ASSERT_TRUE(m->question_rate_per_hour.has_value());

  auto call = repos().calls.get(t, id);
  ASSERT_TRUE(call->qa_score.has_value());
  EXPECT_DOUBLE_EQ(*call->qa_score, 0.75);  // greeting yes (3), the 12 s silence fails "hold" (1)

  auto ms = repos().category_matches.list_for_call(t, id);
  ASSERT_TRUE(ms);
  ASSERT_EQ(ms->size(), 1u);
  EXPECT_EQ((*ms)[0].category_id, *refund_id);

  auto list = repos().analyses.list_for_call(t, id, true);
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

  auto esc = repos().escalations.list(t, std::nullopt, 10);
  ASSERT_TRUE(esc);
  ASSERT_EQ(esc->size(), 1u);
  EXPECT_NE((*esc)[0].reason.find("supervisor"), std::string::npos) << (*esc)[0].reason;

  auto h = repos().human_agents.get(t, *agent);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->total_calls, 1);
  EXPECT_EQ(h->escalations, 1);
  ASSERT_TRUE(h->avg_qa_score());
  EXPECT_DOUBLE_EQ(*h->avg_qa_score(), 0.75);

  // Redelivery: nothing is analyzed twice; the notify message is re-sent.
  ASSERT_TRUE(pub.publish(analyze_message(t, id)));
  ASSERT_TRUE(
      earshot::testing::wait_until([&] { return depth(queue::work_queue(Stage::kNotify, t.bid())) == 2; }, 10s));
  EXPECT_EQ(repos().analyses.list_for_call(t, id, false)->size(), 5u);
  EXPECT_EQ(repos().human_agents.get(t, *agent)->total_calls, 1);
  worker->stop_intake();
  worker->drain(std::chrono::steady_clock::now() + 5s);
  worker->stop();
}

TEST_F(AnalyzeStageTest, CallNotYetTranscribedIsRetriedAndMissingTranscriptFails) {
  auto t = earshot::testing::new_tenant("an");
  storage::CallInput in;
  in.external_id = "early";
  auto up = repos().calls.upsert(t, in);
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

  ASSERT_TRUE(*repos().calls.advance(t, up->id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
  ASSERT_TRUE(*repos().calls.advance(t, up->id, storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed));
  out = stage_->handle(msg);
  ASSERT_TRUE(out);
  auto* fail = std::get_if<queue::Fail>(&*out);
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(status(t, up->id), storage::CallStatus::kFailed);
  EXPECT_EQ(repos().calls.get(t, up->id)->failed_reason, "call has no transcript");
}

TEST_F(AnalyzeStageTest, AFailedStepToAnalyzedCountsNothingAndTheRetryCountsOnce) {
  auto t = earshot::testing::new_tenant("an");
  auto agent = repos().human_agents.upsert(t, {"ag-1", "Sarah", "support", "Pune"});
  ASSERT_TRUE(agent);
  const auto id = transcribed_call(t, "c-step", *agent);
  queue::IncomingMessage msg;
  msg.envelope.bid = t.bid();
  msg.envelope.stage = Stage::kAnalyze;
  msg.body = analyze_message(t, id).body;
  auto counted = [&] {
    auto h = repos().human_agents.get(t, *agent).value();
    return std::pair{h.total_calls, h.escalations};
  };
  {
    // The step analyzing -> analyzed fails (the database refuses it): the analyses, the
    // escalation and the agent's counters went in the same transaction, so none stays.
    earshot::testing::FailingWrites refuse(earshot::testing::StorageEnvironment::db(), "call_records", t.bid(),
                                           "UPDATE", "NEW.status = 'analyzed'");
    ASSERT_EQ(refuse.error(), "");
    auto out = stage_->handle(msg);
    EXPECT_TRUE(!out || std::get_if<queue::Done>(&*out) == nullptr) << "a failed step is not done";
    EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzing);
    EXPECT_TRUE(repos().analyses.list_for_call(t, id, false)->empty());
    EXPECT_TRUE(repos().escalations.list_for_call(t, id)->empty());
    EXPECT_EQ(counted(), (std::pair<std::int64_t, std::int64_t>{0, 0}));
  }
  // The redelivery analyses the call once.
  auto out = stage_->handle(msg);
  ASSERT_TRUE(out) << out.error().to_string();
  auto* done = std::get_if<queue::Done>(&*out);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->next.size(), 1u) << "the notify message";
  EXPECT_EQ(status(t, id), storage::CallStatus::kAnalyzed);
  EXPECT_EQ(repos().escalations.list_for_call(t, id)->size(), 1u);
  EXPECT_EQ(repos().analyses.list_for_call(t, id, false)->size(), 5u);
  EXPECT_EQ(counted(), (std::pair<std::int64_t, std::int64_t>{1, 1}));
  // And once more (a duplicate delivery): skipped, nothing counted again.
  out = stage_->handle(msg);
  ASSERT_TRUE(out);
  EXPECT_EQ(repos().escalations.list_for_call(t, id)->size(), 1u);
  EXPECT_EQ(repos().analyses.list_for_call(t, id, false)->size(), 5u);
  EXPECT_EQ(counted(), (std::pair<std::int64_t, std::int64_t>{1, 1}));
}

}  // namespace
}  // namespace earshot::pipeline
