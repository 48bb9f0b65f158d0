// GET /api/v1/events through the real earshot-gateway binary, the real Redis and a migrated
// scratch database: tenant isolation, Last-Event-ID resume, heartbeats, the stream caps (in
// all and per business), disconnects that free their place, and shutdown with streams open.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "earshot/cache/live_events.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "process.hpp"
#include "sse_client.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "correct horse battery";

class LiveEventsE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto ep = endpoints();
    admin_port_ = free_port();
    port_ = free_port();
    std::map<std::string, std::string> env = fleet_child_env();
    env.insert({
        {"EARSHOT_ADMIN_PORT", std::to_string(admin_port_)},
        {"EARSHOT_HTTP_PORT", std::to_string(port_)},
        {"EARSHOT_HTTP_THREADS", "2"},  // streams hold no handler thread
        {"EARSHOT_SSE_MAX_CLIENTS", "3"},
        {"EARSHOT_SSE_MAX_CLIENTS_PER_BUSINESS", "2"},
        {"EARSHOT_SSE_HEARTBEAT", "300ms"},
        {"EARSHOT_CALLS_CACHE_TTL", "60s"},
        {"EARSHOT_RATE_LIMIT_ENABLED", "false"},
        {"EARSHOT_JWT_SECRET", std::string(40, 'e') + unique_suffix()},
        {"EARSHOT_DEPENDENCY_CHECK_INTERVAL", "200ms"},
        {"EARSHOT_SHUTDOWN_GRACE", "5s"},
    });
    gateway_ = new ChildProcess(std::string(EARSHOT_BIN_DIR) + "/earshot-gateway", {}, env);
    ASSERT_TRUE(gateway_->start());
    const bool up = wait_until(
        [] { return http_get("127.0.0.1", admin_port_, "/readyz").status == 200 || !gateway_->running(); }, 30s);
    ASSERT_TRUE(up && gateway_->running()) << gateway_->output();

    storage::MySqlUserRepository users(StorageEnvironment::db());
    const std::string root = fmt::format("root-{}@platform.test", unique_suffix());
    ASSERT_TRUE(users.create_platform_admin(root, *crypto::hash_password(kPassword)));
    const auto platform = login(root, "");
    for (auto* bid : {&bid_a_, &bid_b_}) {
      *bid = "ev-" + unique_suffix();
      auto r = call("POST", "/api/v1/admin/businesses", platform,
                    {{"bid", *bid},
                     {"name", "Events " + *bid},
                     {"admin_email", "admin@" + *bid + ".test"},
                     {"admin_password", kPassword}});
      ASSERT_EQ(r.first, 201) << r.second;
    }
    token_a_ = login("admin@" + bid_a_ + ".test", bid_a_);
    token_b_ = login("admin@" + bid_b_ + ".test", bid_b_);

    cache::RedisSettings rs;
    rs.url = ep.redis_url;
    rs.timeout = 2s;
    redis_ = cache::RedisClient::make(rs, 2)->release();
    events_ = new cache::LiveEvents(*redis_, SystemClock::instance());
  }

  static void TearDownTestSuite() {
    if (redis_ != nullptr) {
      (void)redis_->command({"DEL", cache::live_events_key(bid_a_), cache::live_events_key(bid_b_)});
    }
    delete events_;
    delete redis_;
    delete gateway_;
    queue::AmqpSettings amqp;
    amqp.url = endpoints().amqp_url;
    amqp.heartbeat = 30s;
    amqp.connect_timeout = 5s;
    queue::TopologyAdmin admin(amqp, queue::TopologySettings{});
    for (const auto& bid : {bid_a_, bid_b_}) {
      for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, bid);
    }
  }

  static std::pair<int, std::string> call(const std::string& method, const std::string& path, const std::string& token,
                                          const json& body = nullptr) {
    return gateway_call(port_, method, path, token, body);
  }

  static std::string login(const std::string& email, const std::string& bid) {
    auto token = gateway_login(port_, email, kPassword, bid);
    EXPECT_FALSE(token.empty()) << "login of " << email << " refused";
    return token;
  }

  static std::string publish(const std::string& bid, std::int64_t call_id, const std::string& status) {
    auto id = events_->publish(bid, "call.status", {{"call_id", call_id}, {"status", status}, {"previous", "queued"}});
    EXPECT_TRUE(id.has_value());
    return id.value_or("");
  }

  static double metric(const std::string& name) {
    auto m = http_get("127.0.0.1", admin_port_, "/metrics");
    auto pos = m.body.find("\n" + name + " ");
    if (pos == std::string::npos) return -1;
    return std::stod(m.body.substr(pos + name.size() + 2));
  }

  static inline ChildProcess* gateway_ = nullptr;
  static inline int port_ = 0;
  static inline int admin_port_ = 0;
  static inline std::string bid_a_, bid_b_, token_a_, token_b_;
  static inline cache::RedisClient* redis_ = nullptr;
  static inline cache::LiveEvents* events_ = nullptr;
};

