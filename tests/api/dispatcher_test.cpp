// The request pipeline: routing, authentication, policies, tenant isolation, rate limits
// and the one error shape, with a fake authenticator and a fake rate limiter.
#include "earshot/api/dispatcher.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "earshot/api/gateway.hpp"
#include "fakes/fake_clock.hpp"

namespace earshot::api {
namespace {

class FakeAuth final : public Authenticator {
 public:
  std::map<std::string, Principal> tokens;
  std::map<std::string, Principal> keys;
  Result<Principal> bearer(std::string_view t) override {
    auto it = tokens.find(std::string(t));
    if (it == tokens.end()) return make_error(ErrorCode::kUnauthenticated, "bad token");
    return it->second;
  }
  Result<Principal> api_key(std::string_view k) override {
    auto it = keys.find(std::string(k));
    if (it == keys.end()) return make_error(ErrorCode::kUnauthenticated, "bad key");
    return it->second;
  }
  // Businesses "a" and "b" are active, "off" is disabled.
  Status business_for_admin(std::string_view bid) override {
    if (bid == "a" || bid == "b") return {};
    if (bid == "off") return make_error(ErrorCode::kNotFound, "business off is disabled");
    return make_error(ErrorCode::kNotFound, "no such business");
  }
};

class FakeLimiter final : public cache::RateLimiter {
 public:
  std::map<std::string, int> taken;
  int allow = 1000;
  bool down = false;
  Result<cache::RateDecision> take(const std::string& key, std::int64_t, std::chrono::milliseconds,
                                   std::chrono::system_clock::time_point) override {
    if (down) return make_error(ErrorCode::kUnavailable, "redis down");
    const int n = ++taken[key];
    if (n > allow) return cache::RateDecision{false, std::chrono::milliseconds(2500)};
    return cache::RateDecision{true, {}};
  }
};

Principal user(const std::string& bid, Role role, std::int64_t id = 1) {
  Principal p;
  p.kind = Principal::Kind::kUser;
  p.bid = bid;
  p.role = role;
  p.id = id;
  return p;
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    Policy pub;
    pub.public_route = true;
    router.add("GET", "/healthz", pub, [](const Request&) -> Result<Reply> { return Reply::ok({{"ok", true}}); });
    Policy read;
    read.api_key_scope = "read";
    router.add("GET", "/api/v1/calls", read, [](const Request& r) -> Result<Reply> {
      return Reply::ok({{"bid", r.caller_bid()}});
    });
    router.add("GET", "/api/v1/calls/{id}", read, [](const Request& r) -> Result<Reply> {
      auto id = r.id_param("id");
      if (!id) return std::unexpected(id.error());
      return Reply::ok({{"id", *id}});
    });
    router.add("POST", "/api/v1/calls/reprocess", read, [](const Request&) -> Result<Reply> {
      return Reply::ok({{"bulk", true}});
    });
    Policy admin;
    admin.business_in_path = true;
    admin.min_role = Role::kAdmin;
    Policy search = read;
    search.read_only = true;
    router.add("POST", "/api/v1/search", search, [](const Request&) -> Result<Reply> {
      return Reply::ok({{"ok", true}});
    });
    router.add("GET", "/api/v1/admin/businesses/{bid}/users", admin, [](const Request& r) -> Result<Reply> {
      return Reply::ok({{"bid", r.path_params.at("bid")}});
    });
    Policy platform;
    platform.platform_admin_only = true;
    router.add("POST", "/api/v1/admin/businesses", platform, [](const Request&) -> Result<Reply> {
      return Reply::created({{"ok", true}});
    });
    router.add("GET", "/boom", pub, [](const Request&) -> Result<Reply> { throw std::runtime_error("secret detail"); });
    auth.tokens["a-admin"] = user("a", Role::kAdmin);
    auth.tokens["a-viewer"] = user("a", Role::kViewer);
    auth.tokens["b-admin"] = user("b", Role::kAdmin);
    Principal pa;
    pa.kind = Principal::Kind::kPlatformAdmin;
    pa.role = Role::kPlatformAdmin;
    auth.tokens["platform"] = pa;
    Principal key;
    key.kind = Principal::Kind::kApiKey;
    key.bid = "a";
    key.scopes = {"ingest"};
    auth.keys["esk_ingest"] = key;
    key.scopes = {"read", "embed"};
    auth.keys["esk_embed"] = key;
  }

