// The gateway's read replica (mysql_replica_*) through the real earshot-gateway binary: the
// "replica" is a second migrated scratch database on the test server holding other calls
// than the primary, so every answer shows which database it came from. The lag-tolerant
// reads (calls list JSON and CSV, analytics, pipeline status) come from the replica, scoped
// by the caller's business as on the primary; writes and the call detail stay on the
// primary; without the keys everything reads the primary; a replica that cannot be reached
// makes the gateway not ready; the replica's sessions refuse writes; only the gateway takes
// the keys.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "earshot/core/clock.hpp"
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

// A gateway binary on free ports with `extra` over the fleet environment.
struct GatewayProcess {
  explicit GatewayProcess(const std::map<std::string, std::string>& extra) {
    admin_port = free_port();
    port = free_port();
    auto env = fleet_child_env();
    env.insert({{"EARSHOT_ADMIN_PORT", std::to_string(admin_port)},
                {"EARSHOT_HTTP_PORT", std::to_string(port)},
                {"EARSHOT_HTTP_THREADS", "4"},
                {"EARSHOT_CALLS_CACHE_TTL", "0s"},  // every list read asks the database
                {"EARSHOT_RATE_LIMIT_ENABLED", "false"},
                {"EARSHOT_JWT_SECRET", std::string(40, 'r') + unique_suffix()},
                {"EARSHOT_DEPENDENCY_CHECK_INTERVAL", "200ms"},
                {"EARSHOT_SHUTDOWN_GRACE", "2s"}});
    for (const auto& [k, v] : extra) env[k] = v;
    process = std::make_unique<ChildProcess>(std::string(EARSHOT_BIN_DIR) + "/earshot-gateway",
                                             std::vector<std::string>{}, env);
  }
  // Started and answering /readyz with `status` (200 ready, 503 not).
  [[nodiscard]] bool start_until_readyz(int status) {
    if (!process->start()) return false;
    return wait_until([&] { return readyz().status == status || !process->running(); }, 30s) && process->running();
  }
  [[nodiscard]] HttpResult readyz() const { return http_get("127.0.0.1", admin_port, "/readyz"); }
  std::pair<int, std::string> call(const std::string& method, const std::string& path, const std::string& token,
                                   const json& body = nullptr) const {
    return gateway_call(port, method, path, token, body);
  }
  std::string login(const std::string& bid) const {
    return gateway_login(port, "admin@" + bid + ".test", kPassword, bid);
  }

  int port = 0;
  int admin_port = 0;
  std::unique_ptr<ChildProcess> process;
};

storage::TenantId tenant(const std::string& bid) {
  return *storage::TenantId::make(bid);
}

// A call an hour old (inside the analytics' default 30 days), failed when `failed`.
storage::Id seed(storage::Database& db, const std::string& bid, const std::string& external, bool failed) {
  storage::MySqlCallRepository calls(db);
  storage::CallInput in;
  in.external_id = external;
  in.city = "Pune";
  in.language = "en";
  in.started_at = storage::to_timestamp(SystemClock::instance().now() - 1h);
  in.duration_ms = 30'000;
  auto up = calls.upsert(tenant(bid), in);
  EXPECT_TRUE(up) << up.error().to_string();
  if (!up) return 0;
  if (failed) {
    EXPECT_TRUE(calls.mark_failed(tenant(bid), up->id, "transcribe", "bad audio"));
  }
  return up->id;
}

std::set<std::string> external_ids(const std::string& list_body) {
  std::set<std::string> out;
  auto j = json::parse(list_body, nullptr, false);
  if (!j.is_object() || !j["items"].is_array()) return out;
  for (const auto& c : j["items"]) out.insert(c.value("external_id", ""));
  return out;
}

