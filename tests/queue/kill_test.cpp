#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "earshot/queue/publisher.hpp"
#include "queue_fixture.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"

namespace earshot::queue::testing {
namespace {

using earshot::testing::ChildProcess;
using earshot::testing::wait_until;
using std::chrono::seconds;
using KillTest = QueueTest;

int count_lines(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

TEST_F(KillTest, WorkerKilledMidMessageLeadsToRedeliveryAndASingleEffect) {
  const std::string bid = new_bid();
  declare(Stage::kSync, bid);
  const auto dir = std::filesystem::temp_directory_path() / ("earshot-kill-" + bid);
  std::filesystem::create_directories(dir);
  const std::string log = (dir / "log").string();
  const std::string bin = std::string(EARSHOT_BIN_DIR) + "/queue_test_worker";
  std::map<std::string, std::string> env{{"EARSHOT_AMQP_URL", amqp.url}};

  auto msg = stage_message(Stage::kSync, bid, "c1");
  const std::string id = msg.message_id;
  {
    Publisher pub(amqp, {});
    pub.start();
    ASSERT_TRUE(pub.publish(std::move(msg)));
  }
  {
    ChildProcess first(bin, {bid, dir.string(), "60000"}, env);
    ASSERT_TRUE(first.start());
    ASSERT_TRUE(wait_until([&] { return count_lines(log, "start " + id) == 1; }, seconds(20))) << first.output();
    first.signal(SIGKILL);
    ASSERT_TRUE(first.wait_exit(seconds(5)));
  }
  // The broker noticed the dead connection and requeued the unacked delivery.
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 1u; }, seconds(15)));
  EXPECT_EQ(count_lines(log, "effect "), 0);

  ChildProcess second(bin, {bid, dir.string(), "0"}, env);
  ASSERT_TRUE(second.start());
  ASSERT_TRUE(wait_until([&] { return count_lines(log, "effect " + id) == 1; }, seconds(20))) << second.output();
  EXPECT_TRUE(wait_until([&] { return depth(work_queue(Stage::kSync, bid)) == 0u; }, seconds(15)));
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait_exit(seconds(10)), 0);
  EXPECT_EQ(count_lines(log, "start " + id), 2);  // delivered twice
  EXPECT_EQ(count_lines(log, "effect "), 1);      // applied once
  EXPECT_EQ(count_lines(log, "duplicate "), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace earshot::queue::testing
