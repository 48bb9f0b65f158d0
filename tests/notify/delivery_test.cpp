// The dispatcher against local receivers and the real database: signed webhooks, retries
// with backoff (5xx, 429 with Retry-After, timeouts), permanent failures, paused
// subscriptions, the address policy, e-mail over SMTP, chat alerts, the throttled CRM
// write-back, and one business's slow receiver not holding up another's deliveries.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "earshot/http/egress.hpp"
#include "earshot/notify/signature.hpp"
#include "fakes/crm/fake_leadsquared.hpp"
#include "notify_fixture.hpp"
#include "smtp_sink.hpp"
#include "test_main_env.hpp"
#include "webhook_receiver.hpp"

namespace earshot::notify::testing {
namespace {

using earshot::testing::unique_suffix;
using earshot::testing::wait_until;

TEST_F(NotifyTest, SignedWebhookIsDeliveredAndEveryAttemptLogged) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("whsec_one");
  ASSERT_TRUE(rx.start());
  const auto sub = subscribe(t, rx.url(), "whsec_one");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  std::vector<std::pair<std::string, nlohmann::json>> events;
  std::mutex mu;
  start_dispatcher(fast_settings(), nullptr, [&](const std::string& bid, std::string_view type, nlohmann::json data) {
    std::lock_guard lock(mu);
    events.emplace_back(std::string(type), data);
    EXPECT_EQ(bid, t.bid());
  });
  ASSERT_TRUE(wait_until([&] { return delivered(t, id); }, 10s));
  ASSERT_EQ(rx.requests().size(), 1u);
  const auto got = rx.requests()[0];
  EXPECT_TRUE(got.signature_ok) << got.signature;
  EXPECT_TRUE(got.signature.starts_with("t="));
  EXPECT_EQ(got.event_type, "call.analyzed");
  EXPECT_EQ(nlohmann::json::parse(got.body)["id"], got.event_id);
  EXPECT_EQ(rx.bad_signatures(), 0);
  const auto d = delivery(t, id);
  EXPECT_EQ(d.response_code, 200);
  EXPECT_EQ(d.attempts, 1);
  ASSERT_TRUE(d.latency_ms.has_value());
  ASSERT_TRUE(d.delivered_at.has_value());
  auto attempts = store->list_attempts(t, id);
  ASSERT_TRUE(attempts);
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].outcome, "delivered");
  EXPECT_EQ((*attempts)[0].response_code, 200);
  // The delivery was announced as a live event and counted.
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(mu);
        return !events.empty();
      },
      5s));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(events[0].first, "delivery.succeeded");
    EXPECT_EQ(events[0].second["delivery_id"], id);
  }
  EXPECT_NE(metrics->serialize().find(R"(earshot_notify_deliveries_total{channel="webhook",outcome="delivered"})"),
            std::string::npos);
}

TEST_F(NotifyTest, ServerErrorsAreRetriedWithBackoffAndTheSameEventId) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  rx.fail_next(2, 503);
  const auto sub = subscribe(t, rx.url(), "s");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  start_dispatcher(fast_settings());
  ASSERT_TRUE(wait_until([&] { return delivered(t, id); }, 15s));
  const auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].event_id, reqs[2].event_id);
  EXPECT_EQ(reqs[0].body, reqs[2].body) << "retries resend the stored event unchanged";
  EXPECT_EQ(reqs[0].answered, 503);
  EXPECT_EQ(reqs[2].answered, 200);
  // Backoff: the second gap is longer than the first (100 ms then 200 ms, +-20%).
  EXPECT_GT(reqs[2].at - reqs[1].at, reqs[1].at - reqs[0].at);
  auto attempts = store->list_attempts(t, id);
  ASSERT_EQ(attempts->size(), 3u);
  EXPECT_EQ((*attempts)[0].outcome, "retry");
  EXPECT_EQ((*attempts)[0].response_code, 503);
  EXPECT_TRUE((*attempts)[0].next_attempt_at.has_value());
  EXPECT_NE((*attempts)[0].error.find("HTTP 503"), std::string::npos);
  EXPECT_EQ((*attempts)[2].outcome, "delivered");
  EXPECT_EQ(rx.accepted_count(), 1);
  EXPECT_EQ(store->get_subscription(t, sub)->consecutive_failures, 0) << "a success resets the failure streak";
}