class ReadReplica : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    replica_name_ = new ScratchDatabase();
    replica_db_ = new storage::Database(mysql_settings(replica_name_->name(), 4));
    storage::Migrator migrator(*replica_db_, source_migrations());
    ASSERT_TRUE(migrator.migrate().has_value());
    // Ids far from the primary's: a call id of one database names nothing in the other.
    ASSERT_TRUE(replica_db_->execute("ALTER TABLE call_records AUTO_INCREMENT = 5000000"));

    const auto ep = endpoints();
    // Port, user and password left to default to the primary's.
    gateway_ = new GatewayProcess({{"EARSHOT_MYSQL_REPLICA_HOST", ep.mysql_host},
                                   {"EARSHOT_MYSQL_REPLICA_DATABASE", replica_name_->name()},
                                   {"EARSHOT_MYSQL_REPLICA_POOL_SIZE", "2"}});
    ASSERT_TRUE(gateway_->start_until_readyz(200)) << gateway_->process->output();

    storage::MySqlUserRepository users(StorageEnvironment::db());
    const std::string root = fmt::format("root-{}@platform.test", unique_suffix());
    ASSERT_TRUE(users.create_platform_admin(root, *crypto::hash_password(kPassword)));
    const auto platform = gateway_login(gateway_->port, root, kPassword, "");
    ASSERT_FALSE(platform.empty());
    storage::MySqlBusinessRepository replica_businesses(*replica_db_);
    for (auto* bid : {&bid_a_, &bid_b_}) {
      *bid = "rr-" + unique_suffix();
      auto r = gateway_->call("POST", "/api/v1/admin/businesses", platform,
                              {{"bid", *bid},
                               {"name", "Replica " + *bid},
                               {"admin_email", "admin@" + *bid + ".test"},
                               {"admin_password", kPassword}});
      ASSERT_EQ(r.first, 201) << r.second;
      // Replication would have copied the business row.
      ASSERT_TRUE(replica_businesses.create(tenant(*bid), "Replica " + *bid));
    }
    token_a_ = gateway_->login(bid_a_);
    token_b_ = gateway_->login(bid_b_);
    ASSERT_FALSE(token_a_.empty());
    ASSERT_FALSE(token_b_.empty());

    auto& primary = StorageEnvironment::db();
    primary_a_id_ = seed(primary, bid_a_, "primary-a-1", false);
    (void)seed(primary, bid_a_, "primary-a-2", false);
    (void)seed(primary, bid_b_, "primary-b-1", true);
    replica_a_id_ = seed(*replica_db_, bid_a_, "replica-a-1", false);
    (void)seed(*replica_db_, bid_a_, "replica-a-2", true);
    (void)seed(*replica_db_, bid_a_, "replica-a-3", true);
    (void)seed(*replica_db_, bid_b_, "replica-b-1", false);
    storage::MySqlHumanAgentRepository agents(*replica_db_);
    ASSERT_TRUE(agents.upsert(tenant(bid_a_), {"replica-agent", "Replica Agent", "north", "Pune"}));
  }

  static void TearDownTestSuite() {
    delete gateway_;
    delete replica_db_;
    delete replica_name_;
    queue::AmqpSettings amqp;
    amqp.url = endpoints().amqp_url;
    amqp.heartbeat = 30s;
    amqp.connect_timeout = 5s;
    queue::TopologyAdmin admin(amqp, queue::TopologySettings{});
    for (const auto& bid : {bid_a_, bid_b_}) {
      for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, bid);
    }
  }

  static inline ScratchDatabase* replica_name_ = nullptr;
  static inline storage::Database* replica_db_ = nullptr;
  static inline GatewayProcess* gateway_ = nullptr;
  static inline std::string bid_a_, bid_b_, token_a_, token_b_;
  static inline storage::Id primary_a_id_ = 0, replica_a_id_ = 0;
};

TEST_F(ReadReplica, ReadinessListsTheReplicaAndTheConfigShowsIt) {
  auto r = gateway_->readyz();
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["dependencies"]["mysql_replica"]["up"], true) << r.body;
  EXPECT_EQ(j["dependencies"]["mysql"]["up"], true) << r.body;
  EXPECT_NE(gateway_->process->output().find("lag-tolerant reads go to the replica"), std::string::npos)
      << gateway_->process->output();
}

