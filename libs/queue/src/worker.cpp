#include "earshot/queue/worker.hpp"

#include <amqp.h>
#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "amqp_connection.hpp"
#include "earshot/core/backoff.hpp"
#include "earshot/core/log.hpp"
#include "earshot/queue/fair_queue.hpp"
#include "earshot/queue/outcome_router.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/schema.hpp"

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
  spec.add_int("worker_business_in_flight", &per_business_in_flight, 2, 1, 256,
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

using SteadyClock = std::chrono::steady_clock;
constexpr amqp_channel_t kControlChannel = 1;

// A delivery as the handler threads receive it. `session` identifies the channel instance
// it arrived on: an ack for an older session (channel closed or connection lost since) is
// dropped, the broker having requeued that delivery already.
struct Delivery {
  std::uint64_t session = 0;
  amqp_channel_t channel = 0;
  std::uint64_t tag = 0;
  std::string bid;
  bool redelivered = false;
  detail::Content content;
};

struct IoCommand {
  enum class Kind { kAck, kReject, kConsume, kCancel, kStopIntake };
  Kind kind = Kind::kAck;
  std::string bid;
  std::uint64_t session = 0;
  amqp_channel_t channel = 0;
  std::uint64_t tag = 0;
};

// A Done outcome whose next-stage messages were handed to the publisher: once the broker
// confirmed them (or refused), a handler thread finishes the input.
struct Completion {
  Delivery delivery;
  Envelope envelope;
  std::size_t next_messages = 0;
  std::chrono::steady_clock::time_point started{};
  Status status;
};

// An asynchronous handler's job, from start() to its completion.
struct AsyncJob {
  Delivery delivery;
  Envelope envelope;
  std::chrono::steady_clock::time_point started{};
  std::atomic<bool> completed{false};
  HandlerResult result = Outcome{Done{}};
};

// What an asynchronous completion reaches: the worker while it runs, nothing after stop()
// (the completion is then dropped; the broker has requeued the message).
struct CompletionGate {
  std::mutex mu;
  std::function<void(std::shared_ptr<AsyncJob>)> deliver;  // empty once closed
};

}  // namespace

struct StageWorker::Impl {
  AmqpSettings amqp;
  TopologySettings topo;
  StageWorkerOptions opt;
  StageHandler* handler;  // exactly one of handler / async_handler is set
  AsyncStageHandler* async_handler;
  BusinessDirectory& directory;
  OutcomeRecorder& recorder;
  Metrics& metrics;
  Clock& clock;
  std::string stage;
  RetryRules retry_rules;  // from topo

  Publisher publisher;
  TopologyAdmin admin;  // manager thread only (and start() before threads exist)

  // Metrics.
  prometheus::Family<prometheus::Counter>& consumed_;
  prometheus::Family<prometheus::Counter>& acked_;
  prometheus::Family<prometheus::Counter>& retried_;
  prometheus::Family<prometheus::Counter>& dead_lettered_;
  prometheus::Family<prometheus::Counter>& record_failures_;
  prometheus::Family<prometheus::Counter>& publish_failures_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Gauge>& depth_;
  prometheus::Gauge& in_flight_;
  prometheus::Counter& reconnects_;

  std::atomic<bool> stopping{false};
  std::atomic<bool> intake_stopped{false};
  bool running = false;

  // I/O thread: owns the consumer connection.
  std::thread io_thread;
  detail::Waker waker;
  std::mutex cmd_mu;
  std::deque<IoCommand> commands;
  std::unique_ptr<detail::AmqpConnection> conn;
  struct Consumer {
    std::string bid;
    amqp_channel_t channel = 0;
    std::uint64_t session = 0;
    bool cancelled = false;
    std::size_t unsettled = 0;  // deliveries on this channel not yet acked or rejected
  };
  std::map<amqp_channel_t, Consumer> channels;   // open business channels
  std::map<std::string, amqp_channel_t> active;  // bid -> channel with a live consumer
  std::set<std::string> wanted;
  std::uint64_t session_counter = 0;
  amqp_channel_t next_channel = 2;
  std::vector<amqp_channel_t> free_channels;
  Backoff backoff{std::chrono::milliseconds(100), std::chrono::seconds(5)};
  SteadyClock::time_point reconnect_at{};
  bool ever_connected = false;
  mutable std::mutex consuming_mu;
  std::vector<std::string> consuming_snapshot;