TEST_F(LiveEventsE2E, EventsReachOnlyTheirBusinessInOrderWithStreamIds) {
  SseClient a(port_, token_a_);
  SseClient b(port_, token_b_);
  ASSERT_TRUE(wait_until([&] { return a.connected() && b.connected(); }, 10s));
  EXPECT_EQ(a.status(), 200);
  EXPECT_EQ(a.content_type(), "text/event-stream");

  std::vector<std::string> ids_a;
  for (int i = 1; i <= 5; ++i) ids_a.push_back(publish(bid_a_, i, "analyzed"));
  const std::string id_b = publish(bid_b_, 99, "failed");

  ASSERT_TRUE(wait_until([&] { return a.count() == 5 && b.count() == 1; }, 10s)) << a.count() << " " << b.count();
  auto got = a.events();
  for (std::size_t i = 0; i < ids_a.size(); ++i) {
    EXPECT_EQ(got[i].id, ids_a[i]);
    EXPECT_EQ(got[i].type, "call.status");
    EXPECT_EQ(got[i].data["bid"], bid_a_);
    EXPECT_EQ(got[i].data["id"], ids_a[i]);
    EXPECT_EQ(got[i].data["data"]["call_id"], static_cast<int>(i) + 1);
  }
  auto other = b.events();
  ASSERT_EQ(other.size(), 1U);
  EXPECT_EQ(other[0].id, id_b);
  EXPECT_EQ(other[0].data["bid"], bid_b_);
  EXPECT_EQ(other[0].data["data"]["call_id"], 99);
  // Nothing of B ever reached A (and the reverse): wait for heartbeats to be sure both
  // streams were flushed past the publish.
  const int hb = a.heartbeats();
  ASSERT_TRUE(wait_until([&] { return a.heartbeats() > hb + 1; }, 10s));
  for (const auto& e : a.events()) EXPECT_EQ(e.data["bid"], bid_a_);
  EXPECT_EQ(b.count(), 1U);
}

TEST_F(LiveEventsE2E, ResumeWithLastEventIdReplaysWhatWasMissedThenGoesLive) {
  const std::string before = publish(bid_a_, 1000, "queued");
  std::string last_seen;
  {
    SseClient first(port_, token_a_, before, 2);
    publish(bid_a_, 1001, "transcribing");
    publish(bid_a_, 1002, "transcribed");
    ASSERT_TRUE(wait_until([&] { return first.finished(); }, 10s));
    auto got = first.events();
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0].data["data"]["call_id"], 1001);
    last_seen = got[1].id;
  }
  // Published while no client was connected.
  const std::string missed1 = publish(bid_a_, 1003, "analyzing");
  const std::string missed2 = publish(bid_a_, 1004, "analyzed");
  publish(bid_b_, 2000, "failed");

  SseClient resumed(port_, token_a_, last_seen);
  ASSERT_TRUE(wait_until([&] { return resumed.count() >= 2; }, 10s));
  const std::string live = publish(bid_a_, 1005, "notified");
  ASSERT_TRUE(wait_until([&] { return resumed.count() >= 3; }, 10s));
  auto got = resumed.events();
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].id, missed1);
  EXPECT_EQ(got[1].id, missed2);
  EXPECT_EQ(got[2].id, live);
  EXPECT_EQ(got[2].data["data"]["status"], "notified");
}