TEST_F(ReadReplica, CallsListJsonAndCsvComeFromTheReplica) {
  auto r = gateway_->call("GET", "/api/v1/calls?limit=50", token_a_);
  ASSERT_EQ(r.first, 200) << r.second;
  EXPECT_EQ(external_ids(r.second), (std::set<std::string>{"replica-a-1", "replica-a-2", "replica-a-3"})) << r.second;

  auto csv = gateway_->call("GET", "/api/v1/calls?format=csv&limit=50", token_a_);
  ASSERT_EQ(csv.first, 200) << csv.second;
  for (const char* id : {"replica-a-1", "replica-a-2", "replica-a-3"}) {
    EXPECT_NE(csv.second.find(id), std::string::npos) << csv.second;
  }
  EXPECT_EQ(csv.second.find("primary-a-"), std::string::npos) << csv.second;
  // Filters apply on the replica as on the primary.
  auto failed = gateway_->call("GET", "/api/v1/calls?status=failed", token_a_);
  ASSERT_EQ(failed.first, 200) << failed.second;
  EXPECT_EQ(external_ids(failed.second), (std::set<std::string>{"replica-a-2", "replica-a-3"}));
}

TEST_F(ReadReplica, AnalyticsAndPipelineStatusComeFromTheReplica) {
  auto o = gateway_->call("GET", "/api/v1/analytics/overview", token_a_);
  ASSERT_EQ(o.first, 200) << o.second;
  EXPECT_EQ(json::parse(o.second)["calls"], 3) << o.second;  // the primary holds 2 (or more) of A's

  auto agents = gateway_->call("GET", "/api/v1/analytics/agents", token_a_);
  ASSERT_EQ(agents.first, 200) << agents.second;
  auto list = json::parse(agents.second)["items"];
  ASSERT_EQ(list.size(), 1U) << agents.second;
  EXPECT_EQ(list[0]["external_id"], "replica-agent");

  auto regions = gateway_->call("GET", "/api/v1/analytics/regions", token_a_);
  ASSERT_EQ(regions.first, 200) << regions.second;
  auto rows = json::parse(regions.second)["items"];
  ASSERT_EQ(rows.size(), 1U) << regions.second;
  EXPECT_EQ(rows[0]["calls"], 3);

  auto st = gateway_->call("GET", "/api/v1/pipeline/status", token_a_);
  ASSERT_EQ(st.first, 200) << st.second;
  auto by_status = json::parse(st.second)["calls_by_status"];
  EXPECT_EQ(by_status["failed"], 2) << st.second;
  EXPECT_EQ(by_status["pending"], 1) << st.second;
  auto failures = json::parse(st.second)["recent_failures"];
  ASSERT_EQ(failures.size(), 2U) << st.second;
  for (const auto& f : failures) EXPECT_TRUE(f["external_id"].get<std::string>().starts_with("replica-a-"));
}

TEST_F(ReadReplica, WritesAndTheCallDetailUseThePrimary) {
  // The detail of a call only the primary holds.
  auto d = gateway_->call("GET", fmt::format("/api/v1/calls/{}", primary_a_id_), token_a_);
  ASSERT_EQ(d.first, 200) << d.second;
  EXPECT_EQ(json::parse(d.second)["external_id"], "primary-a-1");
  // One only the replica holds is not found: the detail never reads the replica.
  auto gone = gateway_->call("GET", fmt::format("/api/v1/calls/{}", replica_a_id_), token_a_);
  EXPECT_EQ(gone.first, 404) << gone.second;

  // An upload lands on the primary, and its detail is there at once.
  json body{{"external_id", "uploaded-a"},
            {"audio_uri", fmt::format("store://{}/uploaded-a.wav", bid_a_)},
            {"started_at", "2026-11-21T09:40:00Z"}};
  auto c = gateway_->call("POST", "/api/v1/calls", token_a_, body);
  ASSERT_EQ(c.first, 202) << c.second;
  const auto id = json::parse(c.second)["id"].get<storage::Id>();
  storage::MySqlCallRepository primary(StorageEnvironment::db());
  storage::MySqlCallRepository replica(*replica_db_);
  auto on_primary = primary.get(tenant(bid_a_), id);
  ASSERT_TRUE(on_primary) << on_primary.error().to_string();
  EXPECT_EQ(on_primary->external_id, "uploaded-a");
  auto on_replica = replica.find_by_external_id(tenant(bid_a_), "uploaded-a");
  EXPECT_FALSE(on_replica);
  auto detail = gateway_->call("GET", fmt::format("/api/v1/calls/{}", id), token_a_);
  ASSERT_EQ(detail.first, 200) << detail.second;
  EXPECT_EQ(json::parse(detail.second)["external_id"], "uploaded-a");
  // The list (the replica, which replication has not reached here) does not show it yet.
  auto l = gateway_->call("GET", "/api/v1/calls?limit=50", token_a_);
  ASSERT_EQ(l.first, 200);
  EXPECT_EQ(external_ids(l.second).count("uploaded-a"), 0U) << l.second;
}

