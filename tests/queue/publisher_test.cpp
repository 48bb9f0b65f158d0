#include "earshot/queue/publisher.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "queue_fixture.hpp"
#include "support/test_env.hpp"

namespace earshot::queue::testing {
namespace {

using PublisherTest = QueueTest;

// Every message is taken off the queue and its id checked: none lost, none extra.
std::set<std::string> drain_ids(TopologyAdmin& admin, const std::string& queue) {
  std::set<std::string> ids;
  while (true) {
    auto m = admin.get(queue);
    EXPECT_TRUE(m) << m.error().to_string();
    if (!m || !*m) break;
    ids.insert((*m)->message_id);
  }
  return ids;
}

TEST_F(PublisherTest, ConfirmsAThousandMessagesWithManyInFlight) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  Publisher publisher(amqp, {.window = 100}, metrics.get());
  publisher.start();
  std::vector<OutgoingMessage> batch;
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    batch.push_back(stage_message(Stage::kSync, bid, "c" + std::to_string(i)));
    ids.insert(batch.back().message_id);
  }
  auto st = publisher.publish_batch(std::move(batch));
  ASSERT_TRUE(st) << st.error().to_string();
  // Confirmed means enqueued: the count is exact right after the batch returns.
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 1000u);
  EXPECT_EQ(drain_ids(*admin, work_queue(Stage::kSync, bid)), ids);
  EXPECT_NE(metrics->serialize().find("earshot_queue_published_total{result=\"confirmed\"} 1000"), std::string::npos);
}

TEST_F(PublisherTest, ManyThreadsShareOnePublisher) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  Publisher publisher(amqp, {.window = 64});
  publisher.start();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        if (!publisher.publish(stage_message(Stage::kSync, bid, fmt::format("t{}-{}", t, i)))) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(depth(work_queue(Stage::kSync, bid)), 400u);
}

TEST_F(PublisherTest, MandatoryMessageNoQueueTakesIsAnError) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  Publisher publisher(amqp, {.window = 10});
  publisher.start();
  // transcribe.<bid> was never declared, so nothing is bound to that routing key.
  auto st = publisher.publish(stage_message(Stage::kTranscribe, bid, "c1"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(st.error().message.find("unroutable"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("transcribe." + bid), std::string::npos);

  // A batch fails as a whole when one of its messages is returned...
  std::vector<OutgoingMessage> mixed;
  mixed.push_back(stage_message(Stage::kSync, bid, "ok"));
  mixed.push_back(stage_message(Stage::kTranscribe, bid, "lost"));
  EXPECT_FALSE(publisher.publish_batch(std::move(mixed)));
  // ...and the connection stays usable.
  EXPECT_TRUE(publisher.publish(stage_message(Stage::kSync, bid, "c2")));
  EXPECT_TRUE(earshot::testing::wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 2u; },
                                           std::chrono::seconds(2)));
}

TEST_F(PublisherTest, UnreachableBrokerTimesOutWithinTheDeadline) {
  auto bad = test_amqp_settings("amqp://guest:guest@127.0.0.1:1/");
  Publisher publisher(bad, {.window = 10, .confirm_timeout = std::chrono::milliseconds(500)});
  publisher.start();
  const auto start = std::chrono::steady_clock::now();
  auto st = publisher.publish(stage_message(Stage::kSync, "nobody", "c"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(publisher.connected());
}

TEST_F(PublisherTest, HeartbeatsKeepAnIdleConnectionOpen) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  auto settings = amqp;
  settings.heartbeat = std::chrono::seconds(1);  // the broker closes after ~2 missed beats
  Publisher publisher(settings, {}, metrics.get());
  publisher.start();
  ASSERT_TRUE(publisher.publish(stage_message(Stage::kSync, bid, "c1")));
  // Idle for well over two heartbeat intervals: the connection must stay up.
  EXPECT_FALSE(earshot::testing::wait_until([&] { return !publisher.connected(); }, std::chrono::milliseconds(3500)));
  ASSERT_TRUE(publisher.publish(stage_message(Stage::kSync, bid, "c2")));
  const std::string text = metrics->serialize();
  EXPECT_NE(text.find("earshot_queue_reconnects_total{connection=\"publisher\"} 0"), std::string::npos);
}

// The admin connection has nobody sending heartbeats between calls: after idling past the
// broker's heartbeat timeout the next call must still work (not fail once on a dead socket).
TEST_F(PublisherTest, TopologyAdminWorksAfterIdlingPastTheHeartbeatTimeout) {
  const std::string bid = new_bid();
  auto settings = amqp;
  settings.heartbeat = std::chrono::seconds(1);  // the broker closes after ~2 missed beats
  TopologyAdmin idle_admin(settings, admin->topology());
  ASSERT_TRUE(idle_admin.declare_business(Stage::kSync, bid));
  // Deliberate idle time (the condition under test), not a wait for something to happen.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  auto depth = idle_admin.queue_depth(work_queue(Stage::kSync, bid));
  ASSERT_TRUE(depth) << depth.error().to_string();
  EXPECT_EQ(*depth, 0u);
  EXPECT_TRUE(idle_admin.delete_business(Stage::kSync, bid));
}

TEST_F(PublisherTest, StoppedPublisherRefuses) {
  Publisher publisher(amqp, {});
  publisher.start();
  publisher.stop();
  auto st = publisher.publish(stage_message(Stage::kSync, "nobody", "c"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace earshot::queue::testing
