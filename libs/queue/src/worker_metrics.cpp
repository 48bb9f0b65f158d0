#include "worker_metrics.hpp"

namespace earshot::queue::detail {

WorkerMetrics::WorkerMetrics(Metrics& m, Stage stage)
    : stage_(stage_name(stage)),
      consumed_(m.counter("earshot_queue_consumed_total", "Deliveries received, per stage and business.")),
      acked_(m.counter("earshot_queue_acked_total", "Deliveries acked, per stage and business.")),
      retried_(m.counter("earshot_queue_retried_total", "Messages sent to a retry tier, per stage and business.")),
      dead_lettered_(m.counter("earshot_queue_dead_lettered_total",
                               "Messages dead-lettered, per stage, business and error code.")),
      adopted_(m.counter("earshot_queue_redeliveries_adopted_total",
                         "Redeliveries (after a consumer reconnect) of a message whose handling was still "
                         "running, settled by that handling instead of handled again.")),
      record_failures_(
          m.counter("earshot_queue_outcome_record_failures_total", "Outcomes the recorder could not store.")),
      publish_failures_(m.counter("earshot_queue_copy_publish_failures_total",
                                  "Retry or dead-letter copies the broker did not take.")),
      duration_(m.histogram("earshot_queue_handler_duration_seconds",
                            "Dispatch to outcome per message: the handler plus the broker "
                            "confirming its next-stage, retry or dead-letter copies.")),
      depth_(m.gauge("earshot_queue_depth", "Ready messages per queue (work, retry, dlq).")),
      age_(m.histogram("earshot_queue_message_age_seconds",
                       "Time from publish to delivery of a message's first attempt, per stage "
                       "(retries, which wait on purpose, are not observed).")
               .Add({{"stage", stage_}}, age_buckets())),
      in_flight_(m.gauge("earshot_queue_in_flight", "Messages being handled now.").Add({{"stage", stage_}})),
      reconnects_(m.counter("earshot_queue_reconnects_total", "AMQP connections re-established after a failure.")
                      .Add({{"connection", "consumer"}})) {}

void WorkerMetrics::consumed(const std::string& bid) {
  consumed_.Add({{"stage", stage_}, {"bid", bid}}).Increment();
}

void WorkerMetrics::acked(const std::string& bid) {
  acked_.Add({{"stage", stage_}, {"bid", bid}}).Increment();
}

void WorkerMetrics::retried(const std::string& bid) {
  retried_.Add({{"stage", stage_}, {"bid", bid}}).Increment();
}

void WorkerMetrics::dead_lettered(const std::string& bid, ErrorCode code) {
  dead_lettered_.Add({{"stage", stage_}, {"bid", bid}, {"code", std::string(code_name(code))}}).Increment();
}

void WorkerMetrics::redelivery_adopted(const std::string& bid) {
  adopted_.Add({{"stage", stage_}, {"bid", bid}}).Increment();
}

void WorkerMetrics::handled(OutcomeKind kind, std::chrono::steady_clock::duration elapsed) {
  duration_.Add({{"stage", stage_}, {"outcome", std::string(outcome_name(kind))}}, Metrics::latency_buckets())
      .Observe(std::chrono::duration<double>(elapsed).count());
}

void WorkerMetrics::record_failed() {
  record_failures_.Add({{"stage", stage_}}).Increment();
}

void WorkerMetrics::copy_publish_failed(std::string_view kind) {
  publish_failures_.Add({{"stage", stage_}, {"kind", std::string(kind)}}).Increment();
}

void WorkerMetrics::handling_started() {
  in_flight_.Increment();
}

void WorkerMetrics::handling_ended() {
  in_flight_.Decrement();
}

void WorkerMetrics::reconnected() {
  reconnects_.Increment();
}

prometheus::Histogram::BucketBoundaries WorkerMetrics::age_buckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200};
}

void WorkerMetrics::message_age(std::chrono::milliseconds age) {
  age_.Observe(std::chrono::duration<double>(age).count());
}

void WorkerMetrics::set_depth(const std::string& queue, const char* kind, std::uint32_t ready) {
  depth_.Add({{"queue", queue}, {"kind", kind}, {"stage", stage_}}).Set(static_cast<double>(ready));
}

void WorkerMetrics::forget_depth(const std::string& queue, const char* kind) {
  depth_.Remove(&depth_.Add({{"queue", queue}, {"kind", kind}, {"stage", stage_}}));
}

}  // namespace earshot::queue::detail
