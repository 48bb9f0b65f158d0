#pragma once
// The stage worker's Prometheus series, registered once per worker and labelled with its
// stage. Thread-safe (prometheus-cpp series are).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/worker.hpp"

namespace earshot::queue::detail {

class WorkerMetrics {
 public:
  WorkerMetrics(Metrics& metrics, Stage stage);

  void consumed(const std::string& bid);
  void acked(const std::string& bid);
  void retried(const std::string& bid);
  void dead_lettered(const std::string& bid, ErrorCode code);
  // A redelivery taken over by the handling of the same message still running.
  void redelivery_adopted(const std::string& bid);
  // From dispatch to outcome: the handler plus the broker confirming its copies.
  void handled(OutcomeKind kind, std::chrono::steady_clock::duration elapsed);
  void record_failed();
  // A retry or dead-letter copy the broker did not take (`kind`: "retry", "dead-letter").
  void copy_publish_failed(std::string_view kind);
  // A message entered or left handling (the in-flight gauge).
  void handling_started();
  void handling_ended();
  void reconnected();
  // earshot_queue_message_age_seconds{stage}: publish to delivery of a first attempt.
  void message_age(std::chrono::milliseconds age);
  // Seconds: 10 ms .. 2 h (a queue backlog can be hours long).
  static prometheus::Histogram::BucketBoundaries age_buckets();

  // earshot_queue_depth{queue, kind, stage}: kind is "work", "retry" or "dlq".
  void set_depth(const std::string& queue, const char* kind, std::uint32_t ready);
  void forget_depth(const std::string& queue, const char* kind);

 private:
  std::string stage_;
  prometheus::Family<prometheus::Counter>& consumed_;
  prometheus::Family<prometheus::Counter>& acked_;
  prometheus::Family<prometheus::Counter>& retried_;
  prometheus::Family<prometheus::Counter>& dead_lettered_;
  prometheus::Family<prometheus::Counter>& adopted_;
  prometheus::Family<prometheus::Counter>& record_failures_;
  prometheus::Family<prometheus::Counter>& publish_failures_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Gauge>& depth_;
  prometheus::Histogram& age_;
  prometheus::Gauge& in_flight_;
  prometheus::Counter& reconnects_;
};

}  // namespace earshot::queue::detail
