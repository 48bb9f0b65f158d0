// The stage-worker's lifecycle against the real broker: live business discovery, fairness
// between businesses, graceful stop with redelivery, and reconnection after a cut.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "earshot/queue/control.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/worker.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "queue_fixture.hpp"
#include "support/test_env.hpp"
#include "tcp_proxy.hpp"

namespace earshot::queue::testing {
namespace {

using earshot::testing::wait_until;
using std::chrono::milliseconds;
using std::chrono::seconds;
using LifecycleTest = QueueTest;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::set<std::string> ids_of(const std::vector<OutcomeEvent>& events, OutcomeKind kind) {
  std::set<std::string> out;
  for (const auto& e : events) {
    if (e.kind == kind) out.insert(e.message_id);
  }
  return out;
}

TEST_F(LifecycleTest, ControlEventsStartAndStopConsumingWithinTwoSeconds) {
  const std::string first = new_bid();
  const std::string added = new_bid();
  declare(Stage::kSync, first);
  declared.emplace(Stage::kSync, added);  // the worker declares it; the test deletes it
  InMemoryBusinessDirectory dir;
  dir.enable(first);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult { return Done{}; });
  StageWorkerOptions o;
  o.reconcile_interval = seconds(120);  // only the control event can explain a change
  auto worker = make_worker(handler, dir, rec, o);
  ASSERT_TRUE(worker->start());
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), first); }, seconds(15)));

  Publisher pub(amqp, {});
  pub.start();
  dir.enable(added);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      pub.publish(make_business_event_message(topo, {.type = BusinessEventType::kRegistered, .bid = added, .at = {}})));
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), added); }, seconds(2)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(2));
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, added, "c1")));
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 1; }, seconds(20)));

  dir.disable(added);
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      pub.publish(make_business_event_message(topo, {.type = BusinessEventType::kDisabled, .bid = added, .at = {}})));
  ASSERT_TRUE(wait_until([&] { return !contains(worker->consuming(), added); }, seconds(2)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(2));
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, added, "c2")));
  // Not consumed any more: the message waits in its queue.
  EXPECT_FALSE(wait_until([&] { return rec.count(OutcomeKind::kDone) > 1; }, milliseconds(700)));
  EXPECT_EQ(depth(work_queue(Stage::kSync, added)), 1u);
  EXPECT_TRUE(contains(worker->consuming(), first));
  worker->stop();
}

TEST_F(LifecycleTest, ReconciliationPicksUpBusinessesWithoutAnEvent) {
  const std::string bid = new_bid();
  declared.emplace(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  InMemoryOutcomeRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult { return Done{}; });
  StageWorkerOptions o;
  o.reconcile_interval = milliseconds(300);
  o.depth_interval = milliseconds(200);
  auto worker = make_worker(handler, dir, rec, o);
  ASSERT_TRUE(worker->start());
  dir.enable(bid);
  EXPECT_TRUE(wait_until([&] { return contains(worker->consuming(), bid); }, seconds(3)));
  const std::string series = fmt::format("queue=\"dlq.sync.{}\"", bid);
  EXPECT_TRUE(wait_until([&] { return metrics->serialize().find(series) != std::string::npos; }, seconds(15)));
  dir.disable(bid);
  EXPECT_TRUE(wait_until([&] { return !contains(worker->consuming(), bid); }, seconds(3)));
  // The depth series of a business the worker no longer watches are gone.
  EXPECT_TRUE(wait_until([&] { return metrics->serialize().find(series) == std::string::npos; }, seconds(15)));
  worker->stop();
}

