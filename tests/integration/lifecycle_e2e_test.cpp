// The data lifecycle end to end: the five real binaries (gateway, stt, analyze, notify,
// sync) against the real MariaDB (a migrated scratch database), RabbitMQ and Redis, with a
// local object store. Two recorded calls go through the whole pipeline; the sync worker's
// sweep hashes their phones (the business asked for it) and they stay searchable by the
// number; shortening the retention makes the older call disappear with every derived row and
// its recording while the newer one stays. Then the operator's export, erase (two steps) and
// export again: the second export finds nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "earshot/crypto/password.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "gateway_client.hpp"
#include "process.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kPassword = "correct horse battery";
constexpr const char* kPhone = "+14155550123";

std::string bin(const std::string& name) {
  return std::string(EARSHOT_BIN_DIR) + "/" + name;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

using Reply = earshot::testing::GatewayReply;

std::int64_t count(const std::string& sql, std::initializer_list<storage::Value> params) {
  auto r = StorageEnvironment::db().execute(sql, params);
  EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
  return r ? r->rows[0][0].as_int() : -1;
}

class LifecycleEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = "k1:" + trimmed(run_command("head -c 32 /dev/urandom | base64").output);
    objects_ = ::testing::TempDir() + "lifecycle-e2e-" + unique_suffix();
    fs::create_directories(objects_);
    port_ = free_port();
    for (const std::string service : {"gateway", "stt", "analyze", "notify"}) {
      children_.push_back(start(service, env_for(service)));
    }
    storage::MySqlUserRepository users(StorageEnvironment::db());
    const std::string root = fmt::format("root-{}@platform.test", unique_suffix());
    ASSERT_TRUE(users.create_platform_admin(root, *crypto::hash_password(kPassword)));
    const auto platform = login(root, "");
    bid_ = "life-" + unique_suffix();
    auto r = call("POST", "/api/v1/admin/businesses", platform,
                  {{"bid", bid_},
                   {"name", "Lifecycle " + bid_},
                   {"admin_email", "admin@" + bid_ + ".test"},
                   {"admin_password", kPassword}});
    ASSERT_EQ(r.status, 201) << r.body;
    token_ = login("admin@" + bid_ + ".test", bid_);
    // Ten years' retention while the calls go through; phones hashed once they are done.
    r = call("PUT", "/api/v1/admin/businesses/" + bid_ + "/pipeline-config", token_,
             {{"retention_days", 3650}, {"hash_phone_after_analysis", true}});
    ASSERT_EQ(r.status, 200) << r.body;
    r = call("POST", "/api/v1/admin/businesses/" + bid_ + "/api-keys", token_,
             {{"name", "lifecycle e2e"}, {"scopes", {"ingest", "read"}}});
    ASSERT_EQ(r.status, 201) << r.body;
    api_key_ = r.j.value("secret", "");
    const std::string wav = ::testing::TempDir() + "lifecycle-" + unique_suffix() + ".wav";
    auto f = run_command(fmt::format(
        "flite -voice slt -t 'Hello, thank you for calling. How can I help you with your bill today?' -o {}", wav));
    ASSERT_EQ(f.exit_code, 0) << "flite is needed (scripts/install-deps.sh): " << f.output;
    std::ifstream in(wav, std::ios::binary);
    wav_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    fs::remove(wav);
  }

  static void TearDownTestSuite() {
    for (auto* p : children_) {
      p->signal(SIGTERM);
      (void)p->wait_exit(10s);
      delete p;
    }
    children_.clear();
    queue::AmqpSettings amqp;
    amqp.url = endpoints().amqp_url;
    amqp.heartbeat = 30s;
    amqp.connect_timeout = 5s;
    queue::TopologyAdmin admin(amqp, queue::TopologySettings{});
    for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, bid_);
    fs::remove_all(objects_);
  }

  static std::map<std::string, std::string> base_env() {
    const auto ep = endpoints();
    return {
        {"EARSHOT_MYSQL_HOST", ep.mysql_host},
        {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
        {"EARSHOT_MYSQL_USER", ep.mysql_user},
        {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
        {"EARSHOT_MYSQL_DATABASE", StorageEnvironment::database_name()},
        {"EARSHOT_AMQP_URL", ep.amqp_url},
        {"EARSHOT_REDIS_URL", ep.redis_url},
        {"EARSHOT_MASTER_KEYS", keys_},
        {"EARSHOT_MASTER_KEY_ID", "k1"},
        {"EARSHOT_OBJECT_STORE_DIR", objects_},
    };
  }

  static std::map<std::string, std::string> env_for(const std::string& service) {
    auto env = base_env();
    env["EARSHOT_ADMIN_PORT"] = std::to_string(free_port());
    env["EARSHOT_DEPENDENCY_CHECK_INTERVAL"] = "200ms";
    env["EARSHOT_SHUTDOWN_GRACE"] = "5s";
    if (service != "gateway") env["EARSHOT_QUEUE_RETRY_DELAYS"] = "1s";
    if (service == "gateway") {
      env["EARSHOT_HTTP_PORT"] = std::to_string(port_);
      env["EARSHOT_JWT_SECRET"] = std::string(40, 'l') + unique_suffix();
      env["EARSHOT_RATE_LIMIT_ENABLED"] = "false";
    }
    if (service == "analyze") {
      env["EARSHOT_SENTIMENT_LEXICON"] =
          std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt";
    }
    if (service == "sync") env["EARSHOT_LIFECYCLE_INTERVAL"] = "1s";
    if (service == "analyze" || service == "gateway" || service == "notify" || service == "sync") {
      env.erase("EARSHOT_OBJECT_STORE_DIR");
      if (service == "gateway" || service == "sync") env["EARSHOT_OBJECT_STORE_DIR"] = objects_;
    }
    return env;
  }

  static ChildProcess* start(const std::string& service, std::map<std::string, std::string> env) {
    const int admin = std::stoi(env.at("EARSHOT_ADMIN_PORT"));
    auto* child = new ChildProcess(bin("earshot-" + service), {}, std::move(env));
    EXPECT_TRUE(child->start()) << service;
    const bool up =
        wait_until([&] { return http_get("127.0.0.1", admin, "/readyz").status == 200 || !child->running(); }, 30s);
    EXPECT_TRUE(up && child->running()) << service << " never became ready:\n" << child->output();
    return child;
  }

  static Reply call(const std::string& method, const std::string& path, const std::string& token,
                    const json& body = nullptr) {
    return earshot::testing::GatewayClient(port_).call(method, path, token, body);
  }

  static std::string login(const std::string& email, const std::string& bid) {
    json body{{"email", email}, {"password", kPassword}};
    if (!bid.empty()) body["bid"] = bid;
    auto r = call("POST", "/api/v1/auth/login", "", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.j.value("access_token", "");
  }

  static std::int64_t upload(const std::string& external_id, const std::string& started_at) {
    httplib::MultipartFormDataItems items{
        {"audio", wav_, "call.wav", "audio/wav"}, {"external_id", external_id, "", ""},
        {"agent_id", "agent-life", "", ""},       {"customer_phone", kPhone, "", ""},
        {"started_at", started_at, "", ""},       {"language", "en", "", ""}};
    const auto r = earshot::testing::GatewayClient(port_, 60).upload(api_key_, items);
    EXPECT_TRUE(r.status == 201 || r.status == 202) << r.status << " " << r.body;
    return r.j.is_object() ? r.j.value("call_id", r.j.value("id", std::int64_t{0})) : 0;
  }

  // `earshot <args>` in the fleet's environment; its exit code and output.
  static CommandResult cli(const std::string& args) {
    std::string env;
    for (const auto& [k, v] : base_env()) env += fmt::format("{}='{}' ", k, v);
    return run_command(fmt::format("env -i PATH=/usr/bin:/bin {} {} {} 2>&1", env, bin("earshot"), args));
  }

  static std::int64_t derived_rows(std::int64_t id) {
    std::int64_t n = 0;
    for (const char* table : {"transcripts", "call_metrics", "analyses", "processing_events", "call_embeddings",
                              "call_category_matches", "escalations", "call_notes", "webhook_deliveries"}) {
      n += count(fmt::format("SELECT COUNT(*) FROM {} WHERE bid = ? AND call_id = ?", table), {bid_, id});
    }
    return n;
  }

  static inline std::vector<ChildProcess*> children_;
  static inline int port_ = 0;
  static inline std::string keys_, objects_, bid_, token_, api_key_, wav_;
};

TEST_F(LifecycleEndToEnd, PhonesAreHashedOldCallsArePurgedAndExportEraseExportLeavesNothing) {
  // 1. Two calls, one started 100 days ago, through the whole pipeline.
  const std::int64_t old_id = upload("old-call", "2026-08-28T10:00:00Z");
  const std::int64_t new_id = upload("new-call", "2026-12-01T10:00:00Z");
  ASSERT_GT(old_id, 0);
  ASSERT_GT(new_id, 0);
  auto notified = [&](std::int64_t id) {
    return call("GET", fmt::format("/api/v1/calls/{}", id), token_).j.value("status", "") == "notified";
  };
  ASSERT_TRUE(wait_until([&] { return notified(old_id) && notified(new_id); }, 180s))
      << call("GET", fmt::format("/api/v1/calls/{}", old_id), token_).body;
  ASSERT_GT(derived_rows(old_id), 0);
  const std::string old_uri = call("GET", fmt::format("/api/v1/calls/{}", old_id), token_).j.value("audio_uri", "");
  ASSERT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ? AND customer_phone = ?", {bid_, kPhone}), 2);
  size_t files_before = 0;
  for (const auto& e : fs::recursive_directory_iterator(objects_ + "/" + bid_)) files_before += e.is_regular_file();
  ASSERT_EQ(files_before, 2u);

  // 2. The sync worker starts sweeping (every second): the phones of both (finished) calls
  // are hashed, and the list still finds them by the number.
  children_.push_back(start("sync", env_for("sync")));
  ASSERT_TRUE(wait_until(
      [&] {
        return count("SELECT COUNT(*) FROM call_records WHERE bid = ? AND customer_phone_hashed = 1", {bid_}) == 2;
      },
      30s));
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ? AND customer_phone LIKE 'sha256:%'", {bid_}), 2);
  auto found = call("GET", "/api/v1/calls?customer_phone=%2B14155550123", token_);
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(found.j["items"].size(), 2u) << found.body;
  EXPECT_EQ(call("GET", "/api/v1/calls?customer_phone=%2B14155550999", token_).j["items"].size(), 0u);
  EXPECT_EQ(call("GET", "/api/v1/calls?customer_phone=4155550123", token_).status, 400);

  // 3. Retention of 30 days: the older call goes with everything derived and its recording.
  auto r = call("PUT", "/api/v1/admin/businesses/" + bid_ + "/pipeline-config", token_, {{"retention_days", 30}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(
      wait_until([&] { return call("GET", fmt::format("/api/v1/calls/{}", old_id), token_).status == 404; }, 30s));
  EXPECT_EQ(derived_rows(old_id), 0);
  EXPECT_GT(derived_rows(new_id), 0);
  EXPECT_EQ(call("GET", fmt::format("/api/v1/calls/{}", new_id), token_).status, 200);
  size_t files_after = 0;
  for (const auto& e : fs::recursive_directory_iterator(objects_ + "/" + bid_)) files_after += e.is_regular_file();
  EXPECT_EQ(files_after, 1u) << old_uri;

  // 4. Export, erase (two steps), export again.
  const std::string out1 = ::testing::TempDir() + "export-" + unique_suffix();
  auto ex = cli(fmt::format("business export --bid {} --out {}", bid_, out1));
  ASSERT_EQ(ex.exit_code, 0) << ex.output;
  std::ifstream calls_file(out1 + "/call_records.jsonl");
  std::string line;
  std::vector<json> rows;
  while (std::getline(calls_file, line)) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["id"], new_id);
  EXPECT_TRUE(fs::exists(out1 + "/transcripts.jsonl"));
  EXPECT_TRUE(fs::exists(out1 + "/manifest.json"));
  EXPECT_EQ(std::distance(fs::directory_iterator(out1 + "/recordings"), fs::directory_iterator{}), 1);
  std::ifstream users_file(out1 + "/users.jsonl");
  std::getline(users_file, line);
  EXPECT_EQ(json::parse(line)["password_hash"], "[withheld]");
  // A restarted export keeps what it finished: removing one file makes only it come back.
  fs::remove(out1 + "/transcripts.jsonl");
  ASSERT_EQ(cli(fmt::format("business export --bid {} --out {}", bid_, out1)).exit_code, 0);
  EXPECT_TRUE(fs::exists(out1 + "/transcripts.jsonl"));

  auto ask = cli(fmt::format("business erase --bid {}", bid_));
  ASSERT_EQ(ask.exit_code, 0) << ask.output;
  const auto at = ask.output.find("--confirm ");
  ASSERT_NE(at, std::string::npos) << ask.output;
  const std::string code = trimmed(ask.output.substr(at + 10, 8));
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?", {bid_}), 1);  // step one deletes nothing
  EXPECT_EQ(cli(fmt::format("business erase --bid {} --confirm 00000000", bid_)).exit_code, 2);
  auto erased = cli(fmt::format("business erase --bid {} --confirm {}", bid_, code));
  ASSERT_EQ(erased.exit_code, 0) << erased.output;
  EXPECT_NE(erased.output.find("\"call_records\": 1"), std::string::npos) << erased.output;
  EXPECT_NE(erased.output.find("\"recordings\": 1"), std::string::npos) << erased.output;
  for (const char* table : {"call_records", "transcripts", "users", "api_keys", "business_pipeline_config",
                            "businesses", "call_embeddings"}) {
    EXPECT_EQ(count(fmt::format("SELECT COUNT(*) FROM {} WHERE bid = ?", table), {bid_}), 0) << table;
  }
  size_t files_left = 0;
  for (const auto& e : fs::recursive_directory_iterator(objects_)) files_left += e.is_regular_file();
  EXPECT_EQ(files_left, 0u);
  // Idempotent: a second erase removes nothing more.
  auto again = cli(fmt::format("business erase --bid {} --confirm {}", bid_, code));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("\"tables\": {}"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("\"recordings\": 0"), std::string::npos) << again.output;

  const std::string out2 = ::testing::TempDir() + "export-" + unique_suffix();
  auto none = cli(fmt::format("business export --bid {} --out {}", bid_, out2));
  EXPECT_EQ(none.exit_code, 3) << none.output;
  EXPECT_FALSE(fs::exists(out2));
  fs::remove_all(out1);
}

}  // namespace
}  // namespace earshot::testing
