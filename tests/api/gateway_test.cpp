// The gateway over real HTTP against the real database, broker and Redis.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "call_steps.hpp"
#include "earshot/analytics/categories.hpp"
#include "earshot/api/audio_link.hpp"
#include "earshot/api/jwt.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/pipeline/transcribe_stage.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "gateway_fixture.hpp"
#include "process.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;

std::optional<queue::RawMessage> take_message(const std::string& queue_name) {
  std::optional<queue::RawMessage> got;
  wait_until(
      [&] {
        auto m = gateway().topology_admin->get(queue_name);
        if (m && *m) got = **m;
        return got.has_value();
      },
      std::chrono::seconds(5));
  return got;
}

// ---- auth ------------------------------------------------------------------------------

TEST(GatewayAuth, LoginRefreshRotatesAndReuseRevokesTheFamily) {
  auto& gw = gateway();
  const auto bid = gw.new_business("auth");
  auto login = gw.request("POST", "/api/v1/auth/login", "",
                          {{"email", "admin@" + bid + ".test"}, {"password", Gateway::kPassword}});
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.json["token_type"], "Bearer");
  EXPECT_EQ(login.json["role"], "admin");
  EXPECT_EQ(login.json["bid"], bid);
  EXPECT_EQ(login.json["expires_in"], 300);
  const auto refresh1 = login.json["refresh_token"].get<std::string>();

  auto me = gw.request("GET", "/api/v1/auth/me", login.json["access_token"]);
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.json["bid"], bid);

  auto r2 = gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", refresh1}});
  ASSERT_EQ(r2.status, 200) << r2.body;
  const auto refresh2 = r2.json["refresh_token"].get<std::string>();
  EXPECT_NE(refresh2, refresh1);
  EXPECT_EQ(gw.request("GET", "/api/v1/auth/me", r2.json["access_token"]).status, 200);

  // Presenting the rotated-out token again: refused, and the whole family is revoked.
  auto reuse = gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", refresh1}});
  EXPECT_EQ(reuse.status, 401);
  EXPECT_EQ(reuse.json["error"]["code"], "unauthenticated");
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", refresh2}}).status, 401);
}

TEST(GatewayAuth, LogoutRevokesTheRefreshToken) {
  auto& gw = gateway();
  const auto bid = gw.new_business("logout");
  auto login = gw.request("POST", "/api/v1/auth/login", "",
                          {{"email", "admin@" + bid + ".test"}, {"password", Gateway::kPassword}, {"bid", bid}});
  ASSERT_EQ(login.status, 200);
  const auto refresh = login.json["refresh_token"].get<std::string>();
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/logout", "", {{"refresh_token", refresh}}).status, 204);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", refresh}}).status, 401);
  // Idempotent.
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/logout", "", {{"refresh_token", refresh}}).status, 204);
}

// The browser mode: the refresh token only ever travels in an HttpOnly, Secure,
// SameSite=Strict cookie scoped to /api/v1/auth, and is used only by requests that carry the
// X-Earshot-Refresh header from this server's own origin.
TEST(GatewayAuth, CookieModeKeepsTheRefreshTokenInAnHttpOnlyCookie) {
  auto& gw = gateway();
  const auto bid = gw.new_business("cookie");
  auto login =
      gw.request("POST", "/api/v1/auth/login", "",
                 {{"email", "admin@" + bid + ".test"}, {"password", Gateway::kPassword}, {"refresh_cookie", true}});
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_FALSE(login.json.contains("refresh_token")) << login.body;
  EXPECT_EQ(login.json["role"], "admin");
  const std::string set = login.header("Set-Cookie");
  ASSERT_TRUE(set.starts_with("earshot_refresh=")) << set;
  EXPECT_NE(set.find("; Path=/api/v1/auth;"), std::string::npos) << set;
  EXPECT_NE(set.find("; Max-Age=3600;"), std::string::npos) << set;  // the refresh token lifetime (1 h here)
  EXPECT_TRUE(set.ends_with("; HttpOnly; Secure; SameSite=Strict")) << set;
  const std::string cookie1 = set.substr(0, set.find(';'));
  const std::string token1 = cookie1.substr(cookie1.find('=') + 1);
  ASSERT_FALSE(token1.empty());
  const httplib::Headers mode{{"X-Earshot-Refresh", "cookie"}};
  auto with = [&](const std::string& cookie, httplib::Headers extra = {}) {
    extra.insert(mode.begin(), mode.end());
    if (!cookie.empty()) extra.emplace("Cookie", "theme=dark; " + cookie);
    return extra;
  };

  // Refresh from the cookie: a new access token, the token rotated in a new cookie.
  auto r2 = gw.request("POST", "/api/v1/auth/refresh", "", json::object(),
                       with(cookie1, {{"Origin", "http://127.0.0.1:" + std::to_string(gw.port)}}));
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_FALSE(r2.json.contains("refresh_token"));
  EXPECT_EQ(gw.request("GET", "/api/v1/auth/me", r2.json["access_token"]).status, 200);
  const std::string set2 = r2.header("Set-Cookie");
  const std::string cookie2 = set2.substr(0, set2.find(';'));
  EXPECT_NE(cookie2, cookie1);

  // Refused: another origin, no cookie, a body with a token, the header missing (the body
  // mode then wants refresh_token).
  auto foreign = gw.request("POST", "/api/v1/auth/refresh", "", json::object(),
                            with(cookie2, {{"Origin", "https://evil.example"}}));
  EXPECT_EQ(foreign.status, 403) << foreign.body;
  EXPECT_EQ(foreign.json["error"]["message"], "cookie refresh is only accepted from this server's own pages");
  auto none = gw.request("POST", "/api/v1/auth/refresh", "", json::object(), with(""));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json["error"]["message"], "no refresh cookie");
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", token1}}, with(cookie2)).status, 400);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", json::object(), {{"Cookie", cookie2}}).status, 400);

  // The rotated-out cookie again: refused, and the family revoked, as in the body mode.
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", json::object(), with(cookie1)).status, 401);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", json::object(), with(cookie2)).status, 401);

  // Logout clears the cookie and revokes it; without a cookie it still answers 204.
  auto again =
      gw.request("POST", "/api/v1/auth/login", "",
                 {{"email", "admin@" + bid + ".test"}, {"password", Gateway::kPassword}, {"refresh_cookie", true}});
  ASSERT_EQ(again.status, 200);
  const std::string cookie3 = again.header("Set-Cookie").substr(0, again.header("Set-Cookie").find(';'));
  auto out = gw.request("POST", "/api/v1/auth/logout", "", json::object(), with(cookie3));
  EXPECT_EQ(out.status, 204);
  EXPECT_TRUE(out.header("Set-Cookie").starts_with("earshot_refresh=; Path=/api/v1/auth; Max-Age=0;"))
      << out.header("Set-Cookie");
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", json::object(), with(cookie3)).status, 401);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/logout", "", json::object(), with("")).status, 204);
  EXPECT_EQ(
      gw.request("POST", "/api/v1/auth/login", "",
                 {{"email", "admin@" + bid + ".test"}, {"password", Gateway::kPassword}, {"refresh_cookie", "yes"}})
          .status,
      400);
}

TEST(GatewayAuth, BadLoginsAre401Or400NeverMore) {
  auto& gw = gateway();
  const auto bid = gw.new_business("badlogin");
  const std::string email = "admin@" + bid + ".test";
  auto wrong = gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", "nope nope"}});
  EXPECT_EQ(wrong.status, 401);
  auto unknown = gw.request("POST", "/api/v1/auth/login", "", {{"email", "ghost@x.test"}, {"password", "nope nope"}});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.json["error"]["message"], unknown.json["error"]["message"]);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/login", "", {{"email", email}}).status, 400);
  EXPECT_EQ(gw.raw_request("POST", "/api/v1/auth/login", "{not json", {}).status, 400);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", "x"}, {"extra", 1}}).status,
            400);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", "ert_forged"}}).status, 401);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", "' OR 1=1 --"}}).status, 401);
}

TEST(GatewayAuth, ForgedAndTamperedBearerTokensAre401) {
  auto& gw = gateway();
  const auto bid = gw.new_business("tamper");
  const auto token = gw.user_token(bid, "viewer");
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  auto payload = json::parse(*api::base64url_decode(token.substr(d1 + 1, d2 - d1 - 1)));
  payload["role"] = "admin";
  const auto edited = token.substr(0, d1 + 1) + api::base64url_encode(payload.dump()) + token.substr(d2);
  const auto none =
      api::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + api::base64url_encode(payload.dump()) + ".";
  for (const auto& t : {edited, none, token + "x", std::string("garbage")}) {
    auto r = gw.request("GET", "/api/v1/calls", t);
    EXPECT_EQ(r.status, 401) << t;
    EXPECT_EQ(r.json["error"]["code"], "unauthenticated");
  }
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", token).status, 200);
}

// ---- admin -----------------------------------------------------------------------------

