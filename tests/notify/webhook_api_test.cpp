// The webhook and notify-settings routes of the gateway over real HTTP: CRUD with a
// write-only secret, validation errors with reasons, tenant isolation, the delivery log with
// attempts, "send test event" and redelivery, delivered by a dispatcher to a receiver that
// verifies the signature with the secret the API returned.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../api/gateway_fixture.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/notify/dispatcher.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"
#include "webhook_receiver.hpp"

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;

TEST(WebhookApi, CrudKeepsTheSecretWriteOnlyAndValidates) {
  auto& gw = gateway();
  const auto bid = gw.new_business("wh");
  const auto admin = gw.user_token(bid, "admin");
  const auto viewer = gw.user_token(bid, "viewer");

  auto created = gw.request("POST", "/api/v1/webhooks", admin,
                            {{"url", "https://hooks.acme.test/earshot"},
                             {"events", {"call.analyzed", "escalation.created"}},
                             {"description", "ops"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const auto id = created.json["id"].get<std::int64_t>();
  ASSERT_TRUE(created.json.contains("secret"));
  EXPECT_TRUE(created.json["secret"].get<std::string>().starts_with("whsec_"));
  EXPECT_EQ(created.json["paused"], false);

  auto got = gw.request("GET", fmt::format("/api/v1/webhooks/{}", id), admin);
  ASSERT_EQ(got.status, 200);
  EXPECT_FALSE(got.json.contains("secret")) << "the secret is never read back";
  EXPECT_EQ(got.body.find(created.json["secret"].get<std::string>()), std::string::npos);
  auto list = gw.request("GET", "/api/v1/webhooks", admin);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json["items"].size(), 1u);
  EXPECT_EQ(list.json["items"][0]["description"], "ops");

  // A secret chosen by the client is not echoed.
  auto own = gw.request(
      "POST", "/api/v1/webhooks", admin,
      {{"url", "https://hooks.acme.test/2"}, {"events", {"call.failed"}}, {"secret", "my-own-secret-0123456789"}});
  ASSERT_EQ(own.status, 201);
  EXPECT_FALSE(own.json.contains("secret"));

  for (const auto& [body, needle] : std::vector<std::pair<nlohmann::json, std::string>>{
           {{{"url", "ftp://x.test/a"}, {"events", {"call.analyzed"}}}, "url"},
           {{{"url", "https://x.test/a"}, {"events", {"call.exploded"}}}, "call.exploded"},
           {{{"url", "https://x.test/a"}}, "events"},
           {{{"url", "https://x.test/a"}, {"events", {"call.analyzed"}}, {"secret", "short"}}, "secret"},
           {{{"url", "https://x.test/a"}, {"events", {"call.analyzed"}}, {"colour", "red"}}, "colour"}}) {
    auto bad = gw.request("POST", "/api/v1/webhooks", admin, body);
    EXPECT_EQ(bad.status, 400) << body.dump();
    EXPECT_NE(bad.body.find(needle), std::string::npos) << bad.body;
  }
  EXPECT_EQ(
      gw.request("POST", "/api/v1/webhooks", viewer, {{"url", "https://x.test"}, {"events", {"call.analyzed"}}}).status,
      403);

  auto patched = gw.request("PATCH", fmt::format("/api/v1/webhooks/{}", id), admin,
                            {{"events", {"call.failed"}}, {"enabled", false}, {"secret", "rotated-secret-0123456789"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json["events"], nlohmann::json::array({"call.failed"}));
  EXPECT_EQ(patched.json["enabled"], false);
  EXPECT_EQ(gw.request("PATCH", fmt::format("/api/v1/webhooks/{}", id), admin, {{"paused", true}}).status, 400);

  // Another business sees nothing.
  const auto other = gw.new_business("wh");
  const auto other_admin = gw.user_token(other, "admin");
  EXPECT_EQ(gw.request("GET", fmt::format("/api/v1/webhooks/{}", id), other_admin).status, 404);
  EXPECT_EQ(gw.request("DELETE", fmt::format("/api/v1/webhooks/{}", id), other_admin).status, 404);
  EXPECT_EQ(gw.request("GET", "/api/v1/webhooks", other_admin).json["items"].size(), 0u);

  EXPECT_EQ(gw.request("DELETE", fmt::format("/api/v1/webhooks/{}", id), admin).status, 204);
  EXPECT_EQ(gw.request("GET", fmt::format("/api/v1/webhooks/{}", id), admin).status, 404);
}

TEST(WebhookApi, NotifySettingsRoundTripAndValidation) {
  auto& gw = gateway();
  const auto bid = gw.new_business("ns");
  const auto admin = gw.user_token(bid, "admin");
  auto empty = gw.request("GET", "/api/v1/notify/settings", admin);
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(empty.json["crm_writeback"], true);
  nlohmann::json s{
      {"crm_writeback", false},
      {"link_base_url", "https://app.acme.test"},
      {"alerts",
       {{"email_to", {"qa@acme.test"}}, {"chat_webhook_url", "https://chat.acme.test/h"}, {"min_severity", "high"}}}};
  auto put = gw.request("PUT", "/api/v1/notify/settings", admin, s);
  ASSERT_EQ(put.status, 200) << put.body;
  auto back = gw.request("GET", "/api/v1/notify/settings", admin);
  EXPECT_EQ(back.json["alerts"]["email_to"], nlohmann::json::array({"qa@acme.test"}));
  EXPECT_EQ(back.json["alerts"]["min_severity"], "high");
  auto bad = gw.request("PUT", "/api/v1/notify/settings", admin, {{"alerts", {{"email_to", {"nope"}}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("not an e-mail address"), std::string::npos) << bad.body;
}

TEST(WebhookApi, TestEventIsDeliveredSignedThenRedeliveredOnRequest) {
  auto& gw = gateway();
  const auto bid = gw.new_business("wt");
  const auto admin = gw.user_token(bid, "admin");
  // The secret comes from the API; the receiver verifies with it.
  auto created = gw.request("POST", "/api/v1/webhooks", admin,
                            {{"url", "http://127.0.0.1:1/placeholder"}, {"events", {"webhook.test"}}});
  ASSERT_EQ(created.status, 201);
  WebhookReceiver rx(created.json["secret"].get<std::string>());
  ASSERT_TRUE(rx.start());
  const auto id = created.json["id"].get<std::int64_t>();
  ASSERT_EQ(gw.request("PATCH", fmt::format("/api/v1/webhooks/{}", id), admin, {{"url", rx.url()}}).status, 200);

  auto sent = gw.request("POST", fmt::format("/api/v1/webhooks/{}/test", id), admin);
  ASSERT_EQ(sent.status, 202) << sent.body;
  const auto event_id = sent.json["event_id"].get<std::string>();
  const auto delivery_id = sent.json["delivery"]["id"].get<std::int64_t>();

  auto& db = StorageEnvironment::db();
  storage::MySqlDeliveryRepository store(db, *gw.keys);
  storage::MySqlPipelineConfigRepository configs(db, *gw.keys);
  Metrics metrics("notify-api-test", "0", "0");
  http::CurlHttpClient client;
  notify::NotifySettings settings;
  settings.poll_interval = 20ms;
  notify::Dispatcher disp(
      settings, notify::DispatcherDeps{store, client, configs, nullptr, metrics, SystemClock::instance(), {}});
  ASSERT_TRUE(disp.start());
  ASSERT_TRUE(wait_until([&] { return rx.accepted_count() == 1; }, 15s));
  EXPECT_EQ(rx.accepted()[0].event_id, event_id);
  EXPECT_EQ(rx.accepted()[0].event_type, "webhook.test");
  EXPECT_TRUE(rx.accepted()[0].signature_ok);

  ASSERT_TRUE(wait_until(
      [&] {
        auto d = gw.request("GET", fmt::format("/api/v1/webhooks/{}/deliveries/{}", id, delivery_id), admin);
        return d.status == 200 && d.json["status"] == "delivered";
      },
      10s));
  auto log = gw.request("GET", fmt::format("/api/v1/webhooks/{}/deliveries", id), admin);
  ASSERT_EQ(log.status, 200);
  ASSERT_EQ(log.json["items"].size(), 1u);
  EXPECT_EQ(log.json["items"][0]["response_code"], 200);
  EXPECT_TRUE(log.json["items"][0]["latency_ms"].is_number());
  auto one = gw.request("GET", fmt::format("/api/v1/webhooks/{}/deliveries/{}", id, delivery_id), admin);
  EXPECT_EQ(one.json["payload"]["id"], event_id);
  ASSERT_EQ(one.json["attempt_log"].size(), 1u);
  EXPECT_EQ(one.json["attempt_log"][0]["outcome"], "delivered");

  // Redelivery: the same event again, same id.
  auto re = gw.request("POST", fmt::format("/api/v1/webhooks/{}/deliveries/{}/redeliver", id, delivery_id), admin);
  ASSERT_EQ(re.status, 202) << re.body;
  ASSERT_TRUE(wait_until([&] { return rx.request_count() == 2; }, 15s));
  EXPECT_EQ(rx.requests()[1].event_id, event_id);
  EXPECT_EQ(rx.duplicates(), 1) << "the receiver recognises the event id";
  // Unknown or foreign deliveries are 404.
  EXPECT_EQ(
      gw.request("POST", fmt::format("/api/v1/webhooks/{}/deliveries/{}/redeliver", id, delivery_id + 100000), admin)
          .status,
      404);
  disp.stop_intake();
  client.shutdown();
  disp.stop();
}

}  // namespace
}  // namespace earshot::testing
