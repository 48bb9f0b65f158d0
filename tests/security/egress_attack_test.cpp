// Attack suite for the one outbound policy: the REAL worker binaries (earshot-sync,
// earshot-stt) against the real MariaDB/RabbitMQ/Redis, with businesses whose configuration
// points every destination field (source database, CRM, transcript feed, speech provider)
// at loopback listeners the test owns, at the platform's own database port, and at private,
// link-local, decimal, octal and IPv4-mapped spellings of internal addresses. Each attack
// must fail with "destination not allowed" and contact nothing; the positive controls (the
// same setups aimed at a destination the operator named in egress_allow) must get through,
// so the suite fails if the policy stopped distinguishing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <csignal>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "earshot/audio/wav_writer.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/ingest/twilio.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/sync/sync.hpp"
#include "fakes/twilio/fake_twilio.hpp"
#include "security/egress_listener.hpp"
#include "storage_fixture.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

std::string bin(const std::string& name) {
  return std::string(EARSHOT_BIN_DIR) + "/" + name;
}

// The environment every worker binary gets: the test services and this binary's database.
std::map<std::string, std::string> worker_env(const std::string& master_keys, int admin_port) {
  const auto ep = endpoints();
  return {{"EARSHOT_MYSQL_HOST", ep.mysql_host},
          {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
          {"EARSHOT_MYSQL_USER", ep.mysql_user},
          {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
          {"EARSHOT_MYSQL_DATABASE", StorageEnvironment::database_name()},
          {"EARSHOT_AMQP_URL", ep.amqp_url},
          {"EARSHOT_REDIS_URL", ep.redis_url},
          {"EARSHOT_MASTER_KEYS", master_keys},
          {"EARSHOT_MASTER_KEY_ID", "k1"},
          {"EARSHOT_ADMIN_PORT", std::to_string(admin_port)},
          {"EARSHOT_DEPENDENCY_CHECK_INTERVAL", "200ms"},
          {"EARSHOT_LOG_LEVEL", "warn"}};
}

// The tenant-named origins every HTTP attack tries: the test's counting listener by each
// spelling a resolver accepts for loopback, the platform's database port, a private and the
// metadata address. Each test adds its own allowed control.
std::vector<std::pair<std::string, std::string>> hostile_origins(int listener_port, int mysql_port) {
  const auto lp = std::to_string(listener_port);
  return {{"listener", "http://127.0.0.1:" + lp},
          {"listener decimal", "http://2130706433:" + lp},
          {"listener octal", "http://0177.0.0.1:" + lp},
          {"listener ipv4-mapped", "http://[::ffff:127.0.0.1]:" + lp},
          {"listener by name", "http://localhost:" + lp},
          {"platform mariadb port", fmt::format("http://127.0.0.1:{}", mysql_port)},
          {"private", "http://10.0.0.1:11434"},
          {"metadata", "http://169.254.169.254"}};
}

// A database on the platform's MariaDB server holding "another business's" calls in a shape
// a source-database mapping can read: what a tenant would steal by naming that server.
class VictimDatabase {
 public:
  VictimDatabase() : name_("earshot_victim_" + unique_suffix()) {
    storage::Database admin(mysql_settings("", 1));
    EXPECT_TRUE(admin.execute(fmt::format("CREATE DATABASE `{}` CHARACTER SET utf8mb4", name_)));
    db_ = std::make_unique<storage::Database>(mysql_settings(name_, 2));
    EXPECT_TRUE(db_->execute(
        "CREATE TABLE pbx_calls (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, call_uuid VARCHAR(64) NOT NULL, "
        "phone VARCHAR(32) NULL, started DATETIME(3) NOT NULL, dur INT NULL, recording VARCHAR(255) NULL, "
        "updated_at DATETIME(3) NOT NULL, KEY ix_updated (updated_at, id)) ENGINE=InnoDB"));
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(db_->execute(
          "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, updated_at) VALUES "
          "(?, '+15550001111', UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, 30, ?, UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)",
          {fmt::format("victim-{}", i), fmt::format("https://r.example/victim-{}.wav", i)}));
    }
  }
  ~VictimDatabase() {
    db_.reset();
    storage::Database admin(mysql_settings("", 1));
    (void)admin.execute(fmt::format("DROP DATABASE IF EXISTS `{}`", name_));
  }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::unique_ptr<storage::Database> db_;
};

class EgressAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    master_keys = "k1:" + crypto::Keyring::generate_key_base64();
    auto keys = crypto::Keyring::parse(master_keys, "k1");
    ASSERT_TRUE(keys);
    keyring.emplace(std::move(*keys));
    configs = std::make_unique<storage::MySqlPipelineConfigRepository>(StorageEnvironment::db(), *keyring);
  }

  storage::TenantId business(const storage::PipelineConfig& c, const std::string& prefix = "eg") {
    auto t = new_tenant(prefix);
    auto st = configs->put(t, c);
    EXPECT_TRUE(st) << st.error().to_string();
    return t;
  }

  std::int64_t count(const storage::TenantId& t, const std::string& sql) {
    auto r = StorageEnvironment::db().execute(sql, {t.bid()});
    if (!r || r->rows.empty()) return -1;
    return r->rows[0][0].as_int();
  }

  std::string watermark(const storage::TenantId& t, std::string_view source) {
    storage::MySqlWatermarkRepository w(StorageEnvironment::db());
    auto v = w.get(t, source);
    return v && *v ? **v : std::string();
  }

  std::string master_keys;
  std::optional<crypto::Keyring> keyring;
  std::unique_ptr<storage::MySqlPipelineConfigRepository> configs;
};

storage::PipelineConfig source_db_config(const std::string& host, int port, const std::string& database) {
  const auto ep = endpoints();
  storage::PipelineConfig c;
  c.source_db_json = Json{
      {"kind", "mariadb"},     {"host", host},         {"port", port},       {"database", database},
      {"user", ep.mysql_user}, {"table", "pbx_calls"}, {"every_seconds", 1}, {"safety_lag_seconds", 0},
      {"batch_size", 50}}.dump();
  c.column_mapping_json =
      Json{{"external_id", "call_uuid"}, {"customer_phone", "phone"}, {"started_at", "started"},
           {"duration", "dur"},          {"audio_url", "recording"},  {"watermark_time", "updated_at"},
           {"watermark_id", "id"}}
          .dump();
  c.secrets["source_db_password"] = ep.mysql_password;  // credentials that work on the platform's server
  return c;
}

