#include "earshot/queue/publisher.hpp"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "amqp_connection.hpp"
#include "earshot/core/backoff.hpp"
#include "earshot/core/log.hpp"

namespace earshot::queue {

namespace {

using Clock = std::chrono::steady_clock;
constexpr amqp_channel_t kChannel = 1;

// One publish_batch() call: its caller waits until every message is confirmed or one failed.
struct Batch {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t remaining = 0;
  bool done = false;
  Status result;
  Clock::time_point deadline;
  // Set for publish_batch_async: called once, on the thread that completes the batch.
  std::function<void(Status)> on_done;

  void finish(Status s) {
    std::function<void(Status)> cb;
    {
      std::lock_guard l(mu);
      if (done) return;
      done = true;
      result = s;
      cv.notify_all();
      cb = std::move(on_done);
    }
    if (cb) cb(std::move(s));
  }
  void confirm_one() {
    std::function<void(Status)> cb;
    {
      std::lock_guard l(mu);
      if (done || --remaining != 0) return;
      done = true;
      cv.notify_all();
      cb = std::move(on_done);
    }
    if (cb) cb(Status{});
  }
  bool is_done() {
    std::lock_guard l(mu);
    return done;
  }
};

struct Entry {
  std::shared_ptr<Batch> batch;
  OutgoingMessage msg;
};

}  // namespace

struct Publisher::Impl {
  AmqpSettings amqp;
  PublisherOptions opt;
  prometheus::Counter* confirmed_ = nullptr;
  prometheus::Counter* returned_ = nullptr;
  prometheus::Counter* nacked_ = nullptr;
  prometheus::Counter* timed_out_ = nullptr;
  prometheus::Counter* reconnects_ = nullptr;

  std::mutex mu;  // guards submitted and stopping
  std::condition_variable cv;
  std::deque<Entry> submitted;
  bool stopping = false;
  bool started = false;
  detail::Waker waker;
  std::thread thread;
  std::atomic<bool> connected{false};

  // I/O thread only.
  std::unique_ptr<detail::AmqpConnection> conn;
  std::deque<Entry> pending;
  std::map<std::uint64_t, Entry> inflight;
  std::uint64_t next_tag = 0;
  Backoff backoff;
  Clock::time_point reconnect_at{};
  Clock::time_point next_expiry_check{};
  bool ever_connected = false;

  Impl(AmqpSettings a, PublisherOptions o) : amqp(std::move(a)), opt(o), backoff(o.backoff_initial, o.backoff_max) {}

  void inc(prometheus::Counter* c, double n = 1) {
    if (c != nullptr) c->Increment(n);
  }

  bool try_connect() {
    auto c = detail::AmqpConnection::open(amqp);
    Status st = c ? (*c)->open_channel(kChannel) : Status(std::unexpected(c.error()));
    if (st) st = (*c)->confirm_select(kChannel);
    if (!st) {
      reconnect_at = Clock::now() + backoff.next();
      log::warn("queue publisher cannot connect",
                {{"error", st.error().to_string()}, {"attempt", std::to_string(backoff.attempts())}});
      return false;
    }
    conn = std::move(*c);
    next_tag = 0;
    backoff.reset();
    if (ever_connected) {
      inc(reconnects_);
      log::info("queue publisher reconnected");
    }
    ever_connected = true;
    connected = true;
    return true;
  }

  void connection_lost(const Error& e) {
    log::warn("queue publisher lost its connection",
              {{"error", e.to_string()}, {"unconfirmed", std::to_string(inflight.size())}});
    connected = false;
    // Unconfirmed messages go out again, in their original order, on the next connection.
    for (auto it = inflight.rbegin(); it != inflight.rend(); ++it) {
      pending.push_front(std::move(it->second));
    }
    inflight.clear();
    conn.reset();
    reconnect_at = Clock::now() + backoff.next();
  }