  Reply call(const std::string& method, const std::string& path, std::map<std::string, std::string> headers = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.remote_addr = "10.0.0.1";
    for (auto& [k, v] : headers) r.headers[k] = v;
    std::string route;
    return dispatcher.handle(r, route);
  }
  Reply as(const std::string& token, const std::string& method, const std::string& path,
           const std::string& business = "") {
    std::map<std::string, std::string> h{{"Authorization", "Bearer " + token}};
    if (!business.empty()) h[kBusinessHeader] = business;
    return call(method, path, h);
  }

  Router router;
  FakeAuth auth;
  FakeLimiter limiter;
  testing::FakeClock clock;
  Metrics metrics{"test", "0", "0"};
  Dispatcher dispatcher{router, auth, &limiter, RateLimitOptions{true, 5, 3, std::chrono::seconds(60)}, clock, metrics};
};

TEST_F(DispatcherTest, UnknownPathIs404AndWrongMethodIs405InTheErrorShape) {
  auto r = call("GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json["error"]["code"], "not_found");
  EXPECT_TRUE(r.json["error"]["message"].is_string());
  r = call("DELETE", "/healthz");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.json["error"]["code"], "method_not_allowed");
}

TEST_F(DispatcherTest, LiteralSegmentsWinOverParameters) {
  auto r = as("a-viewer", "POST", "/api/v1/calls/reprocess");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json["bulk"], true);
}

TEST_F(DispatcherTest, CredentialsAreRequiredAndChecked) {
  EXPECT_EQ(call("GET", "/api/v1/calls").status, 401);
  EXPECT_EQ(as("forged", "GET", "/api/v1/calls").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/calls", {{"Authorization", "Basic abc"}}).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/calls", {{"X-Api-Key", "esk_unknown"}}).status, 401);
  auto r = as("a-viewer", "GET", "/api/v1/calls");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json["bid"], "a");
}

TEST_F(DispatcherTest, ApiKeysNeedTheRouteScope) {
  EXPECT_EQ(call("GET", "/api/v1/calls", {{"X-Api-Key", "esk_ingest"}}).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/calls", {{"X-Api-Key", "esk_embed"}}).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/calls", {{"Authorization", "ApiKey esk_embed"}}).status, 200);
  // Embed keys are read-only: no admin routes, even of their own business.
  EXPECT_EQ(call("GET", "/api/v1/admin/businesses/a/users", {{"X-Api-Key", "esk_embed"}}).status, 403);
}

TEST_F(DispatcherTest, AnotherBusinessLooksAbsentAndRolesAreEnforced) {
  EXPECT_EQ(as("a-admin", "GET", "/api/v1/admin/businesses/a/users").status, 200);
  auto r = as("a-admin", "GET", "/api/v1/admin/businesses/b/users");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json["error"]["code"], "not_found");
  EXPECT_EQ(as("a-viewer", "GET", "/api/v1/admin/businesses/b/users").status, 404);
  EXPECT_EQ(as("a-viewer", "GET", "/api/v1/admin/businesses/a/users").status, 403);
  EXPECT_EQ(as("platform", "GET", "/api/v1/admin/businesses/b/users").status, 200);
}

TEST_F(DispatcherTest, PlatformRoutesArePlatformOnly) {
  EXPECT_EQ(as("a-admin", "POST", "/api/v1/admin/businesses").status, 403);
  EXPECT_EQ(as("platform", "POST", "/api/v1/admin/businesses").status, 201);
}

TEST_F(DispatcherTest, PlatformAdminsNameTheBusinessOfATenantRoute) {
  // Without the header a tenant route has no business to act on: 400 saying so.
  auto missing = as("platform", "GET", "/api/v1/calls");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.json["error"]["message"].get<std::string>().find(kBusinessHeader), std::string::npos);
  auto r = as("platform", "GET", "/api/v1/calls", "b");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json["bid"], "b");
  auto gone = as("platform", "GET", "/api/v1/calls", "ghost");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.json["error"]["message"], "no such business");
  auto off = as("platform", "GET", "/api/v1/calls", "off");
  EXPECT_EQ(off.status, 404);
  EXPECT_EQ(off.json["error"]["message"], "business off is disabled");
  // Business callers: their own business is fine, another one never widens their access.
  EXPECT_EQ(as("a-viewer", "GET", "/api/v1/calls", "a").json["bid"], "a");
  EXPECT_EQ(as("a-viewer", "GET", "/api/v1/calls", "b").status, 404);
  EXPECT_EQ(as("a-admin", "GET", "/api/v1/admin/businesses/a/users", "b").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/calls", {{"X-Api-Key", "esk_embed"}, {kBusinessHeader, "b"}}).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/calls", {{"X-Api-Key", "esk_embed"}, {kBusinessHeader, "a"}}).status, 200);
  // The write observer sees the business acted on.
  std::vector<std::string> written;
  dispatcher.on_write([&](const std::string& bid) { written.push_back(bid); });
  EXPECT_EQ(as("platform", "POST", "/api/v1/calls/reprocess", "b").status, 200);
  EXPECT_EQ(written, std::vector<std::string>{"b"});
  // A read-only POST (a search) and a GET change nothing: the observer is not told.
  EXPECT_EQ(as("a-viewer", "POST", "/api/v1/search").status, 200);
  EXPECT_EQ(as("a-viewer", "GET", "/api/v1/calls").status, 200);
  EXPECT_EQ(written, std::vector<std::string>{"b"});
  EXPECT_EQ(as("a-viewer", "POST", "/api/v1/calls/reprocess").status, 200);
  EXPECT_EQ(written, (std::vector<std::string>{"b", "a"}));
}

