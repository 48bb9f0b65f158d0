#pragma once
// Shared set-up of the notify integration tests: the binary's migrated scratch database, a
// keyring, the delivery repository and an HTTP client; dispatchers with fast retry settings.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/notify/dispatcher.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "storage_fixture.hpp"
#include "test_env.hpp"

namespace earshot::notify::testing {

using namespace std::chrono_literals;
using storage::Delivery;
using storage::DeliveryStatus;
using storage::Id;
using storage::NewDelivery;
using Channel = storage::DeliveryChannel;
using SubscriptionPatch = storage::WebhookSubscriptionPatch;

// A fixed test master key (32 bytes, base64).
inline const crypto::Keyring& test_keyring() {
  static const crypto::Keyring ring = *crypto::Keyring::parse("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "k1");
  return ring;
}

// Retries in milliseconds, a subscription pauses after 3 failed attempts in a row,
// loopback receivers allowed.
inline NotifySettings fast_settings() {
  NotifySettings s;
  s.request_timeout = 2s;
  s.retry_initial = 100ms;
  s.retry_max_delay = 2s;
  s.max_attempts = 6;
  s.pause_after_failures = 3;
  s.poll_interval = 20ms;
  s.lease = 10s;
  s.public_url = "https://earshot.test";
  return s;
}

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& db = earshot::testing::StorageEnvironment::db();
    store = std::make_unique<storage::MySqlDeliveryRepository>(db, test_keyring());
    configs = std::make_unique<storage::MySqlPipelineConfigRepository>(db, test_keyring());
    metrics = std::make_unique<Metrics>("notify-test", "0", "test");
    http = std::make_unique<http::CurlHttpClient>();
  }
  void TearDown() override {
    // Requests still in flight complete ("shutting down") before the dispatchers go away.
    for (auto& d : dispatchers) d->stop_intake();
    http->shutdown();
    for (auto& d : dispatchers) d->stop();
    dispatchers.clear();
  }

  // `client`: the HTTP client the dispatcher sends through (default: the plain one, which
  // lets the loopback receivers through; the notify binary hands it a TenantHttpClient).
  Dispatcher& start_dispatcher(NotifySettings s, MailSender* mail = nullptr, EventPublisher publish = {},
                               http::HttpClient* client = nullptr) {
    dispatchers.push_back(
        std::make_unique<Dispatcher>(s, DispatcherDeps{*store, client != nullptr ? *client : *http, *configs, mail,
                                                       *metrics, SystemClock::instance(), std::move(publish)}));
    EXPECT_TRUE(dispatchers.back()->start());
    return *dispatchers.back();
  }

  storage::TenantId tenant() { return earshot::testing::new_tenant("nt"); }

  Id subscribe(const storage::TenantId& t, const std::string& url, const std::string& secret,
               std::vector<std::string> events = {"call.analyzed", "escalation.created", "call.failed",
                                                  "category.matched", "webhook.test"}) {
    auto id = store->create_subscription(t, url, "test", events, secret);
    EXPECT_TRUE(id) << id.error().to_string();
    return id.value_or(0);
  }

  // Enqueues one webhook event for `sub`; returns the delivery id.
  Id enqueue_webhook(const storage::TenantId& t, Id sub, const std::string& event_id) {
    nlohmann::json ev{{"id", event_id},
                      {"type", "call.analyzed"},
                      {"version", 1},
                      {"bid", t.bid()},
                      {"created_at", "2026-11-21T09:40:00.000Z"},
                      {"data", {{"call", {{"id", 1}}}}}};
    NewDelivery n{Channel::kWebhook, sub, std::nullopt, "call.analyzed", event_id, ev.dump()};
    auto r =
        store->enqueue(t, std::span<const NewDelivery>(&n, 1), storage::to_timestamp(std::chrono::system_clock::now()));
    EXPECT_TRUE(r && *r == 1);
    auto list = store->list_deliveries(t, sub, 100, std::nullopt);
    for (const auto& d : *list) {
      if (d.event_id == event_id) return d.id;
    }
    ADD_FAILURE() << "delivery not found";
    return 0;
  }

  Id enqueue_other(const storage::TenantId& t, Channel c, const std::string& event_id, const nlohmann::json& payload) {
    NewDelivery n{c, 0, std::nullopt, "escalation.created", event_id, payload.dump()};
    auto r =
        store->enqueue(t, std::span<const NewDelivery>(&n, 1), storage::to_timestamp(std::chrono::system_clock::now()));
    EXPECT_TRUE(r && *r == 1);
    auto list = store->list_deliveries(t, 0, 1000, std::nullopt);
    for (const auto& d : *list) {
      if (d.event_id == event_id) return d.id;
    }
    ADD_FAILURE() << "delivery not found";
    return 0;
  }

  Delivery delivery(const storage::TenantId& t, Id id) {
    auto d = store->get_delivery(t, id);
    EXPECT_TRUE(d) << d.error().to_string();
    return d.value_or(Delivery{});
  }

  bool delivered(const storage::TenantId& t, Id id) { return delivery(t, id).status == DeliveryStatus::kDelivered; }

  std::unique_ptr<storage::MySqlDeliveryRepository> store;
  std::unique_ptr<storage::MySqlPipelineConfigRepository> configs;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<http::CurlHttpClient> http;
  std::vector<std::unique_ptr<Dispatcher>> dispatchers;
};

}  // namespace earshot::notify::testing