// The sync worker: a business's source database named as the platform's own MariaDB (by
// every spelling), a loopback listener, private and link-local addresses is refused before
// any connection and reported as "destination not allowed"; no row of the victim database
// becomes a call. The same source reached through an address the operator allowed imports
// every row (the mapping works, so the refusals are the policy's doing).
TEST_F(EgressAttack, SyncWorkerSourceDatabaseCrmAndFeedsReachOnlyAllowedDestinations) {
  const auto ep = endpoints();
  VictimDatabase victim;
  CountingListener listener;                                  // must never be contacted
  CountingListener allowed_listener;                          // the positive control for CRM
  CountingListener redirector(listener.url("/rows"));         // operator-allowed, redirects inward
  TcpForwarder allowed_source(ep.mysql_host, ep.mysql_port);  // "the business's own DB server"
  ASSERT_TRUE(listener.ok() && allowed_listener.ok() && redirector.ok() && allowed_source.ok());

  struct Attack {
    std::string name;
    std::string host;
    int port;
  };
  const std::vector<Attack> attacks = {
      {"platform mariadb", "127.0.0.1", ep.mysql_port},
      {"platform mariadb by name", "localhost", ep.mysql_port},
      {"platform mariadb ipv4-mapped", "::ffff:127.0.0.1", ep.mysql_port},
      {"loopback listener", "127.0.0.1", listener.port()},
      {"loopback listener decimal", "2130706433", listener.port()},
      {"loopback listener octal", "0177.0.0.1", listener.port()},
      {"loopback listener short", "127.1", listener.port()},
      {"loopback listener ipv4-mapped hex", "::ffff:7f00:1", listener.port()},
      {"loopback v6", "::1", listener.port()},
      {"private", "10.0.0.1", 3306},
      {"link-local metadata", "169.254.169.254", 3306},
      {"unspecified", "0.0.0.0", listener.port()},
  };
  std::vector<std::pair<Attack, storage::TenantId>> attackers;
  for (const auto& a : attacks) attackers.emplace_back(a, business(source_db_config(a.host, a.port, victim.name())));
  const auto control = business(source_db_config("127.0.0.1", allowed_source.port(), victim.name()));

  // CRM and feed destinations: a loopback listener, and an allowed server redirecting to it.
  storage::PipelineConfig crm;
  crm.crm_json = Json{{"provider", "leadsquared"}, {"base_url", listener.url("")}, {"timeout_seconds", 5}}.dump();
  crm.secrets["crm_access_key"] = "ak";
  crm.secrets["crm_secret_key"] = "sk";
  const auto crm_attacker = business(crm);
  storage::PipelineConfig crm_ok = crm;
  crm_ok.crm_json =
      Json{{"provider", "leadsquared"}, {"base_url", allowed_listener.url("")}, {"timeout_seconds", 5}}.dump();
  const auto crm_control = business(crm_ok);
  storage::PipelineConfig feed;
  feed.source_db_json =
      Json{{"feeds",
            {{{"name", "direct"}, {"base_url", listener.url("")}, {"dataset", "a/b"}, {"timeout_seconds", 5}},
             {{"name", "redirected"}, {"base_url", redirector.url("")}, {"dataset", "a/b"}, {"timeout_seconds", 5}}}}}
          .dump();
  const auto feed_attacker = business(feed);

  const int admin = free_port();
  auto env = worker_env(master_keys, admin);
  env["EARSHOT_SYNC_CONFIG_REFRESH"] = "1s";
  env["EARSHOT_SYNC_RETRY_AFTER_FAILURE"] = "1s";
  // The operator allows the business's own server, the CRM control and the redirector, and
  // (a mistake) the platform's own database port: the platform endpoints stay refused.
  env["EARSHOT_EGRESS_ALLOW"] =
      fmt::format("127.0.0.1:{}, 127.0.0.1:{}, 127.0.0.1:{}, 127.0.0.1:{}", allowed_source.port(),
                  allowed_listener.port(), redirector.port(), ep.mysql_port);
  ChildProcess worker(bin("earshot-sync"), {}, env);
  ASSERT_TRUE(worker.start());

  // The positive control imports the victim's five rows through the allowed address.
  ASSERT_TRUE(wait_until([&] { return count(control, "SELECT COUNT(*) FROM call_records WHERE bid = ?") == 5; }, 60s))
      << worker.output();
  EXPECT_GT(allowed_source.accepted(), 0);
  // Every attacker's pass failed with the tenant-facing refusal, and imported nothing.
  for (const auto& [a, t] : attackers) {
    std::string status;
    EXPECT_TRUE(wait_until([&] { return !(status = watermark(t, sync::kDbStatusSource)).empty(); }, 30s))
        << a.name << "\n"
        << worker.output();
    EXPECT_NE(status.find("destination not allowed"), std::string::npos) << a.name << ": " << status;
    for (const char* leak : {"refused", "Connection", "timed out", "Can't connect", "loopback", "private"}) {
      EXPECT_EQ(status.find(leak), std::string::npos) << a.name << " shows the network's answer: " << status;
    }
    EXPECT_EQ(count(t, "SELECT COUNT(*) FROM call_records WHERE bid = ?"), 0) << a.name;
  }
  // CRM: the control reached its allowed listener; the attacker's never got a connection.
  EXPECT_TRUE(wait_until([&] { return allowed_listener.accepted() > 0; }, 30s)) << worker.output();
  // Feeds: the redirector (allowed) was asked, its redirect to the listener was not followed.
  EXPECT_TRUE(wait_until([&] { return redirector.accepted() > 0; }, 30s)) << worker.output();
  // Let a few more passes run (retry after failure: 1 s) before the final count.
  const auto metrics_seen = wait_until(
      [&] {
        const auto m = http_get("127.0.0.1", admin, "/metrics").body;
        return m.find("source=\"crm\"") != std::string::npos && m.find("source=\"feed\"") != std::string::npos;
      },
      30s, 200ms);
  EXPECT_TRUE(metrics_seen);
  EXPECT_TRUE(wait_until([&] { return redirector.accepted() >= 2; }, 30s));
  EXPECT_EQ(listener.accepted(), 0) << "a tenant destination on loopback was contacted";
  (void)crm_attacker;
  (void)crm_control;
  (void)feed_attacker;

  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait_exit(30s), std::optional<int>(0)) << worker.output();
}

