#pragma once
// GET /api/v1/events: server-sent events of the caller's business.
//
// The business's Redis stream (cache::LiveEvents) is the record; the channel subscriber only
// marks that business's streams for reading, and the hub's one pump thread then reads the
// stream after the last id each of them sent (streams at the same position share one read)
// and pushes the frames to their sinks. So the first replay (Last-Event-ID), live events,
// and the gap while the subscriber reconnects all take the same path and nothing is sent
// twice or out of order. A stream costs no HTTP thread: it is an EventSink (router.hpp) the
// listener writes asynchronously. Heartbeats go out from the same pump; a sink that cannot
// keep up is dropped by the listener. Streams are capped in all and per business, so one
// tenant cannot lock the others out; shutdown ends them all.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "earshot/api/router.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/metrics.hpp"

namespace earshot::api {

struct EventStreamSettings {
  std::chrono::milliseconds heartbeat{0};     // a comment line when nothing else was sent
  std::int64_t max_clients = 0;               // concurrent streams; more get 503 + Retry-After
  std::chrono::milliseconds retry{0};         // the `retry:` hint sent to EventSource clients
  std::int64_t max_clients_per_business = 0;  // concurrent streams of one business; 0: max_clients

  // Declares sse_heartbeat, sse_max_clients, sse_retry, sse_max_clients_per_business.
  void declare(ConfigSpec& spec);
};

class EventHub {
 public:
  EventHub(cache::LiveEvents& events, EventStreamSettings settings, Metrics* metrics = nullptr);
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Held by one stream while it runs; releasing it frees the place.
  class Slot {
   public:
    Slot(EventHub& hub, std::string bid) : hub_(hub), bid_(std::move(bid)) {}
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    EventHub& hub_;
    std::string bid_;
  };
  // A place for one stream of `bid`; null when the hub is closed, max_clients streams run,
  // or `bid` already has its max_clients_per_business ( `reason` says which).
  [[nodiscard]] std::shared_ptr<Slot> acquire(const std::string& bid, std::string* reason = nullptr);

  // Starts serving a stream of `bid` on `sink` from after `last` (a stream id, "0-0" for all):
  // writes the retry hint at once, then events and heartbeats until the sink closes or the
  // hub does. The slot is released when the stream ends.
  void attach(std::shared_ptr<Slot> slot, const std::string& bid, std::string last,
              const std::shared_ptr<EventSink>& sink);

  // Marks the streams of `bid` (an event arrived) or of every business (resubscribed).
  void notify(const std::string& bid);
  void notify_all();
  // Shutdown: every stream ends at once, new ones are refused.
  void close();
  [[nodiscard]] bool closed() const;

  [[nodiscard]] cache::LiveEvents& events() { return events_; }
  [[nodiscard]] const EventStreamSettings& settings() const { return settings_; }
  [[nodiscard]] std::size_t active() const;
  [[nodiscard]] std::size_t active(const std::string& bid) const;

 private:
  struct Stream {
    std::string bid;
    std::string last;
    std::shared_ptr<EventSink> sink;
    std::shared_ptr<Slot> slot;
    std::chrono::steady_clock::time_point next_heartbeat;
    std::chrono::steady_clock::time_point retry_at = std::chrono::steady_clock::time_point::max();
    bool pending = true;  // read the business's stream on the next round
    bool dead = false;
  };
  void pump();
  void serve(std::vector<std::shared_ptr<Stream>>& streams);

  cache::LiveEvents& events_;
  EventStreamSettings settings_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::list<std::shared_ptr<Stream>> streams_;
  std::set<std::string> marked_;  // businesses with news since the last round
  bool marked_all_ = false;
  bool wake_ = false;  // a stream was added or closed
  std::map<std::string, std::size_t> per_business_;
  std::size_t active_ = 0;
  bool closed_ = false;
  std::thread pump_;
  prometheus::Gauge* clients_ = nullptr;
  prometheus::Counter* rejected_ = nullptr;
  prometheus::Counter* sent_ = nullptr;
};

}  // namespace earshot::api
