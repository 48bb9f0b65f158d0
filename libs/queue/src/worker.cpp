#include "earshot/queue/worker.hpp"

// The stage worker is a composition of parts with one job each (docs/queue.md):
//   ConsumerChannels   (consumer_channels.*)   the consumer connection and its I/O thread
//   HandlerPool        (handler_pool.*)        handler threads, fair dispatch, drain
//   DeliveryProcessor  (delivery_processor.*)  one message from check to ack, by the router
//   BusinessReconciler (business_reconciler.*) which businesses are consumed; queue depth
//   WorkerMetrics      (worker_metrics.*)      the Prometheus series
// This file wires them to each other; none of them calls another but through these hooks.

#include <algorithm>
#include <atomic>

#include "business_reconciler.hpp"
#include "consumer_channels.hpp"
#include "delivery_processor.hpp"
#include "earshot/queue/outcome_router.hpp"
#include "earshot/queue/publisher.hpp"
#include "handler_pool.hpp"
#include "worker_metrics.hpp"

namespace earshot::queue {

std::string_view outcome_name(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kDone:
      return "done";
    case OutcomeKind::kRetried:
      return "retried";
    case OutcomeKind::kDeadLettered:
      return "dead_lettered";
  }
  return "done";
}

void StageWorkerSettings::declare(ConfigSpec& spec) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  spec.add_int("worker_handler_threads", &handler_threads, 4, 1, 256, "Handler threads of a stage worker.");
  spec.add_int("worker_business_in_flight", &per_business_in_flight, 2, 1, 20000,
               "Messages of one business handled at once (fairness cap).");
  spec.add_int("worker_prefetch", &prefetch, 16, 1, 10000, "Unacked deliveries per business consumer (basic.qos).");
  spec.add_duration("worker_reconcile_interval", &reconcile_interval, seconds(10), milliseconds(100),
                    std::chrono::hours(1), "How often a worker re-reads the enabled businesses.");
  spec.add_duration("queue_depth_interval", &depth_interval, seconds(15), milliseconds(100), std::chrono::hours(1),
                    "How often earshot_queue_depth is refreshed.");
  spec.add_int("queue_publish_window", &publish_window, 256, 1, 10000,
               "Publishes awaiting broker confirmation at once.");
  spec.add_duration("queue_publish_timeout", &publish_timeout, seconds(10), milliseconds(100), std::chrono::minutes(10),
                    "Deadline for a broker confirmation.");
}

StageWorkerOptions StageWorkerSettings::options(Stage stage) const {
  StageWorkerOptions o;
  o.stage = stage;
  o.handler_threads = static_cast<std::size_t>(handler_threads);
  o.per_business_in_flight = static_cast<std::size_t>(per_business_in_flight);
  o.prefetch = static_cast<std::uint16_t>(std::min<std::int64_t>(prefetch, 65535));
  o.reconcile_interval = reconcile_interval;
  o.depth_interval = depth_interval;
  o.publish_window = static_cast<std::size_t>(publish_window);
  o.publish_timeout = publish_timeout;
  return o;
}

namespace {

// The asynchronous handler's budget: max_in_flight jobs at once, and a prefetch large
// enough for one business to reach its share of them.
StageWorkerOptions adjusted(StageWorkerOptions o, bool async) {
  if (!async) return o;
  o.max_in_flight = std::max<std::size_t>(1, o.max_in_flight);
  const std::size_t share = std::min(o.per_business_in_flight, o.max_in_flight);
  o.prefetch = static_cast<std::uint16_t>(std::min<std::size_t>(65535, std::max<std::size_t>(o.prefetch, share)));
  return o;
}

}  // namespace

struct StageWorker::Impl final : detail::ConsumerSink, detail::ProcessorHooks, detail::ReconcilerActions {
  StageWorkerOptions opt;
  TopologySettings topo;
  detail::WorkerMetrics metrics;
  Publisher publisher;
  TopologyAdmin admin;  // reconciler thread only (and start() before threads exist)
  detail::DeliveryProcessor processor;
  detail::HandlerPool pool;
  detail::ConsumerChannels channels;
  detail::BusinessReconciler reconciler;
  Clock& clock;
  std::atomic<bool> intake_stopped{false};
  bool running = false;

  Impl(AmqpSettings a, TopologySettings t, StageWorkerOptions o, StageHandler* h, AsyncStageHandler* ah,
       BusinessDirectory& d, OutcomeRecorder& r, Metrics& m, Clock& c)
      : opt(adjusted(o, ah != nullptr)),
        topo(std::move(t)),
        metrics(m, o.stage),
        publisher(a, PublisherOptions{.window = o.publish_window, .confirm_timeout = o.publish_timeout}, &m),
        admin(a, topo),
        processor(detail::ProcessorOptions{.stage = o.stage,
                                           .validate_schema = o.validate_schema,
                                           .retry_rules = {.max_attempts = static_cast<int>(topo.max_attempts),
                                                           .delays = topo.retry_delays}},
                  h, ah, publisher, r, metrics, c, *this),
        pool(detail::HandlerPoolOptions{.threads = opt.handler_threads,
                                        .per_business_in_flight = opt.per_business_in_flight,
                                        .max_in_flight = ah != nullptr ? opt.max_in_flight : 0},
             [this](detail::Delivery& delivery) { return run(delivery); }),
        channels(std::move(a),
                 detail::ConsumerOptions{
                     .stage = o.stage, .control_exchange = topo.control_exchange, .prefetch = opt.prefetch},
                 *this),
        reconciler(
            d, *this,
            detail::ReconcilerOptions{.reconcile_interval = o.reconcile_interval, .depth_interval = o.depth_interval}),
        clock(c) {}