TEST_F(LiveEventsE2E, BadLastEventIdIs400AndCredentialsAreRequired) {
  httplib::Client cli("127.0.0.1", port_);
  auto bad = cli.Get("/api/v1/events", {{"Authorization", "Bearer " + token_a_}, {"Last-Event-ID", "1' OR '1'='1"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["code"], "invalid_argument");
  auto anon = cli.Get("/api/v1/events");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401);
  auto unknown = cli.Get("/api/v1/events?bid=" + bid_b_, {{"Authorization", "Bearer " + token_a_}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
}

TEST_F(LiveEventsE2E, OneBusinessCannotTakeEveryStreamAndDisconnectsFreeTheirPlace) {
  // Caps: 3 streams in all, 2 per business; the gateway has only 2 handler threads.
  std::vector<std::unique_ptr<SseClient>> open;
  for (int i = 0; i < 2; ++i) open.push_back(std::make_unique<SseClient>(port_, token_a_));
  ASSERT_TRUE(wait_until(
      [&] {
        for (auto& c : open)
          if (!c->connected()) return false;
        return true;
      },
      10s));
  {
    // A's third stream: its business is at its cap.
    SseClient extra(port_, token_a_);
    ASSERT_TRUE(wait_until([&] { return extra.finished(); }, 10s));
    EXPECT_EQ(extra.status(), 503);
    EXPECT_EQ(extra.retry_after(), "5");
  }
  // Another business still gets in (and ordinary requests still get a thread).
  open.push_back(std::make_unique<SseClient>(port_, token_b_));
  ASSERT_TRUE(wait_until([&] { return open.back()->connected(); }, 10s));
  EXPECT_EQ(open.back()->status(), 200);
  EXPECT_EQ(metric("earshot_sse_clients"), 3);
  EXPECT_EQ(call("GET", "/api/v1/pipeline/status", token_a_).first, 200);
  {
    // Now the platform-wide cap answers.
    SseClient extra(port_, token_b_);
    ASSERT_TRUE(wait_until([&] { return extra.finished(); }, 10s));
    EXPECT_EQ(extra.status(), 503);
  }
  auto busy = httplib::Client("127.0.0.1", port_).Get("/api/v1/events", {{"Authorization", "Bearer " + token_a_}});
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_NE(json::parse(busy->body)["error"]["message"].get<std::string>().find("this business"), std::string::npos)
      << busy->body;
  // Hang up A's two: the server notices at once (the connection closes) and frees them.
  open[0]->hang_up();
  open[1]->hang_up();
  open[0]->join();
  open[1]->join();
  ASSERT_TRUE(wait_until([&] { return metric("earshot_sse_clients") == 1; }, 10s)) << metric("earshot_sse_clients");
  SseClient again(port_, token_a_);
  ASSERT_TRUE(wait_until([&] { return again.connected(); }, 10s));
  EXPECT_EQ(again.status(), 200);
}

TEST_F(LiveEventsE2E, ACallChangeElsewhereReachesTheCachedFirstPageThroughItsEvent) {
  const std::string path = "/api/v1/calls?limit=50&city=Springfield";
  auto items = [&] {
    auto r = call("GET", path, token_b_);
    EXPECT_EQ(r.first, 200) << r.second;
    return json::parse(r.second, nullptr, false)["items"];
  };
  ASSERT_TRUE(items().empty());
  ASSERT_TRUE(items().empty());  // now from the cache
  // A worker process records a call and publishes its status change.
  storage::MySqlCallRepository calls(StorageEnvironment::db());
  storage::CallInput in;
  in.external_id = "cache-" + unique_suffix();
  in.city = "Springfield";
  in.language = "en";
  in.started_at = storage::Timestamp(std::chrono::milliseconds(1'790'000'000'000LL));
  auto up = calls.upsert(*storage::TenantId::make(bid_b_), in);
  ASSERT_TRUE(up) << up.error().to_string();
  EXPECT_EQ(items().size(), 0U) << "no event yet: the cached page stands (until the TTL)";
  events_->publish(bid_b_, "call.status", {{"call_id", up->id}, {"status", "pending"}, {"previous", nullptr}});
  ASSERT_TRUE(wait_until([&] { return items().size() == 1; }, 5s));
  EXPECT_EQ(items()[0]["id"], up->id);
}

TEST_F(LiveEventsE2E, ALaterPageIsCachedToAndDroppedByTheSameEvent) {
  const std::string city = "Paging-" + unique_suffix();
  const auto tenant = *storage::TenantId::make(bid_b_);
  storage::MySqlCallRepository calls(StorageEnvironment::db());
  auto add_call = [&](const std::string& ext, std::int64_t start_ms) {
    storage::CallInput in;
    in.external_id = ext + "-" + unique_suffix();
    in.city = city;
    in.language = "en";
    in.started_at = storage::Timestamp(std::chrono::milliseconds(start_ms));
    auto up = calls.upsert(tenant, in);
    EXPECT_TRUE(up) << up.error().to_string();
    return up ? up->id : storage::Id{0};
  };
  for (int i = 0; i < 3; ++i) add_call(fmt::format("page-{}", i), 1'790'000'000'000LL + i * 1000);
  const std::string first = "/api/v1/calls?limit=2&city=" + city;
  auto r1 = call("GET", first, token_b_);
  ASSERT_EQ(r1.first, 200) << r1.second;
  const auto cursor = json::parse(r1.second)["next_cursor"];
  ASSERT_TRUE(cursor.is_string());
  const std::string second = first + "&cursor=" + cursor.get<std::string>();
  auto page2 = [&] {
    auto r = call("GET", second, token_b_);
    EXPECT_EQ(r.first, 200) << r.second;
    return json::parse(r.second, nullptr, false)["items"];
  };
  ASSERT_EQ(page2().size(), 1U);
  // An older call belongs on page 2; without an event the cached page 2 stands.
  const storage::Id older = add_call("page-older", 1'780'000'000'000LL);
  EXPECT_EQ(page2().size(), 1U) << "page 2 comes from the cache until the business changes";
  events_->publish(bid_b_, "call.status", {{"call_id", older}, {"status", "pending"}, {"previous", nullptr}});
  ASSERT_TRUE(wait_until([&] { return page2().size() == 2; }, 5s));
  EXPECT_EQ(page2()[1]["id"], older);
}

TEST_F(LiveEventsE2E, ZShutdownEndsOpenStreamsAndExitsCleanly) {
  SseClient a(port_, token_a_);
  SseClient b(port_, token_b_);
  ASSERT_TRUE(wait_until([&] { return a.connected() && b.connected(); }, 10s));
  gateway_->signal(SIGTERM);
  auto code = gateway_->wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << gateway_->output();
  EXPECT_EQ(*code, 0) << gateway_->output();
  EXPECT_TRUE(wait_until([&] { return a.finished() && b.finished(); }, 5s));
}

}  // namespace
}  // namespace earshot::testing
