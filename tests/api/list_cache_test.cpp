// The calls list's first-page cache: hits only while the business is unchanged, per
// business, expiry on the injected clock, and no entry from data older than a change.
#include "earshot/api/list_cache.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace earshot::api {
namespace {

using namespace std::chrono_literals;

Request list_request(const std::string& city) {
  Request r;
  r.method = "GET";
  r.path = "/api/v1/calls";
  r.query.emplace("city", city);
  r.query.emplace("limit", "50");
  return r;
}

TEST(ListCache, HitsUntilTheBusinessChangesAndOnlyForTheSameQuery) {
  testing::FakeClock clock;
  Metrics metrics("test", "0", "0");
  ListCache cache(clock, 5s, 100, &metrics);
  const auto key = ListCache::key_of(list_request("Boston"));
  EXPECT_NE(key, ListCache::key_of(list_request("Denver")));
  EXPECT_FALSE(cache.find("a", key));
  const auto gen = cache.generation("a");
  cache.store("a", key, gen, Reply::ok({{"items", {1, 2}}}));
  auto hit = cache.find("a", key);
  ASSERT_TRUE(hit);
  ASSERT_TRUE(hit->raw);
  EXPECT_EQ(*hit->raw, R"({"items":[1,2]})");
  EXPECT_EQ(hit->content_type, "application/json");
  EXPECT_FALSE(cache.find("b", key)) << "another business never sees the entry";
  EXPECT_FALSE(cache.find("a", ListCache::key_of(list_request("Denver"))));

  cache.invalidate("b");
  EXPECT_TRUE(cache.find("a", key)) << "another business's change keeps it";
  cache.invalidate("a");
  EXPECT_FALSE(cache.find("a", key));
  EXPECT_NE(metrics.serialize().find(R"(earshot_list_cache_requests_total{result="hit"} 2)"), std::string::npos);
}

TEST(ListCache, AnswerReadBeforeAChangeIsNotStored) {
  testing::FakeClock clock;
  ListCache cache(clock, 5s);
  const auto key = ListCache::key_of(list_request("Boston"));
  const auto gen = cache.generation("a");  // read before the database was asked
  cache.invalidate("a");                   // a call changed meanwhile
  cache.store("a", key, gen, Reply::ok({{"items", Json::array()}}));
  EXPECT_FALSE(cache.find("a", key));
  const auto gen2 = cache.generation("a");
  cache.store("a", key, gen2, Reply::ok({{"items", Json::array()}}));
  EXPECT_TRUE(cache.find("a", key));
  cache.invalidate_all();
  EXPECT_FALSE(cache.find("a", key));
}

TEST(ListCache, EntriesExpireAndErrorsOrDisabledCacheStoreNothing) {
  testing::FakeClock clock;
  ListCache cache(clock, 2s);
  const auto key = ListCache::key_of(list_request("Boston"));
  cache.store("a", key, cache.generation("a"), Reply::ok({{"items", Json::array()}}));
  clock.advance(1999ms);
  EXPECT_TRUE(cache.find("a", key));
  clock.advance(1ms);
  EXPECT_FALSE(cache.find("a", key));

  Reply bad = Reply::ok({});
  bad.status = 400;
  cache.store("a", key, cache.generation("a"), bad);
  EXPECT_FALSE(cache.find("a", key));

  ListCache off(clock, 0ms);
  EXPECT_FALSE(off.enabled());
  off.store("a", key, off.generation("a"), Reply::ok({}));
  EXPECT_FALSE(off.find("a", key));
}

}  // namespace
}  // namespace earshot::api
