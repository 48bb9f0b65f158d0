#include "earshot/core/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>

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

TEST(Backoff, WithoutASeedBackoffsOnOneThreadDrawDifferentDelays) {
  // Each takes the next seed of the thread's sequence: a retry loop that makes a Backoff per
  // call does not repeat the previous call's delays.
  Backoff a(std::chrono::milliseconds(100), std::chrono::seconds(30));
  Backoff b(std::chrono::milliseconds(100), std::chrono::seconds(30));
  int same = 0;
  for (int i = 0; i < 20; ++i) same += a.next() == b.next() ? 1 : 0;
  EXPECT_LT(same, 5);
}

TEST(SplitMix64, MatchesTheReferenceSequence) {
  // The first outputs of the reference implementation (splitmix64.c) for seed 1234567.
  SplitMix64 g(1234567);
  EXPECT_EQ(g(), 6457827717110365317ULL);
  EXPECT_EQ(g(), 3203168211198807973ULL);
  EXPECT_EQ(g(), 9817491932198370423ULL);
  EXPECT_EQ(g(), 4593380528125082431ULL);
  EXPECT_EQ(g(), 16408922859458223821ULL);
}

TEST(Backoff, JitterIsUniformOverTheWholeRange) {
  // Delays at the cap are drawn from [initial/2, max]: every tenth of the range is hit about
  // equally often (the same distribution as before the generator changed).
  Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(1050), /*seed=*/11);
  for (int i = 0; i < 5; ++i) (void)b.next();  // 100 << 5 > 1050: at the cap from here
  std::array<int, 10> tenths{};
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const auto d = b.next().count();
    ASSERT_GE(d, 50);
    ASSERT_LE(d, 1050);
    ++tenths[static_cast<std::size_t>(std::min<std::int64_t>(9, (d - 50) / 100))];
  }
  for (int n : tenths) EXPECT_NEAR(n, kDraws / 10, kDraws / 10 / 5) << "tenths of [50, 1050]";
}

}  // namespace
}  // namespace earshot