// The stt worker: a business's speech provider (stt_options.base_url) at a loopback listener
// by every spelling, at the platform's database port, at private and metadata addresses, and
// a recording URL on an allowed server that redirects to the listener: each call fails with
// "destination not allowed" and the listener counts no connection. The control business's
// provider, named in egress_allow, is contacted.
TEST_F(EgressAttack, SttWorkerSpeechProvidersAndAudioUrlsReachOnlyAllowedDestinations) {
  const auto ep = endpoints();
  CountingListener listener;
  CountingListener allowed_provider;
  CountingListener redirector(listener.url("/audio.wav"));
  ASSERT_TRUE(listener.ok() && allowed_provider.ok() && redirector.ok());
  const std::string objects = ::testing::TempDir() + "earshot-egress-objects-" + unique_suffix();
  objectstore::LocalObjectStore store(objects);
  std::vector<float> samples(16000, 0.0f);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = (i / 40) % 2 == 0 ? 0.2f : -0.2f;
  const auto wav = audio::encode_wav_pcm16(samples, 16000);

  queue::AmqpSettings amqp;
  amqp.url = ep.amqp_url;
  queue::TopologySettings topology;
  ASSERT_TRUE(topology.resolve());
  queue::TopologyAdmin admin(amqp, topology);
  ASSERT_TRUE(admin.declare_exchanges());
  queue::Publisher publisher(amqp, {});
  publisher.start();
  storage::MySqlCallRepository calls(StorageEnvironment::db());

  // One business per destination, one call each. `audio_uri` empty: the stored recording.
  struct Case {
    std::string name;
    std::string base_url;
    std::string audio_url;
    bool allowed = false;
  };
  const auto lp = std::to_string(listener.port());
  std::vector<Case> cases = {
      {"listener", listener.url(""), ""},
      {"listener decimal", "http://2130706433:" + lp, ""},
      {"listener octal", "http://0177.0.0.1:" + lp, ""},
      {"listener short", "http://127.1:" + lp, ""},
      {"listener ipv4-mapped", "http://[::ffff:127.0.0.1]:" + lp, ""},
      {"listener ipv4-mapped hex", "http://[::ffff:7f00:1]:" + lp, ""},
      {"listener by name", "http://localhost:" + lp, ""},
      {"platform mariadb port", fmt::format("http://127.0.0.1:{}", ep.mysql_port), ""},
      {"private", "http://10.0.0.1:8080", ""},
      {"metadata", "http://169.254.169.254", ""},
      {"metadata v6", "http://[fd00:ec2::254]", ""},
      {"audio redirect", allowed_provider.url(""), redirector.url("/rec.wav")},
      {"control", allowed_provider.url(""), "", true},
  };
  std::vector<storage::TenantId> tenants;
  std::vector<storage::Id> call_ids;
  std::vector<queue::OutgoingMessage> batch;
  for (auto& c : cases) {
    storage::PipelineConfig cfg;
    cfg.stt_provider = "deepgram";
    cfg.stt_options_json = Json{{"base_url", c.base_url}, {"timeout_ms", 5000}, {"deadline_ms", 10000}}.dump();
    cfg.secrets["stt_api_key"] = "tenant-key";
    tenants.push_back(business(cfg, "es"));
    const auto& t = tenants.back();
    for (auto stage : queue::kAllStages) ASSERT_TRUE(admin.declare_business(stage, t.bid()));
    std::string uri = c.audio_url;
    if (uri.empty()) {
      auto stored = store.write(t.bid() + "/ingest/call.wav", std::vector<std::uint8_t>(wav.begin(), wav.end()));
      ASSERT_TRUE(stored) << stored.error().to_string();
      uri = *stored;
    }
    storage::CallInput in;
    in.external_id = "egress-1";
    in.audio_uri = uri;
    in.channels = 1;
    in.language = "en";
    in.direction = storage::CallDirection::kInbound;
    in.started_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    in.duration_ms = 1000;
    auto up = calls.upsert(t, in);
    ASSERT_TRUE(up) << up.error().to_string();
    call_ids.push_back(up->id);
    queue::Envelope env;
    env.bid = t.bid();
    env.stage = queue::Stage::kTranscribe;
    env.trace_id = queue::new_message_id();
    Json body{{"schema_version", 1},
              {"bid", t.bid()},
              {"call_id", std::to_string(up->id)},
              {"audio", {{"uri", uri}, {"format", "wav"}, {"sample_rate", 16000}, {"channels", 1}}},
              {"language", "en"}};
    batch.push_back(queue::make_stage_message(topology, env, body.dump()));
  }
  ASSERT_TRUE(publisher.publish_batch(std::move(batch)));
  publisher.stop();

  const int admin_port = free_port();
  auto env = worker_env(master_keys, admin_port);
  env["EARSHOT_OBJECT_STORE_DIR"] = objects;
  env["EARSHOT_QUEUE_RETRY_DELAYS"] = "300ms";
  env["EARSHOT_QUEUE_MAX_ATTEMPTS"] = "2";
  env["EARSHOT_EGRESS_ALLOW"] = fmt::format("127.0.0.1:{}, 127.0.0.1:{}, 127.0.0.1:{}", allowed_provider.port(),
                                            redirector.port(), ep.mysql_port);
  ChildProcess worker(bin("earshot-stt"), {}, env);
  ASSERT_TRUE(worker.start());

  auto failed_reason = [&](std::size_t i) -> std::optional<std::string> {
    auto r = StorageEnvironment::db().execute("SELECT status, failed_reason FROM call_records WHERE bid = ? AND id = ?",
                                              {tenants[i].bid(), call_ids[i]});
    if (!r || r->rows.empty() || r->rows[0][0].as_string() != "failed") return std::nullopt;
    return r->rows[0][1].is_null() ? std::string() : r->rows[0][1].as_string();
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    if (c.allowed) {
      // The provider named in egress_allow is reached (its empty JSON answer makes an empty
      // transcript or a parse failure: either way, not a refusal).
      EXPECT_TRUE(wait_until([&] { return allowed_provider.accepted() > 0; }, 90s)) << worker.output();
      const auto reason = failed_reason(i);
      if (reason) {
        EXPECT_EQ(reason->find("destination not allowed"), std::string::npos) << *reason;
      }
      continue;
    }
    std::optional<std::string> reason;
    EXPECT_TRUE(wait_until([&] { return (reason = failed_reason(i)).has_value(); }, 90s)) << c.name << "\n"
                                                                                          << worker.output();
    if (!reason) continue;
    EXPECT_NE(reason->find("destination not allowed"), std::string::npos) << c.name << ": " << *reason;
    for (const char* leak : {"loopback", "private", "metadata", "Connection", "refused by"}) {
      EXPECT_EQ(reason->find(leak), std::string::npos) << c.name << " shows the network's answer: " << *reason;
    }
  }
  EXPECT_GT(allowed_provider.accepted(), 0) << "the control's provider was never contacted";
  EXPECT_GT(redirector.accepted(), 0) << "the recording URL's first hop was never tried";
  EXPECT_EQ(listener.accepted(), 0) << "a tenant destination on loopback was contacted";

  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait_exit(30s), std::optional<int>(0)) << worker.output();
  for (const auto& t : tenants) {
    for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, t.bid());
  }
  (void)run_command("rm -rf '" + objects + "'");
}