TEST_F(ReadReplica, ReplicaReadsAreScopedToTheCallersBusiness) {
  // B sees its own replica row and none of A's, in every replica-served read.
  auto r = gateway_->call("GET", "/api/v1/calls?limit=50", token_b_);
  ASSERT_EQ(r.first, 200) << r.second;
  EXPECT_EQ(external_ids(r.second), (std::set<std::string>{"replica-b-1"})) << r.second;
  auto csv = gateway_->call("GET", "/api/v1/calls?format=csv", token_b_);
  ASSERT_EQ(csv.first, 200);
  EXPECT_EQ(csv.second.find("replica-a-"), std::string::npos) << csv.second;
  auto o = gateway_->call("GET", "/api/v1/analytics/overview", token_b_);
  ASSERT_EQ(o.first, 200);
  EXPECT_EQ(json::parse(o.second)["calls"], 1) << o.second;
  auto agents = gateway_->call("GET", "/api/v1/analytics/agents", token_b_);
  ASSERT_EQ(agents.first, 200);
  EXPECT_TRUE(json::parse(agents.second)["items"].empty()) << agents.second;
  auto st = gateway_->call("GET", "/api/v1/pipeline/status", token_b_);
  ASSERT_EQ(st.first, 200);
  EXPECT_EQ(json::parse(st.second)["calls_by_status"]["failed"], 0) << st.second;  // A has 2 on the replica
  // Naming A in the business header gets B nothing of A's.
  httplib::Client cli("127.0.0.1", gateway_->port);
  auto named = cli.Get("/api/v1/calls", {{"Authorization", "Bearer " + token_b_}, {"X-Earshot-Business", bid_a_}});
  ASSERT_TRUE(named);
  EXPECT_EQ(named->status, 404) << named->body;
  EXPECT_EQ(named->body.find("replica-a-"), std::string::npos);
  // A filter naming A's replica call id as an agent or category matches nothing of A's.
  auto filtered = gateway_->call("GET", fmt::format("/api/v1/calls?category_id={}", replica_a_id_), token_b_);
  ASSERT_EQ(filtered.first, 200);
  EXPECT_TRUE(external_ids(filtered.second).empty()) << filtered.second;
}

TEST_F(ReadReplica, ReplicaSessionsRefuseWrites) {
  storage::MySqlReplicaSettings rs;
  rs.host = endpoints().mysql_host;
  rs.database = replica_name_->name();
  const auto settings = rs.resolve(mysql_settings(StorageEnvironment::database_name(), 1));
  EXPECT_TRUE(settings.read_only);
  EXPECT_EQ(settings.user, endpoints().mysql_user);  // the primary's, when unset
  EXPECT_EQ(settings.port, endpoints().mysql_port);
  EXPECT_EQ(settings.pool_size, 1);
  storage::MySqlReplicaSettings own = rs;
  own.port = 3307;
  own.user = "reader";
  own.password = "pw";
  own.pool_size = 3;
  const auto overridden = own.resolve(settings);
  EXPECT_EQ(overridden.port, 3307);
  EXPECT_EQ(overridden.user, "reader");
  EXPECT_EQ(overridden.password, "pw");
  EXPECT_EQ(overridden.pool_size, 3);
  EXPECT_EQ(overridden.database, replica_name_->name());
  storage::Database db(settings);
  storage::MySqlCallRepository calls(db);
  auto read = calls.find_by_external_id(tenant(bid_a_), "replica-a-1");
  ASSERT_TRUE(read) << read.error().to_string();
  storage::CallInput in;
  in.external_id = "written-through-replica";
  in.started_at = storage::to_timestamp(SystemClock::instance().now());
  auto write = calls.upsert(tenant(bid_a_), in);
  ASSERT_FALSE(write);
  EXPECT_NE(write.error().message.find("READ ONLY"), std::string::npos) << write.error().to_string();
  storage::MySqlCallRepository direct(*replica_db_);
  EXPECT_FALSE(direct.find_by_external_id(tenant(bid_a_), "written-through-replica"));
}

