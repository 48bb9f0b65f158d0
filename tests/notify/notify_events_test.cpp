// Live events of the notifier end to end: the real earshot-gateway and earshot-notify
// binaries, the real RabbitMQ (notify.{bid}), Redis and a migrated scratch database. A call
// made `analyzed` is announced on notify.{bid}; the notifier delivers its webhook to a local
// receiver and publishes `call.status` (notified) and `delivery.succeeded`, which reach the
// business's SSE client on GET /api/v1/events with the ids of the Redis stream and the
// delivery; another business's client gets none of them; a client that reconnects with
// Last-Event-ID gets what it missed, then live events.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "earshot/cache/live_events.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "process.hpp"
#include "queue_fixture.hpp"
#include "sse_client.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"
#include "webhook_receiver.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using storage::CallStatus;

constexpr const char* kPassword = "correct horse battery";
constexpr const char* kMasterKeys = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

// Stream ids "<ms>-<seq>" in order.
bool stream_before(const std::string& a, const std::string& b) {
  auto split = [](const std::string& id) {
    const auto dash = id.find('-');
    return std::pair{std::stoll(id.substr(0, dash)), dash == std::string::npos ? 0LL : std::stoll(id.substr(dash + 1))};
  };
  return split(a) < split(b);
}

// The events of `events` about `call_id` (data.data.call_id), in order.
std::vector<SseEvent> about(const std::vector<SseEvent>& events, std::int64_t call_id) {
  std::vector<SseEvent> out;
  for (const auto& e : events) {
    if (e.data.contains("data") && e.data["data"].value("call_id", std::int64_t{0}) == call_id) out.push_back(e);
  }
  return out;
}

const SseEvent* find_type(const std::vector<SseEvent>& events, const std::string& type) {
  for (const auto& e : events) {
    if (e.type == type) return &e;
  }
  return nullptr;
}