TEST_F(DispatcherTest, BadPathParameterIs400) {
  for (const char* id : {"abc", "-1", "0", "1'%20OR%201=1", "99999999999999999999999"}) {
    auto r = as("a-viewer", "GET", std::string("/api/v1/calls/") + id);
    EXPECT_EQ(r.status, 400) << id;
    EXPECT_EQ(r.json["error"]["code"], "invalid_argument");
  }
}

TEST_F(DispatcherTest, RateLimitAnswers429WithRetryAfter) {
  // Per caller: 3 in the fake bucket; per IP 5.
  limiter.allow = 3;
  for (int i = 0; i < 2; ++i) EXPECT_EQ(as("a-viewer", "GET", "/api/v1/calls").status, 200);
  auto r = as("a-viewer", "GET", "/api/v1/calls");
  EXPECT_EQ(r.status, 200);
  r = as("a-viewer", "GET", "/api/v1/calls");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.json["error"]["code"], "rate_limited");
  bool has_retry = false;
  for (auto& [k, v] : r.headers) has_retry = has_retry || (k == "Retry-After" && v == "3");
  EXPECT_TRUE(has_retry);
}

TEST_F(DispatcherTest, RateLimiterDownFailsOpenAndCounts) {
  limiter.down = true;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(as("a-viewer", "GET", "/api/v1/calls").status, 200);
  EXPECT_NE(metrics.serialize().find("earshot_rate_limit_errors_total 20"), std::string::npos);
}

TEST_F(DispatcherTest, ExceptionsBecomeASafe500) {
  auto r = call("GET", "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.json["error"]["code"], "internal");
  EXPECT_EQ(r.json["error"]["message"], "internal error");
}

// The gateway accepts exactly what the analyzer parses (libs/analytics categories).
TEST(Rules, CategoryRulesAreValidated) {
  auto ok = Json::parse(R"([{"type":"transcript","phrases":["refund"],"speaker":"customer","match":"forms",
                             "window":{"first_ms":60000}},
                            {"type":"non_talk","min_ms":5000,"negate":true},
                            {"type":"interruption","speaker":"agent","min_ms":2000},
                            {"type":"sentiment","speaker":"customer","value":"negative",
                             "window":{"start_pct":50,"end_pct":100}}])");
  EXPECT_TRUE(validate_category_rules(ok));
  auto bad = [](const char* text) {
    auto st = validate_category_rules(Json::parse(text));
    return st ? std::string() : st.error().message;
  };
  EXPECT_NE(bad("[]").find("1-20 rules"), std::string::npos);
  EXPECT_NE(bad(R"([{"type":"magic"}])").find("rules[0].type"), std::string::npos);
  EXPECT_NE(bad(R"([{"type":"transcript","phrases":[]}])").find("phrases"), std::string::npos);
  EXPECT_NE(bad(R"([{"type":"transcript","phrases":["x"],"match":"stem"}])").find("match"), std::string::npos);
  EXPECT_NE(bad(R"([{"type":"non_talk","min_ms":-5}])").find("min_ms"), std::string::npos);
  EXPECT_NE(bad(R"([{"type":"sentiment","speaker":"customer","value":"angry"}])").find("value"), std::string::npos);
  EXPECT_NE(bad(R"([{"type":"non_talk","min_ms":5,"window":{"start_pct":60,"end_pct":40}}])").find("window"),
            std::string::npos);
  EXPECT_NE(bad(R"([{"type":"non_talk","min_ms":5,"extra":1}])").find("extra"), std::string::npos);
}

