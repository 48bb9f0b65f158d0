// The stage worker's handler pool without a broker: the per-business cap, the cap on
// asynchronous jobs, follow-ups first, and drain() waiting for every ack.
#include "handler_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace earshot::queue::detail {
namespace {

using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr auto kPatience = seconds(10);  // a deadline for waits that pass at once when it works

Delivery delivery(const std::string& bid, std::uint64_t tag, std::uint64_t session = 1) {
  return Delivery{.session = session, .channel = 2, .tag = tag, .bid = bid, .redelivered = false, .content = {}};
}

// The pool's `run`: records what starts and, when `hold`, blocks each delivery until the
// test lets its tag go; counts how many of one business run at once.
class Runs {
 public:
  explicit Runs(bool hold, bool async = false) : hold_(hold), async_(async) {}

  bool run(Delivery& d) {
    std::unique_lock l(mu_);
    started_.push_back(d.tag);
    const std::size_t now = ++running_[d.bid];
    most_[d.bid] = std::max(most_[d.bid], now);
    cv_.notify_all();
    if (hold_) cv_.wait(l, [&] { return released_.contains(d.tag); });
    --running_[d.bid];
    cv_.notify_all();
    return async_;
  }
  void let_go(std::uint64_t tag) {
    std::lock_guard l(mu_);
    released_.insert(tag);
    cv_.notify_all();
  }
  void let_all_go() {
    std::lock_guard l(mu_);
    for (std::uint64_t t : started_) released_.insert(t);
    hold_ = false;
    cv_.notify_all();
  }
  bool wait_started(std::size_t n) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, kPatience, [&] { return started_.size() >= n; });
  }
  std::vector<std::uint64_t> started() {
    std::lock_guard l(mu_);
    return started_;
  }
  std::size_t most(const std::string& bid) {
    std::lock_guard l(mu_);
    return most_[bid];
  }
  // Records a follow-up's name among the starts (as tag 1000 + n).
  void note(std::uint64_t n) {
    std::lock_guard l(mu_);
    started_.push_back(1000 + n);
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_;
  bool async_;
  std::vector<std::uint64_t> started_;
  std::set<std::uint64_t> released_;
  std::map<std::string, std::size_t> running_;
  std::map<std::string, std::size_t> most_;
};

TEST(HandlerPool, OneBusinessHoldsNoMoreThanItsShareWhileOthersRun) {
  Runs runs(/*hold=*/true);
  HandlerPool pool({.threads = 4, .per_business_in_flight = 2, .max_in_flight = 0},
                   [&](Delivery& d) { return runs.run(d); });
  for (std::uint64_t tag = 1; tag <= 4; ++tag) pool.submit(delivery("acme", tag));
  pool.submit(delivery("globex", 5));
  pool.start();
  ASSERT_TRUE(runs.wait_started(3));
  // acme's two and globex's one run; acme is at its cap although a thread is idle. The
  // threads may reach `run` in any order, so the starts are compared sorted.
  auto first = runs.started();
  std::ranges::sort(first);
  EXPECT_EQ(first, (std::vector<std::uint64_t>{1, 2, 5}));
  EXPECT_EQ(pool.in_flight("acme"), 2u);
  EXPECT_EQ(pool.pending("acme"), 2u);

  runs.let_go(1);  // one acme message ends: the next one may start
  ASSERT_TRUE(runs.wait_started(4));
  EXPECT_EQ(runs.started().back(), 3u);
  runs.let_all_go();
  ASSERT_TRUE(runs.wait_started(5));
  pool.stop();
  EXPECT_EQ(runs.most("acme"), 2u);
  EXPECT_EQ(runs.most("globex"), 1u);
}

TEST(HandlerPool, BusinessesTakeTurnsInArrivalOrderOfTheirDeliveries) {
  Runs runs(/*hold=*/true);
  HandlerPool pool({.threads = 1, .per_business_in_flight = 2, .max_in_flight = 0},
                   [&](Delivery& d) { return runs.run(d); });
  for (std::uint64_t tag = 1; tag <= 3; ++tag) pool.submit(delivery("acme", tag));
  pool.submit(delivery("globex", 4));
  // A failed assertion returns early: let every held delivery end so the pool can stop.
  struct Release {
    Runs& runs;
    ~Release() { runs.let_all_go(); }
  } release{runs};
  pool.start();
  // One thread: each start waits for the previous delivery to end, so the order is the pool's.
  const std::vector<std::uint64_t> order{1, 4, 2, 3};
  for (std::size_t i = 0; i < order.size(); ++i) {
    ASSERT_TRUE(runs.wait_started(i + 1));
    ASSERT_EQ(runs.started().back(), order[i]);
    runs.let_go(order[i]);
  }
  pool.stop();
  // Round robin: globex's one delivery does not wait behind acme's backlog.
  EXPECT_EQ(runs.started(), order);
}