class NotifyEventsE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto ep = endpoints();
    std::map<std::string, std::string> common{
        {"EARSHOT_MYSQL_HOST", ep.mysql_host},
        {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
        {"EARSHOT_MYSQL_USER", ep.mysql_user},
        {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
        {"EARSHOT_MYSQL_DATABASE", StorageEnvironment::database_name()},
        {"EARSHOT_AMQP_URL", ep.amqp_url},
        {"EARSHOT_REDIS_URL", ep.redis_url},
        {"EARSHOT_MASTER_KEYS", kMasterKeys},
        {"EARSHOT_MASTER_KEY_ID", "k1"},
    };
    auto gw_env = common;
    gateway_admin_ = free_port();
    port_ = free_port();
    gw_env.insert({{"EARSHOT_ADMIN_PORT", std::to_string(gateway_admin_)},
                   {"EARSHOT_HTTP_PORT", std::to_string(port_)},
                   {"EARSHOT_HTTP_THREADS", "8"},
                   {"EARSHOT_SSE_MAX_CLIENTS", "4"},
                   {"EARSHOT_SSE_HEARTBEAT", "300ms"},
                   {"EARSHOT_RATE_LIMIT_ENABLED", "false"},
                   // Webhooks at the test's loopback receivers pass the save-time check.
                   {"EARSHOT_EGRESS_ALLOW", "127.0.0.1"},
                   {"EARSHOT_JWT_SECRET", std::string(40, 'n') + unique_suffix()},
                   {"EARSHOT_DEPENDENCY_CHECK_INTERVAL", "200ms"}});
    gateway_ = new ChildProcess(std::string(EARSHOT_BIN_DIR) + "/earshot-gateway", {}, gw_env);
    ASSERT_TRUE(gateway_->start());
    ASSERT_TRUE(wait_until([] { return ready(gateway_admin_) || !gateway_->running(); }, 30s) && gateway_->running())
        << gateway_->output();

    storage::MySqlUserRepository users(StorageEnvironment::db());
    const std::string root = fmt::format("root-{}@platform.test", unique_suffix());
    ASSERT_TRUE(users.create_platform_admin(root, *crypto::hash_password(kPassword)));
    const auto platform = login(root, "");
    for (auto* bid : {&bid_a_, &bid_b_}) {
      *bid = "ne-" + unique_suffix();
      auto r = call("POST", "/api/v1/admin/businesses", platform,
                    {{"bid", *bid},
                     {"name", "Notify events " + *bid},
                     {"admin_email", "admin@" + *bid + ".test"},
                     {"admin_password", kPassword}});
      ASSERT_EQ(r.first, 201) << r.second;
    }
    token_a_ = login("admin@" + bid_a_ + ".test", bid_a_);
    token_b_ = login("admin@" + bid_b_ + ".test", bid_b_);

    // The businesses exist (and their queues) before the notifier starts consuming.
    auto nt_env = common;
    notify_admin_ = free_port();
    nt_env.insert({{"EARSHOT_ADMIN_PORT", std::to_string(notify_admin_)},
                   // The test's receivers listen on loopback ports chosen later: the operator allow
                   // list names the address (the platform's own ports stay refused).
                   {"EARSHOT_EGRESS_ALLOW", "127.0.0.1"},
                   {"EARSHOT_NOTIFY_POLL_INTERVAL", "50ms"},
                   {"EARSHOT_NOTIFY_PUBLIC_URL", "https://app.events.test"}});
    notify_ = new ChildProcess(std::string(EARSHOT_BIN_DIR) + "/earshot-notify", {}, nt_env);
    ASSERT_TRUE(notify_->start());
    ASSERT_TRUE(wait_until([] { return ready(notify_admin_) || !notify_->running(); }, 30s) && notify_->running())
        << notify_->output();

    cache::RedisSettings rs;
    rs.url = ep.redis_url;
    rs.timeout = 2s;
    redis_ = cache::RedisClient::make(rs, 2)->release();
    live_ = new cache::LiveEvents(*redis_, SystemClock::instance());
  }

  static void TearDownTestSuite() {
    if (redis_ != nullptr) {
      (void)redis_->command({"DEL", cache::live_events_key(bid_a_), cache::live_events_key(bid_b_)});
    }
    delete live_;
    delete redis_;
    for (auto* child : {notify_, gateway_}) {
      if (child == nullptr) continue;
      child->signal(SIGTERM);
      (void)child->wait_exit(20s);
      delete child;
    }
    queue::TopologyAdmin admin(queue::testing::test_amqp_settings(), queue::TopologySettings{});
    for (const auto& bid : {bid_a_, bid_b_}) {
      if (bid.empty()) continue;
      for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, bid);
    }
  }

  static bool ready(int admin_port) { return http_get("127.0.0.1", admin_port, "/readyz").status == 200; }

  static std::pair<int, std::string> call(const std::string& method, const std::string& path, const std::string& token,
                                          const json& body = nullptr) {
    return gateway_call(port_, method, path, token, body);
  }

  static std::string login(const std::string& email, const std::string& bid) {
    auto token = gateway_login(port_, email, kPassword, bid);
    EXPECT_FALSE(token.empty()) << "login of " << email << " refused";
    return token;
  }

  // A call of `bid` that went through transcription and analysis (as the workers leave it).
  static storage::Id analyzed_call(const std::string& bid, const std::string& external_id) {
    const auto t = *storage::TenantId::make(bid);
    storage::MySqlCallRepository calls(StorageEnvironment::db());
    storage::CallInput in;
    in.external_id = external_id;
    in.customer_name = "Ann";
    in.customer_phone = "+14155550100";
    in.duration_ms = 40000;
    in.started_at = storage::to_timestamp(std::chrono::system_clock::now());
    auto up = calls.upsert(t, in);
    EXPECT_TRUE(up) << up.error().to_string();
    if (!up) return 0;
    for (auto [from, to] : {std::pair{CallStatus::kPending, CallStatus::kTranscribing},
                            {CallStatus::kTranscribing, CallStatus::kTranscribed},
                            {CallStatus::kTranscribed, CallStatus::kAnalyzing},
                            {CallStatus::kAnalyzing, CallStatus::kAnalyzed}}) {
      auto moved = calls.advance(t, up->id, from, to);
      EXPECT_TRUE(moved && *moved);
    }
    return up->id;
  }

  // What the analyze stage sends when it is done with a call: a message on notify.{bid}.
  static void announce(const std::string& bid, storage::Id call_id) {
    queue::Publisher pub(queue::testing::test_amqp_settings(), {});
    pub.start();
    queue::Envelope env;
    env.bid = bid;
    env.stage = queue::Stage::kNotify;
    env.trace_id = "trace-" + unique_suffix();
    const json body{
        {"schema_version", 1}, {"bid", bid}, {"call_id", std::to_string(call_id)}, {"event", "call.analyzed"}};
    ASSERT_TRUE(pub.publish(queue::make_stage_message(queue::TopologySettings{}, env, body.dump())));
  }

  // The delivery log entry (API) of the call's webhook.
  static json delivery_of(std::int64_t sub, storage::Id call_id) {
    auto r = call("GET", fmt::format("/api/v1/webhooks/{}/deliveries", sub), token_a_);
    EXPECT_EQ(r.first, 200) << r.second;
    for (const auto& d : json::parse(r.second, nullptr, false).value("items", json::array())) {
      if (d["call_id"] == call_id) return d;
    }
    return nullptr;
  }

  // Checks one `call.status` and one `delivery.succeeded` of `call_id` against what the
  // receiver got and the delivery log.
  static void expect_call_events(const std::vector<SseEvent>& events, const std::string& bid, storage::Id call_id,
                                 std::int64_t sub, const WebhookReceiver& rx) {
    const auto mine = about(events, call_id);
    const auto* status = find_type(mine, "call.status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->data["bid"], bid);
    EXPECT_EQ(status->data["id"], status->id);
    EXPECT_EQ(status->data["data"]["status"], "notified");
    EXPECT_EQ(status->data["data"]["previous"], "analyzed");
    const auto* delivered = find_type(mine, "delivery.succeeded");
    ASSERT_NE(delivered, nullptr);
    EXPECT_EQ(delivered->data["bid"], bid);
    EXPECT_EQ(delivered->data["id"], delivered->id);
    const auto& d = delivered->data["data"];
    EXPECT_EQ(d["channel"], "webhook");
    EXPECT_EQ(d["event_type"], "call.analyzed");
    EXPECT_EQ(d["subscription_id"], sub);
    EXPECT_EQ(d["attempt"], 1);
    EXPECT_EQ(d["response_code"], 200);
    // The event id the receiver saw (X-Earshot-Event-Id) and the delivery row of the log.
    std::string received_id;
    for (const auto& r : rx.accepted()) {
      if (json::parse(r.body, nullptr, false)["data"]["call"]["id"] == call_id) received_id = r.event_id;
    }
    EXPECT_FALSE(received_id.empty());
    EXPECT_EQ(d["event_id"], received_id);
    const auto logged = delivery_of(sub, call_id);
    ASSERT_TRUE(logged.is_object());
    EXPECT_EQ(d["delivery_id"], logged["id"]);
    EXPECT_EQ(logged["event_id"], received_id);
    EXPECT_EQ(logged["status"], "delivered");
  }

  static inline ChildProcess* gateway_ = nullptr;
  static inline ChildProcess* notify_ = nullptr;
  static inline int port_ = 0;
  static inline int gateway_admin_ = 0;
  static inline int notify_admin_ = 0;
  static inline std::string bid_a_, bid_b_, token_a_, token_b_;
  static inline cache::RedisClient* redis_ = nullptr;
  static inline cache::LiveEvents* live_ = nullptr;
};

