#include "earshot/queue/dead_letters.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "earshot/queue/publisher.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"
#include "queue_fixture.hpp"
#include "support/test_env.hpp"

namespace earshot::queue::testing {
namespace {

using earshot::testing::wait_until;
using std::chrono::seconds;
using DeadLetterTest = QueueTest;

TEST_F(DeadLetterTest, ShowReplayAndPurge) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  InMemoryBusinessDirectory dir;
  dir.enable(bid);
  InMemoryOutcomeRecorder rec;
  std::atomic<bool> broken{true};
  FnHandler handler([&](const IncomingMessage&) -> HandlerResult {
    if (broken) return Fail{.reason = "parser bug", .code = ErrorCode::kInternal};
    return Done{};
  });
  StageWorkerOptions o;
  o.reconcile_interval = seconds(60);
  auto worker = make_worker(handler, dir, rec, o);
  ASSERT_TRUE(worker->start());
  Publisher pub(amqp, {});
  pub.start();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pub.publish(stage_message(Stage::kSync, bid, "c" + std::to_string(i))));
  }
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDeadLettered) == 3; }, seconds(15)));

  DeadLetterAdmin dlq(amqp, topo, SystemClock::instance());
  ASSERT_TRUE(wait_until(
      [&] {
        auto n = dlq.count(Stage::kSync, bid);
        return n && *n == 3;
      },
      seconds(2)));
  auto shown = dlq.show(Stage::kSync, bid, 2);
  ASSERT_TRUE(shown) << shown.error().to_string();
  ASSERT_EQ(shown->size(), 2u);
  EXPECT_EQ((*shown)[0].error_code, "internal");
  EXPECT_EQ((*shown)[0].error_reason, "parser bug");
  EXPECT_EQ((*shown)[0].attempts, 1);
  // show leaves them where they were.
  EXPECT_TRUE(wait_until(
      [&] {
        auto n = dlq.count(Stage::kSync, bid);
        return n && *n == 3;
      },
      seconds(2)));

  broken = false;
  auto moved = dlq.replay(Stage::kSync, bid, 2);
  ASSERT_TRUE(moved) << moved.error().to_string();
  EXPECT_EQ(*moved, 2u);
  ASSERT_TRUE(wait_until([&] { return rec.count(OutcomeKind::kDone) == 2; }, seconds(15)));
  for (const auto& e : rec.events()) {
    if (e.kind == OutcomeKind::kDone) {
      EXPECT_EQ(e.attempt, 1);  // attempts reset
    }
  }
  auto left = dlq.count(Stage::kSync, bid);
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, 1u);
  auto purged = dlq.purge(Stage::kSync, bid);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  worker->stop();
}

TEST_F(DeadLetterTest, ReplayKeepsTheOriginalFailureInAuditHeaders) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  // A dead letter as the worker writes it, published directly.
  auto m = stage_message(Stage::kSync, bid, "c1");
  m.exchange = "";
  m.routing_key = dead_letter_queue(Stage::kSync, bid);
  m.headers["x-error-code"] = std::string("unavailable");
  m.headers["x-error-reason"] = std::string("gave up after 5 attempts: provider down");
  m.headers["x-attempts"] = std::int64_t{5};
  m.headers["x-failed-at"] = std::string("2026-11-21T10:00:00.000Z");
  m.headers["x-attempt"] = std::int64_t{5};
  Publisher pub(amqp, {});
  pub.start();
  ASSERT_TRUE(pub.publish(std::move(m)));
  DeadLetterAdmin dlq(amqp, topo, SystemClock::instance());
  auto moved = dlq.replay(Stage::kSync, bid, 100);
  ASSERT_TRUE(moved) << moved.error().to_string();
  EXPECT_EQ(*moved, 1u);
  auto back = admin->get(work_queue(Stage::kSync, bid));
  ASSERT_TRUE(back && *back);
  const auto& h = (*back)->headers;
  EXPECT_EQ(header_int(h, "x-attempt"), 1);
  EXPECT_EQ(header_string(h, "x-replayed-error-code"), "unavailable");
  EXPECT_EQ(header_string(h, "x-replayed-error-reason"), "gave up after 5 attempts: provider down");
  EXPECT_EQ(header_int(h, "x-replayed-attempts"), 5);
  EXPECT_EQ(header_string(h, "x-replayed-failed-at"), "2026-11-21T10:00:00.000Z");
  EXPECT_TRUE(header_string(h, "x-replayed-at"));
  EXPECT_FALSE(header_string(h, "x-error-code"));
  EXPECT_EQ(depth(dead_letter_queue(Stage::kSync, bid)), 0u);
}

}  // namespace
}  // namespace earshot::queue::testing