// The notify worker: webhook and chat-hook URLs at a loopback listener by every spelling, at
// the platform's database port, at private and metadata addresses fail with "destination not
// allowed" in the delivery log and contact nothing; the control subscription, named in
// egress_allow, is delivered.
TEST_F(EgressAttack, NotifyWorkerWebhooksAndChatHooksReachOnlyAllowedDestinations) {
  const auto ep = endpoints();
  CountingListener listener;
  CountingListener allowed_receiver;
  ASSERT_TRUE(listener.ok() && allowed_receiver.ok());
  storage::MySqlDeliveryRepository store(StorageEnvironment::db(), *keyring);
  queue::AmqpSettings amqp;
  amqp.url = ep.amqp_url;
  queue::TopologySettings topology;
  ASSERT_TRUE(topology.resolve());
  queue::TopologyAdmin admin(amqp, topology);
  ASSERT_TRUE(admin.declare_exchanges());

  const auto lp = std::to_string(listener.port());
  struct Case {
    std::string name;
    std::string url;
    storage::DeliveryChannel channel = storage::DeliveryChannel::kWebhook;
    bool allowed = false;
  };
  const std::vector<Case> cases = {
      {"webhook listener", listener.url("/hook")},
      {"webhook decimal", "http://2130706433:" + lp + "/hook"},
      {"webhook octal", "http://0177.0.0.1:" + lp + "/hook"},
      {"webhook ipv4-mapped", "http://[::ffff:127.0.0.1]:" + lp + "/hook"},
      {"webhook by name", "http://localhost:" + lp + "/hook"},
      {"webhook platform mariadb", fmt::format("http://127.0.0.1:{}/", ep.mysql_port)},
      {"webhook private", "http://192.168.1.10/hook"},
      {"webhook metadata", "http://169.254.169.254/latest/meta-data/"},
      {"chat hook listener", listener.url("/chat"), storage::DeliveryChannel::kChat},
      {"chat hook short", "http://127.1:" + lp + "/chat", storage::DeliveryChannel::kChat},
      {"control", allowed_receiver.url("/hook"), storage::DeliveryChannel::kWebhook, true},
  };
  std::vector<std::pair<storage::TenantId, storage::Id>> deliveries;
  for (const auto& c : cases) {
    auto t = new_tenant("en");
    for (auto stage : queue::kAllStages) ASSERT_TRUE(admin.declare_business(stage, t.bid()));
    storage::Id sub = 0;
    std::string payload;
    if (c.channel == storage::DeliveryChannel::kWebhook) {
      auto id = store.create_subscription(t, c.url, "attack", {"call.analyzed"}, "whsec_attack");
      ASSERT_TRUE(id) << id.error().to_string();
      sub = *id;
      payload = Json{{"id", "evt-" + unique_suffix()},
                     {"type", "call.analyzed"},
                     {"version", 1},
                     {"bid", t.bid()},
                     {"created_at", "2026-11-21T09:40:00.000Z"},
                     {"data", {{"call", {{"id", 1}}}}}}
                    .dump();
    } else {
      payload = Json{{"url", c.url}, {"body", {{"text", "escalation"}}}}.dump();
    }
    storage::NewDelivery n{c.channel, sub, std::nullopt, "call.analyzed", "evt-" + unique_suffix(), payload};
    auto r = store.enqueue(t, std::span<const storage::NewDelivery>(&n, 1),
                           storage::to_timestamp(std::chrono::system_clock::now()));
    ASSERT_TRUE(r && *r == 1);
    auto list = store.list_deliveries(t, sub, 10, std::nullopt);
    ASSERT_TRUE(list && !list->empty());
    deliveries.emplace_back(t, list->front().id);
  }

  auto env = worker_env(master_keys, free_port());
  env["EARSHOT_NOTIFY_MAX_ATTEMPTS"] = "1";
  env["EARSHOT_NOTIFY_POLL_INTERVAL"] = "50ms";
  env["EARSHOT_NOTIFY_REQUEST_TIMEOUT"] = "3s";
  env["EARSHOT_EGRESS_ALLOW"] = fmt::format("127.0.0.1:{}, 127.0.0.1:{}", allowed_receiver.port(), ep.mysql_port);
  ChildProcess worker(bin("earshot-notify"), {}, env);
  ASSERT_TRUE(worker.start());

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [t, id] = deliveries[i];
    storage::Delivery d;
    EXPECT_TRUE(wait_until(
        [&] {
          auto got = store.get_delivery(t, id);
          if (got) d = *got;
          return got && got->status != storage::DeliveryStatus::kPending;
        },
        60s))
        << cases[i].name << "\n"
        << worker.output();
    if (cases[i].allowed) {
      EXPECT_EQ(d.status, storage::DeliveryStatus::kDelivered) << d.last_error;
      continue;
    }
    EXPECT_EQ(d.status, storage::DeliveryStatus::kFailed) << cases[i].name;
    EXPECT_NE(d.last_error.find("destination not allowed"), std::string::npos) << cases[i].name << ": " << d.last_error;
    for (const char* leak : {"loopback", "private", "metadata", "refused by", "Connection"}) {
      EXPECT_EQ(d.last_error.find(leak), std::string::npos) << cases[i].name << ": " << d.last_error;
    }
  }
  EXPECT_EQ(allowed_receiver.accepted(), 1);
  EXPECT_EQ(listener.accepted(), 0) << "a tenant destination on loopback was contacted";

  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait_exit(30s), std::optional<int>(0)) << worker.output();
  for (const auto& [t, id] : deliveries) {
    for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, t.bid());
  }
}

