#include "earshot/notify/dispatcher.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "earshot/core/log.hpp"
#include "earshot/notify/channels.hpp"
#include "earshot/queue/message.hpp"

namespace earshot::notify {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using storage::AttemptKind;
using storage::AttemptOutcome;
using storage::Delivery;
using storage::DeliveryChannel;
using storage::Id;

namespace {
struct Completion {
  Delivery delivery;
  AttemptResult result;
  milliseconds latency{0};
};

struct CachedSub {
  std::string url;
  std::string secret;
  steady_clock::time_point fetched{};
};

struct CachedCrm {
  Result<LeadSquaredConfig> cfg = make_error(ErrorCode::kInternal, "unset");
  steady_clock::time_point fetched{};
};

constexpr auto kCacheTtl = std::chrono::seconds(10);
}  // namespace

struct Dispatcher::Impl {
  NotifySettings s;
  DispatcherDeps d;
  WindowThrottle crm_throttle;
  std::mt19937_64 rng{std::random_device{}()};

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Completion> done;
  std::deque<Delivery> mail_jobs;
  std::condition_variable mail_cv;
  bool woken = false;
  bool stopping = false;
  steady_clock::time_point stop_deadline{};
  std::atomic<bool> intake{true};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::uint64_t> recorded{0};
  std::thread loop_thread;
  std::thread record_thread;
  std::thread mail_thread;
  bool recorder_done = false;  // under mu: the recorder left (the claimer may leave too)

  std::mutex subs_mu;  // the claimer reads the cache, the recorder drops paused subscriptions
  std::map<std::pair<std::string, Id>, CachedSub> subs;
  std::map<std::string, CachedCrm> crm;
  steady_clock::time_point last_gauges{};

  prometheus::Family<prometheus::Counter>* deliveries;
  prometheus::Family<prometheus::Histogram>* duration;
  prometheus::Gauge* pending_retries;
  prometheus::Gauge* paused;
  prometheus::Gauge* in_flight_gauge;

  Impl(NotifySettings settings, DispatcherDeps deps)
      : s(std::move(settings)),
        d(std::move(deps)),
        crm_throttle(static_cast<std::size_t>(s.crm_requests_per_window), s.crm_window) {
    deliveries = &d.metrics.counter("earshot_notify_deliveries_total",
                                    "Delivery attempts by channel and outcome (delivered, retry, failed).");
    duration = &d.metrics.histogram("earshot_notify_delivery_duration_seconds",
                                    "Duration of one delivery attempt, by channel.");
    pending_retries =
        &d.metrics.gauge("earshot_notify_pending_retries", "Deliveries waiting for a retry after a failed attempt.")
             .Add({});
    paused =
        &d.metrics.gauge("earshot_notify_paused_subscriptions", "Webhook subscriptions paused after failing.").Add({});
    in_flight_gauge = &d.metrics.gauge("earshot_notify_in_flight", "Delivery attempts in flight.").Add({});
  }

  void publish(const std::string& bid, std::string_view type, nlohmann::json data) {
    if (d.publish_event) d.publish_event(bid, type, std::move(data));
  }

  void complete(Delivery dl, AttemptResult r, milliseconds latency) {
    {
      std::lock_guard lock(mu);
      done.push_back(Completion{std::move(dl), std::move(r), latency});
    }
    cv.notify_all();
  }

  void complete_error(Delivery dl, const Error& e, bool retryable) {
    AttemptResult r;
    r.kind = retryable ? AttemptResult::Kind::kRetryable : AttemptResult::Kind::kPermanent;
    r.error = fmt::format("{}: {}", code_name(e.code), e.message);
    r.retry_after = e.retry_after;
    r.platform_side = true;  // nothing was sent: the receiver is not to blame
    complete(std::move(dl), std::move(r), milliseconds(0));
  }