TEST(Rules, ScorecardQuestionsAreValidated) {
  auto ok = Json::parse(R"([{"id":"greeting","text":"Greeted?","weight":1,"answer":{"kind":"rule",
                             "rules":[{"type":"transcript","phrases":["thank you for calling"],"speaker":"agent"}]}},
                            {"id":"talk","text":"Talk ratio","weight":2,"answer":{"kind":"metric",
                             "metric":"agent_talk_ratio","op":"<=","value":0.65}},
                            {"id":"resolved","text":"Resolved?","weight":3,"answer":{"kind":"agent",
                             "agent":"resolution","field":"/resolved","equals":true}}])");
  EXPECT_TRUE(validate_scorecard_questions(ok));
  EXPECT_EQ(scorecard_document(ok)["questions"], ok);
  auto bad = [](const char* text) {
    auto st = validate_scorecard_questions(Json::parse(text));
    return st ? std::string() : st.error().message;
  };
  EXPECT_NE(bad(R"([{"id":"x","text":"x","weight":0,"answer":{"kind":"agent","agent":"a","field":"/f","equals":1}}])")
                .find("questions[0].weight"),
            std::string::npos);
  EXPECT_NE(bad(R"([{"id":"x","text":"x","weight":1,"answer":{"kind":"metric"}}])").find("questions[0].answer.metric"),
            std::string::npos);
  EXPECT_NE(bad(R"([{"id":"x","text":"x","weight":1,"answer":{"kind":"rule","rules":[]}}])").find("answer.rules"),
            std::string::npos);
  EXPECT_NE(bad("[]").find("questions"), std::string::npos);
}

}  // namespace
}  // namespace earshot::api

namespace earshot::api {
namespace {

// A route that also takes a signed link: the dispatcher asks the policy's signed_link only
// when no credentials came, and only on that route.
TEST_F(DispatcherTest, ASignedLinkIsTriedOnlyWithoutCredentialsAndOnlyWhereThePolicyTakesOne) {
  int asked = 0;
  Policy audio;
  audio.api_key_scope = "read";
  audio.signed_link = [&asked](const Request& r) -> Result<Principal> {
    ++asked;
    if (r.query_param("sig") != "good") return make_error(ErrorCode::kUnauthenticated, "audio link invalid");
    Principal p;
    p.kind = Principal::Kind::kSignedLink;
    p.id = 7;
    p.bid = "a";
    return p;
  };
  router.add("GET", "/api/v1/calls/{id}/audio", audio, [](const Request& r) -> Result<Reply> {
    return Reply::ok({{"bid", r.caller_bid()}, {"subject", r.principal->subject()}});
  });
  auto send = [&](const std::string& path, const std::string& sig, std::map<std::string, std::string> headers = {}) {
    Request r;
    r.method = "GET";
    r.path = path;
    r.remote_addr = "10.0.0.2";
    r.query.emplace("exp", "1");
    r.query.emplace("sig", sig);
    for (auto& [k, v] : headers) r.headers[k] = v;
    std::string route;
    return dispatcher.handle(r, route);
  };
  auto ok = send("/api/v1/calls/7/audio", "good");
  ASSERT_EQ(ok.status, 200) << ok.json;
  EXPECT_EQ(ok.json["bid"], "a");
  EXPECT_EQ(ok.json["subject"], "link:7");
  EXPECT_EQ(limiter.taken["link:7"], 1);  // rate limited like any caller
  auto bad = send("/api/v1/calls/7/audio", "forged");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.json["error"]["message"], "audio link invalid");
  EXPECT_EQ(asked, 2);
  // Another route: the link is no credential, and the policy's check is never asked.
  auto other = send("/api/v1/calls/7", "good");
  EXPECT_EQ(other.status, 401);
  EXPECT_EQ(other.json["error"]["message"], "credentials required");
  // Credentials win: a bearer token (good or bad) is used, the link is not looked at.
  auto bearer = send("/api/v1/calls/7/audio", "good", {{"Authorization", "Bearer b-admin"}});
  EXPECT_EQ(bearer.json["bid"], "b");
  auto wrong = send("/api/v1/calls/7/audio", "good", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.json["error"]["message"], "bad token");
  EXPECT_EQ(asked, 2);
  // A link's caller names no other business through the header.
  EXPECT_EQ(send("/api/v1/calls/7/audio", "good", {{kBusinessHeader, "b"}}).status, 404);
}

}  // namespace
}  // namespace earshot::api
