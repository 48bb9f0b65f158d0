// The dashboard end to end: the real fleet (earshot-gateway serving the built web/dist, and
// earshot-stt, -analyze and -notify) over the test services' MariaDB, Redis and RabbitMQ; a
// business with seeded analysed calls plus demo recordings (`earshot demo-data`: flite voices,
// the demo categories and QA scorecard) that the fleet transcribes and analyses; a second
// business with 10,000 calls for the scrolling figure; and web/e2e/dashboard.e2e.mjs driving
// Debian's chromium through playwright-core (log in, filter, open a call, play and seek, add a
// note, upload a recording and watch its status change live, the analytics pages, chat,
// knowledge, the admin pages, an analyst and a viewer; accessibility and CSP on every page).
// Screenshots of every page land in build/dashboard-screenshots/.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "analysed_call.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "process.hpp"
#include "sse_client.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPassword = "correct horse battery";

TEST(DashboardE2E, ASupervisorLogsInFiltersOpensACallAndAddsANote) {
  const std::filesystem::path source(EARSHOT_SOURCE_DIR);
  ASSERT_TRUE(std::filesystem::exists(source / "web/dist/index.html"))
      << "the dashboard is not built (scripts/build.sh builds web/dist)";
  ASSERT_TRUE(std::filesystem::exists(source / "web/node_modules/playwright-core"))
      << "web/node_modules is missing (scripts/install-deps.sh runs npm ci)";
  const std::string chromium = std::filesystem::exists("/usr/bin/chromium") ? "/usr/bin/chromium" : "";
  ASSERT_FALSE(chromium.empty()) << "Debian's chromium is not installed (scripts/install-deps.sh installs it)";

  const std::string work = ::testing::TempDir() + "earshot-dashboard-" + unique_suffix();
  std::filesystem::create_directories(work + "/objects");
  const std::string lexicon = (source / ".local/assets/vader-1.1.3/vader_lexicon.txt").string();
  ASSERT_TRUE(std::filesystem::exists(lexicon)) << "scripts/fetch-assets.sh fetches the sentiment lexicon";

  // The fleet: one environment (the services, one master key), a port each.
  const std::map<std::string, std::string> base_env = fleet_child_env();
  const int port = free_port();
  std::map<std::string, std::unique_ptr<ChildProcess>> fleet;
  for (const std::string name : {"gateway", "stt", "analyze", "notify"}) {
    const int admin_port = free_port();
    auto env = base_env;
    env.insert({{"EARSHOT_ADMIN_PORT", std::to_string(admin_port)}, {"EARSHOT_SHUTDOWN_GRACE", "5s"}});
    if (name == "gateway") {
      env.insert({{"EARSHOT_HTTP_PORT", std::to_string(port)},
                  {"EARSHOT_RATE_LIMIT_ENABLED", "false"},
                  {"EARSHOT_JWT_SECRET", std::string(40, 'd') + unique_suffix()},
                  {"EARSHOT_WEB_DIR", (source / "web/dist").string()},
                  {"EARSHOT_OBJECT_STORE_DIR", work + "/objects"}});
    }
    if (name == "stt") env.insert({"EARSHOT_OBJECT_STORE_DIR", work + "/objects"});
    if (name == "analyze") env.insert({"EARSHOT_SENTIMENT_LEXICON", lexicon});
    auto child = std::make_unique<ChildProcess>(std::string(EARSHOT_BIN_DIR) + "/earshot-" + name,
                                                std::vector<std::string>{}, env);
    ASSERT_TRUE(child->start()) << name;
    ASSERT_TRUE(
        wait_until([&] { return http_get("127.0.0.1", admin_port, "/readyz").status == 200 || !child->running(); },
                   30s) &&
        child->running())
        << name << ":\n"
        << child->output();
    fleet[name] = std::move(child);
  }
  auto fleet_output = [&] {
    std::string out;
    for (const auto& [name, child] : fleet) out += "\n--- " + name + " ---\n" + child->output();
    return out;
  };

  // A business with an admin and a viewer, and 60 analysed calls with transcripts.
  storage::MySqlUserRepository users(StorageEnvironment::db());
  const std::string root = fmt::format("root-{}@platform.test", unique_suffix());
  ASSERT_TRUE(users.create_platform_admin(root, *crypto::hash_password(kPassword)));
  const std::string platform = gateway_login(port, root, kPassword, "");
  const std::string bid = "web-" + unique_suffix();
  const std::string email = "admin@" + bid + ".test";
  auto made =
      gateway_call(port, "POST", "/api/v1/admin/businesses", platform,
                   {{"bid", bid}, {"name", "Dashboard " + bid}, {"admin_email", email}, {"admin_password", kPassword}});
  ASSERT_EQ(made.first, 201) << made.second;
  const std::string admin = gateway_login(port, email, kPassword, bid);
  const std::string viewer = "viewer@" + bid + ".test";
  const std::string analyst = "analyst@" + bid + ".test";
  for (const auto& [who, role] : {std::pair{viewer, "viewer"}, std::pair{analyst, "analyst"}}) {
    auto user = gateway_call(port, "POST", "/api/v1/admin/businesses/" + bid + "/users", admin,
                             {{"email", who}, {"password", kPassword}, {"role", role}});
    ASSERT_EQ(user.first, 201) << user.second;
  }
  llm::HashedBowEmbedder embedder(256);
  const auto t = *storage::TenantId::make(bid);
  const std::vector<std::vector<SeedLine>> calls = {
      {{analytics::Role::kAgent, "Thank you for calling, how can I help?"},
       {analytics::Role::kCustomer, "My refund never arrived <script src=evil.js></script>"},
       {analytics::Role::kAgent, "I am sorry, I will resend it today."}},
      {{analytics::Role::kAgent, "Good morning."}, {analytics::Role::kCustomer, "I want to cancel my plan."}},
      {{analytics::Role::kCustomer, "The parcel arrived broken <img src=evil.png onerror=alert(1)>."},
       {analytics::Role::kAgent, "We will send a replacement."}}};
  std::int64_t refund_call = 0;
  // Then filler calls, so the list has more than a page of rows to time (the budget: 50 rows).
  constexpr std::size_t kFillers = 57;
  for (std::size_t i = 0; i < calls.size() + kFillers; ++i) {
    AnalysedCallSeed seed;
    seed.external_id = fmt::format("web-{}", i);
    seed.lines = i < calls.size() ? calls[i]
                                  : std::vector<SeedLine>{{analytics::Role::kAgent, "Good morning, how may I help?"},
                                                          {analytics::Role::kCustomer, "Just checking my balance."}};
    seed.transcript = true;
    seed.started_at =
        storage::Timestamp(std::chrono::milliseconds(1'790'000'000'000LL + static_cast<long long>(i) * 60'000));
    auto id = seed_analysed_call(StorageEnvironment::db(), t, seed, embedder);
    ASSERT_TRUE(id) << id.error().to_string();
    if (i == 0) refund_call = *id;
  }

  // Demo recordings through the upload API (the demo categories and scorecard first); the
  // fleet transcribes, analyses and notifies them. A third recording is left for the
  // browser to upload.
  std::string cli = "env -i PATH=/usr/bin:/bin";
  for (const auto& [k, v] : base_env) cli += fmt::format(" {}='{}'", k, v);
  cli += " " + std::string(EARSHOT_BIN_DIR) + "/earshot";
  { std::ofstream(work + "/password") << kPassword << "\n"; }
  const auto demo = run_command(
      fmt::format("{} demo-data --bid {} --calls 2 --out {}/demo --upload http://127.0.0.1:{} --key-file {}/api_key "
                  "--admin-email {} --admin-password-file {}/password 2>&1",
                  cli, bid, work, port, work, email, work));
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  const auto more = run_command(fmt::format("{} demo-data --calls 3 --out {}/upload 2>&1", cli, work));
  ASSERT_EQ(more.exit_code, 0) << more.output;
  const std::string upload_wav = work + "/upload/call-003.wav";
  ASSERT_TRUE(std::filesystem::exists(upload_wav)) << more.output;
  std::vector<std::int64_t> demo_calls;
  std::string seen;
  const bool notified = wait_until(
      [&] {
        auto r = gateway_call(port, "GET", "/api/v1/calls?status=notified&limit=10", admin);
        seen = r.second;
        demo_calls.clear();
        if (r.first != 200) return false;
        const json page = json::parse(r.second);
        for (const auto& c : page["items"]) demo_calls.push_back(c["id"].get<std::int64_t>());
        return demo_calls.size() == 2;
      },
      240s, 500ms);
  ASSERT_TRUE(notified) << seen << fleet_output();

  // A second business with 10,000 calls: the list's scrolling at 10,000 loaded rows.
  const std::string big = "big-" + unique_suffix();
  const std::string big_email = "admin@" + big + ".test";
  auto big_made =
      gateway_call(port, "POST", "/api/v1/admin/businesses", platform,
                   {{"bid", big}, {"name", "Big " + big}, {"admin_email", big_email}, {"admin_password", kPassword}});
  ASSERT_EQ(big_made.first, 201) << big_made.second;
  constexpr int kBigCalls = 10'000;
  auto inserted = StorageEnvironment::db().execute(
      "INSERT INTO call_records (bid, external_id, direction, city, issue_category, call_context, started_at, "
      "duration_ms, metadata, status, agent_talk_ratio, customer_sentiment, qa_score) "
      "SELECT ?, CONCAT('big-', seq), IF(seq % 2 = 0, 'inbound', 'outbound'), ELT(1 + seq % 4, 'Pune', 'Austin', "
      "'Delhi', 'Seattle'), 'billing', '', TIMESTAMP('2026-10-01') + INTERVAL seq MINUTE, 60000 + seq * 7 % 500000, "
      "'{}', 'analyzed', 0.3 + (seq % 40) / 100, (CAST(seq % 21 AS SIGNED) - 10) / 10, 50 + seq % 50 FROM "
      "seq_1_to_10000",
      {storage::Value(big)});
  ASSERT_TRUE(inserted) << inserted.error().to_string();

  const std::string shots = std::string(EARSHOT_BIN_DIR) + "/../dashboard-screenshots";
  const std::string command = fmt::format(
      "cd '{}' && EARSHOT_URL=http://127.0.0.1:{} EARSHOT_EMAIL='{}' EARSHOT_VIEWER_EMAIL='{}' "
      "EARSHOT_ANALYST_EMAIL='{}' EARSHOT_PASSWORD='{}' EARSHOT_BID='{}' EARSHOT_CALLS={} EARSHOT_CALL_ID={} "
      "EARSHOT_CALL_LINES={} EARSHOT_DEMO_CALL_ID={} EARSHOT_UPLOAD_WAV='{}' EARSHOT_BIG_BID='{}' "
      "EARSHOT_BIG_EMAIL='{}' EARSHOT_BIG_CALLS={} EARSHOT_SCREENSHOTS='{}' CHROMIUM='{}' "
      "node e2e/dashboard.e2e.mjs 2>&1",
      (source / "web").string(), port, email, viewer, analyst, kPassword, bid, calls.size() + kFillers + 2, refund_call,
      calls[0].size(), demo_calls.back(), upload_wav, big, big_email, kBigCalls, shots, chromium);
  const auto run = run_command(command);
  std::cout << run.output;  // the script's checks, one "ok - ..." line each
  EXPECT_EQ(run.exit_code, 0) << run.output << fleet_output();
  EXPECT_NE(run.output.find("dashboard e2e: "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ok - calls: no serious accessibility violations"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ok - no CSP violations or page errors"), std::string::npos) << run.output;

  EXPECT_NE(run.output.find("budget: 10000 loaded rows"), std::string::npos) << run.output;

  for (auto& [name, child] : fleet) child->signal(SIGTERM);
  for (auto& [name, child] : fleet) EXPECT_TRUE(child->wait_exit(20s).has_value()) << name;
  queue::AmqpSettings amqp;
  amqp.url = endpoints().amqp_url;
  amqp.heartbeat = 30s;
  amqp.connect_timeout = 5s;
  queue::TopologyAdmin topology(amqp, queue::TopologySettings{});
  for (const auto& b : {bid, big})
    for (auto stage : queue::kAllStages) (void)topology.delete_business(stage, b);
  std::filesystem::remove_all(work);
}

}  // namespace
}  // namespace earshot::testing
