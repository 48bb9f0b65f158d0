// End-to-end checks of the five service binaries against the real test services:
// readiness, metrics exposition (validated by promtool and scraped by the real Prometheus),
// dependency loss and recovery, strict config, graceful SIGTERM.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "process.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kServices = {"sync", "stt", "analyze", "notify", "gateway"};

std::string bin(const std::string& name) {
  return std::string(EARSHOT_BIN_DIR) + "/" + name;
}

// A master key for this test run (the binaries refuse to start without one).
const std::string& test_master_keys() {
  static const std::string keys = [] {
    auto r = run_command("head -c 32 /dev/urandom | base64");
    std::string b64 = r.output;
    while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r')) b64.pop_back();
    return "k1:" + b64;
  }();
  return keys;
}

std::string lexicon_path() {
  return std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt";
}

std::map<std::string, std::string> service_env(const ServiceEndpoints& ep, int admin_port) {
  return {
      {"EARSHOT_MYSQL_HOST", ep.mysql_host},
      {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
      {"EARSHOT_MYSQL_USER", ep.mysql_user},
      {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
      {"EARSHOT_MYSQL_DATABASE", ep.mysql_database},
      {"EARSHOT_AMQP_URL", ep.amqp_url},
      {"EARSHOT_REDIS_URL", ep.redis_url},
      {"EARSHOT_ADMIN_PORT", std::to_string(admin_port)},
      {"EARSHOT_DEPENDENCY_CHECK_INTERVAL", "200ms"},
      {"EARSHOT_MASTER_KEYS", test_master_keys()},
      {"EARSHOT_MASTER_KEY_ID", "k1"},
  };
}

bool ready(int port) {
  return http_get("127.0.0.1", port, "/readyz").status == 200;
}

// Starts one service, waits for /readyz 200, returns it running.
std::unique_ptr<ChildProcess> start_ready(const std::string& service, std::map<std::string, std::string> env,
                                          int admin_port) {
  auto child = std::make_unique<ChildProcess>(bin("earshot-" + service), std::vector<std::string>{}, std::move(env));
  EXPECT_TRUE(child->start()) << service;
  const bool ok = wait_until([&] { return ready(admin_port) || !child->running(); }, 30s) && ready(admin_port);
  EXPECT_TRUE(ok) << service << " never became ready; output:\n" << child->output();
  return child;
}

class Fleet : public ::testing::Test {
 protected:
  ServiceEndpoints ep_ = endpoints();
};

TEST_F(Fleet, EveryBinaryBecomesReadyExposesValidMetricsAndStopsOnSigterm) {
  for (const auto& service : kServices) {
    SCOPED_TRACE(service);
    const int admin = free_port();
    auto env = service_env(ep_, admin);
    if (service == "gateway")
      env["EARSHOT_HTTP_PORT"] = std::to_string(free_port()), env["EARSHOT_JWT_SECRET"] = std::string(40, 'j');
    if (service == "stt") env["EARSHOT_OBJECT_STORE_DIR"] = ::testing::TempDir();
    if (service == "analyze") env["EARSHOT_SENTIMENT_LEXICON"] = lexicon_path();
    auto child = start_ready(service, env, admin);
    ASSERT_TRUE(child->running());

    auto health = http_get("127.0.0.1", admin, "/healthz");
    EXPECT_EQ(health.status, 200);
    auto readyz = nlohmann::json::parse(http_get("127.0.0.1", admin, "/readyz").body);
    EXPECT_EQ(readyz["status"], "ready");
    for (const char* dep : {"mysql", "rabbitmq", "redis"}) {
      EXPECT_EQ(readyz["dependencies"][dep]["up"], true) << dep;
    }

    auto metrics = http_get("127.0.0.1", admin, "/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find(fmt::format("service=\"{}\"", service)), std::string::npos);
    EXPECT_NE(metrics.body.find("earshot_build_info{"), std::string::npos);
    EXPECT_NE(metrics.body.find("process_resident_memory_bytes"), std::string::npos);
    EXPECT_NE(metrics.body.find(R"(earshot_dependency_up{dependency="mysql"} 1)"), std::string::npos);
    const std::string path = fmt::format("{}metrics-{}-{}.txt", ::testing::TempDir(), service, unique_suffix());
    std::ofstream(path) << metrics.body;
    auto lint = run_command("promtool check metrics < " + path);
    EXPECT_EQ(lint.exit_code, 0) << lint.output;
    std::remove(path.c_str());

    // The bound is the deadline itself: 3 s of drain plus shutdown, with room for a machine
    // running several fleets at once; a process that never exits fails here.
    child->signal(SIGTERM);
    auto code = child->wait_exit(15s);
    ASSERT_TRUE(code.has_value()) << "did not exit within 15 s of SIGTERM";
    EXPECT_EQ(*code, 0) << child->output();
    EXPECT_NE(child->output().find("\"msg\":\"stopped\""), std::string::npos);
  }
}

