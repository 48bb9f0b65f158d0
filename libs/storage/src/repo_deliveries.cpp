// The delivery schedule, webhook subscriptions and notification settings (DeliveryRepository).
#include <fmt/format.h>

#include <limits>
#include <map>

#include "earshot/storage/mysql_delivery_repository.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using detail::matched;

namespace {

constexpr std::pair<DeliveryChannel, std::string_view> kChannels[] = {{DeliveryChannel::kWebhook, "webhook"},
                                                                      {DeliveryChannel::kCrm, "crm"},
                                                                      {DeliveryChannel::kEmail, "email"},
                                                                      {DeliveryChannel::kChat, "chat"}};

constexpr std::string_view kSubCols =
    "SELECT id, url, description, events, enabled, consecutive_failures, paused_at, pause_reason, created_at "
    "FROM webhook_subscriptions";

WebhookSubscription to_subscription(const Row& r) {
  WebhookSubscription s;
  s.id = r[0].as_int();
  s.url = r[1].as_string();
  s.description = r[2].as_string();
  s.events = detail::from_json_array(r[3].as_string());
  s.enabled = r[4].as_int() != 0;
  s.consecutive_failures = r[5].as_int();
  s.paused_at = r[6].opt_time();
  s.pause_reason = r[7].as_string();
  s.created_at = r[8].as_time();
  return s;
}

constexpr std::string_view kDeliveryCols =
    "SELECT d.id, d.bid, d.subscription_id, d.channel, d.call_id, d.event_type, d.event_id, d.payload, d.status, "
    "d.attempts, d.next_attempt_at, d.last_error, d.response_code, d.latency_ms, d.created_at, d.delivered_at "
    "FROM webhook_deliveries d";

DeliveryStatus status_from(const std::string& s) {
  if (s == "delivered") return DeliveryStatus::kDelivered;
  if (s == "failed") return DeliveryStatus::kFailed;
  return DeliveryStatus::kPending;
}

Delivery to_delivery(const Row& r) {
  Delivery d;
  d.id = r[0].as_int();
  d.bid = r[1].as_string();
  d.subscription_id = r[2].as_int();
  d.channel = channel_from_name(r[3].as_string()).value_or(DeliveryChannel::kWebhook);
  d.call_id = r[4].opt_int();
  d.event_type = r[5].as_string();
  d.event_id = r[6].as_string();
  d.payload_json = r[7].as_string();
  d.status = status_from(r[8].as_string());
  d.attempts = r[9].as_int();
  d.next_attempt_at = r[10].as_time();
  d.last_error = r[11].as_string();
  d.response_code = r[12].opt_int();
  d.latency_ms = r[13].opt_int();
  d.created_at = r[14].as_time();
  d.delivered_at = r[15].opt_time();
  return d;
}

std::string attempt_outcome_name(AttemptKind k) {
  switch (k) {
    case AttemptKind::kDelivered:
      return "delivered";
    case AttemptKind::kRetry:
      return "retry";
    case AttemptKind::kFailed:
      return "failed";
  }
  return "failed";
}

}  // namespace

std::string_view channel_name(DeliveryChannel c) {
  for (const auto& [k, n] : kChannels) {
    if (k == c) return n;
  }
  return "webhook";
}

std::optional<DeliveryChannel> channel_from_name(std::string_view name) {
  for (const auto& [k, n] : kChannels) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string_view delivery_status_name(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kPending:
      return "pending";
    case DeliveryStatus::kDelivered:
      return "delivered";
    case DeliveryStatus::kFailed:
      return "failed";
  }
  return "pending";
}

