#pragma once
// A test against the real Redis of the test instance: one client (2 s timeouts) and a key
// prefix of the test's own, "earshot:test:<area>:<unique>:", whose keys are deleted after it.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "earshot/cache/redis_client.hpp"
#include "support/test_env.hpp"

namespace earshot::cache {

class RedisTestBase : public ::testing::Test {
 protected:
  explicit RedisTestBase(std::string area) : area_(std::move(area)) {}

  void SetUp() override {
    RedisSettings settings;
    settings.url = earshot::testing::endpoints().redis_url;
    settings.timeout = std::chrono::seconds(2);
    auto r = RedisClient::make(settings, 1);
    ASSERT_TRUE(r) << r.error().message;
    redis_ = std::move(*r);
    prefix_ = "earshot:test:" + area_ + ":" + earshot::testing::unique_suffix() + ":";
  }
  void TearDown() override {
    if (!redis_) return;
    auto keys = redis_->command({"KEYS", prefix_ + "*"});
    if (keys) {
      for (const auto& k : keys->elements) (void)redis_->command({"DEL", k.str});
    }
  }

  std::unique_ptr<RedisClient> redis_;
  std::string prefix_;

 private:
  std::string area_;
};

}  // namespace earshot::cache