  void send_http(Delivery dl, http::HttpRequest req) {
    const auto t0 = d.clock.steady_now();
    d.http.send(std::move(req), [this, dl = std::move(dl), t0](Result<http::HttpResponse> resp) mutable {
      auto r = classify(resp, d.clock.now());
      if (dl.channel == DeliveryChannel::kCrm && r.kind != AttemptResult::Kind::kDelivered && d.on_crm_failure) {
        d.on_crm_failure(dl.bid, "leadsquared", resp ? resp->status : 0, r.error);
      }
      const auto latency = std::chrono::duration_cast<milliseconds>(d.clock.steady_now() - t0);
      complete(std::move(dl), std::move(r), latency);
    });
  }

  void start_webhook(Delivery dl) {
    const auto key = std::make_pair(dl.bid, dl.subscription_id);
    CachedSub sub_now;
    {
      std::lock_guard lock(subs_mu);
      auto it = subs.find(key);
      if (it != subs.end() && d.clock.steady_now() - it->second.fetched <= kCacheTtl) sub_now = it->second;
    }
    if (sub_now.fetched == steady_clock::time_point{}) {
      auto t = storage::TenantId::make(dl.bid);
      if (!t) return complete_error(std::move(dl), t.error(), false);
      auto sub = d.deliveries.get_subscription(*t, dl.subscription_id);
      if (!sub) return complete_error(std::move(dl), sub.error(), sub.error().code != ErrorCode::kNotFound);
      auto secret = d.deliveries.signing_secret(*t, dl.subscription_id);
      if (!secret) return complete_error(std::move(dl), secret.error(), secret.error().code == ErrorCode::kUnavailable);
      sub_now = CachedSub{sub->url, std::move(*secret), d.clock.steady_now()};
      std::lock_guard lock(subs_mu);
      subs.insert_or_assign(key, sub_now);
    }
    const auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(d.clock.now().time_since_epoch()).count();
    auto req = webhook_request(dl, sub_now.url, sub_now.secret, unix_now, s.request_timeout);
    send_http(std::move(dl), std::move(req));
  }

  void start_chat(Delivery dl) {
    auto p = nlohmann::json::parse(dl.payload_json, nullptr, false);
    if (!p.is_object() || !p.contains("url") || !p.contains("body")) {
      return complete_error(std::move(dl), Error(ErrorCode::kInvalidArgument, "chat delivery without url/body"), false);
    }
    http::HttpRequest req;
    req.method = "POST";
    req.url = p["url"].get<std::string>();
    req.set_body(p["body"].dump(), "application/json");
    req.timeout = s.request_timeout;
    req.max_response_bytes = 64 << 10;
    send_http(std::move(dl), std::move(req));
  }

  void start_crm(Delivery dl) {
    auto& c = crm[dl.bid];
    if (d.clock.steady_now() - c.fetched > kCacheTtl) {
      auto t = storage::TenantId::make(dl.bid);
      if (!t) return complete_error(std::move(dl), t.error(), false);
      auto cfg = d.configs.get(*t);
      c.cfg = cfg ? leadsquared_config(*cfg) : Result<LeadSquaredConfig>(std::unexpected(cfg.error()));
      c.fetched = d.clock.steady_now();
    }
    if (!c.cfg) {
      const bool retry = c.cfg.error().code == ErrorCode::kUnavailable;
      return complete_error(std::move(dl), c.cfg.error(), retry);
    }
    auto p = nlohmann::json::parse(dl.payload_json, nullptr, false);
    if (!p.is_object() || !p.contains("activity")) {
      return complete_error(std::move(dl), Error(ErrorCode::kInvalidArgument, "CRM delivery without activity"), false);
    }
    auto req = leadsquared_activity_request(*c.cfg, p["activity"], s.request_timeout);
    const auto wait = crm_throttle.reserve(dl.bid, d.clock.steady_now());
    if (wait.count() <= 0) return send_http(std::move(dl), std::move(req));
    d.http.post_after(
        wait, [this, dl = std::move(dl), req = std::move(req)]() mutable { send_http(std::move(dl), std::move(req)); });
  }

  void start_email(Delivery dl) {
    {
      std::lock_guard lock(mu);
      mail_jobs.push_back(std::move(dl));
    }
    mail_cv.notify_one();
  }

