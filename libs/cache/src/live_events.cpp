#include "earshot/cache/live_events.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <poll.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "earshot/core/backoff.hpp"
#include "earshot/core/log.hpp"

namespace earshot::cache {
namespace {

// KEYS[1] stream and channel; ARGV[1] the event JSON without its id, ARGV[2] max length.
// Appends, then publishes the same JSON with the new stream id as its first member.
constexpr const char* kPublish = R"lua(
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('PUBLISH', KEYS[1], '{"id":"' .. id .. '",' .. string.sub(ARGV[1], 2))
return id
)lua";

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The stored form has no id; readers get it with the id first, like the published form.
std::string with_id(std::string_view id, std::string_view stored) {
  if (stored.size() < 2 || stored.front() != '{') return {};
  std::string out = fmt::format("{{\"id\":\"{}\"", id);
  if (stored != "{}") out += ',';
  out.append(stored.substr(1));
  return out;
}

}  // namespace

std::string live_events_key(std::string_view bid) {
  std::string k(kLiveEventsPrefix);
  k += bid;
  return k;
}

bool valid_stream_id(std::string_view id) {
  auto digits = [](std::string_view s) {
    if (s.empty() || s.size() > 20) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  auto dash = id.find('-');
  if (dash == std::string_view::npos) return digits(id);
  return digits(id.substr(0, dash)) && digits(id.substr(dash + 1));
}

std::optional<LiveEvent> parse_live_event(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto id = j.find("id");
  auto type = j.find("type");
  if (id == j.end() || !id->is_string() || type == j.end() || !type->is_string()) {
    return std::nullopt;
  }
  if (!valid_stream_id(id->get_ref<const std::string&>())) return std::nullopt;
  return LiveEvent{id->get<std::string>(), type->get<std::string>(), std::string(json)};
}

LiveEvents::LiveEvents(RedisClient& redis, const Clock& clock, Metrics* metrics, std::size_t max_len)
    : redis_(redis), clock_(clock), max_len_(max_len) {
  if (metrics != nullptr) {
    published_ = &metrics
                      ->counter("earshot_live_events_published_total",
                                "Live events appended to a business's stream and published.")
                      .Add({});
    errors_ =
        &metrics->counter("earshot_live_events_errors_total", "Live events that could not be published (Redis failed).")
             .Add({});
  }
}

std::optional<std::string> LiveEvents::publish(std::string_view bid, std::string_view type, nlohmann::json data) {
  try {
    const auto now = epoch_ms(clock_.now());
    nlohmann::json e = {{"type", type}, {"bid", bid}, {"at", now}, {"data", std::move(data)}};
    auto r = redis_.eval(kPublish, {live_events_key(bid)},
                         {e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), std::to_string(max_len_)});
    if (r && r->kind == RedisReply::Kind::kString) {
      if (published_ != nullptr) published_->Increment();
      return r->str;
    }
    if (errors_ != nullptr) errors_->Increment();
    // One warning per 10 s at most: a Redis outage must not flood the log.
    const std::int64_t steady_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now().time_since_epoch()).count();
    std::int64_t last = last_error_log_ms_.load();
    if ((last == 0 || steady_ms - last >= 10'000) && last_error_log_ms_.compare_exchange_strong(last, steady_ms)) {
      log::warn("live event not published", {{"event_bid", bid},
                                             {"type", type},
                                             {"error", r ? std::string_view("unexpected reply") : r.error().message}});
    }
  } catch (const std::exception& ex) {
    if (errors_ != nullptr) errors_->Increment();
    log::warn("live event not published", {{"event_bid", bid}, {"error", ex.what()}});
  }
  return std::nullopt;
}

Result<std::vector<LiveEvent>> LiveEvents::read_after(std::string_view bid, std::string_view after_id,
                                                      std::size_t limit) {
  if (!after_id.empty() && !valid_stream_id(after_id)) {
    return make_error(ErrorCode::kInvalidArgument, "event id must look like <ms>-<seq>");
  }
  const std::string start = after_id.empty() ? std::string("-") : fmt::format("({}", after_id);
  auto r = redis_.command(std::vector<std::string>{"XRANGE", live_events_key(bid), start, "+", "COUNT",
                                                   std::to_string(std::max<std::size_t>(limit, 1))});
  if (!r) return std::unexpected(r.error());
  std::vector<LiveEvent> out;
  if (r->kind != RedisReply::Kind::kArray) return out;
  out.reserve(r->elements.size());
  for (const auto& entry : r->elements) {
    // [id, [field, value, ...]]
    if (entry.kind != RedisReply::Kind::kArray || entry.elements.size() != 2) continue;
    const auto& fields = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str != "e") continue;
      std::string json = with_id(entry.elements[0].str, fields[i + 1].str);
      if (auto ev = parse_live_event(json)) out.push_back(std::move(*ev));
    }
  }
  return out;
}