TEST(HandlerPool, AsynchronousJobsAreCappedOverEveryBusinessUntilReleased) {
  Runs runs(/*hold=*/false, /*async=*/true);
  HandlerPool pool({.threads = 2, .per_business_in_flight = 2, .max_in_flight = 2},
                   [&](Delivery& d) { return runs.run(d); });
  pool.submit(delivery("acme", 1));
  pool.submit(delivery("globex", 2));
  pool.submit(delivery("initech", 3));
  pool.start();
  ASSERT_TRUE(runs.wait_started(2));
  EXPECT_EQ(pool.pending("initech"), 1u);  // two jobs continue elsewhere: the cap is reached

  pool.release("acme");
  ASSERT_TRUE(runs.wait_started(3));
  EXPECT_EQ(runs.started().back(), 3u);
  EXPECT_EQ(pool.in_flight("acme"), 0u);
  EXPECT_EQ(pool.in_flight("globex"), 1u);
  pool.stop();
}

TEST(HandlerPool, FollowUpsRunBeforeWaitingDeliveriesAndAfterIntakeStopped) {
  Runs runs(/*hold=*/true);
  HandlerPool pool({.threads = 1, .per_business_in_flight = 2, .max_in_flight = 0},
                   [&](Delivery& d) { return runs.run(d); });
  pool.start();
  pool.submit(delivery("acme", 1));
  ASSERT_TRUE(runs.wait_started(1));
  pool.submit(delivery("acme", 2));
  pool.post([&] { runs.note(1); });
  runs.let_go(1);
  runs.let_go(2);
  ASSERT_TRUE(runs.wait_started(3));
  EXPECT_EQ(runs.started(), (std::vector<std::uint64_t>{1, 1001, 2}));

  pool.stop_intake();
  pool.submit(delivery("acme", 3));
  pool.post([&] { runs.note(2); });
  ASSERT_TRUE(runs.wait_started(4));
  EXPECT_EQ(runs.started().back(), 1002u);
  EXPECT_EQ(pool.pending("acme"), 1u);  // not dispatched after stop_intake
  pool.stop();
  EXPECT_EQ(runs.started().size(), 4u);
}

TEST(HandlerPool, DrainWaitsUntilEveryDispatchedDeliveryIsSettled) {
  Runs runs(/*hold=*/false);
  HandlerPool pool({.threads = 1, .per_business_in_flight = 2, .max_in_flight = 0},
                   [&](Delivery& d) { return runs.run(d); });
  EXPECT_TRUE(pool.drain(steady_clock::now()));  // nothing dispatched
  pool.start();
  pool.submit(delivery("acme", 1));
  pool.submit(delivery("acme", 2));
  ASSERT_TRUE(runs.wait_started(2));
  // Both ran, but their acks have not been executed: drain gives up at the deadline.
  EXPECT_FALSE(pool.drain(steady_clock::now()));
  pool.settled();
  EXPECT_FALSE(pool.drain(steady_clock::now()));
  pool.settled();
  EXPECT_TRUE(pool.drain(steady_clock::now() + kPatience));
  pool.stop();
}

TEST(HandlerPool, TakePendingRemovesOnlyTheSessionsDeliveries) {
  HandlerPool pool({.threads = 1, .per_business_in_flight = 1, .max_in_flight = 0}, [](Delivery&) { return false; });
  pool.submit(delivery("acme", 1, /*session=*/7));
  pool.submit(delivery("acme", 2, /*session=*/8));
  pool.submit(delivery("globex", 3, /*session=*/7));
  auto taken = pool.take_pending(7);
  ASSERT_EQ(taken.size(), 2u);
  std::set<std::uint64_t> tags{taken[0].tag, taken[1].tag};
  EXPECT_EQ(tags, (std::set<std::uint64_t>{1, 3}));
  EXPECT_EQ(pool.pending("acme"), 1u);
  EXPECT_EQ(pool.pending("globex"), 0u);
}

TEST(HandlerPool, PauseEndsEarlyWhenThePoolStops) {
  HandlerPool pool({.threads = 1, .per_business_in_flight = 1, .max_in_flight = 0}, [](Delivery&) { return false; });
  pool.start();
  pool.stop();
  const auto before = steady_clock::now();
  EXPECT_TRUE(pool.pause(std::chrono::minutes(10)));
  EXPECT_LT(steady_clock::now() - before, kPatience);
}

}  // namespace
}  // namespace earshot::queue::detail