  // A handler thread's delivery; true when an asynchronous job carries it on.
  bool run(detail::Delivery& d) {
    metrics.handling_started();
    if (processor.process(d)) return true;
    metrics.handling_ended();
    return false;
  }

  // ConsumerSink (the consumer channels' I/O thread).
  void delivered(detail::Delivery d) override {
    metrics.consumed(d.bid);
    // Queue age of first attempts only: a retry waited in its tier on purpose.
    if (header_int(d.content.headers, header::kAttempt).value_or(0) == 1) {
      if (auto age = message_age(d.content.headers, clock.now())) metrics.message_age(*age);
    }
    // A redelivery of a message still being handled (the connection dropped under it) waits
    // for no handler: that handling settles it.
    if (processor.adopt(d)) {
      pool.adopted();
      return;
    }
    pool.submit(std::move(d));
  }
  void control_event(BusinessEvent event) override { reconciler.on_event(std::move(event)); }
  void consumer_lost(const std::string& bid) override { reconciler.on_lost(bid); }
  std::vector<detail::Delivery> take_pending(std::uint64_t session) override { return pool.take_pending(session); }
  void settled() override { pool.settled(); }
  void reconnected() override { metrics.reconnected(); }

  // ProcessorHooks (handler threads).
  void settle(const detail::Delivery& d, bool ack) override {
    if (ack) {
      channels.ack(d);
    } else {
      channels.reject(d);
    }
  }
  void follow_up(std::function<void()> task) override { pool.post(std::move(task)); }
  void pause_before_requeue() override { (void)pool.pause(std::chrono::seconds(1)); }
  void copy_failed(const std::string& bid) override { reconciler.on_copy_failed(bid); }
  void job_ended(const std::string& bid) override {
    metrics.handling_ended();
    pool.release(bid);
  }

  // ReconcilerActions (the reconciler's thread).
  Status declare(const std::string& bid) override { return admin.declare_business(opt.stage, bid); }
  void consume(const std::string& bid) override { channels.consume(bid); }
  void cancel(const std::string& bid) override {
    channels.cancel(bid);
    // This worker no longer watches the business's queues: drop their depth series rather
    // than leave stale values behind.
    for_each_queue(bid, [&](const std::string& queue, const char* kind) { metrics.forget_depth(queue, kind); });
  }
  void measure_depth(const std::string& bid) override {
    for_each_queue(bid, [&](const std::string& queue, const char* kind) {
      if (auto n = admin.queue_depth(queue); n) metrics.set_depth(queue, kind, *n);
    });
  }

  template <class F>
  void for_each_queue(const std::string& bid, F f) {
    f(work_queue(opt.stage, bid), "work");
    for (auto d : topo.retry_delays) f(retry_queue(opt.stage, bid, d), "retry");
    f(dead_letter_queue(opt.stage, bid), "dlq");
  }
};

StageWorker::StageWorker(AmqpSettings amqp, TopologySettings topology, StageWorkerOptions options,
                         StageHandler& handler, BusinessDirectory& directory, OutcomeRecorder& recorder,
                         Metrics& metrics, Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(amqp), std::move(topology), options, &handler, nullptr, directory,
                                   recorder, metrics, clock)) {}

StageWorker::StageWorker(AmqpSettings amqp, TopologySettings topology, StageWorkerOptions options,
                         AsyncStageHandler& handler, BusinessDirectory& directory, OutcomeRecorder& recorder,
                         Metrics& metrics, Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(amqp), std::move(topology), options, nullptr, &handler, directory,
                                   recorder, metrics, clock)) {}

StageWorker::~StageWorker() {
  stop();
}

std::string StageWorker::name() const {
  return "stage-worker-" + std::string(stage_name(impl_->opt.stage));
}

Status StageWorker::start() {
  auto& i = *impl_;
  if (i.running) return {};
  if (auto st = i.admin.declare_exchanges(); !st) return st;
  i.running = true;
  i.processor.open_completions();
  i.publisher.start();
  i.channels.start();
  i.pool.start();
  i.reconciler.start();
  return {};
}

void StageWorker::stop_intake() {
  auto& i = *impl_;
  if (!i.running || i.intake_stopped.exchange(true)) return;
  i.channels.stop_intake();
  i.pool.stop_intake();
  i.reconciler.stop_intake();
}

void StageWorker::drain(std::chrono::steady_clock::time_point deadline) {
  if (!impl_->running) return;
  (void)impl_->pool.drain(deadline);
}

void StageWorker::stop() {
  auto& i = *impl_;
  if (!i.running) return;
  stop_intake();
  i.channels.stop();  // closes the connection: unacked deliveries are requeued
  i.reconciler.stop();
  // Handlers still running past the drain deadline: their publishes now fail at once and
  // their inputs, already requeued by the broker, are redelivered.
  i.publisher.stop();
  i.pool.stop();
  i.publisher.stop();
  // Later asynchronous completions are dropped: their messages were requeued when the
  // connection closed. Completed jobs nobody finished were dropped with the pool's tasks.
  i.processor.close_completions();
  i.running = false;
}

std::vector<std::string> StageWorker::consuming() const {
  return impl_->channels.consuming();
}

}  // namespace earshot::queue
