#include "earshot/core/backoff.hpp"

#include <gtest/gtest.h>

namespace earshot {
namespace {

TEST(Backoff, GrowsWithinBoundsAndResets) {
  Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(2000), /*seed=*/7);
  for (int i = 0; i < 50; ++i) {
    auto d = b.next();
    const auto cap = std::min<std::int64_t>(2000, 100LL << std::min(i, 30));
    EXPECT_GE(d.count(), 50) << i;
    EXPECT_LE(d.count(), cap) << i;
  }
  EXPECT_EQ(b.attempts(), 50);
  b.reset();
  EXPECT_LE(b.next().count(), 100);
}

TEST(Backoff, JitterSpreadsReconnects) {
  // Two processes that lost the same dependency at once must not retry in lockstep.
  Backoff a(std::chrono::milliseconds(100), std::chrono::seconds(30), 1);
  Backoff b(std::chrono::milliseconds(100), std::chrono::seconds(30), 2);
  int same = 0;
  for (int i = 0; i < 20; ++i) same += a.next() == b.next() ? 1 : 0;
  EXPECT_LT(same, 5);
}

}  // namespace
}  // namespace earshot
