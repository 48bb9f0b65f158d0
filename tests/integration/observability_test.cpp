// Every PromQL expression of the Grafana dashboards (infra/grafana/dashboards/*.json) and of
// the alert rules (infra/prometheus/alerts.yml) against the test instance's Prometheus while
// it scrapes the real fleet: the five binaries run as child processes on a migrated scratch
// database, Prometheus finds them through a file_sd target file, and a little work goes
// through (a business registered, a call uploaded with its transcript and one with its audio,
// both followed to notified). Then each expression must parse (status success), and the core
// panels (kCorePanels) must return at least one series: no panel points at a metric nobody
// exports.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "earshot/crypto/password.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "process.hpp"
#include "sse_client.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "observability password";

// Panels that must show data on a healthy fleet after the work this test pushes through, by
// dashboard file. The others (dead letters, failures, 429s, LLM usage, deliveries) only have
// series once such an event happened; they are checked to parse. earshot-sync sweeps the data
// lifecycle when it starts, so both lifecycle panels have series.
const std::map<std::string, std::set<std::string>> kCorePanels = {
    {"fleet.json",
     {"Messages finished per stage", "Calls arriving", "Ingest to notified latency", "Handling time per stage (p95)",
      "Queue depth per stage", "Queue age per stage (p95)", "Messages in flight", "Deepest queues",
      "Dead letters waiting", "Ready", "Scraped", "Dependencies down",
      "Data lifecycle: time since the last successful sweep", "Data lifecycle: work done"}},
    {"providers.json", {"STT time per call", "Calls transcribed per provider", "Audio minutes per business"}},
    {"gateway.json",
     {"Requests by status", "4xx and 5xx", "Latency", "Slowest routes (p95)", "Busiest routes", "Open connections",
      "Live event streams (SSE clients)", "Live events", "Ingested calls by source and result"}},
    {"notify.json", {"Retries", "Paused subscriptions", "Deliveries in flight", "Calls handled by the notify stage"}},
};

struct Expression {
  std::string where;  // "fleet.json: Calls arriving" or "alerts.yml: EarshotQueueLag"
  std::string panel;  // dashboard panel title; empty for alert rules
  std::string dashboard;
  std::string promql;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// Grafana's variables as a query sees them: $__rate_interval and $__interval 1m, $__range
// 1h, a query variable every value (.*), a text box its default.
std::string expand(std::string expr, const json& dashboard) {
  const auto& vars = dashboard["templating"]["list"];
  for (const auto& v : vars) {
    const std::string name = v["name"];
    const std::string value = v["type"] == "query" ? std::string(".*") : v["query"].get<std::string>();
    expr = replace_all(expr, fmt::format("${{{}}}", name), value);
    expr = replace_all(expr, fmt::format("${}", name), value);
  }
  for (const char* builtin : {"$__rate_interval", "$__interval"}) expr = replace_all(expr, builtin, "1m");
  return replace_all(expr, "$__range", "1h");
}

std::vector<Expression> dashboard_expressions() {
  std::vector<Expression> out;
  const std::string dir = std::string(EARSHOT_SOURCE_DIR) + "/infra/grafana/dashboards";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    const std::string file = entry.path().filename().string();
    const auto dashboard = json::parse(read_file(entry.path().string()), nullptr, false);
    EXPECT_FALSE(dashboard.is_discarded()) << file << " is not JSON";
    if (dashboard.is_discarded()) continue;
    std::vector<json> panels(dashboard["panels"].begin(), dashboard["panels"].end());
    for (std::size_t i = 0; i < panels.size(); ++i) {
      const auto p = panels[i];
      if (p.contains("panels")) panels.insert(panels.end(), p["panels"].begin(), p["panels"].end());
      if (!p.contains("targets")) continue;
      for (const auto& t : p["targets"]) {
        EXPECT_EQ(t["datasource"]["uid"], "prometheus") << file << ": " << p["title"];
        const std::string title = p["title"];
        out.push_back(
            {fmt::format("{}: {}", file, title), title, file, expand(t["expr"].get<std::string>(), dashboard)});
      }
    }
  }
  return out;
}

