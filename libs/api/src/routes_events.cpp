// GET /api/v1/events: server-sent events of the caller's business (see events.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "earshot/api/dispatcher.hpp"
#include "earshot/api/events.hpp"
#include "earshot/api/gateway.hpp"
#include "route_util.hpp"

namespace earshot::api {

void EventStreamSettings::declare(ConfigSpec& spec) {
  spec.add_duration("sse_heartbeat", &heartbeat, std::chrono::seconds(15), std::chrono::milliseconds(100),
                    std::chrono::minutes(10), "Live events: a comment line after this long without an event.");
  spec.add_int("sse_max_clients", &max_clients, 2000, 1, 1'000'000,
               "Live events: concurrent streams in all (a stream holds no thread, only its "
               "connection); more get 503 with Retry-After.");
  spec.add_int("sse_max_clients_per_business", &max_clients_per_business, 50, 1, 1'000'000,
               "Live events: concurrent streams of one business, so one tenant cannot take "
               "every place; more get 503 with Retry-After.");
  spec.add_duration("sse_retry", &retry, std::chrono::seconds(3), std::chrono::milliseconds(100),
                    std::chrono::minutes(10), "Live events: reconnection delay suggested to clients (retry:).");
}

EventHub::EventHub(cache::LiveEvents& events, EventStreamSettings settings, Metrics* metrics)
    : events_(events), settings_(settings) {
  if (metrics != nullptr) {
    clients_ = &metrics->gauge("earshot_sse_clients", "Open live event streams.").Add({});
    rejected_ = &metrics
                     ->counter("earshot_sse_rejected_total",
                               "Live event streams refused because sse_max_clients or "
                               "sse_max_clients_per_business were open.")
                     .Add({});
    sent_ = &metrics->counter("earshot_sse_events_sent_total", "Live events written to clients.").Add({});
  }
}

EventHub::~EventHub() {
  close();
  if (pump_.joinable()) pump_.join();
}

EventHub::Slot::~Slot() {
  std::lock_guard lock(hub_.mu_);
  --hub_.active_;
  if (auto it = hub_.per_business_.find(bid_); it != hub_.per_business_.end() && --it->second == 0) {
    hub_.per_business_.erase(it);
  }
  if (hub_.clients_ != nullptr) hub_.clients_->Set(static_cast<double>(hub_.active_));
}

std::shared_ptr<EventHub::Slot> EventHub::acquire(const std::string& bid, std::string* reason) {
  std::lock_guard lock(mu_);
  const auto total = static_cast<std::size_t>(std::max<std::int64_t>(settings_.max_clients, 1));
  const auto each =
      settings_.max_clients_per_business > 0 ? static_cast<std::size_t>(settings_.max_clients_per_business) : total;
  auto refuse = [&](const char* why) -> std::shared_ptr<Slot> {
    if (rejected_ != nullptr) rejected_->Increment();
    if (reason != nullptr) *reason = why;
    return nullptr;
  };
  if (closed_) return refuse("the server is shutting down");
  auto it = per_business_.find(bid);
  if (it != per_business_.end() && it->second >= each) {
    return refuse("this business has the most live event streams allowed open; close one or retry later");
  }
  if (active_ >= total) return refuse("too many live event streams; retry later");
  ++active_;
  ++per_business_[bid];
  if (clients_ != nullptr) clients_->Set(static_cast<double>(active_));
  return std::make_shared<Slot>(*this, bid);
}

void EventHub::attach(std::shared_ptr<Slot> slot, const std::string& bid, std::string last,
                      const std::shared_ptr<EventSink>& sink) {
  if (!sink->push(fmt::format("retry: {}\n: connected\n\n", settings_.retry.count()))) return;
  auto stream = std::make_shared<Stream>();
  stream->bid = bid;
  stream->last = std::move(last);
  stream->sink = sink;
  stream->slot = std::move(slot);
  stream->next_heartbeat = std::chrono::steady_clock::now() + settings_.heartbeat;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      sink->close();
      return;
    }
    streams_.push_back(stream);
    wake_ = true;
    if (!pump_.joinable()) pump_ = std::thread([this] { pump(); });
  }
  // A client that goes away frees its place at once, not at the next heartbeat.
  sink->on_close([this] {
    {
      std::lock_guard lock(mu_);
      wake_ = true;
    }
    cv_.notify_all();
  });
  cv_.notify_all();
}

void EventHub::notify(const std::string& bid) {
  {
    std::lock_guard lock(mu_);
    if (streams_.empty()) return;
    marked_.insert(bid);
  }
  cv_.notify_all();
}

