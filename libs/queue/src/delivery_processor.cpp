#include "delivery_processor.hpp"

#include <atomic>
#include <cstdint>

#include "earshot/core/log.hpp"
#include "earshot/queue/schema.hpp"

namespace earshot::queue::detail {

// An asynchronous handler's job, from start() to its completion.
struct DeliveryProcessor::Job {
  Delivery delivery;
  Envelope envelope;
  std::chrono::steady_clock::time_point started{};
  std::atomic<bool> completed{false};
  HandlerResult result = Outcome{Done{}};
};

// What an asynchronous completion reaches: the processor while the worker runs, nothing
// after close_completions() (the completion is then dropped).
struct DeliveryProcessor::Gate {
  std::mutex mu;
  std::function<void(std::shared_ptr<Job>)> deliver;  // empty once closed
};

DeliveryProcessor::DeliveryProcessor(ProcessorOptions options, StageHandler* handler, AsyncStageHandler* async_handler,
                                     Publisher& publisher, OutcomeRecorder& recorder, WorkerMetrics& metrics,
                                     Clock& clock, ProcessorHooks& hooks)
    : opt_(std::move(options)),
      handler_(handler),
      async_handler_(async_handler),
      publisher_(publisher),
      recorder_(recorder),
      metrics_(metrics),
      clock_(clock),
      hooks_(hooks),
      gate_(std::make_shared<Gate>()) {}

DeliveryProcessor::~DeliveryProcessor() {
  close_completions();
}

void DeliveryProcessor::open_completions() {
  auto gate = std::make_shared<Gate>();
  // A completed job is concluded on a handler thread, never on the job's own thread.
  gate->deliver = [this](std::shared_ptr<Job> job) {
    hooks_.follow_up([this, job = std::move(job)] {
      {
        log::ScopedContext ctx({.bid = job->envelope.bid, .call_id = {}, .trace_id = job->envelope.trace_id});
        conclude(job->delivery, job->envelope, std::move(job->result), job->started);
      }
      hooks_.job_ended(job->delivery.bid);
    });
  };
  gate_ = std::move(gate);
}

void DeliveryProcessor::close_completions() {
  {
    std::lock_guard g(gate_->mu);
    gate_->deliver = nullptr;
  }
  // The jobs still running will never conclude here: nothing is left to adopt their
  // redeliveries (a worker started again handles them).
  std::lock_guard l(running_mu_);
  running_.clear();
}

namespace {

// A delivery's address on its channel, without the message.
Delivery settle_address(const Delivery& d) {
  return Delivery{.session = d.session,
                  .channel = d.channel,
                  .tag = d.tag,
                  .bid = d.bid,
                  .redelivered = d.redelivered,
                  .content = {.message_id = d.content.message_id, .body = {}, .headers = {}}};
}

bool same_delivery(const Delivery& a, const Delivery& b) {
  return a.session == b.session && a.channel == b.channel && a.tag == b.tag;
}

}  // namespace

bool DeliveryProcessor::adopt(const Delivery& d) {
  return adopt_or_register(d, false);
}

bool DeliveryProcessor::adopt_or_register(const Delivery& d, bool start) {
  std::lock_guard l(running_mu_);
  auto it = running_.find({d.bid, d.content.message_id});
  if (it == running_.end()) {
    if (start)
      running_.emplace(std::pair{d.bid, d.content.message_id},
                       Running{.started_from = settle_address(d), .adopted = {}});
    return false;
  }
  Running& r = it->second;
  const std::uint64_t newest = r.adopted.empty() ? r.started_from.session : r.adopted.back().session;
  // Only a delivery on a newer channel session is the broker's redelivery of the running
  // message; another copy of it in the same session (a publisher's duplicate) is handled
  // as usual, and idempotent handling covers it.
  if (d.session <= newest) return false;
  r.adopted.push_back(settle_address(d));
  metrics_.redelivery_adopted(d.bid);
  log::ScopedContext ctx({.bid = d.bid, .call_id = {}, .trace_id = log::current_context().trace_id});
  log::info("redelivered message adopted by its running handling",
            {{"message_id", d.content.message_id}, {"deliveries", std::to_string(r.adopted.size() + 1)}});
  return true;
}

std::vector<Delivery> DeliveryProcessor::release(const Delivery& d) {
  std::lock_guard l(running_mu_);
  auto it = running_.find({d.bid, d.content.message_id});
  if (it == running_.end() || !same_delivery(it->second.started_from, d)) return {};
  auto adopted = std::move(it->second.adopted);
  running_.erase(it);
  return adopted;
}

bool DeliveryProcessor::process(const Delivery& d) {
  const auto started = clock_.steady_now();
  auto env = decode_envelope(d.content.headers, d.content.message_id);
  Status schema_check;
  if (env && opt_.validate_schema) schema_check = validate_stage_body(opt_.stage, env->schema_version, d.content.body);
  if (auto refused = check_delivery(env, d.bid, opt_.stage, schema_check)) {
    Envelope partial;
    if (env) {
      partial = *env;
    } else {
      partial.message_id = d.content.message_id;
      partial.attempt = static_cast<int>(header_int(d.content.headers, header::kAttempt).value_or(1));
    }
    log::ScopedContext ctx({.bid = d.bid, .call_id = {}, .trace_id = partial.trace_id});
    dead_letter(d, partial, *refused, started);
    return false;
  }
  log::ScopedContext ctx({.bid = env->bid, .call_id = {}, .trace_id = env->trace_id});
  // Its handling runs already: this redelivery is settled with that handling's outcome.
  if (adopt_or_register(d, true)) return false;
  IncomingMessage msg{
      .envelope = *env, .body = d.content.body, .headers = d.content.headers, .redelivered = d.redelivered};
  if (async_handler_ == nullptr) {
    conclude(d, *env, handler_->handle(msg), started);
    return false;
  }
  auto job = std::make_shared<Job>();
  job->delivery = d;
  job->envelope = *env;
  job->started = started;
  async_handler_->start(msg, [g = gate_, job](HandlerResult r) {
    if (job->completed.exchange(true)) {
      log::error("asynchronous stage handler completed a message twice; ignored",
                 {{"message_id", job->envelope.message_id}});
      return;
    }
    job->result = std::move(r);
    std::lock_guard l(g->mu);
    if (g->deliver) g->deliver(job);
  });
  return true;
}

// Carries out the router's decision on a handler's result: next-stage publish, retry copy
// or dead letter, then the ack.
void DeliveryProcessor::conclude(const Delivery& d, const Envelope& env, HandlerResult r,
                                 std::chrono::steady_clock::time_point started) {
  const Decision dec = route_result(r, env.attempt, opt_.retry_rules);
  switch (dec.route) {
    case Route::kAck:
      record(d, env, OutcomeKind::kDone, {}, {}, 0, started);
      finish(d, true);
      return;
    case Route::kRetry:
      retry(d, env, dec, started);
      return;
    case Route::kDeadLetter:
      dead_letter(d, env, dec, started);
      return;
    case Route::kPublishNext:
      break;
  }
  auto& next = std::get<Done>(*r).next;
  // The handler thread moves on; the input is acked only after the broker confirmed every
  // next-stage message (next_published, on a handler thread).
  const std::size_t count = next.size();
  publisher_.publish_batch_async(std::move(next), [this, d, env, count, started](Status st) {
    hooks_.follow_up([this, d, env, count, started, st = std::move(st)]() mutable {
      next_published(d, env, count, std::move(st), started);
    });
  });
}

void DeliveryProcessor::next_published(const Delivery& d, const Envelope& env, std::size_t next, Status status,
                                       std::chrono::steady_clock::time_point started) {
  log::ScopedContext ctx({.bid = env.bid, .call_id = {}, .trace_id = env.trace_id});
  if (!status) {
    // The input stays unacked until its retry (or dead-letter) copy is confirmed.
    const Decision dec = route_publish_failure(status.error(), env.attempt, opt_.retry_rules);
    if (dec.route == Route::kRetry) {
      retry(d, env, dec, started);
    } else {
      dead_letter(d, env, dec, started);
    }
    return;
  }
  record(d, env, OutcomeKind::kDone, {}, {}, next, started);
  finish(d, true);
}

// Publishes the dead-letter copy the router decided on, then acks the input.
void DeliveryProcessor::dead_letter(const Delivery& d, const Envelope& env, const Decision& dec,
                                    std::chrono::steady_clock::time_point started) {
  auto m = dead_letter_copy(opt_.stage, d.bid, d.content.message_id, env.attempt, dec, format_utc(clock_.now()),
                            d.content.body, d.content.headers);
  if (auto st = publisher_.publish(std::move(m)); !st) {
    requeue_later(d, "dead-letter", st.error());
    return;
  }
  metrics_.dead_lettered(d.bid, dec.code);
  log::warn("message dead-lettered",
            {{"code", code_name(dec.code)}, {"reason", dec.reason}, {"attempt", std::to_string(env.attempt)}});
  record(d, env, OutcomeKind::kDeadLettered, std::string(code_name(dec.code)), dec.reason, 0, started);
  finish(d, true);
}

// Publishes the retry copy the router decided on, then acks the input.
void DeliveryProcessor::retry(const Delivery& d, const Envelope& env, const Decision& dec,
                              std::chrono::steady_clock::time_point started) {
  auto m = retry_copy(opt_.stage, d.bid, env, dec, opt_.retry_rules, d.content.body, d.content.headers);
  if (auto st = publisher_.publish(std::move(m)); !st) {
    requeue_later(d, "retry", st.error());
    return;
  }
  metrics_.retried(d.bid);
  record(d, env, OutcomeKind::kRetried, std::string(code_name(dec.code)), dec.reason, 0, started);
  finish(d, true);
}

// A retry or dead-letter copy could not be published (broker trouble, or a retry / dead-
// letter queue that no longer exists). Requeueing at once would spin on the same failure:
// have the business's queues declared again, hold the message back for a second (which also
// throttles that business through its in-flight cap), then requeue.
void DeliveryProcessor::requeue_later(const Delivery& d, std::string_view what, const Error& e) {
  metrics_.copy_publish_failed(what);
  log::warn("queue worker could not publish a message copy; requeueing it after a pause",
            {{"copy", what}, {"error", e.to_string()}});
  hooks_.copy_failed(d.bid);
  hooks_.pause_before_requeue();
  finish(d, false);
}

// Settles the delivery the handling started from and every redelivery it adopted, oldest
// first: only the newest is on a live channel, the channels drop the older ones as stale
// (each still counts as settled for drain()).
void DeliveryProcessor::finish(const Delivery& d, bool ack) {
  if (ack) metrics_.acked(d.bid);
  const auto adopted = release(d);
  hooks_.settle(d, ack);
  for (const auto& a : adopted) hooks_.settle(a, ack);
}

void DeliveryProcessor::record(const Delivery& d, const Envelope& env, OutcomeKind kind, std::string code,
                               std::string reason, std::size_t next, std::chrono::steady_clock::time_point started) {
  const auto elapsed = clock_.steady_now() - started;
  OutcomeEvent e{.stage = opt_.stage,
                 .bid = d.bid,
                 .message_id = env.message_id,
                 .trace_id = env.trace_id,
                 .attempt = env.attempt,
                 .kind = kind,
                 .error_code = std::move(code),
                 .reason = std::move(reason),
                 .next_messages = next,
                 .duration = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed),
                 .at = clock_.now()};
  metrics_.handled(kind, elapsed);
  if (auto st = recorder_.record(e); !st) {
    metrics_.record_failed();
    log::warn("queue worker could not record an outcome", {{"error", st.error().to_string()}});
  }
}

}  // namespace earshot::queue::detail