// The analyze worker: a business's llm_chain[].base_url at a loopback listener by every
// spelling, the platform's database port, private and metadata addresses: the LLM agent's
// analysis fails with "destination not allowed" and nothing is contacted; the control's
// endpoint, named in egress_allow, is.
TEST_F(EgressAttack, AnalyzeWorkerLlmEndpointsReachOnlyAllowedDestinations) {
  const auto ep = endpoints();
  CountingListener listener;
  CountingListener allowed_llm;
  ASSERT_TRUE(listener.ok() && allowed_llm.ok());
  queue::AmqpSettings amqp;
  amqp.url = ep.amqp_url;
  queue::TopologySettings topology;
  ASSERT_TRUE(topology.resolve());
  queue::TopologyAdmin admin(amqp, topology);
  ASSERT_TRUE(admin.declare_exchanges());
  queue::Publisher publisher(amqp, {});
  publisher.start();
  storage::MySqlCallRepository calls(StorageEnvironment::db());
  storage::MySqlTranscriptRepository transcripts(StorageEnvironment::db());
  storage::MySqlAgentConfigRepository agents(StorageEnvironment::db());

  struct Case {
    std::string name;
    std::string base_url;
    bool allowed = false;
  };
  std::vector<Case> cases;
  for (auto& [name, origin] : hostile_origins(listener.port(), ep.mysql_port)) cases.push_back({name, origin});
  cases.push_back({"control", allowed_llm.url(""), true});
  struct Target {
    storage::TenantId t;
    storage::Id call;
    storage::Id agent;
  };
  std::vector<Target> targets;
  std::vector<queue::OutgoingMessage> batch;
  for (const auto& c : cases) {
    storage::PipelineConfig cfg;
    cfg.llm_chain_json =
        Json::array({{{"provider", "ollama"}, {"model", "attack"}, {"base_url", c.base_url}, {"timeout_ms", 3000}}})
            .dump();
    auto t = business(cfg, "ea");
    for (auto stage : queue::kAllStages) ASSERT_TRUE(admin.declare_business(stage, t.bid()));
    storage::AgentConfig agent;
    agent.name = "attack_summary";
    agent.kind = storage::AgentKind::kLlm;
    agent.prompt_template = "Summarize the call.";
    agent.output_schema_json = R"({"type":"object","properties":{"summary":{"type":"string"}}})";
    auto agent_id = agents.create(t, agent);
    ASSERT_TRUE(agent_id) << agent_id.error().to_string();
    storage::CallInput in;
    in.external_id = "egress-llm-1";
    in.started_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    in.duration_ms = 8000;
    auto up = calls.upsert(t, in);
    ASSERT_TRUE(up) << up.error().to_string();
    for (auto [from, to] : {std::pair{storage::CallStatus::kPending, storage::CallStatus::kTranscribing},
                            {storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed}}) {
      ASSERT_TRUE(calls.advance(t, up->id, from, to));
    }
    storage::Transcript tr;
    tr.call_id = up->id;
    tr.segments_json =
        R"([{"speaker":"agent","start_ms":0,"end_ms":4000,"text":"thank you for calling","confidence":0.9},)"
        R"({"speaker":"customer","start_ms":4000,"end_ms":8000,"text":"I want a refund","confidence":0.9}])";
    tr.full_text = "thank you for calling I want a refund";
    tr.provider = "test";
    tr.language = "en";
    ASSERT_TRUE(transcripts.put(t, tr));
    targets.push_back({t, up->id, *agent_id});
    queue::Envelope env;
    env.bid = t.bid();
    env.stage = queue::Stage::kAnalyze;
    env.trace_id = queue::new_message_id();
    Json body{{"schema_version", 1},
              {"bid", t.bid()},
              {"call_id", std::to_string(up->id)},
              {"transcript_id", std::to_string(up->id)}};
    batch.push_back(queue::make_stage_message(topology, env, body.dump()));
  }
  ASSERT_TRUE(publisher.publish_batch(std::move(batch)));
  publisher.stop();

  auto env = worker_env(master_keys, free_port());
  env["EARSHOT_SENTIMENT_LEXICON"] = std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt";
  env["EARSHOT_QUEUE_RETRY_DELAYS"] = "300ms";
  env["EARSHOT_QUEUE_MAX_ATTEMPTS"] = "2";
  env["EARSHOT_EGRESS_ALLOW"] = fmt::format("127.0.0.1:{}, 127.0.0.1:{}", allowed_llm.port(), ep.mysql_port);
  ChildProcess worker(bin("earshot-analyze"), {}, env);
  ASSERT_TRUE(worker.start());

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& tg = targets[i];
    std::string error;
    bool failed = false;
    EXPECT_TRUE(wait_until(
        [&] {
          auto r = StorageEnvironment::db().execute(
              "SELECT status, error FROM analyses WHERE bid = ? AND call_id = ? AND agent_config_id = ?",
              {tg.t.bid(), tg.call, tg.agent});
          if (!r || r->rows.empty()) return false;
          failed = r->rows[0][0].as_string() == "failed";
          error = r->rows[0][1].as_string();
          return true;
        },
        90s))
        << cases[i].name << "\n"
        << worker.output();
    if (cases[i].allowed) {
      EXPECT_EQ(error.find("destination not allowed"), std::string::npos) << error;
      continue;
    }
    EXPECT_TRUE(failed) << cases[i].name;
    EXPECT_NE(error.find("destination not allowed"), std::string::npos) << cases[i].name << ": " << error;
    for (const char* leak : {"loopback", "private", "metadata", "refused by", "Connection"}) {
      EXPECT_EQ(error.find(leak), std::string::npos) << cases[i].name << ": " << error;
    }
  }
  EXPECT_GT(allowed_llm.accepted(), 0) << "the control's LLM endpoint was never contacted";
  EXPECT_EQ(listener.accepted(), 0) << "a tenant destination on loopback was contacted";

  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait_exit(30s), std::optional<int>(0)) << worker.output();
  for (const auto& tg : targets) {
    for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, tg.t.bid());
  }
}