  // Handler pool.
  std::mutex sched_mu;
  std::condition_variable sched_cv;
  FairQueue<Delivery> sched;
  std::size_t unsettled_dispatched = 0;                 // popped by a handler, ack/reject not yet executed
  std::deque<std::shared_ptr<Completion>> completions;  // confirmed (or failed) Done outputs
  bool handlers_stop = false;
  std::vector<std::thread> handler_threads;
  // Asynchronous handler: jobs started and not completed, and completed jobs to finish.
  std::size_t async_in_flight = 0;
  std::deque<std::shared_ptr<AsyncJob>> async_done;
  std::shared_ptr<CompletionGate> gate;

  // Manager thread: topology declarations, directory reconciliation, queue depth.
  std::thread manager_thread;
  std::mutex mgr_mu;
  std::condition_variable mgr_cv;
  std::deque<BusinessEvent> events;
  std::set<std::string> lost;
  std::set<std::string> redeclare;  // businesses whose retry / dead-letter publish failed
  std::set<std::string> enabled;    // manager thread only

  Impl(AmqpSettings a, TopologySettings t, StageWorkerOptions o, StageHandler* h, AsyncStageHandler* ah,
       BusinessDirectory& d, OutcomeRecorder& r, Metrics& m, Clock& c)
      : amqp(a),
        topo(t),
        opt(o),
        handler(h),
        async_handler(ah),
        directory(d),
        recorder(r),
        metrics(m),
        clock(c),
        stage(stage_name(o.stage)),
        retry_rules{.max_attempts = static_cast<int>(t.max_attempts), .delays = t.retry_delays},
        publisher(a, PublisherOptions{.window = o.publish_window, .confirm_timeout = o.publish_timeout}, &m),
        admin(a, t),
        consumed_(m.counter("earshot_queue_consumed_total", "Deliveries received, per stage and business.")),
        acked_(m.counter("earshot_queue_acked_total", "Deliveries acked, per stage and business.")),
        retried_(m.counter("earshot_queue_retried_total", "Messages sent to a retry tier, per stage and business.")),
        dead_lettered_(m.counter("earshot_queue_dead_lettered_total",
                                 "Messages dead-lettered, per stage, business and error code.")),
        record_failures_(
            m.counter("earshot_queue_outcome_record_failures_total", "Outcomes the recorder could not store.")),
        publish_failures_(m.counter("earshot_queue_copy_publish_failures_total",
                                    "Retry or dead-letter copies the broker did not take.")),
        duration_(m.histogram("earshot_queue_handler_duration_seconds",
                              "Dispatch to outcome per message: the handler plus the broker "
                              "confirming its next-stage, retry or dead-letter copies.")),
        depth_(m.gauge("earshot_queue_depth", "Ready messages per queue (work, retry, dlq).")),
        in_flight_(m.gauge("earshot_queue_in_flight", "Messages being handled now.").Add({{"stage", stage}})),
        reconnects_(m.counter("earshot_queue_reconnects_total", "AMQP connections re-established after a failure.")
                        .Add({{"connection", "consumer"}})),
        sched(o.per_business_in_flight) {
    if (async_handler != nullptr) {
      opt.max_in_flight = std::max<std::size_t>(1, opt.max_in_flight);
      const std::size_t share = std::min(opt.per_business_in_flight, opt.max_in_flight);
      opt.prefetch =
          static_cast<std::uint16_t>(std::min<std::size_t>(65535, std::max<std::size_t>(opt.prefetch, share)));
    }
  }

  // ---------------------------------------------------------------- I/O thread
  void post(IoCommand c) {
    {
      std::lock_guard l(cmd_mu);
      commands.push_back(std::move(c));
    }
    waker.notify();
  }

  void publish_snapshot() {
    std::vector<std::string> v;
    for (const auto& [bid, ch] : active) v.push_back(bid);
    std::lock_guard l(consuming_mu);
    consuming_snapshot = std::move(v);
  }

  void report_lost(const std::string& bid) {
    {
      std::lock_guard l(mgr_mu);
      lost.insert(bid);
    }
    mgr_cv.notify_all();
  }

  amqp_channel_t alloc_channel() {
    if (!free_channels.empty()) {
      auto c = free_channels.back();
      free_channels.pop_back();
      return c;
    }
    return next_channel++;
  }

  // Drops the pending (not yet dispatched) deliveries of a channel session; their channel is
  // gone, so the broker requeues them.
  void drop_pending(std::uint64_t session) {
    std::lock_guard l(sched_mu);
    sched.remove_if([&](const std::string&, const Delivery& d) { return d.session == session; });
  }

