#include <gtest/gtest.h>

#include "earshot/queue/topology.hpp"

namespace earshot::queue {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::vector<milliseconds> kDelays{seconds(5), seconds(30), minutes(5)};

TEST(RetryTier, FollowsTheAttemptCountAndCapsAtTheLastTier) {
  EXPECT_EQ(select_retry_tier(1, kDelays, std::nullopt), 0u);
  EXPECT_EQ(select_retry_tier(2, kDelays, std::nullopt), 1u);
  EXPECT_EQ(select_retry_tier(3, kDelays, std::nullopt), 2u);
  EXPECT_EQ(select_retry_tier(9, kDelays, std::nullopt), 2u);
}

TEST(RetryTier, AHintMovesUpToTheFirstTierAtLeastAsLong) {
  EXPECT_EQ(select_retry_tier(1, kDelays, seconds(5)), 0u);
  EXPECT_EQ(select_retry_tier(1, kDelays, seconds(6)), 1u);
  EXPECT_EQ(select_retry_tier(1, kDelays, minutes(60)), 2u);
  // A short hint never moves a later attempt down.
  EXPECT_EQ(select_retry_tier(3, kDelays, milliseconds(1)), 2u);
}

TEST(RetryTier, QueueNamesCarryTheDelay) {
  EXPECT_EQ(retry_queue(Stage::kSync, "acme", seconds(5)), "retry.sync.acme.5s");
  EXPECT_EQ(retry_queue(Stage::kNotify, "acme", minutes(5)), "retry.notify.acme.5m");
  EXPECT_EQ(retry_queue(Stage::kSync, "acme", milliseconds(1500)), "retry.sync.acme.1500ms");
  EXPECT_EQ(dead_letter_queue(Stage::kAnalyze, "acme"), "dlq.analyze.acme");
  EXPECT_EQ(work_queue(Stage::kTranscribe, "acme"), "transcribe.acme");
}

TEST(RetryTier, ParsesConfiguredDelays) {
  auto d = parse_retry_delays("5s, 30s,5m");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(*d, kDelays);
  EXPECT_FALSE(parse_retry_delays("30s,5s"));  // not ascending
  EXPECT_FALSE(parse_retry_delays(""));
  EXPECT_FALSE(parse_retry_delays("5s,,30s"));
  EXPECT_FALSE(parse_retry_delays("0s"));
}

TEST(RetryTier, ConfigKeysLoadAndResolve) {
  TopologySettings t;
  ConfigSpec spec;
  t.declare(spec);
  ASSERT_TRUE(spec.load({{"EARSHOT_QUEUE_RETRY_DELAYS", "1s,2s"}, {"EARSHOT_QUEUE_MAX_ATTEMPTS", "3"}}));
  ASSERT_TRUE(t.resolve());
  EXPECT_EQ(t.retry_delays, (std::vector<milliseconds>{seconds(1), seconds(2)}));
  EXPECT_EQ(t.max_attempts, 3);

  TopologySettings bad;
  ConfigSpec spec2;
  bad.declare(spec2);
  ASSERT_TRUE(spec2.load({{"EARSHOT_QUEUE_RETRY_DELAYS", "2s,1s"}}));
  auto st = bad.resolve();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("queue_retry_delays"), std::string::npos);
}

}  // namespace
}  // namespace earshot::queue

#include "earshot/queue/worker.hpp"

namespace earshot::queue {
namespace {

TEST(WorkerSettings, ConfigKeysBecomeOptions) {
  StageWorkerSettings s;
  ConfigSpec spec;
  s.declare(spec);
  ASSERT_TRUE(spec.load({{"EARSHOT_WORKER_HANDLER_THREADS", "8"},
                         {"EARSHOT_WORKER_PREFETCH", "64"},
                         {"EARSHOT_QUEUE_PUBLISH_WINDOW", "500"},
                         {"EARSHOT_WORKER_RECONCILE_INTERVAL", "2s"}}));
  auto o = s.options(Stage::kAnalyze);
  EXPECT_EQ(o.stage, Stage::kAnalyze);
  EXPECT_EQ(o.handler_threads, 8u);
  EXPECT_EQ(o.prefetch, 64);
  EXPECT_EQ(o.publish_window, 500u);
  EXPECT_EQ(o.reconcile_interval, std::chrono::seconds(2));
  ConfigSpec bad;
  StageWorkerSettings s2;
  s2.declare(bad);
  EXPECT_FALSE(bad.load({{"EARSHOT_WORKER_HANDLER_THREADS", "0"}}));
}

}  // namespace
}  // namespace earshot::queue
