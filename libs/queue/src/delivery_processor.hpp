#pragma once
// One consumed message from dispatch to ack: check_delivery() before the handler, the
// handler (synchronous, or an asynchronous job whose completion comes back later), then
// route_result() and carrying its decision out: publish the next-stage messages, or the
// retry / dead-letter copy, record the outcome, count it, and ack once the broker confirmed.
// A copy the broker refuses leaves the input to be rejected (requeued) after a pause.
//
// Adoption: a handling (or asynchronous job) keeps running when the consumer connection
// drops, and the broker redelivers its message on the new connection. While the handling
// runs, such a redelivery (same business and message id, on a newer channel session) is
// adopted instead of handled again: when the handling concludes, its decision settles every
// delivery it holds, the old ones (dropped as stale by the channels) and the newest, live one.
//
// Called on the handler pool's threads; the hooks connect it to the rest of the worker.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "delivery.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/queue/outcome_router.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/worker.hpp"
#include "worker_metrics.hpp"

namespace earshot::queue::detail {

class ProcessorHooks {
 public:
  virtual ~ProcessorHooks() = default;
  // Acks or rejects (requeue) the delivery on its channel.
  virtual void settle(const Delivery& delivery, bool ack) = 0;
  // Runs `task` on a handler thread soon (it must not run on a publisher's or job's thread).
  virtual void follow_up(std::function<void()> task) = 0;
  // Holds the thread back before a requeue (returns early when the worker stops).
  virtual void pause_before_requeue() = 0;
  // A retry or dead-letter copy of `bid` was refused: its queues should be declared again.
  virtual void copy_failed(const std::string& bid) = 0;
  // An asynchronous job of `bid` was concluded: its handler slot is free.
  virtual void job_ended(const std::string& bid) = 0;
};

struct ProcessorOptions {
  Stage stage = Stage::kSync;
  bool validate_schema = true;
  RetryRules retry_rules;
};

class DeliveryProcessor {
 public:
  // Exactly one of `handler` / `async_handler` is set.
  DeliveryProcessor(ProcessorOptions options, StageHandler* handler, AsyncStageHandler* async_handler,
                    Publisher& publisher, OutcomeRecorder& recorder, WorkerMetrics& metrics, Clock& clock,
                    ProcessorHooks& hooks);
  ~DeliveryProcessor();
  DeliveryProcessor(const DeliveryProcessor&) = delete;
  DeliveryProcessor& operator=(const DeliveryProcessor&) = delete;

  // Returns true when an asynchronous job was started: its completion finishes the message
  // (through follow_up, then job_ended).
  bool process(const Delivery& delivery);

  // At intake, before the delivery waits for a handler: true when it is a redelivery of a
  // message whose handling still runs, now held by that handling (it is not to be
  // dispatched; that handling's conclusion settles it). Called on the consumer's I/O thread.
  bool adopt(const Delivery& delivery);

  // Asynchronous completions arriving from now on are dropped (the broker has requeued
  // their messages when the connection closed), and so are the running handlings' adopted
  // redeliveries. Until then they are delivered.
  void close_completions();
  void open_completions();

 private:
  struct Gate;
  struct Job;
  // A handling that runs now: the delivery it started from and the redeliveries of the same
  // message it adopted since, oldest first (all without their content).
  struct Running {
    Delivery started_from;
    std::vector<Delivery> adopted;
  };

  // True when `d` is a redelivery adopted by the running handling of the same message;
  // otherwise, with `start`, registers the handling of `d` unless one runs already.
  bool adopt_or_register(const Delivery& d, bool start);
  // The handling that started from `d` concluded: its entry is removed, and the deliveries it
  // adopted are returned (none when `d` did not register one).
  std::vector<Delivery> release(const Delivery& d);

  void conclude(const Delivery& d, const Envelope& env, HandlerResult r, std::chrono::steady_clock::time_point started);
  void next_published(const Delivery& d, const Envelope& env, std::size_t next, Status status,
                      std::chrono::steady_clock::time_point started);
  void retry(const Delivery& d, const Envelope& env, const Decision& dec,
             std::chrono::steady_clock::time_point started);
  void dead_letter(const Delivery& d, const Envelope& env, const Decision& dec,
                   std::chrono::steady_clock::time_point started);
  void requeue_later(const Delivery& d, std::string_view what, const Error& e);
  void finish(const Delivery& d, bool ack);
  void record(const Delivery& d, const Envelope& env, OutcomeKind kind, std::string code, std::string reason,
              std::size_t next, std::chrono::steady_clock::time_point started);

  ProcessorOptions opt_;
  StageHandler* handler_;
  AsyncStageHandler* async_handler_;
  Publisher& publisher_;
  OutcomeRecorder& recorder_;
  WorkerMetrics& metrics_;
  Clock& clock_;
  ProcessorHooks& hooks_;
  std::shared_ptr<Gate> gate_;
  std::mutex running_mu_;
  std::map<std::pair<std::string, std::string>, Running> running_;  // by bid, message id
};

}  // namespace earshot::queue::detail