  void expire(Clock::time_point now) {
    if (now < next_expiry_check) return;
    next_expiry_check = now + std::chrono::milliseconds(50);
    auto check = [&](Entry& e) {
      if (e.batch->deadline <= now && !e.batch->is_done()) {
        inc(timed_out_);
        e.batch->finish(make_error(ErrorCode::kTimeout,
                                   fmt::format("no broker confirmation within {} ms", opt.confirm_timeout.count())));
      }
    };
    for (auto& e : pending) check(e);
    for (auto& [tag, e] : inflight) check(e);
    std::erase_if(pending, [](Entry& e) { return e.batch->is_done(); });
  }

  void settle_one(Entry& e, bool ack) {
    if (ack) {
      inc(confirmed_);
      e.batch->confirm_one();
    } else {
      inc(nacked_);
      e.batch->finish(make_error(ErrorCode::kUnavailable, "broker refused the message (basic.nack)"));
    }
  }

  // One ack/nack may cover every delivery tag up to `tag` (`multiple`).
  void settle(std::uint64_t tag, bool multiple, bool ack) {
    if (multiple) {
      auto end = inflight.upper_bound(tag);
      for (auto it = inflight.begin(); it != end; ++it) settle_one(it->second, ack);
      inflight.erase(inflight.begin(), end);
      return;
    }
    auto it = inflight.find(tag);
    if (it == inflight.end()) return;
    settle_one(it->second, ack);
    inflight.erase(it);
  }

  // Returns false when the connection must be dropped.
  bool handle_event(const detail::BrokerEvent& ev) {
    using Kind = detail::BrokerEvent::Kind;
    switch (ev.kind) {
      case Kind::kAck:
      case Kind::kNack:
        settle(ev.tag, ev.multiple, ev.kind == Kind::kAck);
        return true;
      case Kind::kReturn: {
        // Sent before the ack of the same message: fail its batch now.
        std::string why = fmt::format("unroutable message (exchange '{}', routing key '{}'): {} {}", ev.exchange,
                                      ev.routing_key, ev.reply_code, ev.reply_text);
        for (auto& [tag, e] : inflight) {
          if (e.msg.message_id == ev.content.message_id) {
            inc(returned_);
            e.batch->finish(make_error(ErrorCode::kFailedPrecondition, why));
            break;
          }
        }
        return true;
      }
      case Kind::kChannelClosed:
        log::warn("queue publisher channel closed by broker",
                  {{"code", std::to_string(ev.reply_code)}, {"reason", ev.reply_text}});
        return false;
      default:
        return true;
    }
  }

  // Publishes pending messages while the confirm window has room.
  void publish_pending() {
    while (inflight.size() < opt.window && !pending.empty()) {
      Entry e = std::move(pending.front());
      pending.pop_front();
      if (e.batch->is_done()) continue;
      if (auto st = conn->publish(kChannel, e.msg); !st) {
        pending.push_front(std::move(e));
        break;
      }
      inflight.emplace(++next_tag, std::move(e));
    }
  }

  // Reads every event available now, waiting up to `timeout` for the first.
  void read_confirms(std::chrono::milliseconds timeout) {
    while (true) {
      auto got = conn->next_event(&waker, timeout);
      if (!got) {
        connection_lost(got.error());
        return;
      }
      const auto& event = *got;
      if (!event) return;
      if (!handle_event(*event)) {
        connection_lost(Error(ErrorCode::kUnavailable, "channel or connection closed"));
        return;
      }
      timeout = std::chrono::milliseconds(0);
    }
  }

  // Stopping: everything not confirmed fails.
  void fail_unconfirmed() {
    connected = false;
    auto stopped = Error(ErrorCode::kUnavailable, "publisher stopped");
    for (auto& e : pending) e.batch->finish(std::unexpected(stopped));
    for (auto& [t, e] : inflight) e.batch->finish(std::unexpected(stopped));
    pending.clear();
    inflight.clear();
    conn.reset();
    std::deque<Entry> left;
    {
      std::lock_guard l(mu);
      left.swap(submitted);
    }
    for (auto& e : left) e.batch->finish(std::unexpected(stopped));
  }