TEST_F(NotifyTest, TooManyRequestsHonoursRetryAfter) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  rx.rate_limit_next(1, 2);  // Retry-After: 2 (the backoff alone would wait ~100 ms)
  const auto sub = subscribe(t, rx.url(), "s");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  start_dispatcher(fast_settings());
  ASSERT_TRUE(wait_until([&] { return delivered(t, id); }, 15s));
  const auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].answered, 429);
  EXPECT_GE(reqs[1].at - reqs[0].at, 1900ms);
  auto attempts = store->list_attempts(t, id);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].response_code, 429);
}

TEST_F(NotifyTest, TimedOutRequestIsRetriedAndTheReceiverDeduplicates) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  rx.hold_next(1, 3s);
  auto s = fast_settings();
  s.request_timeout = 500ms;
  const auto sub = subscribe(t, rx.url(), "s");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  start_dispatcher(s);
  ASSERT_TRUE(wait_until([&] { return delivered(t, id); }, 15s));
  auto attempts = store->list_attempts(t, id);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].outcome, "retry");
  EXPECT_NE((*attempts)[0].error.find("timeout"), std::string::npos) << (*attempts)[0].error;
  EXPECT_FALSE((*attempts)[0].response_code.has_value());
  EXPECT_EQ((*attempts)[1].outcome, "delivered");
  // The held first request completes later at the receiver: same event id, counted once.
  ASSERT_TRUE(
      wait_until([&] { return rx.requests().size() == 2u && rx.duplicates() + rx.accepted_count() == 2; }, 10s));
  EXPECT_EQ(rx.accepted_count(), 1);
}

TEST_F(NotifyTest, SubscriptionFailingForeverIsPausedThenResumed) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  rx.fail_always(500);
  const auto sub = subscribe(t, rx.url(), "s");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  std::atomic<int> paused_events{0};
  start_dispatcher(fast_settings(), nullptr, [&](const std::string&, std::string_view type, nlohmann::json) {
    if (type == "delivery.subscription_paused") paused_events.fetch_add(1);
  });
  ASSERT_TRUE(wait_until([&] { return store->get_subscription(t, sub)->paused_at.has_value(); }, 15s));
  auto s = store->get_subscription(t, sub);
  EXPECT_EQ(s->consecutive_failures, 3);
  EXPECT_NE(s->pause_reason.find("3 consecutive failed attempts"), std::string::npos) << s->pause_reason;
  EXPECT_NE(s->pause_reason.find("HTTP 500"), std::string::npos) << s->pause_reason;
  EXPECT_TRUE(wait_until([&] { return paused_events.load() == 1; }, 5s));
  // Paused: the delivery waits, no further attempts.
  EXPECT_FALSE(wait_until([&] { return rx.request_count() > 3; }, 1500ms));
  EXPECT_EQ(delivery(t, id).status, DeliveryStatus::kPending);
  EXPECT_TRUE(wait_until(
      [&] {
        return metrics->serialize().find("earshot_notify_paused_subscriptions 0") == std::string::npos &&
               metrics->serialize().find("earshot_notify_paused_subscriptions ") != std::string::npos;
      },
      10s))
      << "the gauge reports the paused subscription";
  // The receiver is fixed and the subscription resumed: the same event is delivered.
  rx.fail_always(0);
  SubscriptionPatch resume;
  resume.resume = true;
  ASSERT_TRUE(*store->update_subscription(t, sub, resume));
  dispatchers[0]->wake();
  ASSERT_TRUE(wait_until([&] { return delivered(t, id); }, 10s));
  EXPECT_EQ(rx.accepted_count(), 1);
  EXPECT_FALSE(store->get_subscription(t, sub)->paused_at.has_value());
}

