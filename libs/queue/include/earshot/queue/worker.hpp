#pragma once
// StageWorker: the harness every stage worker (sync, transcribe, analyze, notify) runs.
//
// Delivery contract (at-least-once; handlers must be idempotent):
//   - the worker consumes {stage}.{bid} of every enabled business, with a bounded prefetch
//     per business, and dispatches to a pool of handler threads round-robin between
//     businesses with a per-business in-flight cap (FairQueue);
//   - an invalid message (missing/malformed envelope, body that is not JSON or does not
//     match the stage's schema) goes to dlq.{stage}.{bid} at once, without calling the handler;
//   - Done{next}: the next-stage messages are published and CONFIRMED by the broker before
//     the input is acked. If that publish fails, the input takes the retry path;
//   - Retry{reason, delay_hint}, or an Error whose message_fate() is kRetry: a copy with
//     x-attempt + 1 goes to the retry tier for the attempt (and hint); after max_attempts
//     it is dead-lettered instead;
//   - Fail{reason, code}, or an Error whose fate is kDeadLetter: dead-lettered at once with
//     x-error-code, x-error-reason, x-stage, x-attempts, x-failed-at;
//   - the input is acked only after its retry / dead-letter copy is confirmed; if that
//     publish fails too, the input is rejected with requeue;
//   - the OutcomeRecorder hears of every outcome once, after its publishes were confirmed
//     and before the ack.
// An AsyncStageHandler reports each outcome later through a completion callback, from any
// thread; everything above holds the same way (acks stay on the connection's own thread).
// Lifecycle: start() consumes the businesses the directory lists and follows control
// events; stop_intake() cancels every consumer; drain(deadline) waits until the handlers
// that had started (asynchronous jobs included) finish and their acks are sent; deliveries not yet started are left
// unacked and the broker redelivers them when stop() closes the connection.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/core/service.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/control.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/topology.hpp"

namespace earshot::queue {

struct Done {
  std::vector<OutgoingMessage> next;
};
struct Retry {
  std::string reason{};
  std::optional<std::chrono::milliseconds> delay_hint;
};
struct Fail {
  std::string reason{};
  ErrorCode code = ErrorCode::kInvalidArgument;
};
using Outcome = std::variant<Done, Retry, Fail>;
using HandlerResult = Result<Outcome>;

class StageHandler {
 public:
  virtual ~StageHandler() = default;
  // Called concurrently from the handler threads, at least once per message.
  [[nodiscard]] virtual HandlerResult handle(const IncomingMessage& message) = 0;
};

// Reports a message's outcome to the worker. Call it exactly once, from any thread (also
// from inside start()); later calls are ignored. Cheap and non-blocking: the worker finishes
// the message (publishes, ack) on its own threads.
using StageCompletion = std::function<void(HandlerResult)>;

// A handler that does not hold a thread per message: start() hands the work elsewhere (an
// event loop, a small pool) and returns at once; the outcome arrives later through `done`,
// with the same meaning as StageHandler::handle's result. `message` is valid only during
// start(): copy what the job needs. A completion after the worker stopped is dropped (the
// broker redelivers that message). Up to StageWorkerOptions::max_in_flight messages are
// started and not completed at once.
class AsyncStageHandler {
 public:
  virtual ~AsyncStageHandler() = default;
  virtual void start(const IncomingMessage& message, StageCompletion done) = 0;
};

enum class OutcomeKind { kDone, kRetried, kDeadLettered };
[[nodiscard]] std::string_view outcome_name(OutcomeKind kind);

struct OutcomeEvent {
  Stage stage = Stage::kSync;
  std::string bid;
  std::string message_id;
  std::string trace_id;
  int attempt = 1;
  OutcomeKind kind = OutcomeKind::kDone;
  std::string error_code;  // empty for kDone
  std::string reason;
  std::size_t next_messages = 0;
  std::chrono::milliseconds duration{0};
  std::chrono::system_clock::time_point at{};
};

class OutcomeRecorder {
 public:
  virtual ~OutcomeRecorder() = default;
  // Called from handler threads. A failure is logged and counted; the message is still acked
  // (its effect and next-stage messages are already durable).
  [[nodiscard]] virtual Status record(const OutcomeEvent& event) = 0;
};

// For workers whose handlers record their own outcomes in processing_events (every stage
// binary of the fleet): records nothing.
class NoOutcomeRecorder final : public OutcomeRecorder {
 public:
  [[nodiscard]] Status record(const OutcomeEvent&) override { return {}; }
};

struct StageWorkerOptions {
  Stage stage = Stage::kSync;
  std::size_t handler_threads = 4;
  std::size_t per_business_in_flight = 2;  // handler threads one business may hold at once
  std::uint16_t prefetch = 16;             // unacked deliveries per business (basic.qos)
  std::chrono::milliseconds reconcile_interval{10'000};
  std::chrono::milliseconds depth_interval{15'000};
  std::size_t publish_window = 256;
  std::chrono::milliseconds publish_timeout{10'000};
  bool validate_schema = true;  // check bodies against proto/messages schemas
  // AsyncStageHandler only: messages started and not yet completed, over every business (the
  // per-business share is per_business_in_flight). Each business consumer's prefetch is
  // raised to at least min(per_business_in_flight, max_in_flight) so the caps can be reached.
  std::size_t max_in_flight = 64;
};

// The worker's config keys, for a service's ConfigSpec: worker_handler_threads,
// worker_business_in_flight, worker_prefetch, worker_reconcile_interval,
// queue_depth_interval, queue_publish_window, queue_publish_timeout.
struct StageWorkerSettings {
  std::int64_t handler_threads = 4;
  std::int64_t per_business_in_flight = 2;
  std::int64_t prefetch = 16;
  std::chrono::milliseconds reconcile_interval{10'000};
  std::chrono::milliseconds depth_interval{15'000};
  std::int64_t publish_window = 256;
  std::chrono::milliseconds publish_timeout{10'000};

  void declare(ConfigSpec& spec);
  [[nodiscard]] StageWorkerOptions options(Stage stage) const;
};

class StageWorker final : public Component {
 public:
  StageWorker(AmqpSettings amqp, TopologySettings topology, StageWorkerOptions options, StageHandler& handler,
              BusinessDirectory& directory, OutcomeRecorder& recorder, Metrics& metrics, Clock& clock);
  // The same harness around an asynchronous handler: handler threads only validate, start
  // jobs and finish outcomes, so thousands of slow jobs can be in flight on a few threads.
  StageWorker(AmqpSettings amqp, TopologySettings topology, StageWorkerOptions options, AsyncStageHandler& handler,
              BusinessDirectory& directory, OutcomeRecorder& recorder, Metrics& metrics, Clock& clock);
  ~StageWorker() override;
  StageWorker(const StageWorker&) = delete;
  StageWorker& operator=(const StageWorker&) = delete;

  [[nodiscard]] std::string name() const override;
  [[nodiscard]] Status start() override;
  void stop_intake() override;
  void drain(std::chrono::steady_clock::time_point deadline) override;
  void stop() override;

  // Businesses with an active consumer right now (tests, debugging).
  [[nodiscard]] std::vector<std::string> consuming() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::queue