  // Rejects (requeue) the pending deliveries of a session whose channel stays open.
  void reject_pending(std::uint64_t session) {
    std::vector<Delivery> v;
    {
      std::lock_guard l(sched_mu);
      v = sched.remove_if([&](const std::string&, const Delivery& d) { return d.session == session; });
    }
    for (auto& d : v) {
      conn->reject(d.channel, d.tag);
      auto it = channels.find(d.channel);
      if (it != channels.end() && it->second.unsettled > 0) --it->second.unsettled;
    }
  }

  void start_consumer(const std::string& bid) {
    if (active.contains(bid) || !conn) return;
    const amqp_channel_t ch = alloc_channel();
    auto st = conn->open_channel(ch);
    if (st) {
      amqp_basic_qos(conn->state(), ch, 0, opt.prefetch, 0);
      st = conn->rpc_status(ch, "basic.qos");
    }
    if (st) {
      const std::string queue = work_queue(opt.stage, bid);
      amqp_basic_consume(conn->state(), ch, detail::bytes(queue), detail::bytes(bid), 0, 0, 0, amqp_empty_table);
      st = conn->rpc_status(ch, "consume " + queue);
    }
    if (!st) {
      log::warn("queue worker cannot consume", {{"bid", bid}, {"stage", stage}, {"error", st.error().to_string()}});
      // A failed RPC either broke the connection or closed the channel (close-ok sent).
      if (!conn->broken()) free_channels.push_back(ch);
      report_lost(bid);
      return;
    }
    channels[ch] = Consumer{.bid = bid, .channel = ch, .session = ++session_counter};
    active[bid] = ch;
    log::info("queue worker consuming", {{"bid", bid}, {"stage", stage}});
    publish_snapshot();
  }

  void stop_consumer(const std::string& bid) {
    auto it = active.find(bid);
    if (it == active.end() || !conn) return;
    const amqp_channel_t ch = it->second;
    active.erase(it);
    publish_snapshot();
    amqp_basic_cancel(conn->state(), ch, detail::bytes(bid));
    if (auto st = conn->rpc_status(ch, "cancel " + bid); !st) {
      log::warn("queue worker cancel failed", {{"bid", bid}, {"error", st.error().to_string()}});
      if (!conn->broken()) {
        // The channel was closed by the broker: its deliveries are requeued already.
        auto c = channels.find(ch);
        if (c != channels.end()) {
          drop_pending(c->second.session);
          channels.erase(c);
        }
        free_channels.push_back(ch);
      }
      return;
    }
    auto c = channels.find(ch);
    if (c != channels.end()) {
      c->second.cancelled = true;
      reject_pending(c->second.session);
    }
    log::info("queue worker stopped consuming", {{"bid", bid}, {"stage", stage}});
  }

  // Closes cancelled channels once every delivery on them is settled.
  void retire_channels() {
    for (auto it = channels.begin(); it != channels.end();) {
      if (it->second.cancelled && it->second.unsettled == 0 && conn && !conn->broken()) {
        conn->close_channel(it->first);
        free_channels.push_back(it->first);
        it = channels.erase(it);
      } else {
        ++it;
      }
    }
  }