TEST_F(NotifyTest, ClientErrorFailsTheDeliveryAtOnce) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  rx.fail_next(1, 410);
  const auto sub = subscribe(t, rx.url(), "s");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  start_dispatcher(fast_settings());
  ASSERT_TRUE(wait_until([&] { return delivery(t, id).status == DeliveryStatus::kFailed; }, 10s));
  EXPECT_EQ(rx.request_count(), 1);
  EXPECT_EQ(delivery(t, id).response_code, 410);
  EXPECT_NE(delivery(t, id).last_error.find("HTTP 410"), std::string::npos);
}

TEST_F(NotifyTest, RetriesEndAfterMaxAttempts) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  rx.fail_always(502);
  auto s = fast_settings();
  s.max_attempts = 3;
  s.pause_after_failures = 100;
  const auto sub = subscribe(t, rx.url(), "s");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  start_dispatcher(s);
  ASSERT_TRUE(wait_until([&] { return delivery(t, id).status == DeliveryStatus::kFailed; }, 15s));
  EXPECT_EQ(rx.request_count(), 3);
  EXPECT_NE(delivery(t, id).last_error.find("gave up after 3 attempts"), std::string::npos)
      << delivery(t, id).last_error;
}

TEST_F(NotifyTest, LoopbackTargetRefusedUnlessAllowed) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  const auto sub = subscribe(t, rx.url(), "s");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  // The egress policy the notify binary builds: loopback refused, nothing allowed.
  http::TenantHttpClient tenant_http(*http, http::AddressPolicy{});
  start_dispatcher(fast_settings(), nullptr, {}, &tenant_http);
  ASSERT_TRUE(wait_until([&] { return delivery(t, id).status == DeliveryStatus::kFailed; }, 10s));
  EXPECT_EQ(rx.request_count(), 0);
  EXPECT_NE(delivery(t, id).last_error.find("destination not allowed"), std::string::npos)
      << delivery(t, id).last_error;
  EXPECT_EQ(delivery(t, id).last_error.find("loopback"), std::string::npos) << delivery(t, id).last_error;
  for (auto& d : dispatchers) d->stop_intake();
  http->shutdown();
  for (auto& d : dispatchers) d->stop();
  dispatchers.clear();
}

TEST_F(NotifyTest, LoopbackTargetDeliveredWhenTheOperatorAllowsIt) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver rx("s");
  ASSERT_TRUE(rx.start());
  const auto sub = subscribe(t, rx.url(), "s");
  const auto id = enqueue_webhook(t, sub, "evt_" + unique_suffix());
  auto allowed = http::parse_destination_list("127.0.0.1:" + std::to_string(rx.port()), "egress_allow");
  ASSERT_TRUE(allowed);
  http::AddressPolicy policy;
  policy.allow = *allowed;
  http::TenantHttpClient tenant_http(*http, policy);
  start_dispatcher(fast_settings(), nullptr, {}, &tenant_http);
  ASSERT_TRUE(wait_until([&] { return delivered(t, id); }, 10s));
  EXPECT_EQ(rx.request_count(), 1);
  for (auto& d : dispatchers) d->stop_intake();
  http->shutdown();
  for (auto& d : dispatchers) d->stop();
  dispatchers.clear();
}