TEST_F(LifecycleTest, SmallBusinessIsServedLongBeforeABigBacklogDrains) {
  const std::string big = new_bid();
  const std::string small = new_bid();
  declare(Stage::kSync, big);
  declare(Stage::kSync, small);
  {
    Publisher pub(amqp, {.window = 500});
    pub.start();
    for (int b = 0; b < 10; ++b) {
      std::vector<OutgoingMessage> a;
      for (int i = 0; i < 1000; ++i) {
        a.push_back(stage_message(Stage::kSync, big, fmt::format("a{}-{}", b, i)));
      }
      ASSERT_TRUE(pub.publish_batch(std::move(a)));
    }
    std::vector<OutgoingMessage> s10;
    for (int i = 0; i < 10; ++i) s10.push_back(stage_message(Stage::kSync, small, fmt::format("b{}", i)));
    ASSERT_TRUE(pub.publish_batch(std::move(s10)));
  }
  ASSERT_EQ(depth(work_queue(Stage::kSync, big)), 10000u);
  InMemoryBusinessDirectory dir;
  dir.enable(big);
  dir.enable(small);
  std::mutex mu;
  std::vector<std::string> order;
  FnHandler handler([&](const IncomingMessage& m) -> HandlerResult {
    std::this_thread::sleep_for(milliseconds(2));  // simulated work
    std::lock_guard l(mu);
    order.push_back(m.envelope.bid);
    return Done{};
  });
  InMemoryOutcomeRecorder rec;
  StageWorkerOptions o;
  o.handler_threads = 2;
  o.per_business_in_flight = 1;
  o.prefetch = 16;
  auto worker = make_worker(handler, dir, rec, o);
  ASSERT_TRUE(worker->start());
  auto small_done = [&] {
    std::lock_guard l(mu);
    return std::count(order.begin(), order.end(), small) == 10;
  };
  ASSERT_TRUE(wait_until(small_done, seconds(30)));
  std::size_t big_done = 0;
  {
    std::lock_guard l(mu);
    big_done = order.size() - 10;
  }
  // Round robin: the small business's ten finish after roughly as many of the big one's
  // (bounded by the prefetch), not after its 10,000.
  EXPECT_LT(big_done, 60u) << "big business messages done before the small one finished";
  // The backlog keeps draining afterwards.
  EXPECT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) >= 200; }, seconds(20)));
  worker->stop();
  EXPECT_GT(depth(work_queue(Stage::kSync, big)), 9000u);
}

TEST_F(LifecycleTest, StopFinishesInFlightWorkAndLeavesTheRestForRedelivery) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  std::set<std::string> all;
  {
    Publisher pub(amqp, {});
    pub.start();
    std::vector<OutgoingMessage> batch;
    for (int i = 0; i < 20; ++i) {
      batch.push_back(stage_message(Stage::kSync, bid, fmt::format("c{}", i)));
      all.insert(batch.back().message_id);
    }
    ASSERT_TRUE(pub.publish_batch(std::move(batch)));
  }
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  std::mutex mu;
  std::set<std::string> started_first;
  std::atomic<int> in_handler{0};
  FnHandler slow([&](const IncomingMessage& m) -> HandlerResult {
    {
      std::lock_guard l(mu);
      started_first.insert(m.envelope.message_id);
    }
    ++in_handler;
    std::this_thread::sleep_for(milliseconds(300));  // simulated work
    return Done{};
  });
  InMemoryOutcomeRecorder rec1;
  StageWorkerOptions o;
  o.handler_threads = 4;
  o.per_business_in_flight = 4;
  o.prefetch = 20;
  auto w1 = make_worker(slow, dir, rec1, o);
  ASSERT_TRUE(w1->start());
  ASSERT_TRUE(wait_until([&] { return in_handler.load() >= 4; }, seconds(15)));
  w1->stop_intake();
  w1->drain(std::chrono::steady_clock::now() + seconds(5));
  w1->stop();
  const auto done1 = ids_of(rec1.events(), OutcomeKind::kDone);
  {
    std::lock_guard l(mu);
    EXPECT_EQ(done1, started_first) << "every started message finished before the deadline";
  }
  ASSERT_GE(done1.size(), 4u);
  ASSERT_LT(done1.size(), 20u);
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 20 - done1.size(); }, seconds(5)));

  InMemoryOutcomeRecorder rec2;
  FnHandler fast([](const IncomingMessage&) -> HandlerResult { return Done{}; });
  auto w2 = make_worker(fast, dir, rec2, o);
  ASSERT_TRUE(w2->start());
  ASSERT_TRUE(wait_until([&] { return rec2.count(OutcomeKind::kDone) == 20 - done1.size(); }, seconds(15)));
  w2->stop();
  const auto done2 = ids_of(rec2.events(), OutcomeKind::kDone);
  std::set<std::string> both;
  std::set_intersection(done1.begin(), done1.end(), done2.begin(), done2.end(), std::inserter(both, both.begin()));
  EXPECT_TRUE(both.empty()) << "acked before stop, yet redelivered";
  std::set<std::string> either = done1;
  either.insert(done2.begin(), done2.end());
  EXPECT_EQ(either, all);
}

