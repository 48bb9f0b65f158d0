// RedisProviderErrorStore and ProviderErrorRecorder against the real Redis of the test
// instance: counts and last errors per business, the 25 h expiry of a bucket's keys, the
// provider cap inside Redis, and a background recorder whose writes show after flush().

#include "earshot/cache/provider_errors.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"
#include "redis_test_base.hpp"

namespace earshot::cache {
namespace {

using earshot::testing::FakeClock;
using namespace std::chrono_literals;

class ProviderErrorsRedisTest : public RedisTestBase {
 protected:
  ProviderErrorsRedisTest() : RedisTestBase("perr") {}
  void SetUp() override {
    RedisTestBase::SetUp();
    options_.prefix = prefix_;
    options_.background = false;
  }
  ProviderErrorOptions options_;
  FakeClock clock_;
};

TEST_F(ProviderErrorsRedisTest, CountsPerBusinessWithTheLastErrorAndA25HourExpiry) {
  RedisProviderErrorStore store(*redis_);
  ProviderErrorRecorder rec(store, clock_, nullptr, options_);
  for (int i = 0; i < 40; ++i)
    rec.record("biz_a", "stt", "deepgram", 401, "authentication failed: bad key " + std::to_string(i));
  rec.record("biz_a", "llm", "openai", 429, "rate limited");
  rec.record("biz_b", "crm", "leadsquared", 500, "HTTP 500");
  auto a = rec.summary("biz_a");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].provider, "deepgram");
  EXPECT_EQ((*a)[0].count_1h, 40);
  EXPECT_EQ((*a)[0].count_24h, 40);
  EXPECT_EQ((*a)[0].last_message, "authentication failed: bad key 39");
  EXPECT_EQ((*a)[1].provider, "openai");
  EXPECT_EQ((*a)[1].status, 429);
  auto b = rec.summary("biz_b");
  ASSERT_TRUE(b);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].kind, "crm");
  // Every key of a bucket expires 25 h after its last write; none belongs to another business.
  auto keys = redis_->command({"KEYS", options_.prefix + "biz_a:*"});
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->elements.size(), 3u);  // counts, last errors, providers
  for (const auto& k : keys->elements) {
    auto ttl = redis_->command({"TTL", k.str});
    ASSERT_TRUE(ttl);
    EXPECT_GT(ttl->integer, 25 * 3600 - 60) << k.str;
    EXPECT_LE(ttl->integer, 25 * 3600) << k.str;
  }
}

TEST_F(ProviderErrorsRedisTest, TheCapHoldsInRedis) {
  options_.max_providers = 2;
  RedisProviderErrorStore store(*redis_);
  ProviderErrorRecorder rec(store, clock_, nullptr, options_);
  rec.record("biz_a", "stt", "deepgram", 401, "a");
  rec.record("biz_a", "llm", "openai", 401, "b");
  rec.record("biz_a", "llm", "ollama", 500, "c");
  rec.record("biz_a", "llm", "openai", 500, "d");
  auto rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 3u);
  for (const auto& r : *rows) EXPECT_NE(r.provider, "ollama");
}

TEST_F(ProviderErrorsRedisTest, BackgroundWritesShowAfterFlush) {
  options_.background = true;
  RedisProviderErrorStore store(*redis_);
  ProviderErrorRecorder rec(store, clock_, nullptr, options_);
  for (int i = 0; i < 10; ++i) rec.record("biz_a", "embedding", "ollama", 0, "127.0.0.1:11434: connection refused");
  rec.flush();
  auto rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].status, 0);
  EXPECT_EQ((*rows)[0].count_1h, 10);
}

TEST_F(ProviderErrorsRedisTest, AnUnreachableRedisFailsTheSummaryNotTheRecord) {
  RedisSettings settings;
  settings.url = "redis://127.0.0.1:1";
  settings.timeout = 500ms;
  auto dead = RedisClient::make(settings, 1);
  ASSERT_TRUE(dead);
  RedisProviderErrorStore store(**dead);
  ProviderErrorRecorder rec(store, clock_, nullptr, options_);
  rec.record("biz_a", "stt", "deepgram", 500, "x");  // returns: best effort
  auto rows = rec.summary("biz_a");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace earshot::cache
