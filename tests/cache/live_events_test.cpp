// Live events against the real Redis of the test instance: the stream record, the channel,
// reads after an id, and the subscriber's reconnection.

#include "earshot/cache/live_events.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "support/test_env.hpp"

namespace earshot::cache {
namespace {

using earshot::testing::endpoints;
using earshot::testing::unique_suffix;
using earshot::testing::wait_until;
using namespace std::chrono_literals;

class LiveEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.url = endpoints().redis_url;
    settings_.timeout = 2s;
    auto r = RedisClient::make(settings_, 2);
    ASSERT_TRUE(r) << r.error().message;
    redis_ = std::move(*r);
    bid_a_ = "lea" + unique_suffix();
    bid_b_ = "leb" + unique_suffix();
  }
  void TearDown() override {
    if (redis_) {
      (void)redis_->command({"DEL", live_events_key(bid_a_), live_events_key(bid_b_)});
    }
  }

  RedisSettings settings_;
  std::unique_ptr<RedisClient> redis_;
  std::string bid_a_;
  std::string bid_b_;
};

TEST(LiveEventIds, ValidatesStreamIds) {
  EXPECT_TRUE(valid_stream_id("1763730000000-0"));
  EXPECT_TRUE(valid_stream_id("1763730000000"));
  EXPECT_FALSE(valid_stream_id(""));
  EXPECT_FALSE(valid_stream_id("-"));
  EXPECT_FALSE(valid_stream_id("1-"));
  EXPECT_FALSE(valid_stream_id("1-2-3"));
  EXPECT_FALSE(valid_stream_id("1' OR 1=1"));
  EXPECT_FALSE(valid_stream_id("+"));
}

TEST_F(LiveEventsTest, PublishAppendsToTheBusinessStreamAndReadsAfterAnId) {
  Metrics metrics("test", "0", "x");
  LiveEvents events(*redis_, SystemClock::instance(), &metrics);
  auto id1 = events.publish(bid_a_, "call.status", {{"call_id", 1}, {"status", "queued"}, {"previous", nullptr}});
  auto id2 =
      events.publish(bid_a_, "call.status", {{"call_id", 1}, {"status", "transcribing"}, {"previous", "queued"}});
  auto other = events.publish(bid_b_, "pipeline.counters", {{"queued", 3}});
  ASSERT_TRUE(id1 && id2 && other);
  EXPECT_TRUE(valid_stream_id(*id1));

  auto all = events.read_after(bid_a_, "");
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[0].id, *id1);
  EXPECT_EQ((*all)[1].id, *id2);
  EXPECT_EQ((*all)[1].type, "call.status");
  auto j = nlohmann::json::parse((*all)[1].json);
  EXPECT_EQ(j["id"], *id2);
  EXPECT_EQ(j["bid"], bid_a_);
  EXPECT_EQ(j["type"], "call.status");
  EXPECT_EQ(j["data"]["status"], "transcribing");
  EXPECT_EQ(j["data"]["previous"], "queued");
  EXPECT_GT(j["at"].get<std::int64_t>(), 1'700'000'000'000);

  auto after = events.read_after(bid_a_, *id1);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 1U);
  EXPECT_EQ((*after)[0].id, *id2);
  auto none = events.read_after(bid_a_, *id2);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  auto last = events.last_id(bid_a_);
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, *id2);
  auto empty = events.last_id("nobody" + unique_suffix());
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "");

  auto bad = events.read_after(bid_a_, "0-0 OR 1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(metrics.serialize().find("earshot_live_events_published_total 3"), std::string::npos);
}

TEST_F(LiveEventsTest, StreamIsTrimmedToItsMaximumLength) {
  LiveEvents events(*redis_, SystemClock::instance(), nullptr, 10);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(events.publish(bid_a_, "t", {{"i", i}}));
  auto len = redis_->command({"XLEN", live_events_key(bid_a_)});
  ASSERT_TRUE(len);
  // MAXLEN ~ trims whole nodes (100 entries by default): approximately, never unbounded.
  EXPECT_LT(len->integer, 200);
  auto newest = events.read_after(bid_a_, "", 1000);
  ASSERT_TRUE(newest);
  EXPECT_EQ(nlohmann::json::parse(newest->back().json)["data"]["i"], 499);
}