TEST_F(NotifyTest, EscalationEmailOverSmtpRetriedWhileTheServerIsUnavailable) {
  const auto t = tenant();
  earshot::testing::SmtpSink sink;
  ASSERT_TRUE(sink.start());
  sink.set_unavailable(true);
  CurlSmtpSender mail(SmtpOptions{sink.url(), "earshot@acme.test", "", "", 5s});
  const auto id = enqueue_other(t, Channel::kEmail, "alert_" + unique_suffix(),
                                {{"to", {"qa@acme.test", "lead@acme.test"}},
                                 {"subject", "[Earshot] high escalation: wants a supervisor"},
                                 {"text",
                                  "Escalation (high) on call c-1: wants a supervisor\nCustomer: Ann\nAgent: "
                                  "Sarah\nhttps://earshot.test/calls/1\n"}});
  start_dispatcher(fast_settings(), &mail);
  ASSERT_TRUE(wait_until([&] { return delivery(t, id).attempts >= 1 && !delivery(t, id).last_error.empty(); }, 10s));
  EXPECT_EQ(delivery(t, id).status, DeliveryStatus::kPending) << "421 is retried";
  sink.set_unavailable(false);
  ASSERT_TRUE(wait_until([&] { return delivered(t, id); }, 10s));
  const auto msgs = sink.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].from, "earshot@acme.test");
  EXPECT_EQ(msgs[0].to, (std::vector<std::string>{"qa@acme.test", "lead@acme.test"}));
  EXPECT_NE(msgs[0].data.find("Subject: [Earshot] high escalation: wants a supervisor\r\n"), std::string::npos)
      << msgs[0].data;
  EXPECT_NE(msgs[0].data.find("Customer: Ann\r\nAgent: Sarah\r\nhttps://earshot.test/calls/1"), std::string::npos)
      << msgs[0].data;
}

TEST_F(NotifyTest, RefusedRecipientFailsTheEmailDelivery) {
  const auto t = tenant();
  earshot::testing::SmtpSink sink;
  ASSERT_TRUE(sink.start());
  sink.refuse_recipient("nobody@acme.test");
  CurlSmtpSender mail(SmtpOptions{sink.url(), "earshot@acme.test", "", "", 5s});
  const auto id = enqueue_other(t, Channel::kEmail, "alert_" + unique_suffix(),
                                {{"to", {"nobody@acme.test"}}, {"subject", "x"}, {"text", "y"}});
  start_dispatcher(fast_settings(), &mail);
  ASSERT_TRUE(wait_until([&] { return delivery(t, id).status == DeliveryStatus::kFailed; }, 10s));
  EXPECT_NE(delivery(t, id).last_error.find("550"), std::string::npos) << delivery(t, id).last_error;
  EXPECT_TRUE(sink.messages().empty());
}

TEST_F(NotifyTest, ChatAlertIsAJsonPost) {
  const auto t = tenant();
  earshot::testing::WebhookReceiver chat("unused");
  chat.set_verify(false);
  ASSERT_TRUE(chat.start());
  const auto id = enqueue_other(t, Channel::kChat, "chat_" + unique_suffix(),
                                {{"url", chat.url("/chat")},
                                 {"body",
                                  {{"text", "Escalation"},
                                   {"reason", "wants a supervisor"},
                                   {"customer", "Ann"},
                                   {"agent", "Sarah"},
                                   {"link", "https://earshot.test/calls/1"}}}});
  start_dispatcher(fast_settings());
  ASSERT_TRUE(wait_until([&] { return delivered(t, id); }, 10s));
  ASSERT_EQ(chat.requests().size(), 1u);
  auto body = nlohmann::json::parse(chat.requests()[0].body);
  EXPECT_EQ(body["reason"], "wants a supervisor");
  EXPECT_EQ(body["customer"], "Ann");
  EXPECT_EQ(body["agent"], "Sarah");
  EXPECT_EQ(body["link"], "https://earshot.test/calls/1");
}