Result<std::string> LiveEvents::last_id(std::string_view bid) {
  auto r = redis_.command(std::vector<std::string>{"XREVRANGE", live_events_key(bid), "+", "-", "COUNT", "1"});
  if (!r) return std::unexpected(r.error());
  if (r->kind != RedisReply::Kind::kArray || r->elements.empty() || r->elements[0].elements.empty()) {
    return std::string();
  }
  return r->elements[0].elements[0].str;
}

// ---------------------------------------------------------------------------------------
// Subscriber

struct LiveEventSubscriber::Impl {
  RedisSettings settings;
  EventHandler on_event;
  SubscribedHandler on_subscribed;
  std::string client_name;
  RedisEndpoint endpoint;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> subscribed{false};
  std::mutex mu;
  std::condition_variable cv;  // wakes backoff sleeps on stop

  void run() {
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
    while (!stopping.load()) {
      const std::string why = session(backoff);
      subscribed.store(false);
      if (stopping.load()) break;
      log::warn("live events subscription lost; reconnecting", {{"error", why}});
      std::unique_lock lock(mu);
      cv.wait_for(lock, backoff.next(), [&] { return stopping.load(); });
    }
  }

  // One connection's life: connect, PSUBSCRIBE, read until an error or stop. Returns why it
  // ended.
  std::string session(Backoff& backoff) {
    const auto timeout = settings.timeout.count() > 0 ? settings.timeout : std::chrono::seconds(2);
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    redisContext* ctx = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, tv);
    if (ctx == nullptr || ctx->err != 0) {
      std::string why = ctx != nullptr ? ctx->errstr : "allocation failed";
      if (ctx != nullptr) redisFree(ctx);
      return why;
    }
    std::unique_ptr<redisContext, void (*)(redisContext*)> guard(ctx, redisFree);
    redisSetTimeout(ctx, tv);
    auto simple = [&](const std::vector<std::string>& args) -> std::string {
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      auto* r =
          static_cast<redisReply*>(redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
      if (r == nullptr) return ctx->errstr;
      std::string err = r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "";
      freeReplyObject(r);
      return err;
    };
    if (!endpoint.password.empty()) {
      if (auto e = simple({"AUTH", endpoint.password}); !e.empty()) return "AUTH: " + e;
    }
    if (endpoint.db != 0) {
      if (auto e = simple({"SELECT", std::to_string(endpoint.db)}); !e.empty()) return e;
    }
    if (!client_name.empty()) {
      if (auto e = simple({"CLIENT", "SETNAME", client_name}); !e.empty()) return e;
    }
    const std::string pattern = std::string(kLiveEventsPrefix) + "*";
    if (auto e = simple({"PSUBSCRIBE", pattern}); !e.empty()) return "PSUBSCRIBE: " + e;
    subscribed.store(true);
    backoff.reset();
    if (on_subscribed) on_subscribed();

    while (!stopping.load()) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(ctx, &raw) != REDIS_OK) return ctx->errstr;
      if (raw == nullptr) {
        // Nothing buffered: wait for the socket, waking regularly to notice stop().
        pollfd pfd{ctx->fd, POLLIN, 0};
        const int n = ::poll(&pfd, 1, 200);
        if (n < 0) {
          if (errno == EINTR) continue;
          return "poll failed";
        }
        if (n == 0) continue;
        if (redisBufferRead(ctx) != REDIS_OK) return ctx->errstr;
        continue;
      }
      std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw), freeReplyObject);
      // pmessage: ["pmessage", pattern, channel, payload]
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) continue;
      if (std::string_view(reply->element[0]->str, reply->element[0]->len) != "pmessage") {
        continue;
      }
      std::string_view channel(reply->element[2]->str, reply->element[2]->len);
      std::string_view payload(reply->element[3]->str, reply->element[3]->len);
      if (!channel.starts_with(kLiveEventsPrefix)) continue;
      auto ev = parse_live_event(payload);
      if (!ev) continue;
      const std::string bid(channel.substr(kLiveEventsPrefix.size()));
      try {
        on_event(bid, *ev);
      } catch (const std::exception& ex) {
        log::error("live event handler failed", {{"error", ex.what()}});
      }
    }
    return "stopped";
  }
};

LiveEventSubscriber::LiveEventSubscriber(RedisSettings settings, EventHandler on_event, SubscribedHandler on_subscribed,
                                         std::string client_name)
    : impl_(std::make_unique<Impl>()) {
  impl_->client_name = std::move(client_name);
  impl_->settings = std::move(settings);
  impl_->on_event = std::move(on_event);
  impl_->on_subscribed = std::move(on_subscribed);
}

LiveEventSubscriber::~LiveEventSubscriber() {
  stop();
}

Status LiveEventSubscriber::start() {
  auto ep = parse_redis_url(impl_->settings.url);
  if (!ep) return std::unexpected(ep.error());
  impl_->endpoint = *ep;
  if (impl_->thread.joinable()) return {};
  impl_->stopping.store(false);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
  return {};
}

void LiveEventSubscriber::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping.store(true);
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool LiveEventSubscriber::subscribed() const {
  return impl_->subscribed.load();
}

}  // namespace earshot::cache
