// The runtime's admin listener against the components it starts: /readyz must not say
// ready while a component is still starting (a gateway whose API listener is not bound yet).
// Binds a loopback port, so integration rather than unit.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "earshot/core/clock.hpp"
#include "earshot/core/service.hpp"

namespace earshot {
namespace {

struct Seen {
  int status = 0;
  nlohmann::json body;
};

// Asks the runtime's own /readyz from inside its start(), the way a load balancer would
// while the process is coming up.
class AskReadyzOnStart final : public Component {
 public:
  AskReadyzOnStart(Runtime& runtime, std::optional<Seen>& seen, bool fail)
      : runtime_(runtime), seen_(seen), fail_(fail) {}
  [[nodiscard]] std::string name() const override { return "ask-readyz"; }
  Status start() override {
    httplib::Client client("127.0.0.1", runtime_.admin_port());
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    if (auto r = client.Get("/readyz")) seen_ = Seen{r->status, nlohmann::json::parse(r->body, nullptr, false)};
    if (fail_) return make_error(ErrorCode::kUnavailable, "listener cannot bind");
    return {};
  }
  void stop() override {}

 private:
  Runtime& runtime_;
  std::optional<Seen>& seen_;
  bool fail_;
};

RuntimeSettings settings() {
  RuntimeSettings s;
  s.admin_host = "127.0.0.1";
  s.admin_port = 0;
  s.shutdown_grace = std::chrono::seconds(1);
  s.dependency_check_interval = std::chrono::seconds(1);
  return s;
}

TEST(Runtime, ReadyzIs503UntilEveryComponentHasStarted) {
  Runtime runtime("runtime-test", settings(), SystemClock::instance());
  std::optional<Seen> seen;
  runtime.add_component(std::make_unique<AskReadyzOnStart>(runtime, seen, false));
  ASSERT_TRUE(runtime.start());
  ASSERT_TRUE(seen.has_value()) << "the admin listener did not answer during start";
  EXPECT_EQ(seen->status, 503);
  EXPECT_EQ(seen->body["starting"], true);
  EXPECT_EQ(seen->body["status"], "unavailable");

  httplib::Client client("127.0.0.1", runtime.admin_port());
  auto after = client.Get("/readyz");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(nlohmann::json::parse(after->body)["starting"], false);
  runtime.request_shutdown();
  EXPECT_EQ(runtime.wait_and_shutdown(), 0);
}

TEST(Runtime, AComponentThatFailsToStartLeavesTheProcessNotReady) {
  Runtime runtime("runtime-test", settings(), SystemClock::instance());
  std::optional<Seen> seen;
  runtime.add_component(std::make_unique<AskReadyzOnStart>(runtime, seen, true));
  auto st = runtime.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("listener cannot bind"), std::string::npos) << st.error().message;
  httplib::Client client("127.0.0.1", runtime.admin_port());
  auto r = client.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(nlohmann::json::parse(r->body)["starting"], true);
  runtime.request_shutdown();
  EXPECT_EQ(runtime.wait_and_shutdown(), 0);
}

}  // namespace
}  // namespace earshot
