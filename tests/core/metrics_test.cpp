#include "earshot/core/metrics.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace earshot {
namespace {

TEST(MetricNaming, AcceptsProjectConventions) {
  EXPECT_EQ(metric_name_problem("earshot_calls_transcribed_total", MetricType::kCounter), "");
  EXPECT_EQ(metric_name_problem("earshot_queue_depth", MetricType::kGauge), "");
  EXPECT_EQ(metric_name_problem("earshot_stt_duration_seconds", MetricType::kHistogram), "");
}

TEST(MetricNaming, RejectsBrokenNames) {
  EXPECT_NE(metric_name_problem("calls_total", MetricType::kCounter), "");    // no prefix
  EXPECT_NE(metric_name_problem("earshot_calls", MetricType::kCounter), "");  // no _total
  EXPECT_NE(metric_name_problem("earshot_depth_total", MetricType::kGauge), "");
  EXPECT_NE(metric_name_problem("earshot_Calls_total", MetricType::kCounter), "");
  EXPECT_NE(metric_name_problem("earshot-calls_total", MetricType::kCounter), "");
  EXPECT_NE(metric_name_problem("earshot_stt_duration", MetricType::kHistogram), "");  // no unit
  EXPECT_NE(metric_name_problem("earshot_", MetricType::kGauge), "");
}

TEST(Metrics, RegisteringABadNameThrows) {
  Metrics m("test", "1.2.3", "abc");
  EXPECT_THROW(m.counter("earshot_calls", "x"), std::logic_error);
  EXPECT_THROW(m.gauge("queue_depth", "x"), std::logic_error);
  EXPECT_NO_THROW(m.counter("earshot_calls_total", "x"));
}

TEST(Metrics, SerializesBuildInfoProcessAndOwnMetrics) {
  Metrics m("stt", "1.2.3", "abc123");
  m.counter("earshot_things_total", "Things.").Add({{"kind", "a"}}).Increment(3);
  const std::string text = m.serialize();
  EXPECT_NE(text.find(R"(earshot_build_info{commit="abc123",service="stt",version="1.2.3"} 1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(earshot_things_total{kind="a"} 3)"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(text.find("process_open_fds "), std::string::npos);
  EXPECT_NE(text.find("process_start_time_seconds "), std::string::npos);
  // Resident memory of a running process is never zero.
  EXPECT_EQ(text.find("process_resident_memory_bytes 0\n"), std::string::npos);
}

}  // namespace
}  // namespace earshot
