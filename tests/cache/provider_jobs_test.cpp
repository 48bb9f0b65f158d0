// RedisProviderJobStore against the real Redis of the test instance: a call's provider jobs
// by field, apart from other calls and other businesses, with the hash expiring a day after
// its last write.

#include "earshot/cache/provider_jobs.hpp"

#include <gtest/gtest.h>

#include "redis_test_base.hpp"

namespace earshot::cache {
namespace {

using namespace std::chrono_literals;

class ProviderJobsRedisTest : public RedisTestBase {
 protected:
  ProviderJobsRedisTest() : RedisTestBase("sttjobs") {}
};

TEST_F(ProviderJobsRedisTest, JobsAreKeptPerCallAndBusinessAndExpireADayAfterTheLastWrite) {
  RedisProviderJobStore store(*redis_, prefix_);
  ASSERT_TRUE(store.save("acme", 7, "sarvam|transcript#ch0", "job-a"));
  ASSERT_TRUE(store.save("acme", 7, "sarvam|transcript#ch1", "job-b"));
  ASSERT_TRUE(store.save("acme", 7, "sarvam|transcript#ch1", "job-c"));  // a newer job replaces the field
  ASSERT_TRUE(store.save("globex", 7, "sarvam|transcript#ch0", "job-g"));
  ASSERT_TRUE(store.save("acme", 8, "sarvam|transcript", "job-8"));

  auto acme7 = store.load("acme", 7);
  ASSERT_TRUE(acme7) << acme7.error().to_string();
  EXPECT_EQ(*acme7, (std::map<std::string, std::string>{{"sarvam|transcript#ch0", "job-a"},
                                                        {"sarvam|transcript#ch1", "job-c"}}));
  EXPECT_EQ(*store.load("globex", 7), (std::map<std::string, std::string>{{"sarvam|transcript#ch0", "job-g"}}));
  EXPECT_EQ(*store.load("acme", 8), (std::map<std::string, std::string>{{"sarvam|transcript", "job-8"}}));
  EXPECT_TRUE(store.load("acme", 9)->empty());

  auto ttl = redis_->command({"TTL", store.key("acme", 7)});
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl->integer, 24 * 3600 - 60);
  EXPECT_LE(ttl->integer, 24 * 3600);
}

TEST_F(ProviderJobsRedisTest, RedisDownIsUnavailableNotAnEmptyAnswer) {
  RedisSettings settings;
  settings.url = "redis://127.0.0.1:1";  // nothing listens there
  settings.timeout = 1s;
  auto down = RedisClient::make(settings, 1);
  ASSERT_TRUE(down);
  RedisProviderJobStore store(**down, prefix_);
  auto loaded = store.load("acme", 7);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kUnavailable);
  auto saved = store.save("acme", 7, "sarvam|transcript", "job-a");
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace earshot::cache
