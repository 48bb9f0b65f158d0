#pragma once
// GET /api/v1/events: server-sent events of the caller's business.
//
// The business's Redis stream (cache::LiveEvents) is the record; the channel subscriber only
// wakes the streams of that business, which then read the stream after the last id they
// sent. So the first replay (Last-Event-ID), live events, and the gap while the subscriber
// reconnects all take the same path and nothing is sent twice or out of order. Each stream
// holds one server thread, so their number is bounded; shutdown ends them all.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "earshot/cache/live_events.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/metrics.hpp"

namespace earshot::api {

struct EventStreamSettings {
  std::chrono::milliseconds heartbeat{0};  // a comment line when nothing else was sent
  std::int64_t max_clients = 0;            // concurrent streams; more get 503 + Retry-After
  std::chrono::milliseconds retry{0};      // the `retry:` hint sent to EventSource clients

  // Declares sse_heartbeat, sse_max_clients, sse_retry.
  void declare(ConfigSpec& spec);
};

class EventHub {
 public:
  EventHub(cache::LiveEvents& events, EventStreamSettings settings, Metrics* metrics = nullptr);

  // Held by one stream while it runs; releasing it frees the place.
  class Slot {
   public:
    explicit Slot(EventHub& hub) : hub_(hub) {}
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    EventHub& hub_;
  };
  // Null when max_clients streams run or the hub is closed.
  [[nodiscard]] std::shared_ptr<Slot> acquire();

  // Wakes the streams of `bid` (an event arrived) or of every business (resubscribed).
  void notify(const std::string& bid);
  void notify_all();
  // Shutdown: every stream ends at once, new ones are refused.
  void close();
  [[nodiscard]] bool closed() const;

  // A counter that changes whenever `bid`'s streams should look at the stream again.
  [[nodiscard]] std::uint64_t generation(const std::string& bid) const;
  // Waits until generation(bid) != seen, close() or the timeout; returns generation(bid).
  std::uint64_t wait(const std::string& bid, std::uint64_t seen, std::chrono::milliseconds timeout);

  [[nodiscard]] cache::LiveEvents& events() { return events_; }
  [[nodiscard]] const EventStreamSettings& settings() const { return settings_; }
  [[nodiscard]] std::size_t active() const;
  // Counts events written to clients.
  void sent(std::size_t n);

 private:
  [[nodiscard]] std::uint64_t generation_locked(const std::string& bid) const;

  cache::LiveEvents& events_;
  EventStreamSettings settings_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::uint64_t> generations_;
  std::uint64_t all_ = 0;
  std::size_t active_ = 0;
  bool closed_ = false;
  prometheus::Gauge* clients_ = nullptr;
  prometheus::Counter* rejected_ = nullptr;
  prometheus::Counter* sent_ = nullptr;
};

}  // namespace earshot::api