Result<Id> MySqlDeliveryRepository::create_subscription(const TenantId& t, std::string_view url,
                                                        std::string_view description,
                                                        const std::vector<std::string>& events,
                                                        std::string_view secret) {
  auto r = db_.execute(
      "INSERT INTO webhook_subscriptions (bid, url, description, events, secret_sealed, secret_key_id) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {t.bid(), url, description, detail::to_json_array(events), keys_.encrypt(secret), keys_.primary_key_id()});
  if (!r) return std::unexpected(r.error());
  return static_cast<Id>(r->insert_id);
}

Result<std::vector<WebhookSubscription>> MySqlDeliveryRepository::list_subscriptions(const TenantId& t) {
  auto r = db_.execute(std::string(kSubCols) + " WHERE bid = ? ORDER BY id", {t.bid()});
  if (!r) return std::unexpected(r.error());
  std::vector<WebhookSubscription> out;
  for (const auto& row : r->rows) out.push_back(to_subscription(row));
  return out;
}

Result<WebhookSubscription> MySqlDeliveryRepository::get_subscription(const TenantId& t, Id id) {
  auto r = db_.execute(std::string(kSubCols) + " WHERE id = ? AND bid = ?", {id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return make_error(ErrorCode::kNotFound, fmt::format("webhook subscription {} not found", id));
  return to_subscription(r->rows[0]);
}

Result<bool> MySqlDeliveryRepository::update_subscription(const TenantId& t, Id id, const WebhookSubscriptionPatch& p) {
  std::string sets;
  std::vector<Value> params;
  auto add = [&](std::string_view col, Value v) {
    sets += sets.empty() ? "" : ", ";
    sets += fmt::format("{} = ?", col);
    params.push_back(std::move(v));
  };
  if (p.url) add("url", *p.url);
  if (p.description) add("description", *p.description);
  if (p.events) add("events", detail::to_json_array(*p.events));
  if (p.enabled) add("enabled", *p.enabled);
  if (p.secret) {
    add("secret_sealed", keys_.encrypt(*p.secret));
    add("secret_key_id", keys_.primary_key_id());
  }
  if (p.resume) {
    sets += sets.empty() ? "" : ", ";
    sets += "paused_at = NULL, pause_reason = '', consecutive_failures = 0";
  }
  if (sets.empty()) {
    auto s = get_subscription(t, id);
    if (!s) {
      if (s.error().code == ErrorCode::kNotFound) return false;
      return std::unexpected(s.error());
    }
    return true;
  }
  params.emplace_back(id);
  params.emplace_back(t.bid());
  return matched(db_.execute("UPDATE webhook_subscriptions SET " + sets + " WHERE id = ? AND bid = ?", params));
}

Result<bool> MySqlDeliveryRepository::remove_subscription(const TenantId& t, Id id) {
  return db_.transaction<bool>([&](Connection& c) -> Result<bool> {
    auto r = c.execute("DELETE FROM webhook_subscriptions WHERE id = ? AND bid = ?", {id, t.bid()});
    if (!r) return std::unexpected(r.error());
    if (r->affected_rows == 0) return false;
    auto a = c.execute(
        "DELETE a FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.bid = a.bid AND d.id = a.delivery_id "
        "WHERE a.bid = ? AND d.bid = ? AND d.subscription_id = ? AND d.channel = 'webhook'",
        {t.bid(), t.bid(), id});
    if (!a) return std::unexpected(a.error());
    auto d = c.execute("DELETE FROM webhook_deliveries WHERE bid = ? AND subscription_id = ? AND channel = 'webhook'",
                       {t.bid(), id});
    if (!d) return std::unexpected(d.error());
    return true;
  });
}

Result<std::string> MySqlDeliveryRepository::signing_secret(const TenantId& t, Id id) {
  auto r = db_.execute("SELECT secret_sealed FROM webhook_subscriptions WHERE id = ? AND bid = ?", {id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return detail::not_found("webhook subscription", id);
  auto plain = keys_.decrypt(r->rows[0][0].as_string());
  if (!plain) return std::unexpected(plain.error().with_context("webhook signing secret"));
  return std::move(*plain);
}

Result<std::optional<std::string>> MySqlDeliveryRepository::settings_json(const TenantId& t) {
  auto r = db_.execute("SELECT settings FROM notify_settings WHERE bid = ?", {t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(r->rows[0][0].as_string());
}

Status MySqlDeliveryRepository::put_settings_json(const TenantId& t, std::string_view json) {
  auto r = db_.execute(
      "INSERT INTO notify_settings (bid, settings) VALUES (?, ?) ON DUPLICATE KEY UPDATE settings = VALUES(settings)",
      {t.bid(), json});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<int> MySqlDeliveryRepository::enqueue(const TenantId& t, std::span<const NewDelivery> rows, Timestamp due) {
  if (rows.empty()) return 0;
  return db_.transaction<int>([&](Connection& c) -> Result<int> {
    int added = 0;
    for (const auto& n : rows) {
      Result<ExecResult> r;
      if (n.channel == DeliveryChannel::kWebhook) {
        r = c.execute(
            "INSERT INTO webhook_deliveries (bid, subscription_id, channel, call_id, event_type, event_id, payload, "
            "next_attempt_at) SELECT bid, id, 'webhook', ?, ?, ?, ?, ? FROM webhook_subscriptions "
            "WHERE id = ? AND bid = ? AND enabled = 1 "
            "ON DUPLICATE KEY UPDATE webhook_deliveries.id = webhook_deliveries.id",
            {n.call_id, n.event_type, n.event_id, n.payload_json, due, n.subscription_id, t.bid()});
      } else {
        r = c.execute(
            "INSERT INTO webhook_deliveries (bid, subscription_id, channel, call_id, event_type, event_id, payload, "
            "next_attempt_at) VALUES (?, 0, ?, ?, ?, ?, ?, ?) "
            "ON DUPLICATE KEY UPDATE webhook_deliveries.id = webhook_deliveries.id",
            {t.bid(), channel_name(n.channel), n.call_id, n.event_type, n.event_id, n.payload_json, due});
      }
      if (!r) return std::unexpected(r.error());
      if (r->affected_rows == 1 && r->insert_id != 0) ++added;
    }
    return added;
  });
}

Result<std::vector<Delivery>> MySqlDeliveryRepository::claim_due(Timestamp now, int limit,
                                                                 std::chrono::milliseconds lease) {
  return db_.transaction<std::vector<Delivery>>([&](Connection& c) -> Result<std::vector<Delivery>> {
    // Cross-tenant by design (the worker serves every business): ix_deliveries_due.
    auto r = c.execute(std::string(kDeliveryCols) +
                           " WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.channel <> 'webhook' OR "
                           "EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.bid = d.bid AND s.id = "
                           "d.subscription_id AND s.enabled = 1 AND s.paused_at IS NULL)) "
                           "ORDER BY d.next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED",
                       {now, limit});
    if (!r) return std::unexpected(r.error());
    std::vector<Delivery> out;
    if (r->rows.empty()) return out;
    std::string ids;
    std::vector<Value> params{now + lease};
    for (const auto& row : r->rows) {
      auto d = to_delivery(row);
      d.attempts += 1;
      d.next_attempt_at = now + lease;
      ids += ids.empty() ? "?" : ",?";
      params.emplace_back(d.id);
      out.push_back(std::move(d));
    }
    auto up = c.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = ?, attempts = attempts + 1 WHERE id IN (" + ids + ")", params);
    if (!up) return std::unexpected(up.error());
    return out;
  });
}

Result<std::vector<PausedSubscription>> MySqlDeliveryRepository::record(std::span<const AttemptOutcome> outcomes,
                                                                        std::int64_t pause_after_failures) {
  if (outcomes.empty()) return std::vector<PausedSubscription>{};
  return db_.transaction<std::vector<PausedSubscription>>([&](Connection& c)
                                                              -> Result<std::vector<PausedSubscription>> {
    std::vector<PausedSubscription> paused;
    // Net change of each subscription's failure streak in this batch, in order.
    std::map<std::pair<std::string, Id>, std::vector<const AttemptOutcome*>> by_sub;
    std::string attempt_values;
    std::vector<Value> attempt_params;
    // Delivered rows (the common case) in one statement: a derived table of (bid, id,
    // code, latency) joined on the scoped key.
    std::string delivered_rows;
    std::vector<Value> delivered_params;
    for (const auto& o : outcomes) {
      if (o.kind != AttemptKind::kDelivered) continue;
      delivered_rows +=
          delivered_rows.empty() ? "SELECT ? AS bid, ? AS id, ? AS code, ? AS latency" : " UNION ALL SELECT ?, ?, ?, ?";
      for (Value v : {Value(o.bid), Value(o.delivery_id), o.response_code ? Value(*o.response_code) : Value(),
                      Value(static_cast<std::int64_t>(o.latency.count()))}) {
        delivered_params.push_back(std::move(v));
      }
    }
    if (!delivered_rows.empty()) {
      delivered_params.emplace_back(outcomes.front().at);  // one `at` per batch
      // FORCE INDEX: one primary-key lookup per listed row. Left to statistics (a young
      // table) the optimizer may scan every pending row through ix_deliveries_due
      // instead, locking them all, so the claimer's SKIP LOCKED finds nothing meanwhile.
      auto r =
          c.execute("UPDATE webhook_deliveries d FORCE INDEX (PRIMARY) JOIN (" + delivered_rows +
                        ") v ON d.bid = v.bid AND d.id = v.id SET d.status = 'delivered', d.response_code = v.code, "
                        "d.latency_ms = v.latency, d.delivered_at = ?, d.last_error = '' WHERE d.status = 'pending'",
                    delivered_params);
      if (!r) return std::unexpected(r.error());
    }
    for (const auto& o : outcomes) {
      Result<ExecResult> r;
      const std::optional<std::int64_t> code = o.response_code;
      const auto latency = static_cast<std::int64_t>(o.latency.count());
      switch (o.kind) {
        case AttemptKind::kDelivered:
          r = ExecResult{};
          break;
        case AttemptKind::kRetry:
          r = c.execute(
              "UPDATE webhook_deliveries SET response_code = ?, latency_ms = ?, last_error = LEFT(?, 1024), "
              "next_attempt_at = ? WHERE id = ? AND bid = ? AND status = 'pending'",
              {code, latency, o.error, o.next_attempt_at, o.delivery_id, o.bid});
          break;
        case AttemptKind::kFailed:
          r = c.execute(
              "UPDATE webhook_deliveries SET status = 'failed', response_code = ?, latency_ms = ?, "
              "last_error = LEFT(?, 1024) WHERE id = ? AND bid = ? AND status = 'pending'",
              {code, latency, o.error, o.delivery_id, o.bid});
          break;
      }
      if (!r) return std::unexpected(r.error());
      attempt_values += attempt_values.empty() ? "" : ",";
      attempt_values += "(?, ?, ?, ?, ?, ?, LEFT(?, 1024), ?, ?)";
      for (Value v :
           {Value(o.bid), Value(o.delivery_id), Value(o.attempt), Value(attempt_outcome_name(o.kind)), Value(code),
            Value(latency), Value(o.error), o.next_attempt_at ? Value(*o.next_attempt_at) : Value(), Value(o.at)}) {
        attempt_params.push_back(std::move(v));
      }
      if (o.channel == DeliveryChannel::kWebhook && o.subscription_id != 0) {
        by_sub[{o.bid, o.subscription_id}].push_back(&o);
      }
    }
    auto ins = c.execute(
        "INSERT INTO webhook_delivery_attempts (bid, delivery_id, attempt, outcome, response_code, latency_ms, "
        "error, next_attempt_at, created_at) VALUES " +
            attempt_values,
        attempt_params);
    if (!ins) return std::unexpected(ins.error());
    for (const auto& [key, list] : by_sub) {
      const auto& [bid, sub] = key;
      if (list.back()->kind == AttemptKind::kDelivered) {
        // Ends delivered (the common case): the streak is 0 and nothing pauses; one
        // statement, and none when it already was 0.
        auto up = c.execute(
            "UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE id = ? AND bid = ? "
            "AND consecutive_failures <> 0",
            {sub, bid});
        if (!up) return std::unexpected(up.error());
        continue;
      }
      auto cur = c.execute(
          "SELECT consecutive_failures, paused_at FROM webhook_subscriptions WHERE id = ? AND bid = ? FOR UPDATE",
          {sub, bid});
      if (!cur) return std::unexpected(cur.error());
      if (cur->rows.empty()) continue;
      std::int64_t streak = cur->rows[0][0].as_int();
      const bool was_paused = !cur->rows[0][1].is_null();
      std::string last_error;
      Timestamp at{};
      for (const auto* o : list) {
        if (o->kind == AttemptKind::kDelivered) {
          streak = 0;
        } else {
          ++streak;
          last_error = o->error;
          at = o->at;
        }
      }
      if (!was_paused && streak >= pause_after_failures) {
        auto reason = fmt::format("paused after {} consecutive failed attempts; last: {}", streak, last_error);
        auto up = c.execute(
            "UPDATE webhook_subscriptions SET consecutive_failures = ?, paused_at = ?, pause_reason = LEFT(?, 1024) "
            "WHERE id = ? AND bid = ?",
            {streak, at, reason, sub, bid});
        if (!up) return std::unexpected(up.error());
        paused.push_back(PausedSubscription{bid, sub, std::move(reason)});
      } else {
        auto up = c.execute("UPDATE webhook_subscriptions SET consecutive_failures = ? WHERE id = ? AND bid = ?",
                            {streak, sub, bid});
        if (!up) return std::unexpected(up.error());
      }
    }
    return paused;
  });
}

Result<std::vector<Delivery>> MySqlDeliveryRepository::list_deliveries(const TenantId& t, Id subscription_id, int limit,
                                                                       std::optional<Id> before_id) {
  auto r = db_.execute(
      std::string(kDeliveryCols) + " WHERE d.bid = ? AND d.subscription_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?",
      {t.bid(), subscription_id, before_id.value_or(std::numeric_limits<Id>::max()), limit});
  if (!r) return std::unexpected(r.error());
  std::vector<Delivery> out;
  for (const auto& row : r->rows) out.push_back(to_delivery(row));
  return out;
}

Result<Delivery> MySqlDeliveryRepository::get_delivery(const TenantId& t, Id delivery_id) {
  auto r = db_.execute(std::string(kDeliveryCols) + " WHERE d.id = ? AND d.bid = ?", {delivery_id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return make_error(ErrorCode::kNotFound, fmt::format("delivery {} not found", delivery_id));
  return to_delivery(r->rows[0]);
}

Result<std::vector<DeliveryAttempt>> MySqlDeliveryRepository::list_attempts(const TenantId& t, Id delivery_id) {
  auto r = db_.execute(
      "SELECT id, attempt, outcome, response_code, latency_ms, error, next_attempt_at, created_at "
      "FROM webhook_delivery_attempts WHERE bid = ? AND delivery_id = ? ORDER BY id",
      {t.bid(), delivery_id});
  if (!r) return std::unexpected(r.error());
  std::vector<DeliveryAttempt> out;
  for (const auto& row : r->rows) {
    out.push_back(DeliveryAttempt{row[0].as_int(), row[1].as_int(), row[2].as_string(), row[3].opt_int(),
                                  row[4].as_int(), row[5].as_string(), row[6].opt_time(), row[7].as_time()});
  }
  return out;
}

Result<bool> MySqlDeliveryRepository::redeliver(const TenantId& t, Id delivery_id, Timestamp now) {
  return matched(
      db_.execute("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, "
                  "delivered_at = NULL WHERE id = ? AND bid = ?",
                  {now, delivery_id, t.bid()}));
}

Result<DeliveryGauges> MySqlDeliveryRepository::gauges() {
  // Worker-wide figures across businesses (metrics, not tenant data).
  auto p = db_.execute(
      "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts > 0 AND last_error <> ''");
  if (!p) return std::unexpected(p.error());
  auto s = db_.execute("SELECT COUNT(*) FROM webhook_subscriptions WHERE paused_at IS NOT NULL");
  if (!s) return std::unexpected(s.error());
  return DeliveryGauges{p->rows[0][0].as_int(), s->rows[0][0].as_int()};
}

}  // namespace earshot::storage