TEST_F(Fleet, ReadyzTurns503WhenADependencyStopsAnd200WhenItIsBack) {
  // A private, real Redis that this test may stop without disturbing anything else.
  const int redis_port = free_port();
  const std::string redis_cmd = fmt::format(
      "redis-server --port {} --bind 127.0.0.1 --save '' --appendonly no --daemonize no "
      "--logfile ''",
      redis_port);
  auto start_redis = [&] {
    auto r = std::make_unique<ChildProcess>("/bin/sh", std::vector<std::string>{"-c", "exec " + redis_cmd},
                                            std::map<std::string, std::string>{});
    EXPECT_TRUE(r->start());
    EXPECT_TRUE(wait_until(
        [&] { return run_command(fmt::format("redis-cli -p {} ping", redis_port)).output == "PONG\n"; }, 10s));
    return r;
  };
  auto redis = start_redis();

  const int admin = free_port();
  auto env = service_env(ep_, admin);
  env["EARSHOT_REDIS_URL"] = fmt::format("redis://127.0.0.1:{}/0", redis_port);
  auto stt = start_ready("stt", env, admin);

  redis->signal(SIGKILL);
  ASSERT_TRUE(redis->wait_exit(5s).has_value());
  ASSERT_TRUE(wait_until([&] { return http_get("127.0.0.1", admin, "/readyz").status == 503; }, 10s));
  auto body = nlohmann::json::parse(http_get("127.0.0.1", admin, "/readyz").body);
  EXPECT_EQ(body["status"], "unavailable");
  EXPECT_EQ(body["dependencies"]["redis"]["up"], false);
  EXPECT_EQ(body["dependencies"]["mysql"]["up"], true);
  EXPECT_NE(http_get("127.0.0.1", admin, "/metrics").body.find(R"(earshot_dependency_up{dependency="redis"} 0)"),
            std::string::npos);
  EXPECT_EQ(http_get("127.0.0.1", admin, "/healthz").status, 200);  // alive though not ready

  redis = start_redis();
  ASSERT_TRUE(wait_until([&] { return ready(admin); }, 15s)) << stt->output();

  stt->signal(SIGTERM);
  auto code = stt->wait_exit(15s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

TEST_F(Fleet, PrometheusScrapesABinary) {
  const char* targets_dir = std::getenv("ES_PROMETHEUS_TARGETS_DIR");
  ASSERT_NE(targets_dir, nullptr) << "run through scripts/test.sh";
  const int admin = free_port();
  auto child = start_ready("notify", service_env(ep_, admin), admin);
  const std::string target = fmt::format("127.0.0.1:{}", admin);
  const std::string file = fmt::format("{}/fleet-test-{}.json", targets_dir, unique_suffix());
  std::ofstream(file) << nlohmann::json::array({{{"targets", {target}}, {"labels", {{"service", "notify"}}}}}).dump();
  auto prom = ep_.prometheus_url;  // http://127.0.0.1:PORT
  const int prom_port = std::stoi(prom.substr(prom.rfind(':') + 1));
  const std::string query =
      fmt::format("/api/v1/query?query=earshot_build_info%7Bservice%3D%22notify%22%2Cinstance%3D%22{}%22%7D", target);
  bool scraped = wait_until(
      [&] {
        auto r = http_get("127.0.0.1", prom_port, query);
        if (r.status != 200) return false;
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        return !j.is_discarded() && j["data"]["result"].size() == 1 && j["data"]["result"][0]["value"][1] == "1";
      },
      40s, 250ms);
  std::remove(file.c_str());
  EXPECT_TRUE(scraped) << "Prometheus never scraped " << target;
  child->signal(SIGTERM);
  EXPECT_EQ(child->wait_exit(15s), std::optional<int>(0));
}

TEST_F(Fleet, GatewayAnswersWithTheErrorShapeAndRequestIds) {
  const int admin = free_port();
  const int http = free_port();
  auto env = service_env(ep_, admin);
  env["EARSHOT_HTTP_PORT"] = std::to_string(http);
  env["EARSHOT_JWT_SECRET"] = std::string(40, 'j');
  auto gw = start_ready("gateway", env, admin);
  auto v = http_get("127.0.0.1", http, "/api/v1/version");
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(nlohmann::json::parse(v.body)["service"], "gateway");
  auto missing = http_get("127.0.0.1", http, "/api/v1/no-such-thing");
  EXPECT_EQ(missing.status, 404);
  auto err = nlohmann::json::parse(missing.body);
  EXPECT_EQ(err["error"]["code"], "not_found");
  EXPECT_FALSE(err["error"]["message"].get<std::string>().empty());
  gw->signal(SIGTERM);
  EXPECT_EQ(gw->wait_exit(15s), std::optional<int>(0));
}

TEST(Binaries, UnknownOrInvalidConfigStopsTheProcessNamingTheKey) {
  for (const auto& service : kServices) {
    auto r = run_command(fmt::format("env -i EARSHOT_BOGUS=1 {}", bin("earshot-" + service)));
    EXPECT_EQ(r.exit_code, 2) << service;
    EXPECT_NE(r.output.find("EARSHOT_BOGUS"), std::string::npos) << r.output;
    auto bad = run_command(fmt::format("env -i EARSHOT_MYSQL_PORT=notaport {}", bin("earshot-" + service)));
    EXPECT_EQ(bad.exit_code, 2) << service;
    EXPECT_NE(bad.output.find("EARSHOT_MYSQL_PORT"), std::string::npos) << bad.output;
  }
}

TEST(Binaries, HelpAndVersion) {
  for (const auto& service : kServices) {
    auto help = run_command(bin("earshot-" + service) + " --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("EARSHOT_MYSQL_HOST"), std::string::npos);
    EXPECT_NE(help.output.find("EARSHOT_ADMIN_PORT"), std::string::npos);
    auto version = run_command(bin("earshot-" + service) + " --version");
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.output.rfind("earshot-" + service + " ", 0), 0u) << version.output;
    auto bad_arg = run_command(bin("earshot-" + service) + " --frobnicate");
    EXPECT_EQ(bad_arg.exit_code, 2);
  }
  auto cli = run_command(bin("earshot") + " --help");
  EXPECT_EQ(cli.exit_code, 0);
  EXPECT_EQ(run_command(bin("earshot") + " no-such-command").exit_code, 2);
}

TEST(Binaries, ConfigFileIsReadAndCheckConfigMasksSecrets) {
  const std::string path = ::testing::TempDir() + "earshot-fleet-config-" + unique_suffix() + ".json";
  std::ofstream(path) << R"({"mysql_port": 4406, "mysql_password": "s3cret-value"})";
  auto r = run_command(fmt::format("env -i {} --config {} --check-config", bin("earshot-stt"), path));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("EARSHOT_MYSQL_PORT=4406"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("EARSHOT_MYSQL_PASSWORD=***"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("s3cret-value"), std::string::npos);
  std::ofstream(path) << R"({"mysql_prot": 4406})";
  auto typo = run_command(fmt::format("env -i {} --config {}", bin("earshot-stt"), path));
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.output.find("mysql_prot"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace earshot::testing

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;

// The real earshot-stt binary against the real services: `earshot seed-demo` registers a
// fresh business and sends it two synthetic calls; the running worker (which learns of the
// business from the control event) transcribes them.
TEST_F(Fleet, SttWorkerTranscribesSeededCallsEndToEnd) {
  const std::string bid = "e2e" + unique_suffix();
  const std::string objects = ::testing::TempDir() + "earshot-e2e-objects-" + unique_suffix();
  const int admin = free_port();
  auto env = service_env(ep_, admin);
  env["EARSHOT_OBJECT_STORE_DIR"] = objects;
  env["EARSHOT_QUEUE_RETRY_DELAYS"] = "1s";
  auto stt = start_ready("stt", env, admin);

  std::string seed_env;
  for (const auto& [k, v] : env) {
    if (k.starts_with("EARSHOT_MYSQL_") || k.starts_with("EARSHOT_AMQP_") || k.starts_with("EARSHOT_MASTER_") ||
        k == "EARSHOT_OBJECT_STORE_DIR") {
      seed_env += k + "='" + v + "' ";
    }
  }
  auto seeded = run_command(
      fmt::format("env -i PATH=/usr/bin:/bin {} {} seed-demo --bid {} --calls 2", seed_env, bin("earshot"), bid));
  ASSERT_EQ(seeded.exit_code, 0) << seeded.output;

  const std::string sql = fmt::format(
      "mariadb --no-defaults -h{} -P{} -u{} -p{} {} -N -B -e "
      "\"SELECT status, COUNT(*) FROM call_records WHERE bid='{}' GROUP BY status\"",
      ep_.mysql_host, ep_.mysql_port, ep_.mysql_user, ep_.mysql_password, ep_.mysql_database, bid);
  std::string last;
  const bool done = wait_until(
      [&] {
        last = run_command(sql).output;
        return last == "transcribed\t2\n";
      },
      120s, 250ms);
  EXPECT_TRUE(done) << "calls by status: " << last << "\nworker output:\n" << stt->output();
  auto metrics = http_get("127.0.0.1", admin, "/metrics").body;
  EXPECT_NE(metrics.find(R"(earshot_calls_transcribed_total{provider="pocketsphinx"} 2)"), std::string::npos)
      << metrics.substr(0, 2000);
  stt->signal(SIGTERM);
  EXPECT_EQ(stt->wait_exit(15s), std::optional<int>(0));
  run_command("rm -rf " + objects);
}

}  // namespace
}  // namespace earshot::testing

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;

// `earshot dlq` against the real broker: the commands reach the business's dead-letter
// queue (DeadLetterAdmin's show/replay/purge behaviour is covered by the queue tests), an
// unknown business is an error, and bad arguments are refused.
TEST_F(Fleet, DlqCommandsReachTheBusinessDeadLetterQueue) {
  const std::string bid = "dlq" + unique_suffix();
  const std::string objects = ::testing::TempDir() + "earshot-dlq-objects-" + unique_suffix();
  auto env = service_env(ep_, free_port());
  env["EARSHOT_OBJECT_STORE_DIR"] = objects;
  std::string cli_env;
  for (const auto& [k, v] : env) {
    if (k.starts_with("EARSHOT_MYSQL_") || k.starts_with("EARSHOT_AMQP_") || k.starts_with("EARSHOT_MASTER_") ||
        k == "EARSHOT_OBJECT_STORE_DIR") {
      cli_env += k + "='" + v + "' ";
    }
  }
  const std::string cli = fmt::format("env -i PATH=/usr/bin:/bin {} {}", cli_env, bin("earshot"));
  auto unknown = run_command(fmt::format("{} dlq list --stage transcribe --bid {}", cli, bid));
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  auto seeded = run_command(fmt::format("{} seed-demo --bid {} --calls 1", cli, bid));  // declares the queues
  ASSERT_EQ(seeded.exit_code, 0) << seeded.output;
  auto list = run_command(fmt::format("{} dlq list --stage analyze --bid {}", cli, bid));
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_EQ(list.output, fmt::format("dlq.analyze.{}: 0 message(s)\n", bid));
  auto replay = run_command(fmt::format("{} dlq replay --stage analyze --bid {} --limit 5", cli, bid));
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_NE(replay.output.find("replayed 0 message(s)"), std::string::npos) << replay.output;
  auto purge = run_command(fmt::format("{} dlq purge --stage analyze --bid {}", cli, bid));
  EXPECT_EQ(purge.exit_code, 0) << purge.output;
  EXPECT_EQ(run_command(fmt::format("{} dlq list --stage nope --bid {}", cli, bid)).exit_code, 2);
  EXPECT_EQ(run_command(fmt::format("{} dlq list --stage analyze --bid 'Bad Bid'", cli)).exit_code, 2);
  EXPECT_EQ(run_command(fmt::format("{} dlq explode --stage analyze --bid {}", cli, bid)).exit_code, 2);
  run_command("rm -rf " + objects);
}

}  // namespace
}  // namespace earshot::testing

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;

// The demo's data path against the real gateway, stt and analyze binaries: `earshot
// demo-data` logs in as the business admin, creates the demo categories and the QA
// scorecard through the admin API, uploads two calls; once analyzed, each call's detail
// shows matched categories and a QA score. A second run changes and duplicates nothing.
TEST_F(Fleet, DemoDataSetsUpCategoriesAndScorecardThenUploadedCallsAreScored) {
  const std::string bid = "demo" + unique_suffix();
  const std::string dir = ::testing::TempDir() + "earshot-demo-" + unique_suffix();
  ASSERT_EQ(run_command("mkdir -p " + dir + "/objects").exit_code, 0);
  const int gw_admin = free_port();
  const int http = free_port();
  auto env = service_env(ep_, gw_admin);
  env["EARSHOT_HTTP_PORT"] = std::to_string(http);
  env["EARSHOT_JWT_SECRET"] = std::string(40, 'j');
  env["EARSHOT_OBJECT_STORE_DIR"] = dir + "/objects";
  env["EARSHOT_RATE_LIMIT_ENABLED"] = "false";
  auto gateway = start_ready("gateway", env, gw_admin);
  const int stt_admin = free_port();
  auto stt_env = service_env(ep_, stt_admin);
  stt_env["EARSHOT_OBJECT_STORE_DIR"] = dir + "/objects";
  auto stt = start_ready("stt", stt_env, stt_admin);
  const int an_admin = free_port();
  auto an_env = service_env(ep_, an_admin);
  an_env["EARSHOT_SENTIMENT_LEXICON"] = lexicon_path();
  auto analyze = start_ready("analyze", an_env, an_admin);

  std::string cli_env = "env -i PATH=/usr/bin:/bin ";
  for (const auto& [k, v] : env) {
    if (k.starts_with("EARSHOT_MYSQL_") || k.starts_with("EARSHOT_AMQP_") || k.starts_with("EARSHOT_MASTER_")) {
      cli_env += k + "='" + v + "' ";
    }
  }
  ASSERT_EQ(run_command("echo 'demo-admin-password-1' > " + dir + "/admin_password").exit_code, 0);
  auto created = run_command(
      fmt::format("{} EARSHOT_BUSINESS_ADMIN_PASSWORD=demo-admin-password-1 {} business create --bid {} --name 'Demo' "
                  "--admin-email admin@{}.local 2>&1",
                  cli_env, bin("earshot"), bid, bid));
  ASSERT_EQ(created.exit_code, 0) << created.output;
  const std::string demo = fmt::format(
      "{} {} demo-data --bid {} --calls 2 --out {}/calls --upload http://127.0.0.1:{} --key-file {}/api_key "
      "--admin-email admin@{}.local --admin-password-file {}/admin_password 2>&1",
      cli_env, bin("earshot"), bid, dir, http, dir, bid, dir);
  auto first = run_command(demo);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("categories: 6 created, 0 updated, 0 unchanged"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("scorecards: 1 created, 0 updated, 0 unchanged"), std::string::npos) << first.output;

  const std::string mysql = fmt::format("mariadb --no-defaults -h{} -P{} -u{} -p{} {} -N -B -e ", ep_.mysql_host,
                                        ep_.mysql_port, ep_.mysql_user, ep_.mysql_password, ep_.mysql_database);
  auto sql = [&](const std::string& q) {
    auto out = run_command(mysql + "\"" + q + "\"").output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  std::string by_status;
  const bool analyzed = wait_until(
      [&] {
        by_status = sql(fmt::format("SELECT status, COUNT(*) FROM call_records WHERE bid='{}' GROUP BY status", bid));
        return by_status == "analyzed\t2" || by_status.find("failed") != std::string::npos;
      },
      300s, 500ms);
  ASSERT_TRUE(analyzed && by_status == "analyzed\t2") << "calls by status: " << by_status << "\nstt:\n"
                                                      << stt->output() << "\nanalyze:\n"
                                                      << analyze->output();

  // The call detail, as the dashboard reads it, with the business's API key.
  const std::string key_header = fmt::format("X-Api-Key: $(cat {}/api_key)", dir);
  const std::string ids = sql(fmt::format("SELECT id FROM call_records WHERE bid='{}' ORDER BY external_id", bid));
  std::istringstream id_lines(ids);
  int calls = 0;
  for (std::string id; std::getline(id_lines, id);) {
    auto r = run_command(fmt::format("curl -s -H \"{}\" http://127.0.0.1:{}/api/v1/calls/{}", key_header, http, id));
    auto detail = nlohmann::json::parse(r.output, nullptr, false);
    ASSERT_TRUE(detail.is_object()) << r.output;
    ASSERT_TRUE(detail["categories"].is_array()) << r.output;
    EXPECT_FALSE(detail["categories"].empty()) << "no category matched call " << id << ": " << r.output;
    ASSERT_TRUE(detail["qa"].is_object()) << r.output;
    EXPECT_TRUE(detail["qa"]["score"].is_number()) << "no QA score for call " << id << ": " << r.output;
    ++calls;
  }
  EXPECT_EQ(calls, 2);

  // Again: the same calls (200), the rule sets left as they are.
  auto second = run_command(demo);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("categories: 0 created, 0 updated, 6 unchanged"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("scorecards: 0 created, 0 updated, 1 unchanged"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("uploaded: 0 created, 2 already there, 0 failed"), std::string::npos) << second.output;
  EXPECT_EQ(sql(fmt::format("SELECT COUNT(*) FROM categories WHERE bid='{}'", bid)), "6");
  EXPECT_EQ(sql(fmt::format("SELECT COUNT(*) FROM scorecards WHERE bid='{}'", bid)), "1");

  for (auto* child : {gateway.get(), stt.get(), analyze.get()}) child->signal(SIGTERM);
  for (auto* child : {gateway.get(), stt.get(), analyze.get()}) EXPECT_EQ(child->wait_exit(10s), std::optional<int>(0));
  run_command("rm -rf " + dir);
}

}  // namespace
}  // namespace earshot::testing