void EventHub::notify_all() {
  {
    std::lock_guard lock(mu_);
    marked_all_ = true;
  }
  cv_.notify_all();
}

void EventHub::close() {
  std::list<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    streams.swap(streams_);
  }
  cv_.notify_all();
  for (auto& s : streams) s->sink->close();
  streams.clear();  // releases the slots
}

bool EventHub::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::size_t EventHub::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

std::size_t EventHub::active(const std::string& bid) const {
  std::lock_guard lock(mu_);
  auto it = per_business_.find(bid);
  return it == per_business_.end() ? 0 : it->second;
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

}  // namespace

void EventHub::pump() {
  using Steady = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  while (!closed_) {
    // Sleep until news, a stream added or gone, or the next heartbeat or retry is due.
    auto due = Steady::now() + std::chrono::seconds(1);
    for (const auto& s : streams_) due = std::min({due, s->next_heartbeat, s->retry_at});
    cv_.wait_until(lock, due, [&] { return closed_ || wake_ || marked_all_ || !marked_.empty(); });
    if (closed_) break;
    const auto now = Steady::now();
    std::vector<std::shared_ptr<Stream>> round;
    std::vector<std::shared_ptr<Stream>> ended;  // released below, without the lock (slots take it)
    for (auto it = streams_.begin(); it != streams_.end();) {
      auto& s = *it;
      if (s->dead || !s->sink->open()) {
        ended.push_back(std::move(s));
        it = streams_.erase(it);
        continue;
      }
      if (marked_all_ || marked_.count(s->bid) != 0 || now >= s->retry_at) s->pending = true;
      if (s->pending || now >= s->next_heartbeat) round.push_back(s);
      ++it;
    }
    marked_.clear();
    marked_all_ = false;
    wake_ = false;
    if (round.empty() && ended.empty()) continue;
    // Reads and writes without the lock: an event landing meanwhile marks the business again.
    lock.unlock();
    ended.clear();
    serve(round);
    round.clear();
    lock.lock();
  }
}

void EventHub::serve(std::vector<std::shared_ptr<Stream>>& streams) {
  using Steady = std::chrono::steady_clock;
  // Streams of one business at the same position share each read.
  std::map<std::pair<std::string, std::string>, std::vector<Stream*>> groups;
  for (auto& s : streams) {
    if (s->pending) {
      s->pending = false;
      groups[{s->bid, s->last}].push_back(s.get());
    }
  }
  for (auto& [key, members] : groups) {
    std::string last = key.second;
    while (true) {
      auto batch = events_.read_after(key.first, last, kBatch);
      if (!batch) {  // Redis unavailable: try again within a second
        for (auto* s : members) s->retry_at = Steady::now() + std::chrono::seconds(1);
        break;
      }
      for (auto* s : members) s->retry_at = Steady::time_point::max();
      if (batch->empty()) break;
      std::string out;
      for (const auto& e : *batch) append_frame(out, e);
      last = batch->back().id;
      const auto now = Steady::now();
      for (auto* s : members) {
        if (s->dead) continue;
        if (!s->sink->push(out)) {
          s->dead = true;
          continue;
        }
        if (sent_ != nullptr) sent_->Increment(static_cast<double>(batch->size()));
        s->last = last;
        s->next_heartbeat = now + settings_.heartbeat;
      }
      if (batch->size() < kBatch) break;
    }
  }
  // Heartbeats keep proxies from closing a quiet stream.
  const auto now = Steady::now();
  for (auto& s : streams) {
    if (s->dead || now < s->next_heartbeat) continue;
    if (!s->sink->push(": heartbeat\n\n")) s->dead = true;
    s->next_heartbeat = now + settings_.heartbeat;
  }
}

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
    const std::string& bid = req.caller_bid();
    std::string reason;
    auto slot = s.events->acquire(bid, &reason);
    if (!slot) {
      Reply busy = error_reply(Error(ErrorCode::kUnavailable, reason));
      busy.headers.emplace_back("Retry-After", "5");
      return busy;
    }
    if (last.empty()) {
      // No resume point: start at the newest event, so only what happens from now is sent.
      auto newest = s.events->events().last_id(bid);
      if (!newest) return std::unexpected(newest.error());
      last = newest->empty() ? "0-0" : *newest;
    }
    EventHub* hub = s.events;
    return Reply::event_stream(
        [hub, slot, bid, last](const std::shared_ptr<EventSink>& sink) { hub->attach(slot, bid, last, sink); });
  });
}

}  // namespace earshot::api
