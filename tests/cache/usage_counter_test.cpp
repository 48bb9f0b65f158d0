// RedisUsageCounter against the real Redis of the test instance: totals per key, the expiry set
// by the first add and kept by later ones, bad arguments.

#include "earshot/cache/usage_counter.hpp"

#include <gtest/gtest.h>

#include "redis_test_base.hpp"

namespace earshot::cache {
namespace {

using namespace std::chrono_literals;

class UsageCounterTest : public RedisTestBase {
 protected:
  UsageCounterTest() : RedisTestBase("usage") {}
};

TEST_F(UsageCounterTest, AddsPerKeyAndTheFirstAddSetsTheExpiry) {
  RedisUsageCounter counter(*redis_, prefix_);
  EXPECT_EQ(*counter.get("a"), 0);
  EXPECT_EQ(*counter.add("a", 120, 3600s), 120);
  EXPECT_EQ(*counter.add("a", 30, 60s), 150);
  EXPECT_EQ(*counter.add("b", 7, 60s), 7);
  EXPECT_EQ(*counter.get("a"), 150);
  EXPECT_EQ(*counter.get("b"), 7);
  // The first add's ttl stands: a later add does not extend or shorten it.
  auto ttl = redis_->command({"TTL", prefix_ + "a"});
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl->integer, 3000);
  EXPECT_LE(ttl->integer, 3600);
  EXPECT_EQ(*counter.add("a", 0, 60s), 150);
}

TEST_F(UsageCounterTest, RefusesNegativeAmountsAndZeroTtl) {
  RedisUsageCounter counter(*redis_, prefix_);
  auto neg = counter.add("a", -5, 60s);
  ASSERT_FALSE(neg);
  EXPECT_EQ(neg.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(counter.add("a", 5, 0s));
  EXPECT_EQ(*counter.get("a"), 0);
}

}  // namespace
}  // namespace earshot::cache
