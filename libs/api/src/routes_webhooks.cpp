// /api/v1/webhooks: webhook subscriptions (secret write-only), their delivery log with every
// attempt, "send test event", redelivery of a past event; /api/v1/notify/settings: where
// alerts and CRM write-back go. Deliveries themselves are earshot-notify's (docs/notify.md).
#include <fmt/format.h>

#include "earshot/api/gateway.hpp"
#include "earshot/notify/events.hpp"
#include "earshot/notify/settings.hpp"
#include "earshot/notify/signature.hpp"
#include "earshot/queue/message.hpp"
#include "route_util.hpp"

namespace earshot::api {
namespace {

using storage::Delivery;
using storage::DeliveryChannel;
using storage::DeliveryStatus;
using Subscription = storage::WebhookSubscription;

Json subscription_json(const Subscription& s) {
  return Json{{"id", s.id},
              {"url", s.url},
              {"description", s.description},
              {"events", s.events},
              {"enabled", s.enabled},
              {"paused", s.paused_at.has_value()},
              {"paused_at", detail::iso_opt(s.paused_at)},
              {"pause_reason", s.pause_reason},
              {"consecutive_failures", s.consecutive_failures},
              {"created_at", detail::iso(s.created_at)}};
}

Json delivery_json(const Delivery& d) {
  return Json{
      {"id", d.id},
      {"subscription_id", d.subscription_id},
      {"event_type", d.event_type},
      {"event_id", d.event_id},
      {"call_id", detail::opt(d.call_id)},
      {"status", storage::delivery_status_name(d.status)},
      {"attempts", d.attempts},
      {"response_code", detail::opt(d.response_code)},
      {"latency_ms", detail::opt(d.latency_ms)},
      {"last_error", d.last_error},
      {"next_attempt_at", d.status == DeliveryStatus::kPending ? Json(detail::iso(d.next_attempt_at)) : Json(nullptr)},
      {"created_at", detail::iso(d.created_at)},
      {"delivered_at", detail::iso_opt(d.delivered_at)}};
}

Status check_url(const std::string& url) {
  if (!url.starts_with("https://") && !url.starts_with("http://")) return detail::invalid("url must be an http(s) URL");
  if (url.find_first_of(" \r\n\t") != std::string::npos) return detail::invalid("url must not contain spaces");
  return {};
}

Result<std::optional<std::vector<std::string>>> events_field(const Json& b, bool required) {
  auto it = b.find("events");
  if (it == b.end() || it->is_null()) {
    if (required) return detail::invalid("events is required");
    return std::optional<std::vector<std::string>>{};
  }
  if (!it->is_array() || it->empty() || it->size() > 16)
    return detail::invalid("events must be a list of 1-16 event types");
  std::vector<std::string> out;
  for (const auto& e : *it) {
    if (!e.is_string() || !notify::known_event_type(e.get<std::string>())) {
      return detail::invalid(
          fmt::format("events: '{}' is not an event type (call.analyzed, call.failed, "
                      "escalation.created, category.matched, webhook.test)",
                      e.is_string() ? e.get<std::string>() : e.dump()));
    }
    out.push_back(e.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<Reply> create_subscription(GatewayServices& s, storage::DeliveryRepository& store, const Request& req) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"url", "events", "description", "secret"}); !st)
    return std::unexpected(st.error());
  auto url_field = detail::str_field(*b, "url", true, 8, 2048);
  if (!url_field) return std::unexpected(url_field.error());
  const std::string url = url_field->value_or("");
  if (auto st = check_url(url); !st) return std::unexpected(st.error());
  if (s.egress_policy != nullptr) {
    if (auto st = detail::check_literal_destination(*s.egress_policy, "url", url); !st)
      return std::unexpected(st.error());
  }
  auto events = events_field(*b, true);
  if (!events) return std::unexpected(events.error());
  auto description = detail::str_field(*b, "description", false, 0, 255);
  if (!description) return std::unexpected(description.error());
  auto secret = detail::str_field(*b, "secret", false, 16, 256);
  if (!secret) return std::unexpected(secret.error());
  const std::optional<std::string>& given = *secret;
  const bool generated = !given.has_value();
  const std::string signing = given ? *given : notify::new_signing_secret();
  const auto t = detail::tenant_of(req.caller_bid());
  auto id = store.create_subscription(t, url, description->value_or(""), events->value_or(std::vector<std::string>{}),
                                      signing);
  if (!id) return std::unexpected(id.error());
  auto sub = store.get_subscription(t, *id);
  if (!sub) return std::unexpected(sub.error());
  Json out = subscription_json(*sub);
  // Shown once, when the server chose it; never readable afterwards.
  if (generated) out["secret"] = signing;
  return Reply::created(out);
}

// The fields of a PATCH body, each checked; absent ones stay as they are.
Result<storage::WebhookSubscriptionPatch> parse_patch(GatewayServices& s, const Json& b) {
  if (auto st = detail::only_fields(b, {"url", "events", "description", "secret", "enabled", "paused"}); !st) {
    return std::unexpected(st.error());
  }
  storage::WebhookSubscriptionPatch p;
  auto url = detail::str_field(b, "url", false, 8, 2048);
  if (!url) return std::unexpected(url.error());
  if (const std::optional<std::string>& new_url = *url) {
    if (auto st = check_url(*new_url); !st) return std::unexpected(st.error());
    if (s.egress_policy != nullptr) {
      if (auto st = detail::check_literal_destination(*s.egress_policy, "url", *new_url); !st)
        return std::unexpected(st.error());
    }
    p.url = *new_url;
  }
  auto events = events_field(b, false);
  if (!events) return std::unexpected(events.error());
  p.events = *events;
  auto description = detail::str_field(b, "description", false, 0, 255);
  if (!description) return std::unexpected(description.error());
  p.description = *description;
  auto secret = detail::str_field(b, "secret", false, 16, 256);
  if (!secret) return std::unexpected(secret.error());
  p.secret = *secret;
  auto enabled = detail::bool_field(b, "enabled");
  if (!enabled) return std::unexpected(enabled.error());
  p.enabled = *enabled;
  auto paused = detail::bool_field(b, "paused");
  if (!paused) return std::unexpected(paused.error());
  if (paused->value_or(false))
    return detail::invalid("paused can only be set to false (resume); disable with enabled=false");
  p.resume = paused->has_value();
  return p;
}

Result<Reply> update_subscription(GatewayServices& s, storage::DeliveryRepository& store, const Request& req) {
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  auto p = parse_patch(s, *b);
  if (!p) return std::unexpected(p.error());
  const auto t = detail::tenant_of(req.caller_bid());
  auto changed = store.update_subscription(t, *id, *p);
  if (!changed) return std::unexpected(changed.error());
  auto sub = store.get_subscription(t, *id);
  if (!sub) return std::unexpected(sub.error());
  return Reply::ok(subscription_json(*sub));
}

// The webhook delivery the path names ({id}/deliveries/{delivery_id}); kNotFound when it is
// not one of that subscription's.
Result<Delivery> delivery_of(storage::DeliveryRepository& store, const Request& req) {
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto did = req.id_param("delivery_id");
  if (!did) return std::unexpected(did.error());
  auto d = store.get_delivery(detail::tenant_of(req.caller_bid()), *did);
  if (!d) return std::unexpected(d.error());
  if (d->subscription_id != *id || d->channel != DeliveryChannel::kWebhook) {
    return make_error(ErrorCode::kNotFound, fmt::format("delivery {} not found", *did));
  }
  return d;
}

Result<Reply> list_deliveries(storage::DeliveryRepository& store, const Request& req) {
  if (auto st = detail::only_query(req, {"limit", "before"}); !st) return std::unexpected(st.error());
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto limit = detail::query_int(req, "limit", 1, 200);
  if (!limit) return std::unexpected(limit.error());
  auto before = detail::query_int(req, "before", 1, std::numeric_limits<std::int64_t>::max());
  if (!before) return std::unexpected(before.error());
  const auto t = detail::tenant_of(req.caller_bid());
  if (auto sub = store.get_subscription(t, *id); !sub) return std::unexpected(sub.error());
  auto list = store.list_deliveries(t, *id, static_cast<int>(limit->value_or(50)), *before);
  if (!list) return std::unexpected(list.error());
  Json items = Json::array();
  for (const auto& d : *list) items.push_back(delivery_json(d));
  Json out{{"items", items}};
  out["next_before"] = list->size() == static_cast<std::size_t>(limit->value_or(50)) && !list->empty()
                           ? Json(list->back().id)
                           : Json(nullptr);
  return Reply::ok(out);
}

// One delivery with its payload and every attempt.
Result<Reply> get_delivery(storage::DeliveryRepository& store, const Request& req) {
  auto d = delivery_of(store, req);
  if (!d) return std::unexpected(d.error());
  auto attempts = store.list_attempts(detail::tenant_of(req.caller_bid()), d->id);
  if (!attempts) return std::unexpected(attempts.error());
  Json out = delivery_json(*d);
  out["payload"] = detail::parsed(d->payload_json);
  Json list = Json::array();
  for (const auto& a : *attempts) {
    list.push_back({{"attempt", a.attempt},
                    {"outcome", a.outcome},
                    {"response_code", detail::opt(a.response_code)},
                    {"latency_ms", a.latency_ms},
                    {"error", a.error},
                    {"next_attempt_at", detail::iso_opt(a.next_attempt_at)},
                    {"at", detail::iso(a.created_at)}});
  }
  out["attempt_log"] = list;
  return Reply::ok(out);
}

Result<Reply> redeliver(GatewayServices& s, storage::DeliveryRepository& store, const Request& req) {
  auto d = delivery_of(store, req);
  if (!d) return std::unexpected(d.error());
  if (d->status == DeliveryStatus::kPending) {
    return make_error(ErrorCode::kFailedPrecondition, "the delivery is still pending; it will be attempted");
  }
  const auto t = detail::tenant_of(req.caller_bid());
  auto ok = store.redeliver(t, d->id, storage::to_timestamp(s.clock.now()));
  if (!ok) return std::unexpected(ok.error());
  auto again = store.get_delivery(t, d->id);
  if (!again) return std::unexpected(again.error());
  Reply r = Reply::ok(delivery_json(*again));
  r.status = 202;
  return r;
}

// Queues a "webhook.test" event for the subscription (delivered by earshot-notify).
Result<Reply> send_test_event(GatewayServices& s, storage::DeliveryRepository& store, const Request& req) {
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  const auto t = detail::tenant_of(req.caller_bid());
  auto sub = store.get_subscription(t, *id);
  if (!sub) return std::unexpected(sub.error());
  if (!sub->enabled) return make_error(ErrorCode::kFailedPrecondition, "the subscription is disabled");
  const auto now = s.clock.now();
  const auto event_id = notify::event_id(t.bid(), 0, "webhook.test", queue::new_message_id());
  const auto event = notify::make_event(event_id, "webhook.test", t.bid(), now,
                                        Json{{"subscription_id", *id}, {"message", "test event from Earshot"}});
  storage::NewDelivery n{DeliveryChannel::kWebhook, *id, std::nullopt, "webhook.test", event_id, event.dump()};
  auto added = store.enqueue(t, std::span<const storage::NewDelivery>(&n, 1), storage::to_timestamp(now));
  if (!added) return std::unexpected(added.error());
  auto list = store.list_deliveries(t, *id, 1, std::nullopt);
  if (!list) return std::unexpected(list.error());
  Json out{{"event_id", event_id}, {"delivery", list->empty() ? Json(nullptr) : delivery_json(list->front())}};
  if (sub->paused_at) out["note"] = "the subscription is paused: the event waits until it is resumed";
  Reply r = Reply::ok(out);
  r.status = 202;
  return r;
}

// /api/v1/webhooks and /api/v1/webhooks/{id}.
void add_webhook_subscription_routes(Router& router, GatewayServices& s, const Policy& admin) {
  storage::DeliveryRepository* store = &s.repos.deliveries;
  router.add("GET", "/api/v1/webhooks", admin, [store](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
    auto subs = store->list_subscriptions(detail::tenant_of(req.caller_bid()));
    if (!subs) return std::unexpected(subs.error());
    Json items = Json::array();
    for (const auto& sub : *subs) items.push_back(subscription_json(sub));
    return Reply::ok(Json{{"items", items}});
  });
  router.add("POST", "/api/v1/webhooks", admin,
             [&s, store](const Request& req) { return create_subscription(s, *store, req); });
  router.add("GET", "/api/v1/webhooks/{id}", admin, [store](const Request& req) -> Result<Reply> {
    auto id = req.id_param("id");
    if (!id) return std::unexpected(id.error());
    auto sub = store->get_subscription(detail::tenant_of(req.caller_bid()), *id);
    if (!sub) return std::unexpected(sub.error());
    return Reply::ok(subscription_json(*sub));
  });
  router.add("PATCH", "/api/v1/webhooks/{id}", admin,
             [&s, store](const Request& req) { return update_subscription(s, *store, req); });
  router.add("DELETE", "/api/v1/webhooks/{id}", admin, [store](const Request& req) -> Result<Reply> {
    auto id = req.id_param("id");
    if (!id) return std::unexpected(id.error());
    auto removed = store->remove_subscription(detail::tenant_of(req.caller_bid()), *id);
    if (!removed) return std::unexpected(removed.error());
    if (!*removed) return make_error(ErrorCode::kNotFound, fmt::format("webhook subscription {} not found", *id));
    return Reply::no_content();
  });
}

// /api/v1/webhooks/{id}/deliveries..., and /api/v1/webhooks/{id}/test.
void add_webhook_delivery_routes(Router& router, GatewayServices& s, const Policy& admin) {
  storage::DeliveryRepository* store = &s.repos.deliveries;
  router.add("GET", "/api/v1/webhooks/{id}/deliveries", admin,
             [store](const Request& req) { return list_deliveries(*store, req); });
  router.add("GET", "/api/v1/webhooks/{id}/deliveries/{delivery_id}", admin,
             [store](const Request& req) { return get_delivery(*store, req); });
  router.add("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", admin,
             [&s, store](const Request& req) { return redeliver(s, *store, req); });
  router.add("POST", "/api/v1/webhooks/{id}/test", admin,
             [&s, store](const Request& req) { return send_test_event(s, *store, req); });
}

// /api/v1/notify/settings.
void add_notify_settings_routes(Router& router, GatewayServices& s, const Policy& admin) {
  storage::DeliveryRepository* store = &s.repos.deliveries;
  router.add("GET", "/api/v1/notify/settings", admin, [store](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
    auto st = notify::load_business_settings(*store, detail::tenant_of(req.caller_bid()));
    if (!st) return std::unexpected(st.error());
    return Reply::ok(st->to_json());
  });
  router.add("PUT", "/api/v1/notify/settings", admin, [store](const Request& req) -> Result<Reply> {
    auto b = req.json_body();
    if (!b) return std::unexpected(b.error());
    auto parsed = notify::BusinessNotifySettings::from_json(*b);
    if (!parsed) return std::unexpected(parsed.error());
    if (auto st = store->put_settings_json(detail::tenant_of(req.caller_bid()), parsed->to_json().dump()); !st)
      return std::unexpected(st.error());
    return Reply::ok(parsed->to_json());
  });
}

}  // namespace

void add_webhook_routes(Router& router, GatewayServices& s) {
  Policy admin;
  admin.min_role = Role::kAdmin;
  add_webhook_subscription_routes(router, s, admin);
  add_webhook_delivery_routes(router, s, admin);
  add_notify_settings_routes(router, s, admin);
}

}  // namespace earshot::api
