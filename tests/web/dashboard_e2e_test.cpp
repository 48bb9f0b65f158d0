// The dashboard end to end: the real earshot-gateway binary serving the built web/dist over
// the test services' MariaDB, Redis and RabbitMQ, a business with seeded analysed calls, and
// web/e2e/dashboard.e2e.mjs driving Debian's chromium through playwright-core (log in, filter,
// open a call, add a note, reload, the analytics pages, chat, knowledge, a refused category,
// an API key, sign out, a viewer; accessibility and CSP on every page). Screenshots of every
// page land in build/dashboard-screenshots/.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
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

  const int port = free_port();
  const int admin_port = free_port();
  std::map<std::string, std::string> env = fleet_child_env();
  env.insert({{"EARSHOT_ADMIN_PORT", std::to_string(admin_port)},
              {"EARSHOT_HTTP_PORT", std::to_string(port)},
              {"EARSHOT_RATE_LIMIT_ENABLED", "false"},
              {"EARSHOT_JWT_SECRET", std::string(40, 'd') + unique_suffix()},
              {"EARSHOT_WEB_DIR", (source / "web/dist").string()},
              {"EARSHOT_SHUTDOWN_GRACE", "5s"}});
  ChildProcess gateway(std::string(EARSHOT_BIN_DIR) + "/earshot-gateway", {}, env);
  ASSERT_TRUE(gateway.start());
  ASSERT_TRUE(
      wait_until([&] { return http_get("127.0.0.1", admin_port, "/readyz").status == 200 || !gateway.running(); },
                 30s) &&
      gateway.running())
      << gateway.output();

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
  auto user = gateway_call(port, "POST", "/api/v1/admin/businesses/" + bid + "/users", admin,
                           {{"email", viewer}, {"password", kPassword}, {"role", "viewer"}});
  ASSERT_EQ(user.first, 201) << user.second;
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

  const std::string shots = std::string(EARSHOT_BIN_DIR) + "/../dashboard-screenshots";
  const std::string command = fmt::format(
      "cd '{}' && EARSHOT_URL=http://127.0.0.1:{} EARSHOT_EMAIL='{}' EARSHOT_VIEWER_EMAIL='{}' EARSHOT_PASSWORD='{}' "
      "EARSHOT_BID='{}' "
      "EARSHOT_CALLS={} EARSHOT_CALL_ID={} EARSHOT_CALL_LINES={} EARSHOT_SCREENSHOTS='{}' CHROMIUM='{}' "
      "node e2e/dashboard.e2e.mjs 2>&1",
      (source / "web").string(), port, email, viewer, kPassword, bid, calls.size() + kFillers, refund_call,
      calls[0].size(), shots, chromium);
  const auto run = run_command(command);
  std::cout << run.output;  // the script's checks, one "ok - ..." line each
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n--- gateway ---\n" << gateway.output();
  EXPECT_NE(run.output.find("dashboard e2e: "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ok - calls: no serious accessibility violations"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ok - no CSP violations or page errors"), std::string::npos) << run.output;

  gateway.signal(SIGTERM);
  EXPECT_TRUE(gateway.wait_exit(20s).has_value());
  queue::AmqpSettings amqp;
  amqp.url = endpoints().amqp_url;
  amqp.heartbeat = 30s;
  amqp.connect_timeout = 5s;
  queue::TopologyAdmin topology(amqp, queue::TopologySettings{});
  for (auto stage : queue::kAllStages) (void)topology.delete_business(stage, bid);
}

}  // namespace
}  // namespace earshot::testing