// The `expr` of every rule in alerts.yml: `expr: <one line>` or a `expr: |` block (the lines
// indented deeper than the key).
std::vector<Expression> alert_expressions() {
  std::vector<Expression> out;
  std::istringstream in(read_file(std::string(EARSHOT_SOURCE_DIR) + "/infra/prometheus/alerts.yml"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string alert;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    const auto key = line.find_first_not_of(' ');
    if (key == std::string::npos) continue;
    if (line.compare(key, 9, "- alert: ") == 0) alert = line.substr(key + 9);
    if (line.compare(key, 6, "expr: ") != 0) continue;
    std::string expr = line.substr(key + 6);
    if (expr == "|") {
      expr.clear();
      while (i + 1 < lines.size() && (lines[i + 1].empty() || lines[i + 1].find_first_not_of(' ') > key)) {
        expr += lines[++i] + "\n";
      }
    }
    out.push_back({"alerts.yml: " + alert, "", "", expr});
  }
  return out;
}

struct QueryResult {
  bool success = false;
  std::size_t series = 0;
  std::string error;
};

class ObservabilityFleet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto ep = endpoints();
    const char* targets_dir = std::getenv("ES_PROMETHEUS_TARGETS_DIR");
    ASSERT_NE(targets_dir, nullptr) << "run through scripts/test.sh (ES_PROMETHEUS_TARGETS_DIR)";
    prom_port_ = std::stoi(ep.prometheus_url.substr(ep.prometheus_url.rfind(':') + 1));
    dir_ = ::testing::TempDir() + "earshot-obs-" + unique_suffix();
    ASSERT_EQ(run_command("mkdir -p " + dir_ + "/objects").exit_code, 0);

    http_port_ = free_port();
    json targets = json::array();
    const auto base = fleet_child_env();
    for (const std::string service : {"gateway", "sync", "stt", "analyze", "notify"}) {
      const int admin = free_port();
      auto env = base;
      env["EARSHOT_ADMIN_PORT"] = std::to_string(admin);
      env["EARSHOT_DEPENDENCY_CHECK_INTERVAL"] = "200ms";
      if (service == "gateway") {
        env["EARSHOT_HTTP_PORT"] = std::to_string(http_port_);
        env["EARSHOT_JWT_SECRET"] = std::string(40, 'o') + unique_suffix();
        env["EARSHOT_RATE_LIMIT_ENABLED"] = "false";
        env["EARSHOT_OBJECT_STORE_DIR"] = dir_ + "/objects";
      } else {
        env["EARSHOT_QUEUE_DEPTH_INTERVAL"] = "1s";
      }
      if (service == "stt") env["EARSHOT_OBJECT_STORE_DIR"] = dir_ + "/objects";
      if (service == "analyze") {
        env["EARSHOT_SENTIMENT_LEXICON"] =
            std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt";
      }
      auto child = std::make_unique<ChildProcess>(std::string(EARSHOT_BIN_DIR) + "/earshot-" + service,
                                                  std::vector<std::string>{}, std::move(env));
      ASSERT_TRUE(child->start()) << service;
      const bool up =
          wait_until([&] { return http_get("127.0.0.1", admin, "/readyz").status == 200 || !child->running(); }, 30s);
      ASSERT_TRUE(up && child->running()) << service << " never became ready:\n" << child->output();
      targets.push_back({{"targets", {fmt::format("127.0.0.1:{}", admin)}}, {"labels", {{"service", service}}}});
      admin_ports_[service] = admin;
      children_.push_back(std::move(child));
    }
    targets_file_ = fmt::format("{}/observability-test-{}.json", targets_dir, unique_suffix());
    std::ofstream(targets_file_) << targets.dump();
  }

  static void TearDownTestSuite() {
    if (!targets_file_.empty()) std::remove(targets_file_.c_str());
    for (auto& c : children_) c->signal(SIGTERM);
    for (auto& c : children_) (void)c->wait_exit(10s);
    children_.clear();
    if (!dir_.empty()) run_command("rm -rf " + dir_);
  }

  // One request to the gateway with an API key.
  static std::pair<int, std::string> with_key(const std::string& method, const std::string& path, const json& body) {
    httplib::Client cli("127.0.0.1", http_port_);
    cli.set_read_timeout(30, 0);
    httplib::Headers headers{{"X-Api-Key", api_key_}};
    auto res = method == "POST" ? cli.Post(path.c_str(), headers, body.dump(), "application/json")
                                : cli.Get(path.c_str(), headers);
    if (!res) return {0, ""};
    return {res->status, res->body};
  }

  static QueryResult query(const std::string& promql) {
    httplib::Client cli("127.0.0.1", prom_port_);
    cli.set_read_timeout(10, 0);
    auto res = cli.Post("/api/v1/query", httplib::Params{{"query", promql}});
    QueryResult out;
    if (!res) {
      out.error = "Prometheus did not answer";
      return out;
    }
    auto j = json::parse(res->body, nullptr, false);
    if (j.is_discarded()) {
      out.error = res->body;
      return out;
    }
    out.success = j.value("status", "") == "success";
    if (!out.success) out.error = j.value("error", res->body);
    if (out.success && j["data"]["result"].is_array()) out.series = j["data"]["result"].size();
    return out;
  }

  static inline std::vector<std::unique_ptr<ChildProcess>> children_;
  static inline std::map<std::string, int> admin_ports_;
  static inline int http_port_ = 0;
  static inline int prom_port_ = 0;
  static inline std::string dir_;
  static inline std::string targets_file_;
  static inline std::string api_key_;
};

