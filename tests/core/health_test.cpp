#include "earshot/core/health.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "test_env.hpp"

namespace earshot {
namespace {

// A probe whose answers the test controls.
class ScriptedProbe final : public DependencyProbe {
 public:
  explicit ScriptedProbe(std::atomic<bool>& healthy, std::atomic<int>& connects)
      : healthy_(healthy), connects_(connects) {}
  std::string name() const override { return "fake"; }
  Status connect() override {
    ++connects_;
    if (!healthy_) return make_error(ErrorCode::kUnavailable, "refused");
    return {};
  }
  Status ping() override {
    if (!healthy_) return make_error(ErrorCode::kUnavailable, "gone");
    return {};
  }
  void close() override {}

 private:
  std::atomic<bool>& healthy_;
  std::atomic<int>& connects_;
};

TEST(Health, ReadinessFollowsDependenciesAndDraining) {
  Metrics metrics("t", "v", "c");
  HealthRegistry reg(metrics);
  auto& a = reg.add("mysql");
  auto& b = reg.add("redis");
  EXPECT_FALSE(reg.readiness().ready);
  a.set_up();
  EXPECT_FALSE(reg.readiness().ready);
  b.set_up();
  auto ok = reg.readiness();
  EXPECT_TRUE(ok.ready);
  EXPECT_EQ(nlohmann::json::parse(ok.json)["status"], "ready");
  b.set_down("connection refused");
  auto down = nlohmann::json::parse(reg.readiness().json);
  EXPECT_EQ(down["status"], "unavailable");
  EXPECT_EQ(down["dependencies"]["redis"]["reason"], "connection refused");
  EXPECT_EQ(down["dependencies"]["mysql"]["up"], true);
  b.set_up();
  reg.set_draining();
  EXPECT_FALSE(reg.readiness().ready);
  EXPECT_NE(metrics.serialize().find(R"(earshot_dependency_up{dependency="redis"} 1)"), std::string::npos);
}

// A process whose components are still starting (a gateway not yet listening on its API
// port) is not ready even with every dependency up: the fleet test's request to the API port
// right after /readyz 200 found nothing listening before this state existed.
TEST(Health, NotReadyWhileStarting) {
  Metrics metrics("t", "v", "c");
  HealthRegistry reg(metrics);
  reg.add("mysql").set_up();
  reg.set_starting(true);
  auto starting = reg.readiness();
  EXPECT_FALSE(starting.ready);
  EXPECT_EQ(nlohmann::json::parse(starting.json)["starting"], true);
  EXPECT_EQ(nlohmann::json::parse(starting.json)["status"], "unavailable");
  reg.set_starting(false);
  auto ready = reg.readiness();
  EXPECT_TRUE(ready.ready);
  EXPECT_EQ(nlohmann::json::parse(ready.json)["starting"], false);
}

TEST(Health, MonitorReconnectsAfterFailure) {
  Metrics metrics("t", "v", "c");
  HealthRegistry reg(metrics);
  auto& state = reg.add("fake");
  std::atomic<bool> healthy{false};
  std::atomic<int> connects{0};
  DependencyMonitor::Options opts;
  opts.interval = std::chrono::milliseconds(10);
  opts.backoff_initial = std::chrono::milliseconds(5);
  opts.backoff_max = std::chrono::milliseconds(20);
  DependencyMonitor mon(std::make_unique<ScriptedProbe>(healthy, connects), state, metrics, opts);
  mon.start();
  ASSERT_TRUE(testing::wait_until([&] { return connects >= 3; }, std::chrono::seconds(5)));
  EXPECT_FALSE(state.up());
  EXPECT_EQ(state.reason(), "unavailable: refused");
  healthy = true;
  ASSERT_TRUE(testing::wait_until([&] { return state.up(); }, std::chrono::seconds(5)));
  healthy = false;  // the next ping fails, the monitor drops and retries
  ASSERT_TRUE(testing::wait_until([&] { return !state.up(); }, std::chrono::seconds(5)));
  healthy = true;
  ASSERT_TRUE(testing::wait_until([&] { return state.up(); }, std::chrono::seconds(5)));
  mon.stop();
  EXPECT_NE(metrics.serialize().find("earshot_dependency_connect_failures_total{dependency=\"fake\"}"),
            std::string::npos);
}

}  // namespace
}  // namespace earshot
