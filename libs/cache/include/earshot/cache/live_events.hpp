#pragma once
// Live events per business: what the gateway streams to dashboards (GET /api/v1/events).
//
// Every event is appended to the Redis stream `earshot:events:{bid}` (MAXLEN ~ 10000, one
// field `e` holding the event's JSON) and published, with its stream id, on the channel of
// the same name, in one server-side script so the stream order and the publish order agree:
//
//   {"id": "1763730000000-0", "type": "call.status", "bid": "acme", "at": 1763730000000,
//    "data": {"call_id": 42, "status": "analyzed", "previous": "transcribed"}}
//
// Types: `call.status` (data: call_id, status, previous, reason?), `pipeline.counters`
// (data: calls per status) and the notifier's `delivery.*`. The stream is the record (resume
// after an id, replay); the channel only wakes live readers. Publishing never fails the
// caller: an error is logged (sampled) and counted in earshot_live_events_errors_total.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/cache/redis_client.hpp"
#include "earshot/cache/redis_settings.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"

namespace earshot::cache {

struct LiveEvent {
  std::string id;    // stream id "<ms>-<seq>"
  std::string type;  // "call.status", ...
  std::string json;  // the whole event as published, "id" included
};

// "earshot:events:" + bid: the stream key and the channel name.
inline constexpr std::string_view kLiveEventsPrefix = "earshot:events:";
[[nodiscard]] std::string live_events_key(std::string_view bid);

// True for a Redis stream id: "<ms>" or "<ms>-<seq>" (digits only).
[[nodiscard]] bool valid_stream_id(std::string_view id);

class LiveEvents {
 public:
  static constexpr std::size_t kMaxLen = 10000;

  // `metrics` may be null (no counters).
  LiveEvents(RedisClient& redis, const Clock& clock, Metrics* metrics = nullptr, std::size_t max_len = kMaxLen);

  // Appends the event to the business's stream and publishes it. Returns its stream id, or
  // nullopt when Redis failed (logged and counted; the caller carries on).
  std::optional<std::string> publish(std::string_view bid, std::string_view type, nlohmann::json data);

  // The business's events strictly after `after_id` (empty: from the oldest kept), oldest
  // first, at most `limit`. kInvalidArgument for a malformed id, kUnavailable when Redis is.
  [[nodiscard]] Result<std::vector<LiveEvent>> read_after(std::string_view bid, std::string_view after_id,
                                                          std::size_t limit = 100);

  // The id of the business's newest event; empty when it has none.
  [[nodiscard]] Result<std::string> last_id(std::string_view bid);

 private:
  RedisClient& redis_;
  const Clock& clock_;
  std::size_t max_len_;
  prometheus::Counter* published_ = nullptr;
  prometheus::Counter* errors_ = nullptr;
  std::atomic<std::int64_t> last_error_log_ms_{0};
};

// Parses one event JSON as it comes from the channel (id and type taken from it);
// nullopt when it is not an event.
[[nodiscard]] std::optional<LiveEvent> parse_live_event(std::string_view json);

// Listens to every business's channel (PSUBSCRIBE earshot:events:*) on its own connection
// and reconnects with backoff when Redis goes away. `on_event(bid, event)` runs on the
// subscriber's thread for every message; `on_subscribed()` runs after every (re)subscription,
// i.e. whenever messages may have been missed, so readers re-read the streams.
class LiveEventSubscriber {
 public:
  using EventHandler = std::function<void(const std::string& bid, const LiveEvent& event)>;
  using SubscribedHandler = std::function<void()>;

  // `client_name` is set with CLIENT SETNAME (visible in CLIENT LIST).
  LiveEventSubscriber(RedisSettings settings, EventHandler on_event, SubscribedHandler on_subscribed = {},
                      std::string client_name = "earshot-live-events");
  ~LiveEventSubscriber();
  LiveEventSubscriber(const LiveEventSubscriber&) = delete;
  LiveEventSubscriber& operator=(const LiveEventSubscriber&) = delete;

  // Starts the listening thread (kInvalidArgument for a malformed URL).
  [[nodiscard]] Status start();
  void stop();
  // True while subscribed.
  [[nodiscard]] bool subscribed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::cache