  void mail_loop() {
    for (;;) {
      Delivery dl;
      {
        std::unique_lock lock(mu);
        mail_cv.wait(lock, [&] { return stopping || !mail_jobs.empty(); });
        if (stopping) {
          // Left claimed: delivered after the lease by whichever worker claims them next.
          in_flight.fetch_sub(mail_jobs.size());
          mail_jobs.clear();
          cv.notify_all();
          return;
        }
        dl = std::move(mail_jobs.front());
        mail_jobs.pop_front();
      }
      auto p = nlohmann::json::parse(dl.payload_json, nullptr, false);
      Email email;
      if (p.is_object()) {
        for (const auto& t : p.value("to", nlohmann::json::array())) {
          if (t.is_string()) email.to.push_back(t.get<std::string>());
        }
        email.subject = p.value("subject", "");
        email.text = p.value("text", "");
      }
      const auto t0 = d.clock.steady_now();
      Status st = d.mail ? d.mail->send(email)
                         : Status(make_error(ErrorCode::kFailedPrecondition, "no SMTP server configured"));
      const auto latency = std::chrono::duration_cast<milliseconds>(d.clock.steady_now() - t0);
      AttemptResult r;
      if (st) {
        r.kind = AttemptResult::Kind::kDelivered;
      } else {
        const auto code = st.error().code;
        r.kind = (code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout) ? AttemptResult::Kind::kRetryable
                                                                                  : AttemptResult::Kind::kPermanent;
        r.error = st.error().message;
      }
      complete(std::move(dl), std::move(r), latency);
    }
  }

  void start_one(Delivery dl) {
    in_flight.fetch_add(1);
    switch (dl.channel) {
      case DeliveryChannel::kWebhook:
        return start_webhook(std::move(dl));
      case DeliveryChannel::kChat:
        return start_chat(std::move(dl));
      case DeliveryChannel::kCrm:
        return start_crm(std::move(dl));
      case DeliveryChannel::kEmail:
        return start_email(std::move(dl));
    }
  }

