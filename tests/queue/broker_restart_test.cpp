// Stops and restarts the test RabbitMQ mid-stream (scripts/services.sh stop-one / start-one):
// no confirmed message is lost and the worker and publishers reconnect by themselves. It
// takes the shared broker down for several seconds, so ctest runs it alone (RUN_SERIAL);
// the TCP-proxy tests cover the same client paths without touching the broker.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "earshot/queue/publisher.hpp"
#include "earshot/queue/worker.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "queue_fixture.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"

namespace earshot::queue::testing {
namespace {

using earshot::testing::run_command;
using earshot::testing::wait_until;
using std::chrono::milliseconds;
using std::chrono::seconds;
using BrokerRestartTest = QueueTest;

TEST_F(BrokerRestartTest, RestartingTheBrokerMidStreamLosesNothing) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  declare(Stage::kTranscribe, bid);
  const std::string script = earshot::testing::endpoints().services_script;

  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    Done done;
    done.next.push_back(stage_message(Stage::kTranscribe, bid, m.envelope.message_id));
    return done;
  });
  StageWorkerOptions o;
  o.handler_threads = 4;
  o.publish_timeout = seconds(60);
  auto worker = make_worker(handler, dir, rec, o);
  ASSERT_TRUE(worker->start());

  Publisher pub(amqp, {.window = 50, .confirm_timeout = seconds(60)});
  pub.start();
  std::mutex mu;
  std::set<std::string> confirmed;
  std::atomic<int> failed_batches{0};
  std::thread producer([&] {
    for (int b = 0; b < 40; ++b) {
      std::vector<OutgoingMessage> batch;
      std::vector<std::string> ids;
      for (int i = 0; i < 10; ++i) {
        batch.push_back(stage_message(Stage::kSync, bid, fmt::format("c{}-{}", b, i)));
        ids.push_back(batch.back().message_id);
      }
      if (pub.publish_batch(std::move(batch))) {
        std::lock_guard l(mu);
        confirmed.insert(ids.begin(), ids.end());
      } else {
        ++failed_batches;
      }
      std::this_thread::sleep_for(milliseconds(25));  // pacing: the restart lands mid-stream
    }
  });
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) >= 80; }, seconds(20)));
  auto stop = run_command(fmt::format("bash '{}' --instance test stop-one rabbitmq", script));
  ASSERT_EQ(stop.exit_code, 0) << stop.output;
  auto start = run_command(fmt::format("bash '{}' --instance test start-one rabbitmq", script));
  ASSERT_EQ(start.exit_code, 0) << start.output;
  producer.join();
  EXPECT_EQ(failed_batches.load(), 0);

  std::set<std::string> want;
  {
    std::lock_guard l(mu);
    want = confirmed;
  }
  EXPECT_EQ(want.size(), 400u);
  auto done_ids = [&] {
    std::set<std::string> out;
    for (const auto& e : rec.events()) {
      if (e.kind == OutcomeKind::kDone) out.insert(e.message_id);
    }
    return out;
  };
  EXPECT_TRUE(wait_until([&] { return done_ids() == want; }, seconds(60)))
      << "done " << done_ids().size() << " of " << want.size();
  // The test's own admin connection died with the broker too; it reconnects on the next call.
  auto depth_now = [&](const std::string& q) -> std::int64_t {
    auto n = admin->queue_depth(q);
    return n ? static_cast<std::int64_t>(*n) : -1;
  };
  EXPECT_TRUE(wait_until([&] { return depth_now(work_queue(Stage::kSync, bid)) == 0; }, seconds(10)));
  // Every input's output is in the next queue (duplicates allowed: at-least-once).
  EXPECT_GE(depth_now(work_queue(Stage::kTranscribe, bid)), 400);
  EXPECT_NE(metrics->serialize().find("earshot_queue_reconnects_total{connection=\"consumer\"} "), std::string::npos);
  worker->stop();
}

}  // namespace
}  // namespace earshot::queue::testing