TEST_F(NotifyTest, CrmWriteBackIsThrottledToTheProviderLimit) {
  const auto t = tenant();
  earshot::testing::FakeLeadSquared crm("ak-" + unique_suffix(), "sk");
  ASSERT_TRUE(crm.start());
  crm.add_lead("LEAD-1");
  storage::PipelineConfig cfg;
  cfg.crm_json = nlohmann::json{{"kind", "leadsquared"}, {"host", crm.base_url()}, {"activity_event", 212}}.dump();
  cfg.secrets = {{"crm_access_key", "ak-wrong"}, {"crm_secret_key", "sk"}};
  ASSERT_TRUE(configs->put(t, cfg));
  // Wrong keys: 401 is a permanent failure.
  const auto bad = enqueue_other(t, Channel::kCrm, "crm_bad_" + unique_suffix(),
                                 {{"lead_id", "LEAD-1"},
                                  {"activity",
                                   {{"RelatedProspectId", "LEAD-1"},
                                    {"ActivityNote", "n"},
                                    {"ActivityDateTime", "2026-11-21 09:40:00"},
                                    {"Fields", nlohmann::json::array()}}}});
  auto& disp = start_dispatcher(fast_settings());
  ASSERT_TRUE(wait_until([&] { return delivery(t, bad).status == DeliveryStatus::kFailed; }, 10s));
  EXPECT_EQ(delivery(t, bad).response_code, 401);
  disp.stop();  // a fresh dispatcher reads the corrected keys
  cfg.secrets["crm_access_key"] = "ak-ok";
  earshot::testing::FakeLeadSquared crm2("ak-ok", "sk");
  ASSERT_TRUE(crm2.start());
  crm2.add_lead("LEAD-1");
  cfg.crm_json = nlohmann::json{{"kind", "leadsquared"}, {"host", crm2.base_url()}, {"activity_event", 212}}.dump();
  ASSERT_TRUE(configs->put(t, cfg));
  std::vector<Id> ids;
  for (int i = 0; i < 30; ++i) {
    ids.push_back(enqueue_other(t, Channel::kCrm, fmt::format("crm_{}_{}", i, unique_suffix()),
                                {{"lead_id", "LEAD-1"},
                                 {"activity",
                                  {{"RelatedProspectId", "LEAD-1"},
                                   {"ActivityNote", fmt::format("call {}", i)},
                                   {"ActivityDateTime", "2026-11-21 09:40:00"},
                                   {"Fields", {{{"SchemaName", "mx_Custom_1"}, {"Value", "0.75"}}}}}}}));
  }
  start_dispatcher(fast_settings());
  ASSERT_TRUE(wait_until(
      [&] {
        for (auto id : ids)
          if (!delivered(t, id)) return false;
        return true;
      },
      30s));
  EXPECT_EQ(crm2.activities().size(), 30u);
  EXPECT_EQ(crm2.rate_limited(), 0) << "the client throttles itself below 25 requests per 5 s";
  EXPECT_LE(crm2.max_in_window(), 25);
  EXPECT_EQ(crm2.activities()[0]["ActivityEvent"], 212);
  EXPECT_EQ(crm2.activities()[0]["Fields"][0]["SchemaName"], "mx_Custom_1");
}

TEST_F(NotifyTest, SlowReceiverOfOneBusinessDoesNotHoldUpAnother) {
  const auto slow_t = tenant();
  const auto fast_t = tenant();
  earshot::testing::WebhookReceiver slow("s", 64);
  earshot::testing::WebhookReceiver quick("q");
  ASSERT_TRUE(slow.start());
  ASSERT_TRUE(quick.start());
  slow.hold_next(1000, 4s);
  const auto slow_sub = subscribe(slow_t, slow.url(), "s");
  std::vector<Id> slow_ids;
  for (int i = 0; i < 40; ++i)
    slow_ids.push_back(enqueue_webhook(slow_t, slow_sub, fmt::format("evt_slow_{}_{}", i, unique_suffix())));
  auto& disp = start_dispatcher(fast_settings());
  ASSERT_TRUE(wait_until([&] { return slow.request_count() >= 20; }, 10s));
  const auto quick_sub = subscribe(fast_t, quick.url(), "q");
  const auto quick_id = enqueue_webhook(fast_t, quick_sub, "evt_quick_" + unique_suffix());
  disp.wake();
  ASSERT_TRUE(wait_until([&] { return delivered(fast_t, quick_id); }, 10s));
  EXPECT_EQ(slow.accepted_count(), 0) << "delivered while the slow business's requests were still held";
  slow.hold_next(0, 0ms);
}

}  // namespace
}  // namespace earshot::notify::testing