TEST(GatewayAdmin, RegistrationDeclaresEveryStageQueueAndRefusesDuplicates) {
  auto& gw = gateway();
  const auto bid = gw.new_business("reg");
  for (auto stage : queue::kAllStages) {
    auto depth = gw.topology_admin->queue_depth(queue::work_queue(stage, bid));
    EXPECT_TRUE(depth) << queue::stage_name(stage);
  }
  auto dup = gw.request("POST", "/api/v1/admin/businesses", gw.platform_token, {{"bid", bid}, {"name", "again"}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.json["error"]["code"], "already_exists");
  for (const char* bad : {"UPPER", "has space", "'; DROP TABLE businesses; --", ""}) {
    auto r = gw.request("POST", "/api/v1/admin/businesses", gw.platform_token, {{"bid", bad}, {"name", "x"}});
    EXPECT_EQ(r.status, 400) << bad;
  }
  auto list = gw.request("GET", "/api/v1/admin/businesses", gw.platform_token);
  ASSERT_EQ(list.status, 200);
  bool found = false;
  for (const auto& b : list.json["items"]) found = found || b["bid"] == bid;
  EXPECT_TRUE(found);
  // The default pipeline config exists.
  auto cfg = gw.request("GET", "/api/v1/admin/businesses/" + bid + "/pipeline-config", gw.platform_token);
  EXPECT_EQ(cfg.status, 200);
  EXPECT_EQ(cfg.json["stt_provider"], "pocketsphinx");
}

TEST(GatewayAdmin, DisablingABusinessLocksItsUsersAndKeysOut) {
  auto& gw = gateway();
  const auto bid = gw.new_business("disable");
  const auto admin = gw.user_token(bid, "admin");
  auto key = gw.request("POST", "/api/v1/admin/businesses/" + bid + "/api-keys", admin,
                        {{"name", "reader"}, {"scopes", {"read"}}});
  ASSERT_EQ(key.status, 201);
  const auto secret = key.json["secret"].get<std::string>();
  EXPECT_EQ(gw.request("PATCH", "/api/v1/admin/businesses/" + bid, admin, {{"status", "disabled"}}).status, 403);
  auto off = gw.request("PATCH", "/api/v1/admin/businesses/" + bid, gw.platform_token, {{"status", "disabled"}});
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(off.json["status"], "disabled");
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/login", "",
                       {{"email", "admin@" + bid + ".test"}, {"password", Gateway::kPassword}})
                .status,
            401);
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", secret).status, 401);
  // An access token issued before the business was disabled stops working within the
  // recheck interval, not at its expiry.
  EXPECT_TRUE(wait_until([&] { return gw.request("GET", "/api/v1/calls", admin).status == 401; },
                         api::AuthService::kAccessRecheck * 5));
  auto on = gw.request("PATCH", "/api/v1/admin/businesses/" + bid, gw.platform_token,
                       {{"status", "active"}, {"name", "Renamed"}});
  ASSERT_EQ(on.status, 200);
  EXPECT_EQ(on.json["name"], "Renamed");
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", secret).status, 200);
  EXPECT_TRUE(wait_until([&] { return gw.request("GET", "/api/v1/calls", admin).status == 200; },
                         api::AuthService::kAccessRecheck * 5));
  EXPECT_EQ(gw.request("PATCH", "/api/v1/admin/businesses/" + bid, gw.platform_token, {{"status", "paused"}}).status,
            400);
  EXPECT_EQ(gw.request("PATCH", "/api/v1/admin/businesses/nope-" + unique_suffix(), gw.platform_token, {{"name", "x"}})
                .status,
            404);
}