// The analyze worker: a business's embedding endpoint (the base_url of the llm_chain entry
// its embedding_provider names) at a loopback listener by every spelling, the platform's
// database port, private and metadata addresses. The embedder's failure is logged ("call
// embeddings failed: ... destination not allowed"), no embedding is stored and the call is
// still analysed; nothing is contacted. The control's endpoint, named in egress_allow, is.
TEST_F(EgressAttack, AnalyzeWorkerEmbeddingEndpointsReachOnlyAllowedDestinations) {
  const auto ep = endpoints();
  CountingListener listener;
  CountingListener allowed_embedder;
  ASSERT_TRUE(listener.ok() && allowed_embedder.ok());
  queue::AmqpSettings amqp;
  amqp.url = ep.amqp_url;
  queue::TopologySettings topology;
  ASSERT_TRUE(topology.resolve());
  queue::TopologyAdmin admin(amqp, topology);
  ASSERT_TRUE(admin.declare_exchanges());
  queue::Publisher publisher(amqp, {});
  publisher.start();
  storage::MySqlCallRepository calls(StorageEnvironment::db());
  storage::MySqlTranscriptRepository transcripts(StorageEnvironment::db());

  struct Case {
    std::string name;
    std::string base_url;
    bool allowed = false;
  };
  std::vector<Case> cases;
  for (auto& [name, origin] : hostile_origins(listener.port(), ep.mysql_port)) cases.push_back({name, origin});
  cases.push_back({"control", allowed_embedder.url(""), true});
  std::vector<std::pair<storage::TenantId, storage::Id>> targets;
  std::vector<queue::OutgoingMessage> batch;
  for (const auto& c : cases) {
    storage::PipelineConfig cfg;
    cfg.llm_chain_json =
        Json::array({{{"provider", "ollama"}, {"model", "attack"}, {"base_url", c.base_url}, {"timeout_ms", 3000}}})
            .dump();
    cfg.embedding_provider = "ollama:attack-embed";
    auto t = business(cfg, "ee");
    for (auto stage : queue::kAllStages) ASSERT_TRUE(admin.declare_business(stage, t.bid()));
    storage::CallInput in;
    in.external_id = "egress-embed-1";
    in.started_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    in.duration_ms = 8000;
    auto up = calls.upsert(t, in);
    ASSERT_TRUE(up) << up.error().to_string();
    for (auto [from, to] : {std::pair{storage::CallStatus::kPending, storage::CallStatus::kTranscribing},
                            {storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed}}) {
      ASSERT_TRUE(calls.advance(t, up->id, from, to));
    }
    storage::Transcript tr;
    tr.call_id = up->id;
    tr.segments_json =
        R"([{"speaker":"agent","start_ms":0,"end_ms":4000,"text":"thank you for calling","confidence":0.9},)"
        R"({"speaker":"customer","start_ms":4000,"end_ms":8000,"text":"I want a refund","confidence":0.9}])";
    tr.full_text = "thank you for calling I want a refund";
    tr.provider = "test";
    tr.language = "en";
    ASSERT_TRUE(transcripts.put(t, tr));
    targets.emplace_back(t, up->id);
    queue::Envelope env;
    env.bid = t.bid();
    env.stage = queue::Stage::kAnalyze;
    env.trace_id = queue::new_message_id();
    Json body{{"schema_version", 1},
              {"bid", t.bid()},
              {"call_id", std::to_string(up->id)},
              {"transcript_id", std::to_string(up->id)}};
    batch.push_back(queue::make_stage_message(topology, env, body.dump()));
  }
  ASSERT_TRUE(publisher.publish_batch(std::move(batch)));
  publisher.stop();

  auto env = worker_env(master_keys, free_port());
  env["EARSHOT_SENTIMENT_LEXICON"] = std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt";
  env["EARSHOT_QUEUE_RETRY_DELAYS"] = "300ms";
  env["EARSHOT_QUEUE_MAX_ATTEMPTS"] = "2";
  env["EARSHOT_EGRESS_ALLOW"] = fmt::format("127.0.0.1:{}, 127.0.0.1:{}", allowed_embedder.port(), ep.mysql_port);
  ChildProcess worker(bin("earshot-analyze"), {}, env);
  ASSERT_TRUE(worker.start());

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [t, call] = targets[i];
    // The call moves past "transcribed" once the analysis (embeddings included) is written.
    EXPECT_TRUE(wait_until(
        [&] {
          auto r = StorageEnvironment::db().execute("SELECT status FROM call_records WHERE bid = ? AND id = ?",
                                                    {t.bid(), call});
          if (!r || r->rows.empty()) return false;
          const auto s = r->rows[0][0].as_string();
          return s == "analyzed" || s == "notified";
        },
        90s))
        << cases[i].name << "\n"
        << worker.output();
    auto r = StorageEnvironment::db().execute("SELECT COUNT(*) FROM call_embeddings WHERE bid = ? AND call_id = ?",
                                              {t.bid(), call});
    ASSERT_TRUE(r && !r->rows.empty());
    if (!cases[i].allowed) {
      EXPECT_EQ(r->rows[0][0].as_int(), 0) << cases[i].name;
    }
  }
  EXPECT_GT(allowed_embedder.accepted(), 0) << "the control's embedding endpoint was never contacted";
  EXPECT_EQ(listener.accepted(), 0) << "a tenant destination on loopback was contacted";

  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait_exit(30s), std::optional<int>(0)) << worker.output();
  // Every refused embedder is reported as the policy's refusal, one line per attack call.
  const auto out = worker.output();
  std::size_t refused = 0;
  std::size_t pos = 0;
  while ((pos = out.find('\n', pos)) != std::string::npos) {
    const auto start = out.rfind('\n', pos - 1);
    const auto line =
        out.substr(start == std::string::npos ? 0 : start, pos - (start == std::string::npos ? 0 : start));
    if (line.find("call embeddings failed") != std::string::npos &&
        line.find("destination not allowed") != std::string::npos) {
      ++refused;
    }
    ++pos;
  }
  EXPECT_GE(refused, cases.size() - 1) << out;
  for (const auto& [t, call] : targets) {
    for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, t.bid());
  }
}

