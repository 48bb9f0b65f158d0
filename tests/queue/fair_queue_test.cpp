#include "earshot/queue/fair_queue.hpp"

#include <gtest/gtest.h>

#include <map>

#include "fakes/fake_clock.hpp"

namespace earshot::queue {
namespace {

TEST(FairQueue, AlternatesBetweenKeysWhateverTheirBacklog) {
  FairQueue<int> q(10);
  for (int i = 0; i < 100; ++i) q.push("a", i);
  for (int i = 0; i < 3; ++i) q.push("b", 100 + i);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    auto next = q.pop();
    ASSERT_TRUE(next);
    order.push_back(next->first);
    q.done(next->first);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "a", "b", "a", "b"}));
  EXPECT_EQ(q.pending("b"), 0u);
  EXPECT_EQ(q.pending("a"), 97u);
}

TEST(FairQueue, RespectsThePerKeyCap) {
  FairQueue<int> q(2);
  for (int i = 0; i < 5; ++i) q.push("a", i);
  ASSERT_TRUE(q.pop());
  ASSERT_TRUE(q.pop());
  EXPECT_FALSE(q.pop());  // "a" holds its two slots
  EXPECT_EQ(q.in_flight("a"), 2u);
  q.done("a");
  auto next = q.pop();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->second, 2);  // FIFO within a key
}

TEST(FairQueue, RemoveIfTakesPendingItemsOnly) {
  FairQueue<int> q(1);
  q.push("a", 1);
  q.push("a", 2);
  q.push("b", 3);
  ASSERT_TRUE(q.pop());  // a:1 in flight
  auto removed = q.remove_if([](const std::string& k, int) { return k == "a"; });
  EXPECT_EQ(removed, std::vector<int>{2});
  EXPECT_EQ(q.in_flight("a"), 1u);
  EXPECT_EQ(q.total_pending(), 1u);
}

// Simulated time: two handler slots, every message takes 10 ms. Business A has 1,000
// queued before B's 10 arrive; B must finish within a few dozen completions, not after A.
TEST(FairQueue, SmallBusinessFinishesLongBeforeALargeBacklog) {
  testing::FakeClock clock;
  FairQueue<int> q(1);
  for (int i = 0; i < 1000; ++i) q.push("a", i);
  for (int i = 0; i < 10; ++i) q.push("b", i);
  const auto start = clock.steady_now();
  struct Slot {
    std::string key;
    std::chrono::steady_clock::time_point ends;
  };
  std::vector<Slot> running;
  std::map<std::string, int> completed;
  std::chrono::steady_clock::time_point b_finished{};
  while (completed["a"] + completed["b"] < 1010) {
    while (running.size() < 2) {
      auto next = q.pop();
      if (!next) break;
      running.push_back({next->first, clock.steady_now() + std::chrono::milliseconds(10)});
    }
    clock.advance(std::chrono::milliseconds(10));
    for (auto it = running.begin(); it != running.end();) {
      if (it->ends <= clock.steady_now()) {
        q.done(it->key);
        if (++completed[it->key] == 10 && it->key == "b") b_finished = clock.steady_now();
        it = running.erase(it);
      } else {
        ++it;
      }
    }
  }
  const auto b_time = b_finished - start;
  const auto total = clock.steady_now() - start;
  EXPECT_LE(b_time, std::chrono::milliseconds(100));
  EXPECT_GE(total, std::chrono::milliseconds(5000));
}

}  // namespace
}  // namespace earshot::queue