TEST(GatewayAdmin, PipelineSecretsAreWriteOnlyAndConfigIsValidated) {
  auto& gw = gateway();
  const auto bid = gw.new_business("pipe");
  const auto admin = gw.user_token(bid, "admin");
  const std::string path = "/api/v1/admin/businesses/" + bid + "/pipeline-config";
  auto put = gw.request("PUT", path, admin,
                        {{"source_db", {{"kind", "mysql"}, {"host", "db.internal"}, {"user", "reader"}}},
                         {"concurrency", 8},
                         {"secrets", {{"source_db_password", "hunter2-s3cret"}, {"llm_api_key", "sk-abc"}}}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json["concurrency"], 8);
  EXPECT_EQ(put.json["secrets_set"], json({"llm_api_key", "source_db_password"}));
  EXPECT_EQ(put.body.find("hunter2"), std::string::npos);
  auto get = gw.request("GET", path, admin);
  EXPECT_EQ(get.body.find("hunter2"), std::string::npos);
  EXPECT_EQ(get.body.find("sk-abc"), std::string::npos);
  EXPECT_EQ(get.json["source_db"]["host"], "db.internal");
  // Removing one secret keeps the other.
  auto rm = gw.request("PUT", path, admin, {{"secrets", {{"llm_api_key", nullptr}}}});
  EXPECT_EQ(rm.json["secrets_set"], json({"source_db_password"}));
  for (const json& bad : {json{{"concurrency", 0}}, json{{"unknown", 1}}, json{{"lead_filter_mode", "sometimes"}},
                          json{{"source_db", {{"password", "inline"}}}}, json{{"channel_roles", {{"9", "agent"}}}},
                          json{{"secrets", {{"x", 5}}}}, json{{"stt_provider", "'; DROP TABLE x"}}}) {
    auto r = gw.request("PUT", path, admin, bad);
    EXPECT_EQ(r.status, 400) << bad.dump() << " " << r.body;
  }
  EXPECT_EQ(gw.request("GET", path, gw.user_token(bid, "analyst")).status, 403);
}

TEST(GatewayAdmin, AgentsUsersAndRuleSetsCrud) {
  auto& gw = gateway();
  const auto bid = gw.new_business("crud");
  const auto admin = gw.user_token(bid, "admin");
  const std::string base = "/api/v1/admin/businesses/" + bid;
  auto agent = gw.request("POST", base + "/agents", admin,
                          {{"name", "my_summary"},
                           {"kind", "llm"},
                           {"prompt_template", "Summarise {{transcript}}"},
                           {"output_schema", {{"type", "object"}}},
                           {"model", "small"}});
  ASSERT_EQ(agent.status, 201) << agent.body;
  const auto aid = std::to_string(agent.json["id"].get<std::int64_t>());
  EXPECT_EQ(gw.request("POST", base + "/agents", admin, {{"name", "x"}, {"kind", "llm"}}).status, 400);
  auto upd = gw.request("PUT", base + "/agents/" + aid, admin,
                        {{"name", "my_summary"}, {"kind", "llm"}, {"prompt_template", "v2"}, {"enabled", false}});
  ASSERT_EQ(upd.status, 200);
  EXPECT_EQ(upd.json["version"], 2);
  // This one and the six default agents every new business is given.
  EXPECT_EQ(gw.request("GET", base + "/agents", admin).json["items"].size(), 7u);
  EXPECT_EQ(gw.request("DELETE", base + "/agents/" + aid, admin).status, 204);
  EXPECT_EQ(gw.request("GET", base + "/agents/" + aid, admin).status, 404);

  auto user = gw.request("POST", base + "/users", admin,
                         {{"email", "ana@" + bid + ".test"}, {"password", "long enough"}, {"role", "analyst"}});
  ASSERT_EQ(user.status, 201) << user.body;
  EXPECT_FALSE(user.json.contains("password_hash"));
  EXPECT_EQ(gw.request("POST", base + "/users", admin,
                       {{"email", "ana@" + bid + ".test"}, {"password", "long enough"}, {"role", "analyst"}})
                .status,
            409);
  EXPECT_EQ(gw.request("POST", base + "/users", admin,
                       {{"email", "x@" + bid + ".test"}, {"password", "short"}, {"role", "analyst"}})
                .status,
            400);
  EXPECT_EQ(gw.request("POST", base + "/users", admin,
                       {{"email", "y@" + bid + ".test"}, {"password", "long enough"}, {"role", "root"}})
                .status,
            400);
  const auto uid = std::to_string(user.json["id"].get<std::int64_t>());
  const auto ana = gw.login("ana@" + bid + ".test", "long enough");
  ASSERT_EQ(gw.request("GET", "/api/v1/calls", ana).status, 200);
  auto patched = gw.request("PATCH", base + "/users/" + uid, admin, {{"role", "viewer"}, {"disabled", true}});
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(patched.json["role"], "viewer");
  EXPECT_EQ(
      gw.request("POST", "/api/v1/auth/login", "", {{"email", "ana@" + bid + ".test"}, {"password", "long enough"}})
          .status,
      401);
  // Her access token from before is refused within the recheck interval.
  EXPECT_TRUE(wait_until([&] { return gw.request("GET", "/api/v1/calls", ana).status == 401; },
                         api::AuthService::kAccessRecheck * 5));
  EXPECT_EQ(gw.request("DELETE", base + "/users/" + uid, admin).status, 204);

  auto cat =
      gw.request("POST", base + "/categories", admin,
                 {{"name", "refund"}, {"rules", json::parse(R"([{"type":"transcript","phrases":["refund"]}])")}});
  ASSERT_EQ(cat.status, 201) << cat.body;
  const auto cid = std::to_string(cat.json["id"].get<std::int64_t>());
  auto bad =
      gw.request("POST", base + "/categories", admin, {{"name", "bad"}, {"rules", json::parse(R"([{"type":"x"}])")}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.json["error"]["message"].get<std::string>().find("rules[0].type"), std::string::npos);
  auto put = gw.request("PUT", base + "/categories/" + cid, admin,
                        {{"name", "refund"}, {"rules", json::parse(R"([{"type":"non_talk","min_ms":5000}])")}});
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(put.json["version"], 2);
  EXPECT_EQ(gw.request("DELETE", base + "/categories/" + cid, admin).status, 204);
  EXPECT_EQ(gw.request("DELETE", base + "/categories/" + cid, admin).status, 404);
  auto sc = gw.request("POST", base + "/scorecards", admin,
                       {{"name", "qa"}, {"questions", json::parse(R"([{"id":"greet","text":"Greeted?","weight":1,
                         "answer":{"kind":"rule","rules":[{"type":"transcript","phrases":["thank you for calling"]}]}}])")}});
  EXPECT_EQ(sc.status, 201) << sc.body;
  // Stored as the document the analyze stage parses, shown as the list that was sent.
  EXPECT_EQ(sc.json["questions"][0]["id"], "greet");
  storage::MySqlRuleSetRepository cards(StorageEnvironment::db(), storage::MySqlRuleSetRepository::Kind::kScorecards);
  auto stored = cards.list(tenant(bid));
  ASSERT_TRUE(stored.has_value());
  ASSERT_EQ(stored->size(), 1U);
  EXPECT_TRUE(analytics::parse_scorecard("qa", stored->front().rules_json).has_value()) << stored->front().rules_json;
  EXPECT_EQ(gw.request("POST", base + "/scorecards", admin, {{"name", "qa2"}, {"questions", json::array()}}).status,
            400);
}

TEST(GatewayAdmin, ApiKeysShowTheSecretOnceAndScopesApply) {
  auto& gw = gateway();
  const auto bid = gw.new_business("keys");
  const auto admin = gw.user_token(bid, "admin");
  const std::string base = "/api/v1/admin/businesses/" + bid + "/api-keys";
  auto ingest = gw.request("POST", base, admin, {{"name", "uploader"}, {"scopes", {"ingest"}}});
  ASSERT_EQ(ingest.status, 201) << ingest.body;
  auto embed = gw.request("POST", base, admin, {{"name", "dashboard"}, {"scopes", {"embed"}}});
  ASSERT_EQ(embed.status, 201);
  EXPECT_EQ(gw.request("POST", base, admin, {{"name", "x"}, {"scopes", {"embed", "ingest"}}}).status, 400);
  EXPECT_EQ(gw.request("POST", base, admin, {{"name", "x"}, {"scopes", {"root"}}}).status, 400);
  auto list = gw.request("GET", base, admin);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(ingest.json["secret"].get<std::string>()), std::string::npos);
  const auto ingest_key = ingest.json["secret"].get<std::string>();
  const auto embed_key = embed.json["secret"].get<std::string>();

  // Ingest: records the call and queues it for transcription.
  auto sent = gw.request("POST", "/api/v1/calls", ingest_key,
                         {{"external_id", "ext-1"},
                          {"audio_uri", "store://" + bid + "/ext-1.wav"},
                          {"started_at", "2026-11-20T10:00:00Z"},
                          {"channels", 2},
                          {"language", "en"}});
  ASSERT_EQ(sent.status, 202) << sent.body;
  auto msg = take_message(queue::work_queue(queue::Stage::kTranscribe, bid));
  ASSERT_TRUE(msg);
  auto body = json::parse(msg->body);
  EXPECT_EQ(body["call_id"], std::to_string(sent.json["id"].get<std::int64_t>()));
  EXPECT_EQ(body["audio"]["uri"], "store://" + bid + "/ext-1.wav");
  EXPECT_EQ(
      gw.request(
            "POST", "/api/v1/calls", ingest_key,
            {{"external_id", "ext-2"}, {"audio_uri", "file:///etc/passwd"}, {"started_at", "2026-11-20T10:00:00Z"}})
          .status,
      400);
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", ingest_key).status, 403);
  // Embed keys read, and nothing else.
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", embed_key).status, 200);
  EXPECT_EQ(gw.request("POST", "/api/v1/calls", embed_key, {{"external_id", "x"}}).status, 403);
  EXPECT_EQ(gw.request("GET", "/api/v1/admin/businesses/" + bid + "/users", embed_key).status, 403);
  // Revoked keys stop working.
  const auto kid = std::to_string(embed.json["id"].get<std::int64_t>());
  EXPECT_EQ(gw.request("DELETE", base + "/" + kid, admin).status, 204);
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", embed_key).status, 401);
}

TEST(GatewayAdmin, ApiKeyLastUseIsWrittenInBatchesNotPerRequest) {
  auto& gw = gateway();
  const auto bid = gw.new_business("lastuse");
  const auto admin = gw.user_token(bid, "admin");
  const std::string base = "/api/v1/admin/businesses/" + bid + "/api-keys";
  auto key = gw.request("POST", base, admin, {{"name", "reader"}, {"scopes", {"read"}}});
  ASSERT_EQ(key.status, 201) << key.body;
  const auto secret = key.json["secret"].get<std::string>();
  auto last_used = [&] {
    auto listed = gw.request("GET", base, admin);
    for (const auto& k : listed.json["items"]) {
      if (k["id"] == key.json["id"]) return k["last_used_at"];
    }
    return json("missing");
  };
  (void)gw.auth().flush_api_key_usage();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(gw.request("GET", "/api/v1/calls", secret).status, 200);
  EXPECT_TRUE(last_used().is_null()) << "no write per request";
  EXPECT_EQ(gw.auth().flush_api_key_usage(), 1U) << "three uses, one write";
  const auto used = last_used();
  ASSERT_TRUE(used.is_string()) << used;
  EXPECT_TRUE(used.get<std::string>().starts_with("20"));
  EXPECT_EQ(gw.auth().flush_api_key_usage(), 0U) << "nothing new to write";
}

// ---- calls -----------------------------------------------------------------------------

TEST(GatewayCalls, ListFiltersSortsAndPages) {
  auto& gw = gateway();
  const auto bid = gw.new_business("list");
  const auto viewer = gw.user_token(bid, "viewer");
  for (int i = 0; i < 7; ++i) {
    seed_call(bid, "c" + std::to_string(i), i % 2 == 0 ? "Pune" : "Austin", -0.9 + 0.3 * i, 0.1 * i,
              storage::CallStatus::kPending);
  }
  auto all = gw.request("GET", "/api/v1/calls?limit=3", viewer);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.json["items"].size(), 3u);
  std::set<std::int64_t> seen;
  std::string cursor = all.json["next_cursor"];
  for (const auto& c : all.json["items"]) seen.insert(c["id"].get<std::int64_t>());
  while (!cursor.empty()) {
    auto page = gw.request("GET", "/api/v1/calls?limit=3&cursor=" + cursor, viewer);
    ASSERT_EQ(page.status, 200) << page.body;
    for (const auto& c : page.json["items"]) EXPECT_TRUE(seen.insert(c["id"].get<std::int64_t>()).second);
    cursor = page.json["next_cursor"].is_null() ? "" : page.json["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(seen.size(), 7u);
  auto pune = gw.request("GET", "/api/v1/calls?city=Pune&sentiment_min=0", viewer);
  ASSERT_EQ(pune.status, 200);
  for (const auto& c : pune.json["items"]) {
    EXPECT_EQ(c["city"], "Pune");
    EXPECT_GE(c["customer_sentiment"].get<double>(), 0);
  }
  EXPECT_EQ(pune.json["items"].size(), 2u);  // i = 4, 6
  auto sorted = gw.request("GET", "/api/v1/calls?sort=sentiment&order=asc&talk_ratio_max=0.35", viewer);
  ASSERT_EQ(sorted.status, 200);
  ASSERT_EQ(sorted.json["items"].size(), 4u);
  EXPECT_LT(sorted.json["items"][0]["customer_sentiment"].get<double>(),
            sorted.json["items"][1]["customer_sentiment"].get<double>());
}

// direction, qa_min / qa_max and category_id: each filter, combined, in CSV and in the bulk
// reprocess; bad values are 400 with the reason.
TEST(GatewayCalls, DirectionQaAndCategoryFilters) {
  auto& gw = gateway();
  const auto bid = gw.new_business("lf");
  const auto viewer = gw.user_token(bid, "viewer");
  const auto admin = gw.user_token(bid, "admin");
  auto& db = StorageEnvironment::db();
  storage::MySqlRuleSetRepository categories(db, storage::MySqlRuleSetRepository::Kind::kCategories);
  storage::MySqlCategoryMatchRepository matches(db);
  const auto refund = categories.create(tenant(bid), {0, "refund", "[]", true, 1}).value();
  struct Seeded {
    const char* direction;
    std::optional<double> qa;
    bool refund;
  };
  const std::vector<Seeded> seeded = {
      {"inbound", 0.9, true}, {"outbound", 0.4, true}, {"inbound", std::nullopt, false}, {"unknown", 0.6, false}};
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < seeded.size(); ++i) {
    const auto id = seed_call(bid, fmt::format("lf{}", i), "Pune", 0, 0.5, storage::CallStatus::kAnalyzed);
    ASSERT_TRUE(db.execute("UPDATE call_records SET direction = ?, qa_score = ? WHERE id = ? AND bid = ?",
                           {seeded[i].direction, seeded[i].qa, id, bid}));
    if (seeded[i].refund) {
      ASSERT_TRUE(matches.replace(tenant(bid), id, {{refund, "[]"}}));
    }
    ids.push_back(id);
  }
  auto ids_of = [&](const std::string& query) {
    auto r = gw.request("GET", "/api/v1/calls?" + query, viewer);
    EXPECT_EQ(r.status, 200) << query << " " << r.body;
    std::set<std::int64_t> out;
    for (const auto& c : r.json["items"]) out.insert(c["id"].get<std::int64_t>());
    return out;
  };
  const std::string cat = "category_id=" + std::to_string(refund);
  EXPECT_EQ(ids_of(""), (std::set{ids[0], ids[1], ids[2], ids[3]}));
  EXPECT_EQ(ids_of("direction=inbound"), (std::set{ids[0], ids[2]}));
  EXPECT_EQ(ids_of("direction=unknown"), (std::set{ids[3]}));
  EXPECT_EQ(ids_of("qa_min=0.5"), (std::set{ids[0], ids[3]}));
  EXPECT_EQ(ids_of("qa_max=0.6"), (std::set{ids[1], ids[3]}));  // the unscored call is out
  EXPECT_EQ(ids_of("qa_min=0.4&qa_max=0.6&sort=qa_score&order=asc"), (std::set{ids[1], ids[3]}));
  EXPECT_EQ(ids_of(cat), (std::set{ids[0], ids[1]}));
  EXPECT_EQ(ids_of(cat + "&direction=outbound&qa_max=0.5"), (std::set{ids[1]}));
  EXPECT_TRUE(ids_of(cat + "&direction=unknown").empty());
  // Paged one row at a time under a filter: every match once.
  std::set<std::int64_t> paged;
  std::string cursor;
  for (int guard = 0; guard < 5; ++guard) {
    auto r = gw.request(
        "GET", "/api/v1/calls?limit=1&sort=qa_score&" + cat + (cursor.empty() ? "" : "&cursor=" + cursor), viewer);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& c : r.json["items"]) EXPECT_TRUE(paged.insert(c["id"].get<std::int64_t>()).second);
    if (r.json["next_cursor"].is_null()) break;
    cursor = r.json["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(paged, (std::set{ids[0], ids[1]}));

  // CSV with a filter: the header and the one outbound call.
  auto csv = gw.request("GET", "/api/v1/calls?format=csv&direction=outbound", viewer);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 2) << csv.body;
  EXPECT_TRUE(csv.body.starts_with("id,")) << csv.body;
  EXPECT_NE(csv.body.find("\n" + std::to_string(ids[1]) + ",lf1,"), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find(",outbound,"), std::string::npos) << csv.body;

  for (const auto& [query, reason] : std::vector<std::pair<std::string, std::string>>{
           {"direction=sideways", "direction must be inbound|outbound|unknown"},
           {"direction=", "direction must be inbound|outbound|unknown"},
           {"qa_min=80", "qa_min must be a number 0..1"},
           {"qa_max=-0.1", "qa_max must be a number 0..1"},
           {"qa_min=high", "qa_min must be a number 0..1"},
           {"qa_min=0.8&qa_max=0.2", "qa_min must not be above qa_max"},
           {"category_id=0", "category_id must be an integer"},
           {"category_id=refund", "category_id must be an integer"},
           {"format=csv&direction=in", "direction must be inbound|outbound|unknown"}}) {
    auto r = gw.request("GET", "/api/v1/calls?" + query, viewer);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    EXPECT_NE(r.body.find(reason), std::string::npos) << query << " " << r.body;
  }

  // The bulk reprocess takes the same filters: the two refund calls, and 400 on a bad one.
  EXPECT_EQ(gw.request("POST", "/api/v1/calls/reprocess?direction=sideways", admin, {{"stage", "analyze"}}).status,
            400);
  auto bulk = gw.request("POST", "/api/v1/calls/reprocess?" + cat, admin, {{"stage", "analyze"}});
  ASSERT_EQ(bulk.status, 202) << bulk.body;
  EXPECT_EQ(bulk.json["queued"], 2);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(gw.request("GET", "/api/v1/calls/" + std::to_string(ids[i]), admin).json["status"],
              seeded[i].refund ? "transcribed" : "analyzed")
        << i;
  }
}

TEST(GatewayCalls, InjectionStringsInEveryFilterAndPathAre400OrEmptyNever500) {
  auto& gw = gateway();
  const auto bid = gw.new_business("inject");
  const auto viewer = gw.user_token(bid, "viewer");
  seed_call(bid, "only", "Pune", 0.1, 0.5, storage::CallStatus::kPending);
  const std::vector<std::string> payloads = {"'",
                                             "' OR '1'='1",
                                             "1; DROP TABLE call_records; --",
                                             "\" OR \"\"=\"",
                                             "1 UNION SELECT password_hash FROM users",
                                             "%27%20OR%201%3D1",
                                             "%00",
                                             "../../etc/passwd",
                                             "' AND SLEEP(5) --",
                                             "999999999999999999999999"};
  const std::vector<std::string> params = {
      "agent_id",       "from",       "to",       "sentiment_min", "sentiment_max", "talk_ratio_min",
      "talk_ratio_max", "status",     "category", "language",      "city",          "q",
      "sort",           "order",      "limit",    "cursor",        "direction",     "qa_min",
      "qa_max",         "category_id"};
  for (const auto& p : params) {
    for (const auto& v : payloads) {
      const auto path = "/api/v1/calls?" + p + "=" + pct(v);
      auto r = gw.request("GET", path, viewer);
      ASSERT_TRUE(r.status == 400 || (r.status == 200 && r.json["items"].empty()))
          << path << " -> " << r.status << " " << r.body;
    }
  }
  for (const auto& v : payloads) {
    const auto enc = pct(v);
    for (const std::string& path :
         {"/api/v1/calls/" + enc, "/api/v1/calls/" + enc + "/audio", "/api/v1/calls/" + enc + "/transcript",
          "/api/v1/calls/" + enc + "/notes", "/api/v1/admin/businesses/" + enc + "/users"}) {
      auto r = gw.request("GET", path, viewer);
      EXPECT_TRUE(r.status == 400 || r.status == 404) << path << " -> " << r.status << " " << r.body;
    }
  }
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", viewer).json["items"].size(), 1u);
}

TEST(GatewayCalls, DetailAudioRangesTranscriptExportAndNotes) {
  auto& gw = gateway();
  const auto bid = gw.new_business("detail");
  const auto analyst = gw.user_token(bid, "analyst");
  const auto viewer = gw.user_token(bid, "viewer");
  // A viewer hears the raw recording only where the business does not redact personal data
  // (the redacted one: api_pii_redaction_test).
  ASSERT_EQ(gw.request("PUT", "/api/v1/admin/businesses/" + bid + "/pipeline-config",
                       gw.login("admin@" + bid + ".test", Gateway::kPassword), {{"redact_pii", false}})
                .status,
            200);
  const std::string key = bid + "/rec.wav";
  std::filesystem::create_directories(gw.objects / bid);
  std::string audio(1000, '\0');
  for (std::size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<char>(i % 251);
  std::ofstream(gw.objects / key, std::ios::binary) << audio;
  const auto id = std::to_string(seed_call(bid, "d1", "Pune", -0.4, 0.55, storage::CallStatus::kAnalyzed, key));

  auto d = gw.request("GET", "/api/v1/calls/" + id, viewer);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json["status"], "analyzed");
  EXPECT_DOUBLE_EQ(d.json["metrics"]["agent_talk_ratio"].get<double>(), 0.55);
  EXPECT_EQ(d.json["transcript"]["segments"].size(), 2u);
  EXPECT_TRUE(d.json["analyses"].is_array());
  EXPECT_TRUE(d.json["escalations"].is_array());
  EXPECT_TRUE(d.json["notes"].empty());

  auto full = gw.request("GET", "/api/v1/calls/" + id + "/audio", viewer);
  EXPECT_EQ(full.status, 200);
  EXPECT_EQ(full.body, audio);
  EXPECT_EQ(full.header("Content-Type"), "audio/wav");
  EXPECT_EQ(full.header("Accept-Ranges"), "bytes");
  auto part = gw.request("GET", "/api/v1/calls/" + id + "/audio", viewer, nullptr, {{"Range", "bytes=100-199"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, audio.substr(100, 100));
  EXPECT_EQ(part.header("Content-Range"), "bytes 100-199/1000");
  auto tail = gw.request("GET", "/api/v1/calls/" + id + "/audio", viewer, nullptr, {{"Range", "bytes=-10"}});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, audio.substr(990));
  auto open = gw.request("GET", "/api/v1/calls/" + id + "/audio", viewer, nullptr, {{"Range", "bytes=900-"}});
  EXPECT_EQ(open.body, audio.substr(900));
  auto past = gw.request("GET", "/api/v1/calls/" + id + "/audio", viewer, nullptr, {{"Range", "bytes=5000-6000"}});
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.header("Content-Range"), "bytes */1000");

  auto txt = gw.request("GET", "/api/v1/calls/" + id + "/transcript?format=txt", viewer);
  ASSERT_EQ(txt.status, 200);
  EXPECT_EQ(txt.body,
            "[00:00:00.000] agent: thank you for calling\n[00:00:03.000] customer: my refund never arrived\n");
  auto srt = gw.request("GET", "/api/v1/calls/" + id + "/transcript?format=srt", viewer);
  EXPECT_EQ(srt.body,
            "1\n00:00:00,000 --> 00:00:02,500\nagent: thank you for calling\n\n"
            "2\n00:00:03,000 --> 00:01:05,500\ncustomer: my refund never arrived\n\n");
  auto js = gw.request("GET", "/api/v1/calls/" + id + "/transcript?format=json", viewer);
  EXPECT_EQ(js.json["segments"][1]["text"], "my refund never arrived");
  EXPECT_EQ(gw.request("GET", "/api/v1/calls/" + id + "/transcript?format=docx", viewer).status, 400);

  EXPECT_EQ(gw.request("POST", "/api/v1/calls/" + id + "/notes", viewer, {{"body", "no"}}).status, 403);
  auto note = gw.request("POST", "/api/v1/calls/" + id + "/notes", analyst, {{"body", "follow up"}});
  ASSERT_EQ(note.status, 201) << note.body;
  EXPECT_EQ(gw.request("POST", "/api/v1/calls/" + id + "/notes", analyst, {{"body", ""}}).status, 400);
  auto notes = gw.request("GET", "/api/v1/calls/" + id + "/notes", viewer);
  ASSERT_EQ(notes.json["items"].size(), 1u);
  EXPECT_EQ(notes.json["items"][0]["body"], "follow up");
  const auto nid = std::to_string(note.json["id"].get<std::int64_t>());
  EXPECT_EQ(gw.request("DELETE", "/api/v1/calls/" + id + "/notes/" + nid, analyst).status, 204);
  EXPECT_EQ(gw.request("DELETE", "/api/v1/calls/" + id + "/notes/" + nid, analyst).status, 404);

  // Each analysis names its agent config and kind (null once the config is deleted).
  auto& db = StorageEnvironment::db();
  storage::MySqlAgentConfigRepository configs(db);
  storage::MySqlAnalysisRepository analyses(db);
  const auto t = tenant(bid);
  auto config_id = [&](const std::string& name, storage::AgentKind kind) -> storage::Id {
    const auto all = configs.list(t, false);
    EXPECT_TRUE(all);
    for (const auto& c : all.value()) {
      if (c.name == name) return c.id;
    }
    storage::AgentConfig c;
    c.name = name;
    c.kind = kind;
    c.prompt_template = kind == storage::AgentKind::kLlm ? "Summarise {{transcript}}" : "";
    return *configs.create(t, c);
  };
  const auto qa = config_id("builtin.qa", storage::AgentKind::kBuiltin);
  const auto upsell = config_id("upsell_probe", storage::AgentKind::kLlm);
  const auto gone = config_id("retired_probe", storage::AgentKind::kLlm);
  storage::CallAnalysisResult res;
  res.analyses = {storage::AnalysisInput{qa, 1, R"({"score":0.8})", "", "", 0, 0, 0},
                  storage::AnalysisInput{upsell, 1, R"({"upsell":true})", "llama3", "", 0, 0, 0},
                  storage::AnalysisInput{gone, 1, R"({"old":1})", "llama3", "", 0, 0, 0}};
  res.at = storage::to_timestamp(std::chrono::system_clock::now());
  storage::MySqlCallRepository call_rows(db);
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(call_rows, t, std::stoll(id)));
  ASSERT_TRUE(analyses.record(t, std::stoll(id), res).value().recorded);
  ASSERT_TRUE(configs.remove(t, gone));
  auto named = gw.request("GET", "/api/v1/calls/" + id, viewer);
  ASSERT_EQ(named.status, 200) << named.body;
  std::map<storage::Id, json> by_config;
  for (const auto& a : named.json["analyses"]) by_config[a["agent_config_id"].get<storage::Id>()] = a;
  ASSERT_EQ(by_config.size(), 3U) << named.body;
  EXPECT_EQ(by_config[qa]["agent"], "builtin.qa");
  EXPECT_EQ(by_config[qa]["kind"], "builtin");
  EXPECT_EQ(by_config[qa]["output"]["score"], 0.8);
  EXPECT_EQ(by_config[upsell]["agent"], "upsell_probe");
  EXPECT_EQ(by_config[upsell]["kind"], "llm");
  EXPECT_EQ(by_config[upsell]["model"], "llama3");
  EXPECT_TRUE(by_config[gone]["agent"].is_null()) << by_config[gone];
  EXPECT_TRUE(by_config[gone]["kind"].is_null());
}