// The notify worker: a business's LeadSquared write-back host (crm.host) at a loopback
// listener by every spelling, the platform's database port, private and metadata addresses:
// the CRM delivery fails with "destination not allowed" in the delivery log and nothing is
// contacted; the control business's host, named in egress_allow, receives its activity.
TEST_F(EgressAttack, NotifyWorkerCrmWriteBackReachesOnlyAllowedDestinations) {
  const auto ep = endpoints();
  CountingListener listener;
  CountingListener allowed_crm;
  ASSERT_TRUE(listener.ok() && allowed_crm.ok());
  storage::MySqlDeliveryRepository store(StorageEnvironment::db(), *keyring);
  queue::AmqpSettings amqp;
  amqp.url = ep.amqp_url;
  queue::TopologySettings topology;
  ASSERT_TRUE(topology.resolve());
  queue::TopologyAdmin admin(amqp, topology);
  ASSERT_TRUE(admin.declare_exchanges());

  struct Case {
    std::string name;
    std::string host;
    bool allowed = false;
  };
  std::vector<Case> cases;
  for (auto& [name, origin] : hostile_origins(listener.port(), ep.mysql_port)) cases.push_back({name, origin});
  cases.push_back({"control", allowed_crm.url(""), true});
  std::vector<std::pair<storage::TenantId, storage::Id>> deliveries;
  for (const auto& c : cases) {
    storage::PipelineConfig cfg;
    cfg.crm_json = Json{{"kind", "leadsquared"}, {"host", c.host}}.dump();
    cfg.secrets["crm_access_key"] = "u$attack";
    cfg.secrets["crm_secret_key"] = "attack-secret";
    auto t = business(cfg, "ec");
    for (auto stage : queue::kAllStages) ASSERT_TRUE(admin.declare_business(stage, t.bid()));
    const Json activity{{"RelatedProspectId", "lead-1"},
                        {"ActivityNote", "Call analyzed."},
                        {"ActivityDateTime", "2026-11-21 09:40:00"},
                        {"Fields", Json::array()}};
    const std::string payload = Json{{"lead_id", "lead-1"}, {"activity", activity}}.dump();
    storage::NewDelivery n{storage::DeliveryChannel::kCrm, 0,      std::nullopt, "call.analyzed",
                           "evt-" + unique_suffix(),       payload};
    auto r = store.enqueue(t, std::span<const storage::NewDelivery>(&n, 1),
                           storage::to_timestamp(std::chrono::system_clock::now()));
    ASSERT_TRUE(r && *r == 1);
    auto list = store.list_deliveries(t, 0, 10, std::nullopt);
    ASSERT_TRUE(list && !list->empty());
    deliveries.emplace_back(t, list->front().id);
  }

  auto env = worker_env(master_keys, free_port());
  env["EARSHOT_NOTIFY_MAX_ATTEMPTS"] = "1";
  env["EARSHOT_NOTIFY_POLL_INTERVAL"] = "50ms";
  env["EARSHOT_NOTIFY_REQUEST_TIMEOUT"] = "3s";
  env["EARSHOT_EGRESS_ALLOW"] = fmt::format("127.0.0.1:{}, 127.0.0.1:{}", allowed_crm.port(), ep.mysql_port);
  ChildProcess worker(bin("earshot-notify"), {}, env);
  ASSERT_TRUE(worker.start());

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [t, id] = deliveries[i];
    storage::Delivery d;
    EXPECT_TRUE(wait_until(
        [&] {
          auto got = store.get_delivery(t, id);
          if (got) d = *got;
          return got && got->status != storage::DeliveryStatus::kPending;
        },
        60s))
        << cases[i].name << "\n"
        << worker.output();
    if (cases[i].allowed) {
      EXPECT_EQ(d.status, storage::DeliveryStatus::kDelivered) << d.last_error;
      continue;
    }
    EXPECT_EQ(d.status, storage::DeliveryStatus::kFailed) << cases[i].name;
    EXPECT_NE(d.last_error.find("destination not allowed"), std::string::npos) << cases[i].name << ": " << d.last_error;
    for (const char* leak : {"loopback", "private", "metadata", "refused by", "Connection", "attack-secret"}) {
      EXPECT_EQ(d.last_error.find(leak), std::string::npos) << cases[i].name << ": " << d.last_error;
    }
  }
  EXPECT_EQ(allowed_crm.accepted(), 1);
  EXPECT_EQ(listener.accepted(), 0) << "a tenant destination on loopback was contacted";

  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait_exit(30s), std::optional<int>(0)) << worker.output();
  for (const auto& [t, id] : deliveries) {
    for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, t.bid());
  }
}