TEST_F(ReadReplica, WithoutTheKeysEverythingReadsThePrimary) {
  GatewayProcess plain({});
  ASSERT_TRUE(plain.start_until_readyz(200)) << plain.process->output();
  const auto token = plain.login(bid_a_);
  ASSERT_FALSE(token.empty());
  auto r = plain.call("GET", "/api/v1/calls?limit=50", token);
  ASSERT_EQ(r.first, 200) << r.second;
  const auto ids = external_ids(r.second);
  EXPECT_TRUE(ids.contains("primary-a-1") && ids.contains("primary-a-2")) << r.second;
  EXPECT_TRUE(std::none_of(ids.begin(), ids.end(), [](const auto& e) { return e.starts_with("replica-"); }));
  auto o = plain.call("GET", "/api/v1/analytics/agents", token);
  ASSERT_EQ(o.first, 200);
  EXPECT_TRUE(json::parse(o.second)["items"].empty()) << o.second;  // the agent is the replica's only
  auto st = plain.call("GET", "/api/v1/pipeline/status", token);
  ASSERT_EQ(st.first, 200);
  EXPECT_EQ(json::parse(st.second)["calls_by_status"]["failed"], 0) << st.second;
  auto ready = json::parse(plain.readyz().body);
  EXPECT_FALSE(ready["dependencies"].contains("mysql_replica")) << ready.dump();
}

TEST_F(ReadReplica, AnUnreachableReplicaMakesTheGatewayNotReady) {
  // Nothing listens on this port.
  GatewayProcess down({{"EARSHOT_MYSQL_REPLICA_HOST", "127.0.0.1"},
                       {"EARSHOT_MYSQL_REPLICA_PORT", std::to_string(free_port())},
                       {"EARSHOT_MYSQL_REPLICA_DATABASE", replica_name_->name()}});
  ASSERT_TRUE(down.process->start());
  // Not ready from the start; wait until the primary is up and the replica was tried.
  HttpResult ready;
  json j;
  const bool settled = wait_until(
      [&] {
        ready = down.readyz();
        j = json::parse(ready.body, nullptr, false);
        return j.is_object() && j["dependencies"]["mysql"].value("up", false) &&
               j["dependencies"]["mysql_replica"].value("reason", "").find("mysql 127.0.0.1") != std::string::npos;
      },
      30s);
  ASSERT_TRUE(settled) << ready.body << down.process->output();
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(j["status"], "unavailable");
  EXPECT_EQ(j["dependencies"]["mysql_replica"]["up"], false) << ready.body;
  EXPECT_EQ(j["dependencies"]["mysql"]["up"], true) << ready.body;
  // Requests still sent to it: the replica's reads fail 503, the primary's are answered.
  const auto token = down.login(bid_a_);
  ASSERT_FALSE(token.empty());
  auto r = down.call("GET", "/api/v1/calls", token);
  EXPECT_EQ(r.first, 503) << r.second;
  auto d = down.call("GET", fmt::format("/api/v1/calls/{}", primary_a_id_), token);
  EXPECT_EQ(d.first, 200) << d.second;
}

TEST_F(ReadReplica, OnlyTheGatewayTakesTheReplicaKeys) {
  const std::string bin = EARSHOT_BIN_DIR;
  auto help = run_command(bin + "/earshot-gateway --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* key :
       {"EARSHOT_MYSQL_REPLICA_HOST", "EARSHOT_MYSQL_REPLICA_PORT", "EARSHOT_MYSQL_REPLICA_USER",
        "EARSHOT_MYSQL_REPLICA_PASSWORD", "EARSHOT_MYSQL_REPLICA_DATABASE", "EARSHOT_MYSQL_REPLICA_POOL_SIZE"}) {
    EXPECT_NE(help.output.find(key), std::string::npos) << key;
  }
  // Only this variable of ours: the answer is about it alone.
  auto analyze = run_command("env -i PATH=/usr/bin:/bin EARSHOT_MYSQL_REPLICA_HOST=db2 " + bin +
                             "/earshot-analyze --check-config");
  EXPECT_NE(analyze.exit_code, 0) << analyze.output;
  EXPECT_NE(analyze.output.find("MYSQL_REPLICA_HOST"), std::string::npos) << analyze.output;
}

}  // namespace
}  // namespace earshot::testing