TEST_F(LiveEventsTest, PublishFailureIsCountedNotThrown) {
  RedisSettings dead;
  dead.url = "redis://127.0.0.1:1/0";
  dead.timeout = 200ms;
  auto client = RedisClient::make(dead, 1);
  ASSERT_TRUE(client);
  Metrics metrics("test", "0", "x");
  LiveEvents events(**client, SystemClock::instance(), &metrics);
  EXPECT_FALSE(events.publish(bid_a_, "call.status", {{"call_id", 1}}).has_value());
  EXPECT_NE(metrics.serialize().find("earshot_live_events_errors_total 1"), std::string::npos);
}

TEST_F(LiveEventsTest, SubscriberReceivesEveryBusinessWithItsIdAndResubscribes) {
  std::mutex mu;
  std::vector<std::pair<std::string, LiveEvent>> got;
  std::atomic<int> subscriptions{0};
  LiveEventSubscriber sub(
      settings_,
      [&](const std::string& bid, const LiveEvent& e) {
        std::lock_guard lock(mu);
        got.emplace_back(bid, e);
      },
      [&] { subscriptions.fetch_add(1); }, "lesub" + bid_a_);
  ASSERT_TRUE(sub.start());
  ASSERT_TRUE(wait_until([&] { return sub.subscribed(); }, 10s));
  EXPECT_EQ(subscriptions.load(), 1);

  LiveEvents events(*redis_, SystemClock::instance());
  auto ida = events.publish(bid_a_, "call.status", {{"call_id", 7}, {"status", "analyzed"}});
  auto idb = events.publish(bid_b_, "call.status", {{"call_id", 8}, {"status", "failed"}});
  ASSERT_TRUE(ida && idb);
  auto count_for = [&](const std::string& bid) {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& [b, e] : got) n += b == bid ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return count_for(bid_a_) == 1 && count_for(bid_b_) == 1; }, 10s));
  {
    std::lock_guard lock(mu);
    for (const auto& [b, e] : got) {
      if (b != bid_a_) continue;
      EXPECT_EQ(e.id, *ida);
      EXPECT_EQ(e.type, "call.status");
      auto j = nlohmann::json::parse(e.json);
      EXPECT_EQ(j["id"], *ida);
      EXPECT_EQ(j["data"]["call_id"], 7);
    }
  }

  // Kill the subscriber's connection on the server: it must reconnect and say so.
  auto list = redis_->command({"CLIENT", "LIST"});
  ASSERT_TRUE(list);
  std::string client_id;
  const std::string needle = " name=lesub" + bid_a_ + " ";
  for (std::size_t pos = 0; pos < list->str.size();) {
    auto eol = list->str.find('\n', pos);
    std::string line = list->str.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    if (line.find(needle) != std::string::npos && line.starts_with("id=")) {
      client_id = line.substr(3, line.find(' ') - 3);
    }
    if (eol == std::string::npos) break;
    pos = eol + 1;
  }
  ASSERT_FALSE(client_id.empty()) << list->str;
  auto kill = redis_->command({"CLIENT", "KILL", "ID", client_id});
  ASSERT_TRUE(kill) << kill.error().message;
  ASSERT_TRUE(wait_until([&] { return subscriptions.load() >= 2 && sub.subscribed(); }, 15s));
  ASSERT_TRUE(events.publish(bid_a_, "call.status", {{"call_id", 9}}));
  EXPECT_TRUE(wait_until([&] { return count_for(bid_a_) == 2; }, 10s));
  sub.stop();
  EXPECT_FALSE(sub.subscribed());
}

}  // namespace
}  // namespace earshot::cache