TEST(GatewayCalls, ReprocessPublishesAndDeleteRemovesEverything) {
  auto& gw = gateway();
  const auto bid = gw.new_business("repro");
  const auto admin = gw.user_token(bid, "admin");
  const auto viewer = gw.user_token(bid, "viewer");
  const auto failed = seed_call(bid, "f1", "Pune", 0, 0.5, storage::CallStatus::kFailed, bid + "/f1.wav");
  const auto pending = seed_call(bid, "p1", "Pune", 0, 0.5, storage::CallStatus::kPending, bid + "/p1.wav");
  const auto done = seed_call(bid, "a1", "Austin", 0, 0.5, storage::CallStatus::kAnalyzed, bid + "/a1.wav");
  const auto path = [](storage::Id id) { return "/api/v1/calls/" + std::to_string(id); };

  EXPECT_EQ(gw.request("POST", path(failed) + "/reprocess", viewer, {{"stage", "transcribe"}}).status, 403);
  EXPECT_EQ(gw.request("POST", path(failed) + "/reprocess", admin, {{"stage", "sideways"}}).status, 400);
  auto r = gw.request("POST", path(failed) + "/reprocess", admin, {{"stage", "transcribe"}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto msg = take_message(queue::work_queue(queue::Stage::kTranscribe, bid));
  ASSERT_TRUE(msg);
  EXPECT_EQ(json::parse(msg->body)["call_id"], std::to_string(failed));
  EXPECT_EQ(gw.request("GET", path(failed), admin).json["status"], "pending");
  // A call still in the pipeline is not reset.
  EXPECT_EQ(gw.request("POST", path(pending) + "/reprocess", admin, {{"stage", "transcribe"}}).status, 409);

  // Analyze-only: keeps the transcript, walks to transcribed, queues analyze.
  auto a = gw.request("POST", path(done) + "/reprocess", admin, {{"stage", "analyze"}});
  ASSERT_EQ(a.status, 202) << a.body;
  auto amsg = take_message(queue::work_queue(queue::Stage::kAnalyze, bid));
  ASSERT_TRUE(amsg);
  EXPECT_EQ(json::parse(amsg->body)["transcript_id"], std::to_string(done));
  EXPECT_EQ(gw.request("GET", path(done), admin).json["status"], "transcribed");

  // Bulk by filter: the pending call is skipped... once the earlier one is failed again.
  storage::MySqlCallRepository calls(StorageEnvironment::db());
  ASSERT_TRUE(calls.mark_failed(tenant(bid), failed, "transcribe", "again"));
  auto bulk = gw.request("POST", "/api/v1/calls/reprocess?city=Pune", admin, {{"stage", "transcribe"}});
  ASSERT_EQ(bulk.status, 202) << bulk.body;
  EXPECT_EQ(bulk.json["queued"], 1);
  EXPECT_EQ(bulk.json["skipped"], 1);
  EXPECT_TRUE(take_message(queue::work_queue(queue::Stage::kTranscribe, bid)));
  EXPECT_EQ(gw.request("POST", "/api/v1/calls/reprocess?city='", admin, {{"stage", "transcribe"}}).json["queued"], 0);
  EXPECT_EQ(gw.request("POST", "/api/v1/calls/reprocess?limit=5", admin, {{"stage", "transcribe"}}).status, 400);

  EXPECT_EQ(gw.request("DELETE", path(done), viewer).status, 403);
  EXPECT_EQ(gw.request("DELETE", path(done), admin).status, 204);
  EXPECT_EQ(gw.request("GET", path(done), admin).status, 404);
  EXPECT_EQ(gw.request("GET", path(done) + "/transcript", admin).status, 404);
  EXPECT_EQ(gw.request("DELETE", path(done), admin).status, 404);
}

// ---- isolation: api_route_matrix_test walks every route for every caller kind -------------

// ---- HTTP behaviour --------------------------------------------------------------------

TEST(GatewayHttp, OversizeBodyIs413InTheErrorShape) {
  auto& gw = gateway();
  auto r = gw.raw_request("POST", "/api/v1/auth/login", std::string(200 * 1024, 'x'), {});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.json["error"]["code"], "payload_too_large");
}

TEST(GatewayHttp, RequestIdsGzipCorsAndSystemRoutes) {
  auto& gw = gateway();
  auto echoed = gw.raw_request("GET", "/healthz", "", {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(echoed.header("X-Request-Id"), "abc-123");
  auto made = gw.raw_request("GET", "/healthz", "", {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_EQ(made.header("X-Request-Id").size(), 16u);
  auto zipped = gw.raw_request("GET", "/api/v1/openapi.json", "", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(zipped.status, 200);
  EXPECT_EQ(zipped.header("Content-Encoding"), "gzip");
  auto pre = gw.raw_request("OPTIONS", "/api/v1/calls", "",
                            {{"Origin", "https://dash.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("Access-Control-Allow-Origin"), "https://dash.example");
  EXPECT_EQ(gw.raw_request("OPTIONS", "/api/v1/calls", "", {{"Origin", "https://evil.example"}}).status, 403);
  auto cors = gw.raw_request("GET", "/healthz", "", {{"Origin", "https://dash.example"}});
  EXPECT_EQ(cors.header("Access-Control-Allow-Origin"), "https://dash.example");
  EXPECT_EQ(
      gw.raw_request("GET", "/healthz", "", {{"Origin", "https://evil.example"}}).header("Access-Control-Allow-Origin"),
      "");
  EXPECT_EQ(gw.request("GET", "/readyz").status, 200);
  // The access logger counts a request after its response is written: poll.
  HttpReply metrics;
  EXPECT_TRUE(wait_until(
      [&] {
        metrics = gw.request("GET", "/metrics");
        return metrics.body.find("earshot_http_request_duration_seconds_bucket{route=\"/healthz\"") !=
               std::string::npos;
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("earshot_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
            std::string::npos);
}

TEST(GatewayHttp, RateLimitInRedisAnswers429WithRetryAfter) {
  // A separate gateway with a small per-caller bucket (3 per minute).
  Gateway small({true, 1'000'000, 3, std::chrono::seconds(60)});
  const auto bid = small.new_business("rl");
  const auto token = small.login("admin@" + bid + ".test", Gateway::kPassword);
  int ok = 0;
  HttpReply limited;
  for (int i = 0; i < 6 && limited.status != 429; ++i) {
    auto r = small.request("GET", "/api/v1/calls", token);
    if (r.status == 200) {
      ++ok;
    } else {
      limited = r;
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.json["error"]["code"], "rate_limited");
  const int retry = std::stoi(limited.header("Retry-After"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 20);
}

// ---- OpenAPI ---------------------------------------------------------------------------

TEST(GatewayOpenApi, EveryRouteIsDocumentedAndEveryDocumentedRouteExists) {
  auto& gw = gateway();
  std::ifstream in(std::string(EARSHOT_SOURCE_DIR) + "/proto/openapi.json");
  ASSERT_TRUE(in);
  const json doc = json::parse(in);
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 3), "3.1");
  std::set<std::string> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      std::string m = method;
      for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      documented.insert(m + " " + path);
    }
  }
  std::set<std::string> served;
  for (const auto& r : gw.router.routes()) served.insert(r.method + " " + r.pattern);
  for (const auto& s : served) EXPECT_TRUE(documented.count(s)) << "undocumented route: " << s;
  for (const auto& d : documented) EXPECT_TRUE(served.count(d)) << "documented but not served: " << d;
  // The served document is the repository's.
  auto got = gw.request("GET", "/api/v1/openapi.json");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.json, doc);
}

}  // namespace
}  // namespace earshot::testing

namespace earshot::testing {
namespace {

TEST(EarshotBusinessCommand, RegistersABusinessWhoseAdminCanLogIn) {
  auto& gw = gateway();
  const std::string bid = "cli-" + unique_suffix();
  const auto ep = endpoints();
  const std::string env = fmt::format(
      "env EARSHOT_MYSQL_HOST={} EARSHOT_MYSQL_PORT={} EARSHOT_MYSQL_USER={} EARSHOT_MYSQL_PASSWORD={} "
      "EARSHOT_MYSQL_DATABASE={} EARSHOT_AMQP_URL='{}' EARSHOT_MASTER_KEYS='k:{}' EARSHOT_MASTER_KEY_ID=k "
      "EARSHOT_BUSINESS_ADMIN_PASSWORD='{}' ",
      ep.mysql_host, ep.mysql_port, ep.mysql_user, ep.mysql_password, StorageEnvironment::database_name(), ep.amqp_url,
      crypto::Keyring::generate_key_base64(), Gateway::kPassword);
  const std::string bin = std::string(EARSHOT_BIN_DIR) + "/earshot";
  auto r = run_command(env + bin + " business create --bid " + bid + " --name 'From CLI' --admin-email boss@" + bid +
                       ".test");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  gw.businesses.push_back(bid);
  EXPECT_NE(r.output.find("registered business '" + bid + "'"), std::string::npos);
  EXPECT_TRUE(gw.topology_admin->queue_depth(queue::work_queue(queue::Stage::kAnalyze, bid)));
  auto login = gw.request("POST", "/api/v1/auth/login", "",
                          {{"email", "boss@" + bid + ".test"}, {"password", Gateway::kPassword}});
  EXPECT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.json["role"], "admin");
  auto again = run_command(env + bin + " business create --bid " + bid + " --name x");
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_EQ(run_command(env + bin + " business create --bid NOT_VALID --name x").exit_code, 2);
  EXPECT_EQ(run_command(bin + " business create --name x").exit_code, 2);
}

}  // namespace
}  // namespace earshot::testing

namespace earshot::testing {
namespace {

// ---- signed recording links -----------------------------------------------------------

// A recording of `bid` in the gateway's local store, on a new call; returns the call id.
std::string call_with_recording(Gateway& gw, const std::string& bid, const std::string& name,
                                const std::string& bytes) {
  const std::string key = bid + "/" + name;
  std::filesystem::create_directories(gw.objects / bid);
  std::ofstream(gw.objects / key, std::ios::binary) << bytes;
  return std::to_string(seed_call(bid, name, "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed, key));
}

std::string error_message(const HttpReply& r) {
  return r.json.is_object() && r.json.contains("error") ? r.json["error"].value("message", "") : r.body;
}

// The query string of a link, "bid=..&exp=..&sig=..", split into its values.
std::map<std::string, std::string> link_query(const std::string& url) {
  std::map<std::string, std::string> out;
  std::string q = url.substr(url.find('?') + 1);
  std::size_t i = 0;
  while (i <= q.size()) {
    const auto amp = std::min(q.find('&', i), q.size());
    const std::string kv = q.substr(i, amp - i);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
    i = amp + 1;
  }
  return out;
}

TEST(GatewayAudioLinkAttack, ASignedLinkServesOnlyItsOwnCallOfItsOwnBusinessUntilItExpires) {
  auto& gw = gateway();
  const auto x = gw.new_business("link-x");
  const auto y = gw.new_business("link-y");
  const auto viewer = gw.user_token(x, "viewer");
  // The links' rules, with the raw recording served to a viewer (a business that redacts
  // personal data serves its redacted copy instead: api_pii_redaction_test).
  ASSERT_EQ(gw.request("PUT", "/api/v1/admin/businesses/" + x + "/pipeline-config",
                       gw.login("admin@" + x + ".test", Gateway::kPassword), {{"redact_pii", false}})
                .status,
            200);
  std::string audio(1000, '\0');
  for (std::size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<char>(i % 251);
  const auto a = call_with_recording(gw, x, "a.wav", audio);
  const auto a2 = call_with_recording(gw, x, "a2.wav", "second recording of x");
  const auto b = call_with_recording(gw, y, "b.wav", "y's secret recording");
  const auto silent = std::to_string(seed_call(x, "silent", "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed));

  // A viewer may ask; the link names the call, the business, the expiry and the signature.
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto made = gw.request("POST", "/api/v1/calls/" + a + "/audio-url", viewer);
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string url = made.json["url"];
  ASSERT_TRUE(url.starts_with("/api/v1/calls/" + a + "/audio?")) << url;
  auto q = link_query(url);
  EXPECT_EQ(q["bid"], x);
  EXPECT_NEAR(static_cast<double>(std::stoll(q["exp"])), static_cast<double>(now + 600), 5.0);
  EXPECT_EQ(q["sig"].size(), 43U);
  EXPECT_EQ(made.json["expires_at"],
            queue::format_utc(std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(q["exp"])))));
  // No recording, another business's call, an unknown call: 404.
  EXPECT_EQ(gw.request("POST", "/api/v1/calls/" + silent + "/audio-url", viewer).status, 404);
  EXPECT_EQ(gw.request("POST", "/api/v1/calls/" + b + "/audio-url", viewer).status, 404);
  EXPECT_EQ(gw.request("POST", "/api/v1/calls/999999999/audio-url", viewer).status, 404);
  EXPECT_EQ(gw.request("POST", "/api/v1/calls/" + a + "/audio-url").status, 401);

  // Without any credentials: the whole recording, and byte ranges (206) as <audio> asks.
  auto full = gw.request("GET", url);
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(full.body, audio);
  EXPECT_EQ(full.header("Content-Type"), "audio/wav");
  EXPECT_EQ(full.header("Accept-Ranges"), "bytes");
  auto part = gw.request("GET", url, "", nullptr, {{"Range", "bytes=100-199"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, audio.substr(100, 100));
  EXPECT_EQ(part.header("Content-Range"), "bytes 100-199/1000");
  auto open = gw.request("GET", url, "", nullptr, {{"Range", "bytes=900-"}});
  EXPECT_EQ(open.status, 206);
  EXPECT_EQ(open.body, audio.substr(900));

  auto refused = [&](const std::string& path, const std::string& reason) {
    auto r = gw.request("GET", path);
    EXPECT_EQ(r.status, 401) << path << " " << r.body;
    EXPECT_EQ(error_message(r), reason) << path;
    EXPECT_EQ(r.body.find("recording"), std::string::npos);
  };
  const std::string sig = q["sig"], exp = q["exp"];
  auto link = [](const std::string& call, const std::string& bid, const std::string& e, const std::string& s) {
    return fmt::format("/api/v1/calls/{}/audio?bid={}&exp={}&sig={}", call, bid, e, s);
  };
  // Call A's signature on call A2 (same business) and on Y's call B.
  refused(link(a2, x, exp, sig), "audio link invalid");
  refused(link(b, x, exp, sig), "audio link invalid");
  refused(link(b, y, exp, sig), "audio link invalid");
  refused(link(a, y, exp, sig), "audio link invalid");
  // A MAC made with the server's own key for business X and Y's call id: authentic for X, but
  // X has no such call (every lookup is scoped by the link's business).
  const api::AudioLinkSigner server(api::audio_link_key(*gw.keys), SystemClock::instance());
  const auto forged_exp = std::stoll(exp);
  const std::string forged_sig = api::base64url_encode(server.mac(x, std::stoll(b), forged_exp));
  auto cross = gw.request("GET", link(b, x, exp, forged_sig));
  EXPECT_EQ(cross.status, 404) << cross.body;
  EXPECT_EQ(cross.body.find("secret"), std::string::npos);
  refused(link(b, y, exp, forged_sig), "audio link invalid");  // X's MAC presented as Y's
  // Expired (signed 11 minutes ago), and an authentic expiry an hour ahead.
  FakeClock past;
  past.set_wall(std::chrono::system_clock::now() - std::chrono::minutes(11));
  auto old = *api::AudioLinkSigner(api::audio_link_key(*gw.keys), past).sign(x, std::stoll(a));
  refused(link(a, x, std::to_string(old.exp), old.sig), "audio link expired");
  FakeClock future;
  future.set_wall(std::chrono::system_clock::now() + std::chrono::hours(1));
  auto far = *api::AudioLinkSigner(api::audio_link_key(*gw.keys), future).sign(x, std::stoll(a));
  refused(link(a, x, std::to_string(far.exp), far.sig), "audio link invalid");
  // exp tampered, the signature truncated, garbage, empty or missing, the business missing.
  refused(link(a, x, std::to_string(forged_exp + 600), sig), "audio link invalid");
  refused(link(a, x, std::to_string(forged_exp - 1), sig), "audio link invalid");
  refused(link(a, x, exp + "0", sig), "audio link invalid");
  refused(link(a, x, exp, sig.substr(0, 42)), "audio link invalid");
  refused(link(a, x, exp, sig.substr(0, 10)), "audio link invalid");
  refused(link(a, x, exp, std::string(43, 'A')), "audio link invalid");
  refused(link(a, x, exp, "%27%20OR%201%3D1--"), "audio link invalid");
  refused(link(a, x, exp, ""), "audio link invalid");
  refused(fmt::format("/api/v1/calls/{}/audio?bid={}&exp={}", a, x, exp), "audio link invalid");
  refused(fmt::format("/api/v1/calls/{}/audio?exp={}&sig={}", a, exp, sig), "audio link invalid");
  refused(link(a, "NOT%20A%20BID", exp, sig), "audio link invalid");
  // The link is no credential anywhere else: transcript, detail, notes, another route's audio-url.
  for (const std::string other : {"/transcript", "", "/notes", "/audio-url"}) {
    const std::string path = "/api/v1/calls/" + a + other + url.substr(url.find('?'));
    auto r = gw.request(other == "/audio-url" ? "POST" : "GET", path);
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_EQ(error_message(r), "credentials required") << path;
  }
  // With credentials the route works as before, whatever the query says.
  auto bearer = gw.request("GET", link(a, x, exp, "garbage"), viewer);
  EXPECT_EQ(bearer.status, 200);
  EXPECT_EQ(bearer.body, audio);
  auto other_bearer = gw.request("GET", url, gw.user_token(y, "admin"));
  EXPECT_EQ(other_bearer.status, 404);  // Y's admin with X's link: Y's own view, no such call
  // A business disabled since: its links end with it.
  ASSERT_EQ(gw.request("PATCH", "/api/v1/admin/businesses/" + x, gw.platform_token, {{"status", "disabled"}}).status,
            200);
  refused(url, "audio link invalid");
}

TEST(GatewayAudioLinkAttack, TheSignatureNeverReachesTheLog) {
  auto& gw = gateway();
  const auto bid = gw.new_business("link-log");
  const auto id = call_with_recording(gw, bid, "r.wav", "recording bytes");
  // The admin's link (it plays the raw recording: the call has no redacted copy).
  auto made =
      gw.request("POST", "/api/v1/calls/" + id + "/audio-url", gw.login("admin@" + bid + ".test", Gateway::kPassword));
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string url = made.json["url"];
  const std::string sig = link_query(url)["sig"];
  // The gateway's threads write while this thread reads: a sink that locks for both (and
  // that outlives this test, should a thread still hold the logger it belongs to).
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10'000);
  const auto captured = [&sink] {
    std::string text;
    for (const auto& line : sink->last_formatted()) text += line;
    return text;
  };
  log::init_with_sink("gateway-test", "debug", log::Format::kJson, sink);
  auto ok = gw.request("GET", url);
  auto bad = gw.request("GET", url.substr(0, url.size() - 1));  // the signature cut short
  // The access log line is written once the response is out: wait for both.
  const bool logged = wait_until(
      [&] {
        const std::string text = captured();
        std::size_t n = 0;
        for (auto p = text.find("/api/v1/calls/" + id + "/audio"); p != std::string::npos;
             p = text.find("/api/v1/calls/" + id + "/audio", p + 1)) {
          ++n;
        }
        return n >= 2;
      },
      std::chrono::seconds(5));
  const std::string text = captured();
  log::init("gateway-test", "warn");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(bad.status, 401);
  EXPECT_TRUE(logged) << text;
  EXPECT_EQ(text.find(sig), std::string::npos) << text;
  EXPECT_EQ(text.find(sig.substr(0, 20)), std::string::npos) << text;
}

TEST(GatewayAnalytics, LeaderboardOverviewRegionsAndCsv) {
  auto& gw = gateway();
  const auto bid = gw.new_business("stats");
  const auto viewer = gw.user_token(bid, "viewer");
  auto& db = StorageEnvironment::db();
  storage::MySqlHumanAgentRepository agents(db);
  storage::MySqlCallRepository calls(db);
  storage::MySqlAnalysisRepository analyses(db);
  const auto t = tenant(bid);
  const auto now = storage::to_timestamp(std::chrono::system_clock::now());
  const auto ann = *agents.upsert(t, {"ann", "Ann", "north", "Pune"});
  const auto bob = *agents.upsert(t, {"bob", "Bob", "south", "Austin"});
  struct Seed {
    storage::Id agent;
    const char* city;
    double sentiment, talk, qa;
    bool escalate;
  };
  int n = 0;
  for (const Seed& sd : {Seed{ann, "Pune", 0.6, 0.40, 0.9, false}, Seed{ann, "Pune", 0.2, 0.45, 0.7, false},
                         Seed{bob, "Austin", -0.5, 0.70, 0.4, true}}) {
    storage::CallInput in;
    in.external_id = "s" + std::to_string(++n);
    in.human_agent_id = sd.agent;
    in.city = sd.city;
    in.issue_category = "billing";
    in.started_at = now - std::chrono::hours(2);
    in.metadata_json = std::string(R"({"state":")") + (sd.city == std::string("Pune") ? "MH" : "TX") + "\"}";
    const auto id = calls.upsert(t, in)->id;
    storage::MySqlMetricsRepository metrics(db);
    storage::CallMetrics m;
    m.call_id = id;
    m.agent_talk_ratio = sd.talk;
    m.customer_sentiment = sd.sentiment;
    ASSERT_TRUE(metrics.put(t, m));
    storage::CallAnalysisResult r;
    r.qa_score = sd.qa;
    r.at = in.started_at;
    if (sd.escalate) r.escalation_reason = "angry customer";
    ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls, t, id));
    ASSERT_TRUE(analyses.record(t, id, r).value().recorded);
  }
  auto board = gw.request("GET", "/api/v1/analytics/agents?sort=avg_sentiment&order=desc", viewer);
  ASSERT_EQ(board.status, 200) << board.body;
  ASSERT_EQ(board.json["items"].size(), 2u);
  EXPECT_EQ(board.json["items"][0]["name"], "Ann");
  EXPECT_EQ(board.json["items"][1]["escalations"], 1);
  EXPECT_EQ(board.json["items"][1]["talk_ratio_above_risk"], true);
  EXPECT_DOUBLE_EQ(board.json["benchmarks"]["agent_talk_ratio"]["top_reps"].get<double>(), 0.43);
  auto by_calls = gw.request("GET", "/api/v1/analytics/agents?sort=total_calls&order=asc", viewer);
  EXPECT_EQ(by_calls.json["items"][0]["name"], "Bob");
  EXPECT_EQ(gw.request("GET", "/api/v1/analytics/agents?sort=name'--", viewer).status, 400);
  auto csv = gw.request("GET", "/api/v1/analytics/agents?format=csv", viewer);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body.substr(0, csv.body.find('\r')),
            "id,external_id,name,team,city,total_calls,avg_sentiment,avg_talk_ratio,qa_score,escalations,"
            "talk_ratio_above_risk");
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 3);

  auto detail = gw.request("GET", "/api/v1/analytics/agents/" + std::to_string(ann), viewer);
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_EQ(detail.json["total_calls"], 2);
  EXPECT_EQ(detail.json["trend"].size(), 2u);
  ASSERT_EQ(detail.json["daily"].size(), 1u);
  EXPECT_EQ(detail.json["daily"][0]["calls"], 2);

  auto ov = gw.request("GET", "/api/v1/analytics/overview", viewer);
  ASSERT_EQ(ov.status, 200) << ov.body;
  EXPECT_EQ(ov.json["calls"], 3);
  EXPECT_EQ(ov.json["sentiment_distribution"]["positive"], 2);
  EXPECT_EQ(ov.json["sentiment_distribution"]["negative"], 1);
  EXPECT_EQ(ov.json["escalated_calls"], 1);
  EXPECT_NEAR(ov.json["escalation_rate"].get<double>(), 1.0 / 3, 1e-9);
  EXPECT_NEAR(ov.json["averages"]["qa_score"].get<double>(), (0.9 + 0.7 + 0.4) / 3, 1e-9);
  EXPECT_EQ(ov.json["issue_categories"][0]["calls"], 3);
  EXPECT_EQ(gw.request("GET", "/api/v1/analytics/overview?from=2026-01-01&to=2025-01-01", viewer).status, 400);
  EXPECT_EQ(gw.request("GET", "/api/v1/analytics/overview?from=2020-01-01&to=2025-01-01", viewer).status, 400);

  auto regions = gw.request("GET", "/api/v1/analytics/regions?group=state", viewer);
  ASSERT_EQ(regions.status, 200) << regions.body;
  ASSERT_EQ(regions.json["items"].size(), 2u);
  EXPECT_EQ(regions.json["items"][0]["region"], "MH");
  EXPECT_EQ(regions.json["items"][0]["calls"], 2);
  EXPECT_EQ(regions.json["items"][1]["escalated_calls"], 1);
  EXPECT_EQ(gw.request("GET", "/api/v1/analytics/regions?group=country", viewer).status, 400);
  auto calls_csv = gw.request("GET", "/api/v1/calls?format=csv", viewer);
  ASSERT_EQ(calls_csv.status, 200);
  EXPECT_EQ(std::count(calls_csv.body.begin(), calls_csv.body.end(), '\n'), 4);
  // Another business sees none of it.
  const auto other = gw.user_token(gw.new_business("stats-other"), "viewer");
  EXPECT_TRUE(gw.request("GET", "/api/v1/analytics/agents", other).json["items"].empty());
  EXPECT_EQ(gw.request("GET", "/api/v1/analytics/overview", other).json["calls"], 0);
  EXPECT_EQ(gw.request("GET", "/api/v1/analytics/agents/" + std::to_string(ann), other).status, 404);
}

}  // namespace
}  // namespace earshot::testing

namespace earshot::testing {
namespace {

// Three calls around midnight UTC: their local day and hour move with utc_offset_minutes,
// and so do the days from/to name; each day carries its own averages.
TEST(GatewayAnalytics, OverviewDaysAndHoursFollowTheCallersUtcOffset) {
  auto& gw = gateway();
  const auto bid = gw.new_business("tz");
  const auto viewer = gw.user_token(bid, "viewer");
  auto& db = StorageEnvironment::db();
  storage::MySqlHumanAgentRepository agents(db);
  storage::MySqlCallRepository calls(db);
  storage::MySqlMetricsRepository metrics(db);
  storage::MySqlAnalysisRepository analyses(db);
  const auto t = tenant(bid);
  const auto ann = *agents.upsert(t, {"ann", "Ann", "north", "Pune"});
  using namespace std::chrono;
  const sys_days nov20 = year(2026) / November / 20;
  struct Seed {
    storage::Timestamp at;
    std::optional<double> sentiment, talk, qa;
  };
  int n = 0;
  for (const Seed& sd : {Seed{nov20 + 23h + 30min, 0.5, 0.4, 0.8}, Seed{nov20 + 24h + 30min, -0.5, 0.6, {}},
                         Seed{nov20 + 36h, {}, {}, {}}}) {
    storage::CallInput in;
    in.external_id = "tz" + std::to_string(++n);
    in.human_agent_id = ann;
    in.started_at = sd.at;
    const auto id = calls.upsert(t, in)->id;
    if (sd.sentiment) {
      storage::CallMetrics m;
      m.call_id = id;
      m.customer_sentiment = sd.sentiment;
      m.agent_talk_ratio = sd.talk;
      ASSERT_TRUE(metrics.put(t, m));
    }
    if (sd.qa) {
      storage::CallAnalysisResult r;
      r.qa_score = sd.qa;
      r.at = in.started_at;
      ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls, t, id));
      ASSERT_TRUE(analyses.record(t, id, r).value().recorded);
    }
  }
  auto overview = [&](const std::string& query) {
    auto r = gw.request("GET", "/api/v1/analytics/overview?" + query, viewer);
    EXPECT_EQ(r.status, 200) << query << " " << r.body;
    return r.json;
  };
  auto hours = [](const json& o) {
    std::map<int, int> out;
    for (const auto& h : o["volume_by_hour"]) out[h["hour"].get<int>()] = h["calls"].get<int>();
    return out;
  };
  // UTC: two days; the 20th has the first call's figures, the 21st the second's (the third
  // call has none), no QA score that day.
  auto utc = overview("from=2026-11-20&to=2026-11-22");
  EXPECT_EQ(utc["calls"], 3);
  EXPECT_EQ(utc["utc_offset_minutes"], 0);
  ASSERT_EQ(utc["volume_by_day"].size(), 2u) << utc;
  EXPECT_EQ(utc["volume_by_day"][0], (json{{"day", "2026-11-20"},
                                           {"calls", 1},
                                           {"avg_customer_sentiment", 0.5},
                                           {"avg_qa_score", 0.8},
                                           {"avg_agent_talk_ratio", 0.4}}));
  EXPECT_EQ(utc["volume_by_day"][1]["day"], "2026-11-21");
  EXPECT_EQ(utc["volume_by_day"][1]["calls"], 2);
  EXPECT_DOUBLE_EQ(utc["volume_by_day"][1]["avg_customer_sentiment"].get<double>(), -0.5);
  EXPECT_DOUBLE_EQ(utc["volume_by_day"][1]["avg_agent_talk_ratio"].get<double>(), 0.6);
  EXPECT_TRUE(utc["volume_by_day"][1]["avg_qa_score"].is_null());
  EXPECT_EQ(hours(utc), (std::map<int, int>{{0, 1}, {12, 1}, {23, 1}}));
  // UTC+1: all three on the local 21st, an hour later.
  auto east = overview("from=2026-11-20&to=2026-11-22&utc_offset_minutes=60");
  EXPECT_EQ(east["calls"], 3);
  ASSERT_EQ(east["volume_by_day"].size(), 1u) << east;
  EXPECT_EQ(east["volume_by_day"][0]["day"], "2026-11-21");
  EXPECT_EQ(east["volume_by_day"][0]["calls"], 3);
  EXPECT_NEAR(east["volume_by_day"][0]["avg_customer_sentiment"].get<double>(), 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(east["volume_by_day"][0]["avg_qa_score"].get<double>(), 0.8);
  EXPECT_NEAR(east["volume_by_day"][0]["avg_agent_talk_ratio"].get<double>(), 0.5, 1e-9);
  EXPECT_EQ(hours(east), (std::map<int, int>{{0, 1}, {1, 1}, {13, 1}}));
  // UTC-1 (and minutes: -90 moves 00:30 to 23:00 of the 20th).
  auto west = overview("from=2026-11-20&to=2026-11-22&utc_offset_minutes=-90");
  ASSERT_EQ(west["volume_by_day"].size(), 2u) << west;
  EXPECT_EQ(west["volume_by_day"][0]["day"], "2026-11-20");
  EXPECT_EQ(west["volume_by_day"][0]["calls"], 2);
  EXPECT_EQ(west["volume_by_day"][1]["day"], "2026-11-21");
  EXPECT_EQ(west["volume_by_day"][1]["calls"], 1);
  EXPECT_TRUE(west["volume_by_day"][1]["avg_customer_sentiment"].is_null());
  EXPECT_EQ(hours(west), (std::map<int, int>{{10, 1}, {22, 1}, {23, 1}}));
  // from/to dates are local days: the local 21st at UTC+1 starts at 23:00Z on the 20th.
  auto day21_utc = overview("from=2026-11-21&to=2026-11-22");
  EXPECT_EQ(day21_utc["calls"], 2);
  EXPECT_EQ(day21_utc["from"], "2026-11-21T00:00:00.000Z");
  auto day21_east = overview("from=2026-11-21&to=2026-11-22&utc_offset_minutes=60");
  EXPECT_EQ(day21_east["calls"], 3);
  EXPECT_EQ(day21_east["from"], "2026-11-20T23:00:00.000Z");
  EXPECT_EQ(day21_east["to"], "2026-11-21T23:00:00.000Z");
  // A time (not a date) is the instant it names, whatever the offset.
  auto instant = overview("from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z&utc_offset_minutes=60");
  EXPECT_EQ(instant["calls"], 2);
  // The agent's daily series follows the offset too.
  const auto agent_path = "/api/v1/analytics/agents/" + std::to_string(ann) + "?from=2026-11-20&to=2026-11-22";
  auto daily_utc = gw.request("GET", agent_path, viewer);
  ASSERT_EQ(daily_utc.status, 200) << daily_utc.body;
  ASSERT_EQ(daily_utc.json["daily"].size(), 2u);
  auto daily_east = gw.request("GET", agent_path + "&utc_offset_minutes=60", viewer);
  ASSERT_EQ(daily_east.status, 200) << daily_east.body;
  ASSERT_EQ(daily_east.json["daily"].size(), 1u) << daily_east.body;
  EXPECT_EQ(daily_east.json["daily"][0]["day"], "2026-11-21");
  EXPECT_EQ(daily_east.json["daily"][0]["calls"], 3);
  // The extremes are accepted; anything else is 400 naming the parameter.
  EXPECT_EQ(overview("utc_offset_minutes=840")["utc_offset_minutes"], 840);
  EXPECT_EQ(overview("utc_offset_minutes=-840")["utc_offset_minutes"], -840);
  for (const std::string bad : {"841", "-841", "abc", "1.5", "", "60%20", "%2B60", "99999999999999999999", "0x10"}) {
    for (const std::string& path :
         {std::string("/api/v1/analytics/overview"), agent_path.substr(0, agent_path.find('?'))}) {
      auto r = gw.request("GET", path + "?utc_offset_minutes=" + bad, viewer);
      EXPECT_EQ(r.status, 400) << path << " " << bad << " " << r.body;
      EXPECT_EQ(error_message(r), "utc_offset_minutes must be an integer -840..840") << bad;
    }
  }
}

TEST(GatewayPipeline, StatusCountsCallsQueuesAndFailures) {
  auto& gw = gateway();
  const auto bid = gw.new_business("status");
  const auto viewer = gw.user_token(bid, "viewer");
  seed_call(bid, "ok1", "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed);
  seed_call(bid, "p1", "Pune", 0.1, 0.5, storage::CallStatus::kPending);
  seed_call(bid, "f1", "Pune", 0.1, 0.5, storage::CallStatus::kFailed, bid + "/f1.wav");
  storage::MySqlWatermarkRepository marks(StorageEnvironment::db());
  ASSERT_TRUE(marks.put(tenant(bid), "calls", "2026-11-21T00:00:00Z#42"));
  const auto admin = gw.user_token(bid, "admin");
  auto bulk = gw.request("POST", "/api/v1/calls/reprocess?status=failed", admin, {{"stage", "transcribe"}});
  ASSERT_EQ(bulk.status, 202);
  ASSERT_EQ(bulk.json["queued"], 1) << bulk.body;
  ASSERT_TRUE(seed_call(bid, "f2", "Pune", 0.1, 0.5, storage::CallStatus::kFailed));
  auto st = gw.request("GET", "/api/v1/pipeline/status", viewer);
  ASSERT_EQ(st.status, 200) << st.body;
  EXPECT_EQ(st.json["calls_by_status"]["analyzed"], 1);
  EXPECT_EQ(st.json["calls_by_status"]["pending"], 2);
  EXPECT_EQ(st.json["calls_by_status"]["failed"], 1);
  EXPECT_EQ(st.json["calls_by_status"]["notified"], 0);
  EXPECT_EQ(st.json["watermarks"][0]["position"], "2026-11-21T00:00:00Z#42");
  ASSERT_EQ(st.json["recent_failures"].size(), 1u);
  EXPECT_EQ(st.json["recent_failures"][0]["external_id"], "f2");
  EXPECT_EQ(st.json["recent_failures"][0]["reason"], "bad audio");
  ASSERT_EQ(st.json["queues"].size(), 5u);  // sync, transcribe, analyze, notify, embed
  bool transcribe_seen = false;
  for (const auto& q : st.json["queues"]) {
    EXPECT_EQ(q["dead_letters"], 0) << q.dump();
    if (q["stage"] == "transcribe") {
      transcribe_seen = true;
      EXPECT_EQ(q["depth"], 1) << q.dump();  // the reprocessed call, not yet consumed
    }
  }
  EXPECT_TRUE(transcribe_seen);
  EXPECT_EQ(gw.request("GET", "/api/v1/pipeline/status?bid=other", viewer).status, 400);
  // Another business's status shows none of this.
  const auto other = gw.user_token(gw.new_business("status-other"), "viewer");
  EXPECT_EQ(gw.request("GET", "/api/v1/pipeline/status", other).json["calls_by_status"]["pending"], 0);
}

// A business's speech provider answering 401 (the Deepgram fake, its real error body) shows
// in that business's pipeline status, never in another's; a Redis that cannot be asked
// degrades only that part of the answer.
TEST(GatewayPipeline, ProviderErrorsShowPerBusiness) {
  auto& gw = gateway();
  const auto bid = gw.new_business("perr");
  const auto other = gw.new_business("perr-other");
  FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  http::CurlHttpClient client;
  Metrics metrics("perr-test", "0", "0");
  pipeline::ProviderTranscriberFactory providers(client, SystemClock::instance(), metrics, &gw.provider_errors());
  storage::PipelineConfig config;
  config.stt_provider = "deepgram";
  config.stt_options_json = nlohmann::json{{"base_url", fake.base_url()}, {"max_attempts", 1}}.dump();
  config.secrets["stt_api_key"] = fake.api_key();
  auto transcriber = providers.for_business(bid, config);
  ASSERT_TRUE(transcriber) << transcriber.error().to_string();
  audio::AudioBuffer audio;
  audio.sample_rate = 8000;
  audio.channels.assign(1, std::vector<float>(8000, 0.0F));
  const std::string wav = "RIFF....WAVEfmt ";
  pipeline::Transcriber::Input in;
  in.audio = &audio;
  in.encoded = wav;
  in.language = "en";
  for (int i = 0; i < 3; ++i) {
    fake.fail_next(FailurePlan::of(1, FailureKind::kAuth));
    auto t = (*transcriber)->transcribe(in);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, ErrorCode::kUnauthenticated) << t.error().to_string();
  }
  gw.provider_errors().flush();

  auto st = gw.request("GET", "/api/v1/pipeline/status", gw.user_token(bid, "viewer"));
  ASSERT_EQ(st.status, 200) << st.body;
  EXPECT_FALSE(st.json.contains("provider_errors_error")) << st.body;
  ASSERT_EQ(st.json["provider_errors"].size(), 1u) << st.body;
  const auto& row = st.json["provider_errors"][0];
  EXPECT_EQ(row["kind"], "stt");
  EXPECT_EQ(row["provider"], "deepgram");
  EXPECT_EQ(row["status"], 401);
  EXPECT_EQ(row["count_1h"], 3);
  EXPECT_EQ(row["count_24h"], 3);
  EXPECT_TRUE(row["last_at"].is_string());
  const auto message = row["last_message"].get<std::string>();
  EXPECT_NE(message.find("deepgram: HTTP 401"), std::string::npos) << message;
  EXPECT_EQ(message.find(fake.api_key()), std::string::npos) << message;

  // Business B sees none of A's errors.
  auto theirs = gw.request("GET", "/api/v1/pipeline/status", gw.user_token(other, "viewer"));
  ASSERT_EQ(theirs.status, 200);
  EXPECT_TRUE(theirs.json["provider_errors"].empty()) << theirs.body;

  // Redis unreachable: the rest of the status still comes, with the reason.
  cache::RedisSettings dead_settings;
  dead_settings.url = "redis://127.0.0.1:1";
  dead_settings.timeout = std::chrono::milliseconds(500);
  auto dead = cache::RedisClient::make(dead_settings, 1);
  ASSERT_TRUE(dead);
  cache::RedisProviderErrorStore dead_store(**dead);
  cache::ProviderErrorRecorder dead_recorder(dead_store, SystemClock::instance(), nullptr);
  auto* live = gw.services().provider_errors;
  gw.services().provider_errors = &dead_recorder;
  auto degraded = gw.request("GET", "/api/v1/pipeline/status", gw.user_token(bid, "viewer"));
  gw.services().provider_errors = live;
  ASSERT_EQ(degraded.status, 200) << degraded.body;
  EXPECT_EQ(degraded.json["provider_errors_error"], "unavailable") << degraded.body;
  EXPECT_TRUE(degraded.json["provider_errors"].empty());
  EXPECT_EQ(degraded.json["queues"].size(), 5u);
}

}  // namespace
}  // namespace earshot::testing