TEST_F(LifecycleTest, WorkPastTheDrainDeadlineIsRedelivered) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  std::atomic<int> entered{0};
  FnHandler stuck([&](const IncomingMessage&) -> HandlerResult {
    ++entered;
    std::this_thread::sleep_for(milliseconds(1500));  // longer than the drain deadline
    return Done{};
  });
  InMemoryOutcomeRecorder rec;
  StageWorkerOptions o;
  o.handler_threads = 1;
  auto w = make_worker(stuck, dir, rec, o);
  ASSERT_TRUE(w->start());
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c1")));
  ASSERT_TRUE(wait_until([&] { return entered.load() == 1; }, seconds(15)));
  w->stop_intake();
  const auto t0 = std::chrono::steady_clock::now();
  w->drain(t0 + milliseconds(200));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1000));
  w->stop();
  // The handler finished after the connection closed: its ack was lost, so the broker has
  // the message again (at-least-once).
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 1u; }, seconds(15)));
}

TEST_F(LifecycleTest, ConnectionCutsLoseNothingAndTheWorkerReconnectsByItself) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  auto ep = parse_amqp_url(amqp.url);
  ASSERT_TRUE(ep);
  TcpProxy proxy(ep->host, ep->port);
  ASSERT_GT(proxy.port(), 0);
  const auto via_proxy = test_amqp_settings(fmt::format("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port()));

  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult {
    std::this_thread::sleep_for(milliseconds(1));
    return Done{};
  });
  StageWorkerOptions o;
  o.handler_threads = 2;
  auto worker = make_worker(handler, dir, rec, o, &via_proxy);
  ASSERT_TRUE(worker->start());
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), bid); }, seconds(15)));

  Publisher pub(via_proxy, {.window = 50, .confirm_timeout = seconds(20)});
  pub.start();
  std::set<std::string> all;
  std::atomic<int> publish_failures{0};
  std::mutex mu;
  std::thread producer([&] {
    for (int b = 0; b < 30; ++b) {
      std::vector<OutgoingMessage> batch;
      for (int i = 0; i < 10; ++i) {
        batch.push_back(stage_message(Stage::kSync, bid, fmt::format("c{}-{}", b, i)));
        std::lock_guard l(mu);
        all.insert(batch.back().message_id);
      }
      if (!pub.publish_batch(std::move(batch))) ++publish_failures;
      std::this_thread::sleep_for(milliseconds(20));  // pacing, so cuts land mid-stream
    }
  });
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) >= 60; }, seconds(20)));
  proxy.cut();
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) >= 180; }, seconds(15)));
  proxy.cut();
  producer.join();
  EXPECT_EQ(publish_failures.load(), 0);
  std::set<std::string> want;
  {
    std::lock_guard l(mu);
    want = all;
  }
  ASSERT_EQ(want.size(), 300u);
  EXPECT_TRUE(wait_until([&] { return ids_of(rec.events(), OutcomeKind::kDone) == want; }, seconds(20)))
      << "done " << ids_of(rec.events(), OutcomeKind::kDone).size() << " of 300";
  EXPECT_GE(proxy.accepted(), 6);  // worker consumer, publisher, admin: each reconnected
  const std::string text = metrics->serialize();
  EXPECT_NE(text.find("earshot_queue_reconnects_total{connection=\"consumer\"}"), std::string::npos);
  worker->stop();
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 0u; }, seconds(15)));
}

TEST_F(LifecycleTest, ASilentBrokerIsDetectedByHeartbeatsAndTheWorkerReconnects) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  auto ep = parse_amqp_url(amqp.url);
  ASSERT_TRUE(ep);
  TcpProxy proxy(ep->host, ep->port);
  auto via_proxy = test_amqp_settings(fmt::format("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port()));
  via_proxy.heartbeat = seconds(1);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult { return Done{}; });
  auto worker = make_worker(handler, dir, rec, StageWorkerOptions{}, &via_proxy);
  ASSERT_TRUE(worker->start());
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), bid); }, seconds(15)));
  const int before = proxy.accepted();
  proxy.freeze();  // no FIN, no RST: the sockets stay open but nothing moves
  Publisher direct(amqp, {});
  direct.start();
  ASSERT_TRUE(direct.publish(stage_message(Stage::kSync, bid, "c1")));
  // Two missed heartbeats (plus slack) later the worker gives up on the connection,
  // reconnects through the proxy and consumes the message.
  EXPECT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 1; }, seconds(20)));
  EXPECT_GT(proxy.accepted(), before);
  proxy.cut();
  worker->stop();
}

