#include <gtest/gtest.h>

#include "earshot/cache/redis_settings.hpp"
#include "earshot/queue/amqp_settings.hpp"

namespace earshot {
namespace {

TEST(AmqpUrl, ParsesAllParts) {
  auto ep = queue::parse_amqp_url("amqp://user:p%40ss@broker.local:25672/prod%2Fa");
  ASSERT_TRUE(ep) << ep.error().to_string();
  EXPECT_EQ(ep->host, "broker.local");
  EXPECT_EQ(ep->port, 25672);
  EXPECT_EQ(ep->user, "user");
  EXPECT_EQ(ep->password, "p@ss");
  EXPECT_EQ(ep->vhost, "prod/a");
}

TEST(AmqpUrl, DefaultsAndErrors) {
  auto ep = queue::parse_amqp_url("amqp://127.0.0.1/");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->port, 5672);
  EXPECT_EQ(ep->vhost, "/");
  EXPECT_EQ(ep->user, "guest");
  for (const char* bad : {"http://x", "amqp://", "amqp://host:99999/", "amqp://host:x/", "amqp://u:%zz@host/"}) {
    auto r = queue::parse_amqp_url(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(RedisUrl, ParsesAllParts) {
  auto ep = cache::parse_redis_url("redis://:secret@cache:16379/3");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "cache");
  EXPECT_EQ(ep->port, 16379);
  EXPECT_EQ(ep->password, "secret");
  EXPECT_EQ(ep->db, 3);
  for (const char* bad : {"redis://", "tcp://x:1", "redis://h:0/", "redis://h:1/x"}) {
    EXPECT_FALSE(cache::parse_redis_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace earshot