// The gateway's Twilio recording download: the REAL earshot-gateway (its egress policy built
// by the binary from its own configuration) receives correctly signed recording status
// callbacks of a business whose RecordingUrl points at a loopback listener by every spelling
// a resolver accepts, at [::1], at 0.0.0.0, at the platform's own ports (MariaDB, the
// gateway's API and admin listeners; the operator even lists two of them in egress_allow by
// mistake), at private, link-local and metadata addresses, and at an allowed server that
// redirects inward. Each callback is refused with 422 "RecordingUrl: destination not
// allowed", creates no call and contacts nothing; the control, Twilio's media server on a
// destination the operator named in egress_allow, is downloaded and becomes a call.
TEST_F(EgressAttack, GatewayTwilioRecordingDownloadReachesOnlyAllowedDestinations) {
  const auto ep = endpoints();
  const std::string account = "AC" + std::string(32, '7');
  const std::string token = "twilio-token-" + unique_suffix();
  CountingListener listener;
  CountingListener listener_v6({}, true);
  CountingListener redirector(listener.url("/rec.wav"));
  CountingListener mapped_redirector(fmt::format("http://[::ffff:127.0.0.1]:{}/rec.wav", listener.port()));
  FakeTwilio twilio(account, token);  // the allowed control
  ASSERT_TRUE(listener.ok() && redirector.ok() && mapped_redirector.ok());

  storage::PipelineConfig cfg;
  cfg.secrets["twilio_auth_token"] = token;
  const auto t = business(cfg, "tw");
  queue::AmqpSettings amqp;
  amqp.url = ep.amqp_url;
  queue::TopologySettings topology;
  ASSERT_TRUE(topology.resolve());
  queue::TopologyAdmin admin(amqp, topology);
  ASSERT_TRUE(admin.declare_exchanges());
  for (auto stage : queue::kAllStages) ASSERT_TRUE(admin.declare_business(stage, t.bid()));

  const int http_port = free_port();
  const int admin_port = free_port();
  const std::string objects = ::testing::TempDir() + "earshot-egress-twilio-" + unique_suffix();
  auto env = worker_env(master_keys, admin_port);
  env["EARSHOT_HTTP_PORT"] = std::to_string(http_port);
  env["EARSHOT_JWT_SECRET"] = std::string(40, 'j') + unique_suffix();
  env["EARSHOT_RATE_LIMIT_ENABLED"] = "false";
  env["EARSHOT_OBJECT_STORE_DIR"] = objects;
  env["EARSHOT_INGEST_PUBLIC_URL"] = "https://hooks.example.test";
  // Bounds the wait if the policy ever let a connection to an unrouted address start.
  env["EARSHOT_INGEST_FETCH_TIMEOUT"] = "5s";
  // The operator allows Twilio's media server (standing in on loopback) and both
  // redirectors, and by mistake the platform's database and the gateway's own API port: the
  // platform endpoints stay refused.
  env["EARSHOT_EGRESS_ALLOW"] =
      fmt::format("127.0.0.1:{}, 127.0.0.1:{}, 127.0.0.1:{}, 127.0.0.1:{}, 127.0.0.1:{}", twilio.port(),
                  redirector.port(), mapped_redirector.port(), ep.mysql_port, http_port);
  ChildProcess gateway(bin("earshot-gateway"), {}, env);
  ASSERT_TRUE(gateway.start());
  ASSERT_TRUE(wait_until(
      [&] { return http_get("127.0.0.1", admin_port, "/readyz").status == 200 || !gateway.running(); }, 30s));
  ASSERT_TRUE(gateway.running()) << gateway.output();

  // One signed callback, as Twilio sends it, for recording `sid` at `url`.
  int sequence = 0;
  auto callback = [&](const std::string& url, std::string* sid_out = nullptr) {
    const std::string sid = fmt::format("RE{}{:04}", unique_suffix(), sequence++);
    if (sid_out != nullptr) *sid_out = sid;
    const ingest::twilio::Params params = {
        {"AccountSid", account},   {"CallSid", "CA" + std::string(32, '1')}, {"RecordingSid", sid},
        {"RecordingUrl", url},     {"RecordingStatus", "completed"},         {"RecordingDuration", "2"},
        {"RecordingChannels", "2"}};
    const std::string path = "/api/v1/ingest/twilio/" + t.bid();
    std::string form;
    for (const auto& [k, v] : params) form += (form.empty() ? "" : "&") + k + "=" + http::url_encode(v);
    httplib::Client cli("127.0.0.1", http_port);
    cli.set_read_timeout(30, 0);
    auto res = cli.Post(
        path, {{"X-Twilio-Signature", ingest::twilio::signature(token, "https://hooks.example.test" + path, params)}},
        form, "application/x-www-form-urlencoded");
    std::pair<int, std::string> out{res ? res->status : 0, res ? res->body : std::string()};
    return out;
  };
  const auto media = [&](const std::string& origin) {
    return origin + "/2010-04-01/Accounts/" + account + "/Recordings/RE1";
  };

  struct Case {
    std::string name;
    std::string url;
  };
  std::vector<Case> cases;
  for (auto& [name, origin] : hostile_origins(listener.port(), ep.mysql_port)) cases.push_back({name, media(origin)});
  const auto lp = std::to_string(listener.port());
  for (Case c : std::initializer_list<Case>{{"listener short", "http://127.1:" + lp},
                                            {"listener ipv4-mapped hex", "http://[::ffff:7f00:1]:" + lp},
                                            {"listener unspecified", "http://0.0.0.0:" + lp},
                                            {"gateway api port", fmt::format("http://127.0.0.1:{}", http_port)},
                                            {"gateway api port by name", fmt::format("http://localhost:{}", http_port)},
                                            {"gateway admin port", fmt::format("http://127.0.0.1:{}", admin_port)},
                                            {"private 192.168", "http://192.168.0.1"},
                                            {"private 172.16", "https://172.16.0.1"},
                                            {"cgnat", "http://100.64.0.1"},
                                            {"link-local", "http://169.254.1.1"},
                                            {"metadata v6", "http://[fd00:ec2::254]"},
                                            {"metadata alibaba", "http://100.100.100.200"}}) {
    c.url = media(c.url);
    cases.push_back(std::move(c));
  }
  // [::1] is tried where the machine has IPv6 loopback (a listener there to witness it).
  if (listener_v6.ok()) cases.push_back({"loopback v6", media(fmt::format("http://[::1]:{}", listener_v6.port()))});
  cases.push_back({"allowed host redirecting to the listener", redirector.url("/rec.wav")});
  cases.push_back({"allowed host redirecting to an ipv4-mapped listener", mapped_redirector.url("/rec.wav")});

  for (const auto& c : cases) {
    const auto [status, body] = callback(c.url);
    EXPECT_EQ(status, 422) << c.name << ": " << body;
    const auto j = Json::parse(body, nullptr, false);
    const std::string message =
        j.is_object() && j.contains("error") && j["error"].is_object() ? j["error"].value("message", "") : body;
    EXPECT_NE(message.find("destination not allowed"), std::string::npos) << c.name << ": " << body;
    for (const char* leak :
         {"loopback", "private", "link-local", "metadata", "Connection", "refused by", "127.0.0.1"}) {
      EXPECT_EQ(message.find(leak), std::string::npos) << c.name << " shows the network's answer: " << body;
    }
  }
  EXPECT_EQ(count(t, "SELECT COUNT(*) FROM call_records WHERE bid = ?"), 0) << "a refused download created a call";

  // The control: Twilio's media server, named in egress_allow, is downloaded (with the
  // account's credentials) and the recording becomes call "twilio-<RecordingSid>".
  std::vector<float> samples(2 * 16000, 0.0f);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = (i / 40) % 2 == 0 ? 0.2f : -0.2f;
  std::string sid;
  const std::string control_url = twilio.recording_url("RE" + std::string(32, 'c'));
  twilio.add_recording("RE" + std::string(32, 'c'), audio::encode_wav_pcm16(samples, 16000));
  const auto [status, body] = callback(control_url, &sid);
  EXPECT_EQ(status, 201) << body << "\n" << gateway.output();
  EXPECT_EQ(twilio.downloads(), 1);
  EXPECT_EQ(twilio.refused(), 0) << "the control download lacked the account's credentials";
  auto created = StorageEnvironment::db().execute("SELECT COUNT(*) FROM call_records WHERE bid = ? AND external_id = ?",
                                                  {t.bid(), "twilio-" + sid});
  ASSERT_TRUE(created && !created->rows.empty());
  EXPECT_EQ(created->rows[0][0].as_int(), 1) << "the control's recording did not become a call";

  EXPECT_EQ(redirector.accepted(), 1) << "the allowed redirector's first hop was not made exactly once";
  EXPECT_EQ(mapped_redirector.accepted(), 1);
  EXPECT_EQ(listener.accepted(), 0) << "a tenant's RecordingUrl reached a loopback listener";
  EXPECT_EQ(listener_v6.accepted(), 0) << "a tenant's RecordingUrl reached [::1]";
  // The refusal's detail is for the operator: in the gateway's log, not the answer.
  EXPECT_NE(gateway.output().find("refused by the egress policy"), std::string::npos) << gateway.output();

  gateway.signal(SIGTERM);
  EXPECT_EQ(gateway.wait_exit(30s), std::optional<int>(0)) << gateway.output();
  for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, t.bid());
  (void)run_command("rm -rf '" + objects + "'");
}

}  // namespace
}  // namespace earshot::testing