TEST_F(LifecycleTest, AConsumerTheBrokerCancelsIsReestablished) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult { return Done{}; });
  StageWorkerOptions o;
  o.reconcile_interval = seconds(60);
  auto worker = make_worker(handler, dir, rec, o);
  ASSERT_TRUE(worker->start());
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), bid); }, seconds(15)));
  // Deleting the queue makes the broker cancel the consumer (basic.cancel).
  ASSERT_TRUE(admin->delete_queue(work_queue(Stage::kSync, bid)));
  ASSERT_TRUE(wait_until([&] { return !contains(worker->consuming(), bid); }, seconds(15)));
  // The worker declares the queue again and resumes without waiting for reconciliation.
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), bid); }, seconds(15)));
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c1")));
  EXPECT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 1; }, seconds(15)));
  worker->stop();
}

TEST_F(LifecycleTest, InvalidControlEventsAreIgnored) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult { return Done{}; });
  auto worker = make_worker(handler, dir, rec, StageWorkerOptions{});
  ASSERT_TRUE(worker->start());
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), bid); }, seconds(15)));
  Publisher pub(amqp, {});
  pub.start();
  for (const char* body :
       {"\xff\xfe garbage", "{}", R"({"schema_version":1,"type":"business_enabled","bid":"../x","at":""})"}) {
    OutgoingMessage m;
    m.exchange = topo.control_exchange;
    m.body = body;
    m.mandatory = false;
    ASSERT_TRUE(pub.publish(std::move(m)));
  }
  // Still consuming, and still working.
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c1")));
  EXPECT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 1; }, seconds(15)));
  EXPECT_EQ(worker->consuming(), std::vector<std::string>{bid});
  worker->stop();
}

TEST_F(LifecycleTest, APublisherStuckOnAStalledConnectionRecovers) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  auto ep = parse_amqp_url(amqp.url);
  ASSERT_TRUE(ep);
  TcpProxy proxy(ep->host, ep->port);
  auto via_proxy = test_amqp_settings(fmt::format("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port()));
  via_proxy.heartbeat = seconds(1);
  Publisher pub(via_proxy, {.window = 1000, .confirm_timeout = seconds(30)});
  pub.start();
  ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "warm-up")));
  proxy.freeze();
  // Far more than the socket buffers hold: the I/O thread's writes block on the frozen
  // connection until the send timeout gives it up; then everything goes out again.
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 2000; ++i) {
    auto m = stage_message(Stage::kSync, bid, fmt::format("c{}", i));
    m.headers["x-padding"] = std::string(8192, 'p');
    batch.push_back(std::move(m));
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto st = pub.publish_batch(std::move(batch));
  EXPECT_TRUE(st) << st.error().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(20));
  EXPECT_GE(depth(work_queue(Stage::kSync, bid)), 2001u);  // at least once
  proxy.cut();
}

TEST_F(LifecycleTest, AnEventForABusinessTheDirectoryDoesNotListChangesNothing) {
  const std::string mine = new_bid();
  const std::string foreign = new_bid();
  declare(Stage::kSync, mine);
  declared.emplace(Stage::kSync, foreign);
  InMemoryBusinessDirectory dir;
  dir.enable(mine);
  InMemoryOutcomeRecorder rec;
  FnHandler handler([](const IncomingMessage&) -> HandlerResult { return Done{}; });
  StageWorkerOptions o;
  o.reconcile_interval = seconds(120);
  auto worker = make_worker(handler, dir, rec, o);
  ASSERT_TRUE(worker->start());
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), mine); }, seconds(15)));
  Publisher pub(amqp, {});
  pub.start();
  // Another deployment (or test) registers a business this worker's directory does not know,
  // and disables one it does: the directory wins both times.
  ASSERT_TRUE(pub.publish(
      make_business_event_message(topo, {.type = BusinessEventType::kRegistered, .bid = foreign, .at = {}})));
  ASSERT_TRUE(
      pub.publish(make_business_event_message(topo, {.type = BusinessEventType::kDisabled, .bid = mine, .at = {}})));
  // Then an event the worker must act on, as a marker that the others were processed.
  const std::string marker = new_bid();
  declared.emplace(Stage::kSync, marker);
  dir.enable(marker);
  ASSERT_TRUE(
      pub.publish(make_business_event_message(topo, {.type = BusinessEventType::kEnabled, .bid = marker, .at = {}})));
  ASSERT_TRUE(wait_until([&] { return contains(worker->consuming(), marker); }, seconds(15)));
  EXPECT_FALSE(contains(worker->consuming(), foreign));
  EXPECT_TRUE(contains(worker->consuming(), mine));
  worker->stop();
}

}  // namespace
}  // namespace earshot::queue::testing