// A mono 16-bit 8 kHz WAV: `seconds` of a 440 Hz tone.
std::string tone_wav(int seconds) {
  const std::uint32_t rate = 8000;
  const std::uint32_t samples = rate * static_cast<std::uint32_t>(seconds);
  std::string out;
  auto u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto u16 = [&](std::uint16_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
  };
  out += "RIFF";
  u32(36 + samples * 2);
  out += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(1);
  u32(rate);
  u32(rate * 2);
  u16(2);
  u16(16);
  out += "data";
  u32(samples * 2);
  for (std::uint32_t i = 0; i < samples; ++i) {
    const double v = 8000.0 * std::sin(2.0 * 3.14159265358979 * 440.0 * i / rate);
    u16(static_cast<std::uint16_t>(static_cast<std::int16_t>(v)));
  }
  return out;
}

TEST_F(ObservabilityFleet, EveryDashboardAndAlertExpressionParsesAndTheCorePanelsShowTheFleet) {
  // A business, its admin and an ingest key, through the gateway as an operator would.
  storage::MySqlUserRepository users(StorageEnvironment::db());
  const std::string root = fmt::format("root-{}@platform.test", unique_suffix());
  ASSERT_TRUE(users.create_platform_admin(root, *crypto::hash_password(kPassword)));
  const auto platform = gateway_login(http_port_, root, kPassword, "");
  ASSERT_FALSE(platform.empty());
  const std::string bid = "obs-" + unique_suffix();
  auto created = gateway_call(http_port_, "POST", "/api/v1/admin/businesses", platform,
                              {{"bid", bid},
                               {"name", "Observability " + bid},
                               {"admin_email", "admin@" + bid + ".test"},
                               {"admin_password", kPassword}});
  ASSERT_EQ(created.first, 201) << created.second;
  const auto admin = gateway_login(http_port_, "admin@" + bid + ".test", kPassword, bid);
  ASSERT_FALSE(admin.empty());
  auto key = gateway_call(http_port_, "POST", "/api/v1/admin/businesses/" + bid + "/api-keys", admin,
                          {{"name", "ingest"}, {"scopes", {"ingest"}}});
  ASSERT_EQ(key.first, 201) << key.second;
  api_key_ = json::parse(key.second)["secret"];

  // A call with its transcript (straight to analyze) and one with its audio (through stt).
  auto text_call =
      with_key("POST", "/api/v1/ingest/transcripts",
               {{"external_id", "obs-text-1"},
                {"segments",
                 {{{"speaker", "agent"}, {"start_ms", 0}, {"end_ms", 2000}, {"text", "Thanks for calling."}},
                  {{"speaker", "customer"},
                   {"start_ms", 2200},
                   {"end_ms", 5000},
                   {"text", "My order arrived broken, I want a refund."}}}}});
  ASSERT_EQ(text_call.first, 201) << text_call.second;
  httplib::Client upload("127.0.0.1", http_port_);
  upload.set_read_timeout(30, 0);
  auto audio_res = upload.Post("/api/v1/ingest/calls", httplib::Headers{{"X-Api-Key", api_key_}},
                               httplib::MultipartFormDataItems{{"audio", tone_wav(3), "call.wav", "audio/wav"},
                                                               {"external_id", "obs-audio-1", "", ""}});
  ASSERT_TRUE(audio_res);
  ASSERT_EQ(audio_res->status, 201) << audio_res->body;
  EXPECT_EQ(http_get("127.0.0.1", http_port_, "/api/v1/no-such-route").status, 404);  // a 4xx for the panels

  const std::vector<std::string> ids = {std::to_string(json::parse(text_call.second)["id"].get<std::int64_t>()),
                                        std::to_string(json::parse(audio_res->body)["id"].get<std::int64_t>())};
  std::map<std::string, std::string> status;
  const bool notified = wait_until(
      [&] {
        for (const auto& id : ids) {
          auto r = gateway_call(http_port_, "GET", "/api/v1/calls/" + id, admin);
          auto j = json::parse(r.second, nullptr, false);
          status[id] = j.is_object() ? j.value("status", r.second) : r.second;
        }
        return status[ids[0]] == "notified" && status[ids[1]] == "notified";
      },
      240s, 500ms);
  std::string outputs;
  for (const auto& c : children_) outputs += c->output().substr(0, 4000) + "\n----\n";
  ASSERT_TRUE(notified) << "text call: " << status[ids[0]] << ", audio call: " << status[ids[1]] << "\n" << outputs;

  // Prometheus has scraped every binary of this fleet.
  for (const auto& [service, port] : admin_ports_) {
    const auto q = fmt::format(R"(earshot_ready{{instance="127.0.0.1:{}"}} == 1)", port);
    EXPECT_TRUE(wait_until([&] { return query(q).series == 1; }, 60s, 250ms)) << service << " never scraped ready";
  }

  auto expressions = dashboard_expressions();
  std::set<std::string> seen_core;
  for (const auto& e : expressions) {
    auto it = kCorePanels.find(e.dashboard);
    if (it != kCorePanels.end() && it->second.count(e.panel))
      seen_core.insert(fmt::format("{}: {}", e.dashboard, e.panel));
  }
  for (const auto& [file, titles] : kCorePanels) {
    for (const auto& title : titles) {
      EXPECT_TRUE(seen_core.count(fmt::format("{}: {}", file, title)))
          << "core panel " << file << ": " << title << " is gone";
    }
  }
  const auto alerts = alert_expressions();
  EXPECT_GE(alerts.size(), 12u) << "alerts.yml was not read";
  expressions.insert(expressions.end(), alerts.begin(), alerts.end());
  ASSERT_GE(expressions.size(), 60u);

  // Every expression parses; a core panel shows series once the rates cover the work (a
  // histogram's rate needs two scrapes after its first observation).
  std::set<std::string> empty_core;
  const bool all_shown = wait_until(
      [&] {
        empty_core.clear();
        std::map<std::string, bool> shown;
        for (const auto& e : expressions) {
          EXPECT_EQ(e.promql.find('$'), std::string::npos) << e.where << ": a variable left in " << e.promql;
          auto r = query(e.promql);
          if (!r.success) {
            ADD_FAILURE() << e.where << " does not parse: " << r.error << "\n" << e.promql;
            continue;
          }
          auto core = kCorePanels.find(e.dashboard);
          if (core == kCorePanels.end() || !core->second.count(e.panel)) continue;
          shown[e.where] = shown[e.where] || r.series > 0;
        }
        for (const auto& [where, ok] : shown) {
          if (!ok) empty_core.insert(where);
        }
        return empty_core.empty() || ::testing::Test::HasFailure();
      },
      90s, 2s);
  EXPECT_TRUE(all_shown && empty_core.empty()) << [&] {
    std::string s = "core panels without a series:";
    for (const auto& w : empty_core) s += "\n  " + w;
    return s;
  }();
}

}  // namespace
}  // namespace earshot::testing
