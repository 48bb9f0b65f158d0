#include "queue_fixture.hpp"

#include <nlohmann/json.hpp>

#include "support/test_env.hpp"

namespace earshot::queue::testing {

AmqpSettings test_amqp_settings(const std::string& url) {
  AmqpSettings s;
  s.url = url.empty() ? earshot::testing::endpoints().amqp_url : url;
  s.heartbeat = std::chrono::seconds(2);
  s.connect_timeout = std::chrono::seconds(2);
  return s;
}

std::string valid_body(Stage stage, const std::string& bid, const std::string& call_id) {
  nlohmann::json j{{"schema_version", 1}, {"bid", bid}, {"call_id", call_id}};
  switch (stage) {
    case Stage::kEmbed:
      return nlohmann::json{{"schema_version", 1}, {"bid", bid}, {"kind", "document"}, {"id", call_id}}.dump();
    case Stage::kSync:
      j["source"] = {{"provider", "test"}, {"external_id", call_id}};
      break;
    case Stage::kTranscribe:
      j["audio"] = {{"uri", "file:///" + call_id}, {"format", "wav"}};
      break;
    case Stage::kAnalyze:
      j["transcript_id"] = call_id;
      break;
    case Stage::kNotify:
      j["event"] = "call.analyzed";
      break;
  }
  return j.dump();
}

void QueueTest::SetUp() {
  amqp = test_amqp_settings();
  ASSERT_FALSE(amqp.url.empty());
  topo.retry_delays = {std::chrono::milliseconds(300), std::chrono::milliseconds(600)};
  topo.max_attempts = 3;
  admin = std::make_unique<TopologyAdmin>(amqp, topo);
  metrics = std::make_unique<Metrics>("queue-test", "0", "test");
}

void QueueTest::TearDown() {
  for (const auto& [stage, bid] : declared) {
    auto st = admin->delete_business(stage, bid);
    EXPECT_TRUE(st) << st.error().to_string();
  }
}

std::string QueueTest::new_bid() {
  return "t" + earshot::testing::unique_suffix();
}

void QueueTest::declare(Stage stage, const std::string& bid) {
  declared.emplace(stage, bid);
  auto st = admin->declare_business(stage, bid);
  ASSERT_TRUE(st) << st.error().to_string();
}

OutgoingMessage QueueTest::stage_message(Stage stage, const std::string& bid, const std::string& call_id) {
  return make_stage_message(topo, Envelope{.bid = bid, .stage = stage, .trace_id = "tr-" + call_id},
                            valid_body(stage, bid, call_id));
}

std::uint32_t QueueTest::depth(const std::string& queue) {
  auto n = admin->queue_depth(queue);
  EXPECT_TRUE(n) << n.error().to_string();
  return n ? *n : 0;
}

std::unique_ptr<StageWorker> QueueTest::make_worker(StageHandler& handler, BusinessDirectory& directory,
                                                    OutcomeRecorder& recorder, StageWorkerOptions options,
                                                    const AmqpSettings* amqp_override) {
  return std::make_unique<StageWorker>(amqp_override != nullptr ? *amqp_override : amqp, topo, options, handler,
                                       directory, recorder, *metrics, SystemClock::instance());
}

}  // namespace earshot::queue::testing