  void run() {
    while (true) {
      waker.clear();
      {
        std::lock_guard l(mu);
        if (stopping) break;
        while (!submitted.empty()) {
          pending.push_back(std::move(submitted.front()));
          submitted.pop_front();
        }
      }
      const auto now = Clock::now();
      expire(now);
      if (!conn) {
        if (now < reconnect_at || !try_connect()) {
          std::unique_lock l(mu);
          auto wait = std::min<Clock::duration>(reconnect_at - Clock::now(), std::chrono::milliseconds(50));
          cv.wait_for(l, wait, [&] { return stopping; });
          continue;
        }
      }
      publish_pending();
      if (conn->broken()) {
        connection_lost(Error(ErrorCode::kUnavailable, "publish failed"));
        continue;
      }
      // Wait for a confirm only when idle or the window is full.
      const bool can_publish_more = inflight.size() < opt.window && !pending.empty();
      read_confirms(can_publish_more ? std::chrono::milliseconds(0) : std::chrono::milliseconds(100));
      if (conn) conn->release_buffers();
    }
    fail_unconfirmed();
  }
};

Publisher::Publisher(AmqpSettings amqp, PublisherOptions options, Metrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(amqp), options)) {
  if (impl_->opt.window == 0) impl_->opt.window = 1;
  if (metrics != nullptr) {
    auto& published = metrics->counter("earshot_queue_published_total", "Messages published, by broker outcome.");
    impl_->confirmed_ = &published.Add({{"result", "confirmed"}});
    impl_->returned_ = &published.Add({{"result", "returned"}});
    impl_->nacked_ = &published.Add({{"result", "nacked"}});
    impl_->timed_out_ = &published.Add({{"result", "timeout"}});
    impl_->reconnects_ =
        &metrics->counter("earshot_queue_reconnects_total", "AMQP connections re-established after a failure.")
             .Add({{"connection", "publisher"}});
  }
}

Publisher::~Publisher() {
  stop();
}

void Publisher::start() {
  std::lock_guard l(impl_->mu);
  if (impl_->started) return;
  impl_->started = true;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void Publisher::stop() {
  {
    std::lock_guard l(impl_->mu);
    impl_->stopping = true;
  }
  impl_->waker.notify();
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::deque<Entry> left;
  {
    std::lock_guard l(impl_->mu);
    left.swap(impl_->submitted);
  }
  auto stopped = Error(ErrorCode::kUnavailable, "publisher stopped");
  for (auto& e : left) e.batch->finish(std::unexpected(stopped));
}

bool Publisher::connected() const {
  return impl_->connected.load();
}

Status Publisher::publish(OutgoingMessage message) {
  std::vector<OutgoingMessage> v;
  v.push_back(std::move(message));
  return publish_batch(std::move(v));
}

std::shared_ptr<void> Publisher::submit(std::vector<OutgoingMessage>& messages, std::function<void(Status)> on_done) {
  auto batch = std::make_shared<Batch>();
  batch->remaining = messages.size();
  batch->deadline = Clock::now() + impl_->opt.confirm_timeout;
  batch->on_done = std::move(on_done);
  {
    std::lock_guard l(impl_->mu);
    if (impl_->stopping || !impl_->started) return nullptr;
    const auto now = std::chrono::system_clock::now();
    for (auto& m : messages) {
      if (m.message_id.empty()) m.message_id = new_message_id();
      stamp_published_at(m.headers, now);
      impl_->submitted.push_back(Entry{batch, std::move(m)});
    }
  }
  impl_->waker.notify();
  return batch;
}

Status Publisher::publish_batch(std::vector<OutgoingMessage> messages) {
  if (messages.empty()) return {};
  auto handle = submit(messages, nullptr);
  if (!handle) return make_error(ErrorCode::kUnavailable, "publisher not running");
  auto* batch = static_cast<Batch*>(handle.get());
  std::unique_lock l(batch->mu);
  batch->cv.wait(l, [&] { return batch->done; });
  return batch->result;
}

void Publisher::publish_batch_async(std::vector<OutgoingMessage> messages, const std::function<void(Status)>& on_done) {
  if (messages.empty()) {
    on_done(Status{});
    return;
  }
  if (!submit(messages, on_done)) {
    on_done(make_error(ErrorCode::kUnavailable, "publisher not running"));
  }
}

}  // namespace earshot::queue