  Status connect() {
    auto c = detail::AmqpConnection::open(amqp);
    if (!c) return std::unexpected(c.error());
    auto& cn = **c;
    if (auto st = cn.open_channel(kControlChannel); !st) return st;
    amqp_exchange_declare(cn.state(), kControlChannel, detail::bytes(topo.control_exchange), detail::bytes("fanout"), 0,
                          1, 0, 0, amqp_empty_table);
    if (auto st = cn.rpc_status(kControlChannel, "declare control exchange"); !st) return st;
    auto* q = amqp_queue_declare(cn.state(), kControlChannel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    if (auto st = cn.rpc_status(kControlChannel, "declare control queue"); !st) return st;
    const std::string name = detail::to_string(q->queue);
    amqp_queue_bind(cn.state(), kControlChannel, detail::bytes(name), detail::bytes(topo.control_exchange),
                    amqp_empty_bytes, amqp_empty_table);
    if (auto st = cn.rpc_status(kControlChannel, "bind control queue"); !st) return st;
    amqp_basic_consume(cn.state(), kControlChannel, detail::bytes(name), detail::bytes("control"), 0, 1, 1,
                       amqp_empty_table);
    if (auto st = cn.rpc_status(kControlChannel, "consume control queue"); !st) return st;
    conn = std::move(*c);
    channels.clear();
    active.clear();
    free_channels.clear();
    next_channel = 2;
    backoff.reset();
    if (ever_connected) {
      reconnects_.Increment();
      log::info("queue worker reconnected", {{"stage", stage}});
    }
    ever_connected = true;
    for (const auto& bid : wanted) start_consumer(bid);
    publish_snapshot();
    return {};
  }

  void connection_lost(const Error& e) {
    log::warn("queue worker lost its connection", {{"stage", stage}, {"error", e.to_string()}});
    for (const auto& [ch, c] : channels) drop_pending(c.session);
    channels.clear();
    active.clear();
    publish_snapshot();
    conn.reset();
    reconnect_at = SteadyClock::now() + backoff.next();
  }

  void settle(const IoCommand& c) {
    auto it = channels.find(c.channel);
    const bool live = conn && !conn->broken() && it != channels.end() && it->second.session == c.session;
    if (live) {
      if (c.kind == IoCommand::Kind::kAck) {
        conn->ack(c.channel, c.tag);
      } else {
        conn->reject(c.channel, c.tag);
      }
      if (it->second.unsettled > 0) --it->second.unsettled;
    }
    {
      std::lock_guard l(sched_mu);
      if (unsettled_dispatched > 0) --unsettled_dispatched;
    }
    sched_cv.notify_all();
  }

  void run_commands() {
    std::deque<IoCommand> cmds;
    {
      std::lock_guard l(cmd_mu);
      cmds.swap(commands);
    }
    for (auto& c : cmds) {
      switch (c.kind) {
        case IoCommand::Kind::kAck:
        case IoCommand::Kind::kReject:
          settle(c);
          break;
        case IoCommand::Kind::kConsume:
          if (intake_stopped) break;
          wanted.insert(c.bid);
          start_consumer(c.bid);
          break;
        case IoCommand::Kind::kCancel:
          wanted.erase(c.bid);
          stop_consumer(c.bid);
          break;
        case IoCommand::Kind::kStopIntake: {
          wanted.clear();
          std::vector<std::string> bids;
          for (const auto& [bid, ch] : active) bids.push_back(bid);
          for (const auto& bid : bids) stop_consumer(bid);
          if (conn && !conn->broken()) {
            amqp_basic_cancel(conn->state(), kControlChannel, detail::bytes("control"));
            (void)conn->rpc_status(kControlChannel, "cancel control");
          }
          break;
        }
      }
    }
  }

  void on_delivery(const amqp_frame_t& frame) {
    auto* d = static_cast<amqp_basic_deliver_t*>(frame.payload.method.decoded);
    const amqp_channel_t ch = frame.channel;
    const std::uint64_t tag = d->delivery_tag;
    const bool redelivered = d->redelivered != 0;
    auto content = conn->read_content(ch);
    if (!content) return;  // connection marked broken
    if (ch == kControlChannel) {
      auto ev = BusinessEvent::parse(content->body);
      if (!ev) {
        log::warn("queue worker ignored an invalid control event", {{"error", ev.error().to_string()}});
        return;
      }
      {
        std::lock_guard l(mgr_mu);
        events.push_back(*ev);
      }
      mgr_cv.notify_all();
      return;
    }
    auto it = channels.find(ch);
    if (it == channels.end()) return;
    const std::string bid = it->second.cancelled ? std::string() : it->second.bid;
    ++it->second.unsettled;
    if (bid.empty() || intake_stopped) {
      // Cancelled meanwhile: give it back at once.
      conn->reject(ch, tag);
      --it->second.unsettled;
      return;
    }
    consumed_.Add({{"stage", stage}, {"bid", bid}}).Increment();
    Delivery del{.session = it->second.session,
                 .channel = ch,
                 .tag = tag,
                 .bid = bid,
                 .redelivered = redelivered,
                 .content = std::move(*content)};
    {
      std::lock_guard l(sched_mu);
      sched.push(bid, std::move(del));
    }
    sched_cv.notify_all();
  }

  bool handle_frame(const amqp_frame_t& frame) {
    if (frame.frame_type != AMQP_FRAME_METHOD) return true;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_DELIVER_METHOD:
        on_delivery(frame);
        return !conn->broken();
      case AMQP_BASIC_CANCEL_METHOD: {  // the broker cancelled a consumer (queue deleted)
        for (auto& [bid, ch] : active) {
          if (ch == frame.channel) {
            std::string b = bid;
            active.erase(b);
            channels[frame.channel].cancelled = true;
            reject_pending(channels[frame.channel].session);
            publish_snapshot();
            report_lost(b);
            break;
          }
        }
        return true;
      }
      case AMQP_CHANNEL_CLOSE_METHOD: {
        auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
        log::warn("queue worker channel closed by broker",
                  {{"code", std::to_string(m->reply_code)}, {"reason", detail::to_string(m->reply_text)}});
        conn->channel_close_ok(frame.channel);
        if (frame.channel == kControlChannel) return false;
        auto c = channels.find(frame.channel);
        if (c != channels.end()) {
          drop_pending(c->second.session);
          channels.erase(c);
        }
        free_channels.push_back(frame.channel);
        for (auto& [bid, ch] : active) {
          if (ch == frame.channel) {
            std::string b = bid;
            active.erase(b);
            publish_snapshot();
            report_lost(b);
            break;
          }
        }
        return true;
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_ok_t ok{};
        amqp_send_method(conn->state(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        conn->mark_broken();
        return false;
      }
      default:
        return true;
    }
  }

  void io_loop() {
    while (!stopping) {
      waker.clear();
      if (!conn) {
        run_commands();  // settles stale acks (dropped) and records wanted businesses
        if (SteadyClock::now() >= reconnect_at) {
          if (auto st = connect(); !st) {
            log::warn("queue worker cannot connect", {{"stage", stage}, {"error", st.error().to_string()}});
            conn.reset();
            reconnect_at = SteadyClock::now() + backoff.next();
          }
        }
        if (!conn) {
          waker.wait(std::chrono::milliseconds(50));
          continue;
        }
      }
      run_commands();
      retire_channels();
      if (conn->broken()) {
        connection_lost(Error(ErrorCode::kUnavailable, "connection broken"));
        continue;
      }
      auto timeout = std::chrono::milliseconds(100);
      while (conn) {
        amqp_frame_t frame;
        auto got = conn->next_frame(frame, &waker, timeout);
        if (!got) {
          connection_lost(got.error());
          break;
        }
        if (!*got) break;
        if (!handle_frame(frame)) {
          connection_lost(Error(ErrorCode::kUnavailable, "channel or connection closed"));
          break;
        }
        timeout = std::chrono::milliseconds(0);
        // Do not let a flood of deliveries delay acks.
        bool has_commands;
        {
          std::lock_guard l(cmd_mu);
          has_commands = !commands.empty();
        }
        if (has_commands) break;
      }
      if (conn) conn->release_buffers();
    }
    // Closing the connection makes the broker requeue every unacked delivery.
    conn.reset();
    run_commands();
  }

  // ---------------------------------------------------------------- handler threads
  // Handler threads run handlers and finish inputs whose next-stage publish completed
  // (completions first: they free prefetch slots and are never held back by stop_intake).
  // With an asynchronous handler they also finish completed jobs, and start a new one only
  // while fewer than max_in_flight are running.
  void handler_loop() {
    const bool async = async_handler != nullptr;
    while (true) {
      Delivery d;
      std::shared_ptr<Completion> completion;
      std::shared_ptr<AsyncJob> finished;
      {
        std::unique_lock l(sched_mu);
        std::optional<std::pair<std::string, Delivery>> next;
        sched_cv.wait(l, [&] {
          if (handlers_stop) return true;
          if (!completions.empty() || !async_done.empty()) return true;
          if (intake_stopped) return false;
          if (async && async_in_flight >= opt.max_in_flight) return false;
          next = sched.pop();
          return next.has_value();
        });
        if (handlers_stop) return;
        if (!completions.empty()) {
          completion = std::move(completions.front());
          completions.pop_front();
        } else if (!async_done.empty()) {
          finished = std::move(async_done.front());
          async_done.pop_front();
        } else {
          d = std::move(next->second);
          ++unsettled_dispatched;
          if (async) ++async_in_flight;
        }
      }
      if (completion) {
        complete(*completion);
        continue;
      }
      if (finished) {
        {
          log::ScopedContext ctx(
              {.bid = finished->envelope.bid, .call_id = {}, .trace_id = finished->envelope.trace_id});
          conclude(finished->delivery, finished->envelope, std::move(finished->result), finished->started);
        }
        release(finished->delivery.bid, true);
        continue;
      }
      in_flight_.Increment();
      if (process(d)) continue;  // an asynchronous job now runs; its completion releases it
      release(d.bid, async);
    }
  }

  // A message left the handler (sync) or its asynchronous job completed.
  void release(const std::string& bid, bool async_job) {
    in_flight_.Decrement();
    {
      std::lock_guard l(sched_mu);
      sched.done(bid);
      if (async_job && async_in_flight > 0) --async_in_flight;
    }
    sched_cv.notify_all();
  }

  // Called by an asynchronous handler's completion, on any thread. sched_cv has waiters of
  // different kinds (handler threads and drain()), so every wake-up is notify_all: a
  // notify_one taken by drain() would leave the finished job unconcluded.
  void on_async_done(std::shared_ptr<AsyncJob> job) {
    {
      std::lock_guard l(sched_mu);
      async_done.push_back(std::move(job));
    }
    sched_cv.notify_all();
  }

  void complete(Completion& c) {
    log::ScopedContext ctx({.bid = c.envelope.bid, .call_id = {}, .trace_id = c.envelope.trace_id});
    if (!c.status) {
      // The input stays unacked until its retry (or dead-letter) copy is confirmed.
      const Decision dec = route_publish_failure(c.status.error(), c.envelope.attempt, retry_rules);
      if (dec.route == Route::kRetry) {
        retry(c.delivery, c.envelope, dec, c.started);
      } else {
        dead_letter(c.delivery, c.envelope, dec, c.started);
      }
      return;
    }
    record(c.delivery, c.envelope, OutcomeKind::kDone, {}, {}, c.next_messages, c.started);
    finish(c.delivery, true);
  }

  void finish(const Delivery& d, bool ack) {
    if (ack) acked_.Add({{"stage", stage}, {"bid", d.bid}}).Increment();
    post(IoCommand{.kind = ack ? IoCommand::Kind::kAck : IoCommand::Kind::kReject,
                   .bid = d.bid,
                   .session = d.session,
                   .channel = d.channel,
                   .tag = d.tag});
  }

  void record(const Delivery& d, const Envelope& env, OutcomeKind kind, std::string code, std::string reason,
              std::size_t next, SteadyClock::time_point started) {
    const auto elapsed = clock.steady_now() - started;
    OutcomeEvent e{.stage = opt.stage,
                   .bid = d.bid,
                   .message_id = env.message_id,
                   .trace_id = env.trace_id,
                   .attempt = env.attempt,
                   .kind = kind,
                   .error_code = std::move(code),
                   .reason = std::move(reason),
                   .next_messages = next,
                   .duration = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed),
                   .at = clock.now()};
    duration_.Add({{"stage", stage}, {"outcome", std::string(outcome_name(kind))}}, Metrics::latency_buckets())
        .Observe(std::chrono::duration<double>(elapsed).count());
    if (auto st = recorder.record(e); !st) {
      record_failures_.Add({{"stage", stage}}).Increment();
      log::warn("queue worker could not record an outcome", {{"error", st.error().to_string()}});
    }
  }

  // A retry or dead-letter copy could not be published (broker trouble, or a retry / dead-
  // letter queue that no longer exists). Requeueing at once would spin on the same failure:
  // ask the manager to declare the business's queues again, hold the message back for a
  // second (which also throttles that business through its in-flight cap), then requeue.
  void requeue_later(const Delivery& d, std::string_view what, const Error& e) {
    publish_failures_.Add({{"stage", stage}, {"kind", std::string(what)}}).Increment();
    log::warn("queue worker could not publish a message copy; requeueing it after a pause",
              {{"copy", what}, {"error", e.to_string()}});
    {
      std::lock_guard l(mgr_mu);
      redeclare.insert(d.bid);
    }
    mgr_cv.notify_all();
    {
      std::unique_lock l(sched_mu);
      sched_cv.wait_for(l, std::chrono::seconds(1), [&] { return handlers_stop; });
    }
    finish(d, false);
  }

  // Publishes the dead-letter copy the router decided on, then acks the input.
  void dead_letter(const Delivery& d, const Envelope& env, const Decision& dec, SteadyClock::time_point started) {
    auto m = dead_letter_copy(opt.stage, d.bid, d.content.message_id, env.attempt, dec, format_utc(clock.now()),
                              d.content.body, d.content.headers);
    if (auto st = publisher.publish(std::move(m)); !st) {
      requeue_later(d, "dead-letter", st.error());
      return;
    }
    dead_lettered_.Add({{"stage", stage}, {"bid", d.bid}, {"code", std::string(code_name(dec.code))}}).Increment();
    log::warn("message dead-lettered",
              {{"code", code_name(dec.code)}, {"reason", dec.reason}, {"attempt", std::to_string(env.attempt)}});
    record(d, env, OutcomeKind::kDeadLettered, std::string(code_name(dec.code)), dec.reason, 0, started);
    finish(d, true);
  }

  // Publishes the retry copy the router decided on, then acks the input.
  void retry(const Delivery& d, const Envelope& env, const Decision& dec, SteadyClock::time_point started) {
    if (auto st =
            publisher.publish(retry_copy(opt.stage, d.bid, env, dec, retry_rules, d.content.body, d.content.headers));
        !st) {
      requeue_later(d, "retry", st.error());
      return;
    }
    retried_.Add({{"stage", stage}, {"bid", d.bid}}).Increment();
    record(d, env, OutcomeKind::kRetried, std::string(code_name(dec.code)), dec.reason, 0, started);
    finish(d, true);
  }

  // Returns true when an asynchronous job was started (its completion finishes the message).
  bool process(const Delivery& d) {
    const auto started = clock.steady_now();
    auto env = decode_envelope(d.content.headers, d.content.message_id);
    Status schema_check;
    if (env && opt.validate_schema) schema_check = validate_stage_body(opt.stage, env->schema_version, d.content.body);
    if (auto refused = check_delivery(env, d.bid, opt.stage, schema_check)) {
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
    IncomingMessage msg{
        .envelope = *env, .body = d.content.body, .headers = d.content.headers, .redelivered = d.redelivered};
    if (async_handler != nullptr) {
      auto job = std::make_shared<AsyncJob>();
      job->delivery = d;
      job->envelope = *env;
      job->started = started;
      async_handler->start(msg, [g = gate, job](HandlerResult r) {
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
    conclude(d, *env, handler->handle(msg), started);
    return false;
  }

  // Carries out the router's decision on a handler's result: next-stage publish, retry copy
  // or dead letter, then the ack.
  void conclude(const Delivery& d, const Envelope& env, HandlerResult r, SteadyClock::time_point started) {
    const Decision dec = route_result(r, env.attempt, retry_rules);
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
    // next-stage message (see complete()).
    auto c = std::make_shared<Completion>(
        Completion{.delivery = d, .envelope = env, .next_messages = next.size(), .started = started, .status = {}});
    publisher.publish_batch_async(std::move(next), [this, c](Status st) {
      c->status = std::move(st);
      {
        std::lock_guard l(sched_mu);
        completions.push_back(c);
      }
      sched_cv.notify_all();
    });
  }

  // ---------------------------------------------------------------- manager thread
  void ensure(const std::string& bid) {
    if (!is_valid_bid(bid)) {
      log::warn("queue worker ignored an invalid business id", {{"bid", bid}});
      return;
    }
    if (enabled.contains(bid)) return;
    if (auto st = admin.declare_business(opt.stage, bid); !st) {
      log::warn("queue worker cannot declare business queues", {{"bid", bid}, {"error", st.error().to_string()}});
      return;
    }
    enabled.insert(bid);
    post(IoCommand{.kind = IoCommand::Kind::kConsume, .bid = bid});
  }

  void drop(const std::string& bid) {
    if (!enabled.erase(bid)) return;
    post(IoCommand{.kind = IoCommand::Kind::kCancel, .bid = bid});
    // This worker no longer watches the business's queues: drop their depth series rather
    // than leave stale values behind.
    auto forget = [&](const std::string& queue, const char* kind) {
      depth_.Remove(&depth_.Add({{"queue", queue}, {"kind", kind}}));
    };
    forget(work_queue(opt.stage, bid), "work");
    for (auto d : topo.retry_delays) forget(retry_queue(opt.stage, bid, d), "retry");
    forget(dead_letter_queue(opt.stage, bid), "dlq");
  }

  void reconcile() {
    auto list = directory.enabled_businesses();
    if (!list) {
      log::warn("queue worker cannot list businesses", {{"error", list.error().to_string()}});
      return;
    }
    std::set<std::string> want(list->begin(), list->end());
    for (const auto& bid : want) ensure(bid);
    std::vector<std::string> gone;
    for (const auto& bid : enabled) {
      if (!want.contains(bid)) gone.push_back(bid);
    }
    for (const auto& bid : gone) drop(bid);
  }

  void update_depth() {
    auto set = [&](const std::string& queue, const char* kind) {
      if (auto n = admin.queue_depth(queue); n) {
        depth_.Add({{"queue", queue}, {"kind", kind}}).Set(static_cast<double>(*n));
      }
    };
    for (const auto& bid : enabled) {
      set(work_queue(opt.stage, bid), "work");
      for (auto d : topo.retry_delays) set(retry_queue(opt.stage, bid, d), "retry");
      set(dead_letter_queue(opt.stage, bid), "dlq");
    }
  }

  void manager_loop() {
    auto next_reconcile = SteadyClock::now();
    auto next_depth = SteadyClock::now() + opt.depth_interval;
    while (true) {
      std::deque<BusinessEvent> evs;
      std::set<std::string> lost_now;
      std::set<std::string> redeclare_now;
      {
        std::unique_lock l(mgr_mu);
        mgr_cv.wait_until(l, std::min(next_reconcile, next_depth),
                          [&] { return stopping.load() || !events.empty() || !lost.empty(); });
        if (stopping) return;
        evs.swap(events);
        lost_now.swap(lost);
        redeclare_now.swap(redeclare);
      }
      if (intake_stopped) {
        next_reconcile = next_depth = SteadyClock::now() + std::chrono::hours(24);
        continue;
      }
      for (const auto& bid : redeclare_now) {
        if (!enabled.contains(bid)) continue;
        if (auto st = admin.declare_business(opt.stage, bid); !st) {
          log::warn("queue worker cannot declare business queues", {{"bid", bid}, {"error", st.error().to_string()}});
        }
      }
      for (const auto& bid : lost_now) {
        enabled.erase(bid);
        next_reconcile = std::min(next_reconcile, SteadyClock::now() + std::chrono::seconds(1));
      }
      if (!evs.empty()) {
        // An event prompts a look at the directory, the source of truth, so a stale or
        // foreign event cannot start or stop consumption on its own. Only when the
        // directory cannot answer does the event decide.
        auto list = directory.enabled_businesses();
        std::set<std::string> now_enabled;
        if (list) {
          now_enabled.insert(list->begin(), list->end());
        } else {
          log::warn("queue worker cannot list businesses; following the control event",
                    {{"error", list.error().to_string()}});
        }
        for (const auto& ev : evs) {
          const bool want = list ? now_enabled.contains(ev.bid) : ev.type != BusinessEventType::kDisabled;
          if (want) {
            ensure(ev.bid);
          } else {
            drop(ev.bid);
          }
        }
      }
      if (SteadyClock::now() >= next_reconcile) {
        reconcile();
        next_reconcile = SteadyClock::now() + opt.reconcile_interval;
      }
      if (SteadyClock::now() >= next_depth) {
        update_depth();
        next_depth = SteadyClock::now() + opt.depth_interval;
      }
    }
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
  return "stage-worker-" + impl_->stage;
}

Status StageWorker::start() {
  auto& i = *impl_;
  if (i.running) return {};
  if (auto st = i.admin.declare_exchanges(); !st) return st;
  i.running = true;
  i.gate = std::make_shared<CompletionGate>();
  i.gate->deliver = [&i](std::shared_ptr<AsyncJob> job) { i.on_async_done(std::move(job)); };
  i.publisher.start();
  i.io_thread = std::thread([&i] { i.io_loop(); });
  for (std::size_t n = 0; n < std::max<std::size_t>(1, i.opt.handler_threads); ++n) {
    i.handler_threads.emplace_back([&i] { i.handler_loop(); });
  }
  i.manager_thread = std::thread([&i] { i.manager_loop(); });
  return {};
}

void StageWorker::stop_intake() {
  auto& i = *impl_;
  if (!i.running || i.intake_stopped.exchange(true)) return;
  i.post(IoCommand{.kind = IoCommand::Kind::kStopIntake, .bid = {}});
  i.mgr_cv.notify_all();
}

void StageWorker::drain(std::chrono::steady_clock::time_point deadline) {
  auto& i = *impl_;
  if (!i.running) return;
  std::unique_lock l(i.sched_mu);
  i.sched_cv.wait_until(l, deadline, [&] { return i.unsettled_dispatched == 0; });
}

void StageWorker::stop() {
  auto& i = *impl_;
  if (!i.running) return;
  stop_intake();
  i.stopping = true;
  i.waker.notify();
  i.mgr_cv.notify_all();
  if (i.io_thread.joinable()) i.io_thread.join();  // closes the connection: unacked requeue
  if (i.manager_thread.joinable()) i.manager_thread.join();
  // Handlers still running past the drain deadline: their publishes now fail at once and
  // their inputs, already requeued by the broker, are redelivered.
  i.publisher.stop();
  {
    std::lock_guard l(i.sched_mu);
    i.handlers_stop = true;
  }
  i.sched_cv.notify_all();
  for (auto& t : i.handler_threads) {
    if (t.joinable()) t.join();
  }
  i.handler_threads.clear();
  i.publisher.stop();
  {
    // Later asynchronous completions are dropped: their messages were requeued when the
    // connection closed. Completed jobs nobody finished are released the same way.
    std::lock_guard g(i.gate->mu);
    i.gate->deliver = nullptr;
  }
  {
    std::lock_guard l(i.sched_mu);
    i.async_done.clear();
  }
  i.running = false;
}

std::vector<std::string> StageWorker::consuming() const {
  std::lock_guard l(impl_->consuming_mu);
  return impl_->consuming_snapshot;
}

}  // namespace earshot::queue
