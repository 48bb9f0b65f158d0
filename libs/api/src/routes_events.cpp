// GET /api/v1/events: server-sent events of the caller's business (see events.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "earshot/api/dispatcher.hpp"
#include "earshot/api/events.hpp"
#include "earshot/api/gateway.hpp"
#include "route_util.hpp"

namespace earshot::api {

void EventStreamSettings::declare(ConfigSpec& spec) {
  spec.add_duration("sse_heartbeat", &heartbeat, std::chrono::seconds(15),
                    std::chrono::milliseconds(100), std::chrono::minutes(10),
                    "Live events: a comment line after this long without an event.");
  spec.add_int("sse_max_clients", &max_clients, 8, 1, 100'000,
               "Live events: concurrent streams (each holds an HTTP thread; keep it below "
               "http_threads).");
  spec.add_duration("sse_retry", &retry, std::chrono::seconds(3), std::chrono::milliseconds(100),
                    std::chrono::minutes(10),
                    "Live events: reconnection delay suggested to clients (retry:).");
}

EventHub::EventHub(cache::LiveEvents& events, EventStreamSettings settings, Metrics* metrics)
    : events_(events), settings_(settings) {
  if (metrics != nullptr) {
    clients_ = &metrics->gauge("earshot_sse_clients", "Open live event streams.").Add({});
    rejected_ = &metrics
                     ->counter("earshot_sse_rejected_total",
                               "Live event streams refused because sse_max_clients were open.")
                     .Add({});
    sent_ = &metrics->counter("earshot_sse_events_sent_total", "Live events written to clients.")
                 .Add({});
  }
}

EventHub::Slot::~Slot() {
  std::lock_guard lock(hub_.mu_);
  --hub_.active_;
  if (hub_.clients_ != nullptr) hub_.clients_->Set(static_cast<double>(hub_.active_));
}

std::shared_ptr<EventHub::Slot> EventHub::acquire() {
  std::lock_guard lock(mu_);
  if (closed_ || active_ >= static_cast<std::size_t>(std::max<std::int64_t>(settings_.max_clients, 1))) {
    if (rejected_ != nullptr) rejected_->Increment();
    return nullptr;
  }
  ++active_;
  if (clients_ != nullptr) clients_->Set(static_cast<double>(active_));
  return std::make_shared<Slot>(*this);
}

void EventHub::notify(const std::string& bid) {
  {
    std::lock_guard lock(mu_);
    ++generations_[bid];
  }
  cv_.notify_all();
}

void EventHub::notify_all() {
  {
    std::lock_guard lock(mu_);
    ++all_;
  }
  cv_.notify_all();
}

void EventHub::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventHub::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::uint64_t EventHub::generation_locked(const std::string& bid) const {
  auto it = generations_.find(bid);
  return all_ + (it == generations_.end() ? 0 : it->second);
}

std::uint64_t EventHub::generation(const std::string& bid) const {
  std::lock_guard lock(mu_);
  return generation_locked(bid);
}

std::uint64_t EventHub::wait(const std::string& bid, std::uint64_t seen,
                             std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return closed_ || generation_locked(bid) != seen; });
  return generation_locked(bid);
}

std::size_t EventHub::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

void EventHub::sent(std::size_t n) {
  if (sent_ != nullptr) sent_->Increment(static_cast<double>(n));
}

namespace {

constexpr std::size_t kBatch = 100;

// One SSE frame; data lines never carry a raw newline (JSON escapes them), but split anyway.
void append_frame(std::string& out, const cache::LiveEvent& e) {
  out += "id: ";
  out += e.id;
  out += "\nevent: ";
  out += e.type;
  out += '\n';
  std::size_t pos = 0;
  while (pos <= e.json.size()) {
    auto nl = e.json.find('\n', pos);
    if (nl == std::string::npos) nl = e.json.size();
    out += "data: ";
    out.append(e.json, pos, nl - pos);
    out += '\n';
    pos = nl + 1;
  }
  out += '\n';
}

// Runs one client's stream until it disconnects or the hub closes.
void run_stream(EventHub& hub, const std::string& bid, std::string last, StreamSink& sink) {
  using Steady = std::chrono::steady_clock;
  const auto heartbeat = hub.settings().heartbeat;
  const auto tick = std::chrono::milliseconds(500);  // how often a quiet stream checks its client
  if (!sink.write(fmt::format("retry: {}\n: connected\n\n", hub.settings().retry.count()))) return;
  auto next_heartbeat = Steady::now() + heartbeat;
  while (!hub.closed()) {
    // Take the generation before reading: an event landing after the read changes it.
    std::uint64_t gen = hub.generation(bid);
    auto batch = hub.events().read_after(bid, last, kBatch);
    if (batch && !batch->empty()) {
      std::string out;
      for (const auto& e : *batch) append_frame(out, e);
      if (!sink.write(out)) return;
      hub.sent(batch->size());
      last = batch->back().id;
      next_heartbeat = Steady::now() + heartbeat;
      if (batch->size() == kBatch) continue;  // more are waiting
    }
    // Wait for a notification; heartbeats keep proxies from closing a quiet stream and find
    // out that a client went away. After a failed read (Redis down) retry within a second.
    const auto retry_at = batch ? Steady::time_point::max() : Steady::now() + std::chrono::seconds(1);
    while (!hub.closed()) {
      const auto now = Steady::now();
      if (now >= next_heartbeat) {
        if (!sink.write(": heartbeat\n\n")) return;
        next_heartbeat = now + heartbeat;
      }
      if (now >= retry_at) break;
      const auto until = std::min({next_heartbeat, retry_at, now + tick});
      const auto g = hub.wait(bid, gen, std::chrono::duration_cast<std::chrono::milliseconds>(until - now) +
                                            std::chrono::milliseconds(1));
      if (g != gen) break;
      if (!sink.alive()) return;
    }
  }
}

}  // namespace

void add_event_routes(Router& router, GatewayServices& s) {
  Policy read;
  read.api_key_scope = "read";
  router.add("GET", "/api/v1/events", read, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {"last_event_id"}); !st) return std::unexpected(st.error());
    if (s.events == nullptr) {
      return make_error(ErrorCode::kUnavailable, "live events are not configured");
    }
    // EventSource resends the last id it saw as Last-Event-ID; the query form is for clients
    // that cannot set headers on their first connection.
    std::string last = req.header("Last-Event-ID");
    if (last.empty()) last = req.query_param("last_event_id").value_or("");
    if (!last.empty() && !cache::valid_stream_id(last)) {
      return detail::invalid("Last-Event-ID must be an event id like 1763730000000-0");
    }
    const std::string bid = req.caller_bid();
    auto slot = s.events->acquire();
    if (!slot) {
      Reply busy = error_reply(Error(ErrorCode::kUnavailable, "too many live event streams; retry later"));
      busy.headers.emplace_back("Retry-After", "5");
      return busy;
    }
    if (last.empty()) {
      // No resume point: start at the newest event, so only what happens from now is sent.
      auto newest = s.events->events().last_id(bid);
      if (!newest) return std::unexpected(newest.error());
      last = newest->empty() ? "0-0" : *newest;
    }
    Reply r;
    r.status = 200;
    r.raw = std::string();
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Accel-Buffering", "no");
    EventHub* hub = s.events;
    r.stream = [hub, slot, bid, last](StreamSink& sink) { run_stream(*hub, bid, last, sink); };
    return r;
  });
}

}  // namespace earshot::api
