// The stage worker's series: labelled with the stage (and business, code, outcome), and a
// business's depth series gone once the worker stops consuming it.
#include "worker_metrics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace earshot::queue::detail {
namespace {

bool has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(WorkerMetrics, CountsPerStageBusinessAndCode) {
  Metrics metrics("test", "0", "none");
  WorkerMetrics m(metrics, Stage::kAnalyze);
  m.consumed("acme");
  m.consumed("acme");
  m.acked("acme");
  m.retried("globex");
  m.dead_lettered("acme", ErrorCode::kInvalidArgument);
  m.redelivery_adopted("acme");
  m.copy_publish_failed("retry");
  m.record_failed();
  m.handled(OutcomeKind::kRetried, std::chrono::milliseconds(20));
  m.handling_started();
  m.handling_started();
  m.handling_ended();
  const std::string text = metrics.serialize();
  EXPECT_TRUE(has(text, R"(earshot_queue_consumed_total{bid="acme",stage="analyze"} 2)")) << text;
  EXPECT_TRUE(has(text, R"(earshot_queue_acked_total{bid="acme",stage="analyze"} 1)"));
  EXPECT_TRUE(has(text, R"(earshot_queue_retried_total{bid="globex",stage="analyze"} 1)"));
  EXPECT_TRUE(has(text, R"(earshot_queue_dead_lettered_total{bid="acme",code="invalid_argument",stage="analyze"} 1)"));
  EXPECT_TRUE(has(text, R"(earshot_queue_redeliveries_adopted_total{bid="acme",stage="analyze"} 1)"));
  EXPECT_TRUE(has(text, R"(earshot_queue_copy_publish_failures_total{kind="retry",stage="analyze"} 1)"));
  EXPECT_TRUE(has(text, R"(earshot_queue_outcome_record_failures_total{stage="analyze"} 1)"));
  EXPECT_TRUE(has(text, R"(earshot_queue_handler_duration_seconds_count{outcome="retried",stage="analyze"} 1)"));
  EXPECT_TRUE(has(text, R"(earshot_queue_in_flight{stage="analyze"} 1)"));
}

TEST(WorkerMetrics, ADepthSeriesIsForgottenWithItsBusiness) {
  Metrics metrics("test", "0", "none");
  WorkerMetrics m(metrics, Stage::kSync);
  m.set_depth("sync.acme", "work", 7);
  m.set_depth("dlq.sync.acme", "dlq", 1);
  std::string text = metrics.serialize();
  EXPECT_TRUE(has(text, R"(earshot_queue_depth{kind="work",queue="sync.acme",stage="sync"} 7)")) << text;
  m.forget_depth("sync.acme", "work");
  text = metrics.serialize();
  EXPECT_FALSE(has(text, R"(queue="sync.acme")"));
  EXPECT_TRUE(has(text, R"(earshot_queue_depth{kind="dlq",queue="dlq.sync.acme",stage="sync"} 1)"));
}

TEST(WorkerMetrics, MessageAgeFallsIntoTheStagesBuckets) {
  Metrics metrics("test", "0", "none");
  WorkerMetrics m(metrics, Stage::kTranscribe);
  m.message_age(std::chrono::milliseconds(40));
  m.message_age(std::chrono::seconds(400));
  const std::string text = metrics.serialize();
  EXPECT_TRUE(has(text, R"(earshot_queue_message_age_seconds_count{stage="transcribe"} 2)")) << text;
  EXPECT_TRUE(has(text, R"(earshot_queue_message_age_seconds_sum{stage="transcribe"} 400.04)")) << text;
  EXPECT_TRUE(has(text, R"(earshot_queue_message_age_seconds_bucket{stage="transcribe",le="0.05"} 1)")) << text;
  EXPECT_TRUE(has(text, R"(earshot_queue_message_age_seconds_bucket{stage="transcribe",le="300"} 1)")) << text;
  EXPECT_TRUE(has(text, R"(earshot_queue_message_age_seconds_bucket{stage="transcribe",le="600"} 2)")) << text;
}

}  // namespace
}  // namespace earshot::queue::detail
