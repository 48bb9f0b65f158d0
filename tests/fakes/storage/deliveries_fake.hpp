#pragma once
// In-memory DeliveryRepository (storage/delivery_repository.hpp), for unit tests of the
// notify stage and dispatcher. Honours the contract: tenant scoping, enqueue idempotent on
// (bid, subscription, event id) and only for enabled subscriptions, claims that lease rows
// (a claimed row is not claimed again before now + lease) and skip paused or disabled
// subscriptions, record() with the failure streak and the pause. Secrets are kept in clear
// (nothing to seal in memory); a delivery's created_at is the `due` it was enqueued with.
// Thread-safe.
//
// Test hooks: fail_next(error) makes the next method call fail with it;
// fail_subscription_reads(error) makes every get_subscription and signing_secret fail with it
// until cleared (a database that is down only while a claimed batch is being sent);
// deliveries() and attempts() show every row of every business.

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "earshot/storage/delivery_repository.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeDeliveryRepository final : public storage::DeliveryRepository {
 public:
  Result<storage::Id> create_subscription(const storage::TenantId& t, std::string_view url,
                                          std::string_view description, const std::vector<std::string>& events,
                                          std::string_view secret) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    Sub s;
    s.bid = t.bid();
    s.sub.id = ++next_sub_;
    s.sub.url = std::string(url);
    s.sub.description = std::string(description);
    s.sub.events = events;
    s.secret = std::string(secret);
    subs_.emplace(s.sub.id, std::move(s));
    return next_sub_;
  }

  Result<std::vector<storage::WebhookSubscription>> list_subscriptions(const storage::TenantId& t) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::vector<storage::WebhookSubscription> out;
    for (const auto& [id, s] : subs_) {
      if (s.bid == t.bid()) out.push_back(s.sub);
    }
    return out;
  }

  Result<storage::WebhookSubscription> get_subscription(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (sub_reads_failure_) return std::unexpected(*sub_reads_failure_);
    auto* s = find_sub(t.bid(), id);
    if (s == nullptr) return make_error(ErrorCode::kNotFound, "webhook subscription not found");
    return s->sub;
  }

  Result<bool> update_subscription(const storage::TenantId& t, storage::Id id,
                                   const storage::WebhookSubscriptionPatch& p) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto* s = find_sub(t.bid(), id);
    if (s == nullptr) return false;
    if (p.url) s->sub.url = *p.url;
    if (p.description) s->sub.description = *p.description;
    if (p.events) s->sub.events = *p.events;
    if (p.enabled) s->sub.enabled = *p.enabled;
    if (p.secret) s->secret = *p.secret;
    if (p.resume) {
      s->sub.paused_at.reset();
      s->sub.pause_reason.clear();
      s->sub.consecutive_failures = 0;
    }
    return true;
  }

  Result<bool> remove_subscription(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (find_sub(t.bid(), id) == nullptr) return false;
    subs_.erase(id);
    std::erase_if(rows_, [&](const Row& r) {
      const bool gone =
          r.d.bid == t.bid() && r.d.subscription_id == id && r.d.channel == storage::DeliveryChannel::kWebhook;
      if (gone)
        std::erase_if(attempts_, [&](const AttemptRow& a) { return a.bid == r.d.bid && a.delivery_id == r.d.id; });
      return gone;
    });
    return true;
  }

  Result<std::string> signing_secret(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (sub_reads_failure_) return std::unexpected(*sub_reads_failure_);
    auto* s = find_sub(t.bid(), id);
    if (s == nullptr) return make_error(ErrorCode::kNotFound, "webhook subscription not found");
    return s->secret;
  }

  Result<std::optional<std::string>> settings_json(const storage::TenantId& t) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto it = settings_.find(t.bid());
    if (it == settings_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Status put_settings_json(const storage::TenantId& t, std::string_view json) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    settings_[t.bid()] = std::string(json);
    return {};
  }

  Result<int> enqueue(const storage::TenantId& t, std::span<const storage::NewDelivery> rows,
                      storage::Timestamp due) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    int added = 0;
    for (const auto& n : rows) {
      const storage::Id sub = n.channel == storage::DeliveryChannel::kWebhook ? n.subscription_id : 0;
      if (n.channel == storage::DeliveryChannel::kWebhook) {
        auto* s = find_sub(t.bid(), sub);
        if (s == nullptr || !s->sub.enabled) continue;
      }
      const bool exists = std::any_of(rows_.begin(), rows_.end(), [&](const Row& r) {
        return r.d.bid == t.bid() && r.d.subscription_id == sub && r.d.event_id == n.event_id;
      });
      if (exists) continue;
      Row r;
      r.d.id = ++next_delivery_;
      r.d.bid = t.bid();
      r.d.subscription_id = sub;
      r.d.channel = n.channel;
      r.d.call_id = n.call_id;
      r.d.event_type = n.event_type;
      r.d.event_id = n.event_id;
      r.d.payload_json = n.payload_json;
      r.d.next_attempt_at = due;
      r.d.created_at = due;
      rows_.push_back(std::move(r));
      ++added;
    }
    return added;
  }

  Result<std::vector<storage::Delivery>> claim_due(storage::Timestamp now, int limit,
                                                   std::chrono::milliseconds lease) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::vector<Row*> due;
    for (auto& r : rows_) {
      if (r.d.status != storage::DeliveryStatus::kPending || now < r.d.next_attempt_at) continue;
      if (r.d.channel == storage::DeliveryChannel::kWebhook) {
        auto* s = find_sub(r.d.bid, r.d.subscription_id);
        if (s == nullptr || !s->sub.enabled || s->sub.paused_at) continue;
      }
      due.push_back(&r);
    }
    std::stable_sort(due.begin(), due.end(),
                     [](const Row* a, const Row* b) { return a->d.next_attempt_at < b->d.next_attempt_at; });
    if (due.size() > static_cast<std::size_t>(std::max(limit, 0))) due.resize(static_cast<std::size_t>(limit));
    std::vector<storage::Delivery> out;
    for (auto* r : due) {
      r->d.next_attempt_at = now + lease;
      r->d.attempts += 1;
      out.push_back(r->d);
    }
    return out;
  }

  Result<std::vector<storage::PausedSubscription>> record(std::span<const storage::AttemptOutcome> outcomes,
                                                          std::int64_t pause_after_failures) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::vector<storage::PausedSubscription> paused;
    std::map<std::pair<std::string, storage::Id>, std::vector<const storage::AttemptOutcome*>> by_sub;
    for (const auto& o : outcomes) {
      if (auto* r = find_row(o.bid, o.delivery_id); r != nullptr && r->d.status == storage::DeliveryStatus::kPending) {
        r->d.response_code = o.response_code;
        r->d.latency_ms = o.latency.count();
        switch (o.kind) {
          case storage::AttemptKind::kDelivered:
            r->d.status = storage::DeliveryStatus::kDelivered;
            r->d.delivered_at = outcomes.front().at;
            r->d.last_error.clear();
            break;
          case storage::AttemptKind::kRetry:
            r->d.last_error = o.error.substr(0, 1024);
            if (o.next_attempt_at) r->d.next_attempt_at = *o.next_attempt_at;
            break;
          case storage::AttemptKind::kFailed:
            r->d.status = storage::DeliveryStatus::kFailed;
            r->d.last_error = o.error.substr(0, 1024);
            break;
        }
      }
      AttemptRow a;
      a.bid = o.bid;
      a.delivery_id = o.delivery_id;
      a.attempt.id = ++next_attempt_;
      a.attempt.attempt = o.attempt;
      a.attempt.outcome = o.kind == storage::AttemptKind::kDelivered ? "delivered"
                          : o.kind == storage::AttemptKind::kRetry   ? "retry"
                                                                     : "failed";
      a.attempt.response_code = o.response_code;
      a.attempt.latency_ms = o.latency.count();
      a.attempt.error = o.error.substr(0, 1024);
      a.attempt.next_attempt_at = o.next_attempt_at;
      a.attempt.created_at = o.at;
      attempts_.push_back(std::move(a));
      if (o.channel == storage::DeliveryChannel::kWebhook && o.subscription_id != 0) {
        by_sub[{o.bid, o.subscription_id}].push_back(&o);
      }
    }
    for (const auto& [key, list] : by_sub) {
      auto* s = find_sub(key.first, key.second);
      if (s == nullptr) continue;
      if (list.back()->kind == storage::AttemptKind::kDelivered) {
        s->sub.consecutive_failures = 0;
        continue;
      }
      std::int64_t streak = s->sub.consecutive_failures;
      std::string last_error;
      storage::Timestamp at{};
      for (const auto* o : list) {
        if (o->kind == storage::AttemptKind::kDelivered) {
          streak = 0;
        } else {
          ++streak;
          last_error = o->error;
          at = o->at;
        }
      }
      s->sub.consecutive_failures = streak;
      if (!s->sub.paused_at && streak >= pause_after_failures) {
        s->sub.paused_at = at;
        s->sub.pause_reason =
            "paused after " + std::to_string(streak) + " consecutive failed attempts; last: " + last_error;
        paused.push_back(storage::PausedSubscription{key.first, key.second, s->sub.pause_reason});
      }
    }
    return paused;
  }

  Result<std::vector<storage::Delivery>> list_deliveries(const storage::TenantId& t, storage::Id subscription_id,
                                                         int limit, std::optional<storage::Id> before_id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::vector<storage::Delivery> out;
    const auto before = before_id.value_or(std::numeric_limits<storage::Id>::max());
    for (auto it = rows_.rbegin(); it != rows_.rend() && out.size() < static_cast<std::size_t>(limit); ++it) {
      if (it->d.bid == t.bid() && it->d.subscription_id == subscription_id && it->d.id < before) out.push_back(it->d);
    }
    return out;
  }

  Result<storage::Delivery> get_delivery(const storage::TenantId& t, storage::Id delivery_id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto* r = find_row(t.bid(), delivery_id);
    if (r == nullptr) return make_error(ErrorCode::kNotFound, "delivery not found");
    return r->d;
  }

  Result<std::vector<storage::DeliveryAttempt>> list_attempts(const storage::TenantId& t,
                                                              storage::Id delivery_id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::vector<storage::DeliveryAttempt> out;
    for (const auto& a : attempts_) {
      if (a.bid == t.bid() && a.delivery_id == delivery_id) out.push_back(a.attempt);
    }
    return out;
  }

  Result<bool> redeliver(const storage::TenantId& t, storage::Id delivery_id, storage::Timestamp now) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto* r = find_row(t.bid(), delivery_id);
    if (r == nullptr) return false;
    r->d.status = storage::DeliveryStatus::kPending;
    r->d.attempts = 0;
    r->d.next_attempt_at = now;
    r->d.delivered_at.reset();
    return true;
  }

  Result<storage::DeliveryGauges> gauges() override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    storage::DeliveryGauges g;
    for (const auto& r : rows_) {
      g.pending_retries +=
          r.d.status == storage::DeliveryStatus::kPending && r.d.attempts > 0 && !r.d.last_error.empty() ? 1 : 0;
    }
    for (const auto& [id, s] : subs_) g.paused_subscriptions += s.sub.paused_at ? 1 : 0;
    return g;
  }

  // ---- test hooks ----
  void fail_subscription_reads(std::optional<Error> e) {
    std::lock_guard lock(mu_);
    sub_reads_failure_ = std::move(e);
  }
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }
  [[nodiscard]] std::vector<storage::Delivery> deliveries() const {
    std::lock_guard lock(mu_);
    std::vector<storage::Delivery> out;
    for (const auto& r : rows_) out.push_back(r.d);
    return out;
  }
  [[nodiscard]] std::size_t attempts() const {
    std::lock_guard lock(mu_);
    return attempts_.size();
  }

 private:
  struct Sub {
    std::string bid;
    storage::WebhookSubscription sub;
    std::string secret;
  };
  struct Row {
    storage::Delivery d;
  };
  struct AttemptRow {
    std::string bid;
    storage::Id delivery_id = 0;
    storage::DeliveryAttempt attempt;
  };

  Sub* find_sub(const std::string& bid, storage::Id id) {
    auto it = subs_.find(id);
    return it != subs_.end() && it->second.bid == bid ? &it->second : nullptr;
  }
  Row* find_row(const std::string& bid, storage::Id id) {
    for (auto& r : rows_) {
      if (r.d.id == id && r.d.bid == bid) return &r;
    }
    return nullptr;
  }

  mutable std::mutex mu_;
  std::map<storage::Id, Sub> subs_;
  std::vector<Row> rows_;  // by id
  std::vector<AttemptRow> attempts_;
  std::map<std::string, std::string> settings_;
  storage::Id next_sub_ = 0;
  storage::Id next_delivery_ = 0;
  storage::Id next_attempt_ = 0;
  FailNext failure_;
  std::optional<Error> sub_reads_failure_;
};

}  // namespace earshot::testing