  // Turns completions into recorded outcomes; false when the database refused (they are
  // kept and recorded on the next round, the lease keeps the rows from being re-claimed).
  bool record(std::deque<Completion>& batch) {
    std::vector<AttemptOutcome> outcomes;
    outcomes.reserve(batch.size());
    const auto now = storage::to_timestamp(d.clock.now());
    for (auto& c : batch) {
      AttemptOutcome o;
      o.delivery_id = c.delivery.id;
      o.bid = c.delivery.bid;
      o.subscription_id = c.delivery.subscription_id;
      o.channel = c.delivery.channel;
      o.attempt = c.delivery.attempts;
      o.response_code = c.result.response_code;
      o.latency = c.latency;
      o.error = c.result.error;
      o.at = now;
      if (c.result.platform_side) {
        // Our own trouble (a database restart), not the receiver's: recorded without its
        // subscription, so it neither adds to nor resets the subscription's failure streak
        // (the streak is kept per subscription_id; 0 is none).
        o.subscription_id = 0;
      }
      if (c.result.platform_side && c.result.kind == AttemptResult::Kind::kRetryable) {
        // Tried again soon, whatever the attempt count.
        o.kind = AttemptKind::kRetry;
        o.next_attempt_at = now + std::max(s.retry_initial, c.result.retry_after.value_or(milliseconds(0)));
        outcomes.push_back(std::move(o));
        continue;
      }
      switch (c.result.kind) {
        case AttemptResult::Kind::kDelivered:
          o.kind = AttemptKind::kDelivered;
          break;
        case AttemptResult::Kind::kPermanent:
          o.kind = AttemptKind::kFailed;
          break;
        case AttemptResult::Kind::kRetryable: {
          auto delay = retry_delay(s, c.delivery.attempts, c.result.retry_after, rng);
          if (delay) {
            o.kind = AttemptKind::kRetry;
            o.next_attempt_at = now + *delay;
          } else {
            o.kind = AttemptKind::kFailed;
            o.error = fmt::format("gave up after {} attempts; last: {}", c.delivery.attempts, o.error);
          }
          break;
        }
      }
      outcomes.push_back(std::move(o));
    }
    auto paused_subs = d.deliveries.record(outcomes, s.pause_after_failures);
    if (!paused_subs) {
      log::warn("delivery outcomes not recorded; retrying", {{"error", paused_subs.error().to_string()}});
      return false;
    }
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const auto& o = outcomes[i];
      const auto& dl = batch[i].delivery;
      const std::string channel(storage::channel_name(o.channel));
      const char* outcome = o.kind == AttemptKind::kDelivered ? "delivered"
                            : o.kind == AttemptKind::kRetry   ? "retry"
                                                              : "failed";
      deliveries->Add({{"channel", channel}, {"outcome", outcome}}).Increment();
      duration->Add({{"channel", channel}}, Metrics::latency_buckets())
          .Observe(std::chrono::duration<double>(o.latency).count());
      if (o.kind != AttemptKind::kDelivered) {
        log::ScopedContext ctx({.bid = o.bid, .call_id = dl.call_id ? std::to_string(*dl.call_id) : std::string()});
        log::warn(o.kind == AttemptKind::kRetry ? "delivery attempt failed; retry scheduled" : "delivery failed",
                  {{"channel", channel},
                   {"event_type", dl.event_type},
                   {"event_id", dl.event_id},
                   {"attempt", std::to_string(o.attempt)},
                   {"error", o.error}});
      }
      nlohmann::json data{
          {"delivery_id", o.delivery_id},
          {"channel", channel},
          {"event_type", dl.event_type},
          {"event_id", dl.event_id},
          {"attempt", o.attempt},
          {"response_code", o.response_code ? nlohmann::json(*o.response_code) : nlohmann::json(nullptr)},
          {"latency_ms", o.latency.count()}};
      if (dl.subscription_id) data["subscription_id"] = dl.subscription_id;
      if (dl.call_id) data["call_id"] = *dl.call_id;
      if (!o.error.empty()) data["error"] = o.error;
      if (o.next_attempt_at) data["next_attempt_at"] = queue::format_utc(*o.next_attempt_at);
      publish(o.bid,
              o.kind == AttemptKind::kDelivered ? "delivery.succeeded"
              : o.kind == AttemptKind::kRetry   ? "delivery.retrying"
                                                : "delivery.failed",
              std::move(data));
    }
    for (const auto& p : *paused_subs) {
      log::ScopedContext ctx({.bid = p.bid});
      log::warn("webhook subscription paused",
                {{"subscription_id", std::to_string(p.subscription_id)}, {"reason", p.reason}});
      publish(p.bid, "delivery.subscription_paused", {{"subscription_id", p.subscription_id}, {"reason", p.reason}});
      std::lock_guard lock(subs_mu);
      subs.erase({p.bid, p.subscription_id});
    }
    recorded.fetch_add(outcomes.size());
    return true;
  }

  void refresh_gauges() {
    const auto now = d.clock.steady_now();
    if (now - last_gauges < std::chrono::seconds(5)) return;
    last_gauges = now;
    auto g = d.deliveries.gauges();
    if (!g) return;
    pending_retries->Set(static_cast<double>(g->pending_retries));
    paused->Set(static_cast<double>(g->paused_subscriptions));
  }