TEST_F(NotifyEventsE2E, CallStatusAndDeliveryEventsReachTheBusinessSseClientAndResumeReplaysMissedOnes) {
  const std::string secret = "whsec_events_" + unique_suffix();
  WebhookReceiver rx(secret);
  ASSERT_TRUE(rx.start());
  auto created = call("POST", "/api/v1/webhooks", token_a_,
                      {{"url", rx.url()}, {"events", {"call.analyzed"}}, {"secret", secret}});
  ASSERT_EQ(created.first, 201) << created.second;
  const std::int64_t sub = json::parse(created.second)["id"];

  auto a = std::make_unique<SseClient>(port_, token_a_);
  SseClient b(port_, token_b_);
  ASSERT_TRUE(wait_until([&] { return a->connected() && b.connected(); }, 10s));

  // 1. Live: the call is announced, notified and its webhook delivered.
  const auto first = analyzed_call(bid_a_, "ev-1-" + unique_suffix());
  ASSERT_GT(first, 0);
  announce(bid_a_, first);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto mine = about(a->events(), first);
        return find_type(mine, "call.status") != nullptr && find_type(mine, "delivery.succeeded") != nullptr;
      },
      30s))
      << a->count() << " events; notify: " << notify_->output();
  EXPECT_EQ(rx.accepted_count(), 1);
  EXPECT_EQ(rx.bad_signatures(), 0);
  expect_call_events(a->events(), bid_a_, first, sub, rx);
  // In stream order, each id after the previous one, all of business A.
  const auto seen = a->events();
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].data["bid"], bid_a_);
    if (i > 0) {
      EXPECT_TRUE(stream_before(seen[i - 1].id, seen[i].id)) << seen[i - 1].id << " " << seen[i].id;
    }
  }
  // Business B's client saw none of it: two heartbeats after A's events prove its stream
  // was flushed past them.
  const int hb = b.heartbeats();
  ASSERT_TRUE(wait_until([&] { return b.heartbeats() > hb + 1; }, 10s));
  EXPECT_EQ(b.count(), 0U);

  // 2. Disconnected: a second call is notified and delivered while nobody listens.
  const std::string last_seen = a->events().back().id;
  a->hang_up();
  a.reset();
  const auto second = analyzed_call(bid_a_, "ev-2-" + unique_suffix());
  ASSERT_GT(second, 0);
  announce(bid_a_, second);
  // Both of its events are in the business's stream (what the gateway replays from).
  auto published = [&] {
    auto missed = live_->read_after(bid_a_, last_seen);
    if (!missed) return false;
    bool status = false, delivered = false;
    for (const auto& e : *missed) {
      if (json::parse(e.json, nullptr, false)["data"].value("call_id", std::int64_t{0}) != second) continue;
      status = status || e.type == "call.status";
      delivered = delivered || e.type == "delivery.succeeded";
    }
    return status && delivered;
  };
  ASSERT_TRUE(wait_until(published, 30s)) << notify_->output();
  const auto missed = live_->read_after(bid_a_, last_seen);
  ASSERT_TRUE(missed);

  // 3. Reconnected with Last-Event-ID: exactly what was missed, in order, then live.
  SseClient resumed(port_, token_a_, last_seen);
  ASSERT_TRUE(wait_until([&] { return resumed.count() >= missed->size(); }, 10s)) << resumed.count();
  auto replayed = resumed.events();
  for (std::size_t i = 0; i < missed->size(); ++i) {
    EXPECT_EQ(replayed[i].id, (*missed)[i].id);
    EXPECT_EQ(replayed[i].type, (*missed)[i].type);
    EXPECT_TRUE(stream_before(last_seen, replayed[i].id));
  }
  EXPECT_TRUE(about(replayed, first).empty()) << "nothing seen before the disconnect is sent again";
  expect_call_events(replayed, bid_a_, second, sub, rx);

  const auto third = analyzed_call(bid_a_, "ev-3-" + unique_suffix());
  ASSERT_GT(third, 0);
  announce(bid_a_, third);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto mine = about(resumed.events(), third);
        return find_type(mine, "call.status") != nullptr && find_type(mine, "delivery.succeeded") != nullptr;
      },
      30s))
      << resumed.count();
  expect_call_events(resumed.events(), bid_a_, third, sub, rx);
  EXPECT_EQ(rx.accepted_count(), 3);
  EXPECT_EQ(rx.duplicates(), 0);
  EXPECT_EQ(b.count(), 0U);
}

}  // namespace
}  // namespace earshot::testing