  // The claimer: claims due rows while there are free slots and starts them. Recording runs
  // on its own thread (record_loop), so a batch is claimed while the previous one is
  // recorded: the two database round trips overlap instead of adding up.
  void loop() {
    milliseconds db_backoff{0};
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping && recorder_done) return;
      }
      bool progressed = false;
      in_flight_gauge->Set(static_cast<double>(in_flight.load()));
      if (intake.load() && db_backoff.count() == 0) {
        const auto free_slots =
            static_cast<std::int64_t>(s.max_in_flight) - static_cast<std::int64_t>(in_flight.load());
        if (free_slots > 0) {
          const int limit = static_cast<int>(std::min<std::int64_t>(free_slots, s.claim_batch));
          auto claimed = d.deliveries.claim_due(storage::to_timestamp(d.clock.now()), limit, s.lease);
          if (!claimed) {
            log::warn("claiming due deliveries failed", {{"error", claimed.error().to_string()}});
            db_backoff = milliseconds(500);
          } else {
            for (auto& dl : *claimed) start_one(std::move(dl));
            progressed = static_cast<int>(claimed->size()) == limit;
          }
        }
        refresh_gauges();
      }
      if (progressed) continue;
      std::unique_lock lock(mu);
      const auto wait = db_backoff.count() ? db_backoff : s.poll_interval;
      db_backoff = milliseconds(0);
      // Woken early by the stage (new rows) and by the recorder (slots freed).
      cv.wait_for(lock, stopping ? std::min(wait, milliseconds(50)) : wait,
                  [&] { return woken || (stopping && recorder_done); });
      woken = false;
    }
  }

  // The recorder: records completed attempts in batches (whatever completed while the last
  // batch was being written), then frees their slots. A batch the database refused is kept
  // and recorded again (the lease keeps its rows from being claimed meanwhile).
  void record_loop() {
    std::deque<Completion> batch;
    milliseconds db_backoff{0};
    for (;;) {
      {
        std::unique_lock lock(mu);
        if (db_backoff.count() > 0) {
          cv.wait_for(lock, db_backoff);  // completions keep arriving: the backoff still holds
        } else {
          cv.wait_for(lock, stopping ? milliseconds(50) : milliseconds(1000),
                      [&] { return !done.empty() || (stopping && in_flight.load() == 0); });
        }
        for (auto& c : done) batch.push_back(std::move(c));
        done.clear();
        if (stopping && batch.empty() && (in_flight.load() == 0 || steady_clock::now() > stop_deadline)) {
          recorder_done = true;
          cv.notify_all();
          return;
        }
      }
      if (batch.empty()) continue;
      const auto n = batch.size();
      if (!record(batch)) {
        db_backoff = std::min(milliseconds(2000), std::max(milliseconds(100), db_backoff * 2));
        std::lock_guard lock(mu);
        if (stopping && steady_clock::now() > stop_deadline) {
          // Not recorded: the rows stay claimed and are attempted again after the lease.
          log::warn("delivery outcomes not recorded before shutdown", {{"attempts", std::to_string(n)}});
          recorder_done = true;
          cv.notify_all();
          return;
        }
        continue;
      }
      db_backoff = milliseconds(0);
      in_flight.fetch_sub(n);
      batch.clear();
      {
        std::lock_guard lock(mu);
        woken = true;  // slots are free: claim again
      }
      cv.notify_all();
    }
  }
};

Dispatcher::Dispatcher(NotifySettings settings, DispatcherDeps deps)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(deps))) {}

Dispatcher::~Dispatcher() {
  stop();
}

Status Dispatcher::start() {
  impl_->loop_thread = std::thread([this] { impl_->loop(); });
  impl_->record_thread = std::thread([this] { impl_->record_loop(); });
  impl_->mail_thread = std::thread([this] { impl_->mail_loop(); });
  return {};
}

void Dispatcher::stop_intake() {
  impl_->intake.store(false);
}

void Dispatcher::drain(std::chrono::steady_clock::time_point deadline) {
  impl_->intake.store(false);
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait_for(lock, std::chrono::milliseconds(20));
  }
}

void Dispatcher::stop() {
  if (!impl_) return;
  impl_->intake.store(false);
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stopping) {
      impl_->stopping = true;
      // Requests in flight finish within their deadline; what is still out after that
      // stays claimed and is delivered after the lease.
      impl_->stop_deadline = steady_clock::now() + impl_->s.request_timeout + std::chrono::seconds(2);
    }
  }
  impl_->cv.notify_all();
  impl_->mail_cv.notify_all();
  if (impl_->mail_thread.joinable()) impl_->mail_thread.join();
  if (impl_->record_thread.joinable()) impl_->record_thread.join();
  if (impl_->loop_thread.joinable()) impl_->loop_thread.join();
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->woken = true;
  }
  impl_->cv.notify_all();
}

std::size_t Dispatcher::in_flight() const {
  return impl_->in_flight.load();
}
std::uint64_t Dispatcher::recorded() const {
  return impl_->recorded.load();
}

}  // namespace earshot::notify
