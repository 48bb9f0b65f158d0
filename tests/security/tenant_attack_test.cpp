// Cross-tenant attacks, tried as a hostile business would, against the real gateway over
// HTTP with the real database, broker and Redis: every one must be refused.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "earshot/http/egress.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/transcript_repository.hpp"
#include "gateway_fixture.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;

// A recording of `bid` in the gateway's local store; returns its key.
std::string put_recording(Gateway& gw, const std::string& bid, const std::string& name, const std::string& bytes) {
  const std::string key = bid + "/ingest/20261120/" + name;
  std::filesystem::create_directories((gw.objects / key).parent_path());
  std::ofstream(gw.objects / key, std::ios::binary) << bytes;
  return key;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// ---- object URIs ----------------------------------------------------------------------

TEST(TenantAttack, PostCallNamingAnotherBusinessRecordingIsRefused) {
  auto& gw = gateway();
  const auto victim = gw.new_business("own-v");
  const auto attacker = gw.new_business("own-a");
  const auto key = put_recording(gw, victim, "secret.wav", "victim audio");
  const auto admin = gw.login("admin@" + attacker + ".test", Gateway::kPassword, attacker);
  int n = 0;
  for (const std::string& uri : {"store://" + key,                             // plainly another business
                                 "store://" + attacker + "/../" + key,         // traversal
                                 "store://" + attacker + "/..%2f..%2f" + key,  // percent-encoded traversal
                                 "store://" + attacker + "//../" + key,        // double slash
                                 "store://" + attacker + "2/ingest/x.wav",     // a bid extending ours
                                 "store://" + attacker.substr(0, attacker.size() - 1) + "/x.wav",  // a prefix of ours
                                 "store://" + upper(attacker) + "/x.wav",                          // case
                                 "s3://recordings/" + key,               // s3 while the store is local
                                 std::string("store://") + attacker}) {  // the prefix itself
    auto r = gw.request(
        "POST", "/api/v1/calls", admin,
        {{"external_id", fmt::format("steal-{}", n++)}, {"audio_uri", uri}, {"started_at", "2026-11-20T10:00:00Z"}});
    EXPECT_EQ(r.status, 400) << uri << " " << r.body;
    EXPECT_EQ(r.json["error"]["code"], "invalid_argument") << uri;
  }
  // The reason is said.
  auto r =
      gw.request("POST", "/api/v1/calls", admin,
                 {{"external_id", "steal-x"}, {"audio_uri", "store://" + key}, {"started_at", "2026-11-20T10:00:00Z"}});
  EXPECT_NE(r.body.find("not this business's recording"), std::string::npos) << r.body;
  // No call was created by any of them.
  auto list = gw.request("GET", "/api/v1/calls", admin);
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(list.json["items"].empty()) << list.body;
  // Its own recording is accepted.
  const auto own = put_recording(gw, attacker, "mine.wav", "own audio");
  EXPECT_EQ(
      gw.request("POST", "/api/v1/calls", admin,
                 {{"external_id", "mine"}, {"audio_uri", "store://" + own}, {"started_at", "2026-11-20T10:00:00Z"}})
          .status,
      202);
}

// A call that names another business's recording (stored by older code, before the check):
// the audio is not streamed, reprocessing is refused, and deleting the call leaves the other
// business's object alone.
TEST(TenantAttack, AForeignRecordingStoredOnACallIsNeitherServedReprocessedNorDeleted) {
  auto& gw = gateway();
  const auto victim = gw.new_business("own-v");
  const auto attacker = gw.new_business("own-a");
  const std::string secret = "victim audio bytes";
  const auto key = put_recording(gw, victim, "kept.wav", secret);
  const auto id = std::to_string(seed_call(attacker, "old", "Pune", 0.1, 0.5, storage::CallStatus::kFailed, key));
  const auto admin = gw.login("admin@" + attacker + ".test", Gateway::kPassword, attacker);

  auto audio = gw.request("GET", "/api/v1/calls/" + id + "/audio", admin);
  EXPECT_EQ(audio.status, 403) << audio.body;
  EXPECT_EQ(audio.body.find(secret), std::string::npos);
  auto ranged = gw.request("GET", "/api/v1/calls/" + id + "/audio", admin, nullptr, {{"Range", "bytes=0-5"}});
  EXPECT_EQ(ranged.status, 403);

  auto again = gw.request("POST", "/api/v1/calls/" + id + "/reprocess", admin, {{"stage", "transcribe"}});
  EXPECT_EQ(again.status, 400) << again.body;
  EXPECT_NE(again.body.find("prefix"), std::string::npos) << again.body;
  auto bulk = gw.request("POST", "/api/v1/calls/reprocess", admin, {{"stage", "transcribe"}});
  ASSERT_EQ(bulk.status, 202) << bulk.body;
  EXPECT_EQ(bulk.json["queued"], 0);
  EXPECT_EQ(bulk.json["skipped"], 1);

  EXPECT_EQ(gw.request("DELETE", "/api/v1/calls/" + id, admin).status, 204);
  EXPECT_EQ(gw.request("GET", "/api/v1/calls/" + id, admin).status, 404);
  ASSERT_TRUE(std::filesystem::exists(gw.objects / key));
  std::ifstream in(gw.objects / key, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), secret);

  // Its own call's recording is still deleted with the call.
  const auto own = put_recording(gw, attacker, "own.wav", "own");
  const auto own_id = std::to_string(seed_call(attacker, "own", "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed, own));
  EXPECT_EQ(gw.request("GET", "/api/v1/calls/" + own_id + "/audio", admin).status, 200);
  EXPECT_EQ(gw.request("DELETE", "/api/v1/calls/" + own_id, admin).status, 204);
  EXPECT_FALSE(std::filesystem::exists(gw.objects / own));
}

// ---- the call list's filters --------------------------------------------------------------

// Filtering by a rule category of another business: the list (JSON and CSV) and the bulk
// reprocess see none of that business's calls and none of the caller's own.
TEST(TenantAttack, FilteringByAnotherBusinessCategoryIdSeesNoCalls) {
  auto& gw = gateway();
  const auto victim = gw.new_business("cat-v");
  const auto attacker = gw.new_business("cat-a");
  auto& db = StorageEnvironment::db();
  storage::MySqlRuleSetRepository categories(db, storage::MySqlRuleSetRepository::Kind::kCategories);
  storage::MySqlCategoryMatchRepository matches(db);
  const auto victim_cat = categories.create(tenant(victim), {0, "refund", "[]", true, 1}).value();
  const auto own_cat = categories.create(tenant(attacker), {0, "refund", "[]", true, 1}).value();
  for (int i = 0; i < 3; ++i) {
    const auto v = seed_call(victim, fmt::format("v{}", i), "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed);
    ASSERT_TRUE(matches.replace(tenant(victim), v, {{victim_cat, "[]"}}));
    const auto a = seed_call(attacker, fmt::format("a{}", i), "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed);
    ASSERT_TRUE(matches.replace(tenant(attacker), a, {{own_cat, "[]"}}));
  }
  // The attacker cannot record a match on the victim's category either.
  const auto a_call = seed_call(attacker, "a-extra", "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed);
  EXPECT_FALSE(matches.replace(tenant(attacker), a_call, {{victim_cat, "[]"}}));

  const auto admin = gw.login("admin@" + attacker + ".test", Gateway::kPassword, attacker);
  const std::string foreign = "category_id=" + std::to_string(victim_cat);
  for (const std::string sort : {"started_at", "qa_score"}) {
    auto list = gw.request("GET", "/api/v1/calls?sort=" + sort + "&" + foreign, admin);
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_TRUE(list.json["items"].empty()) << list.body;
    EXPECT_TRUE(list.json["next_cursor"].is_null());
  }
  auto csv = gw.request("GET", "/api/v1/calls?format=csv&" + foreign, admin);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 1) << "header only: " << csv.body;
  auto bulk = gw.request("POST", "/api/v1/calls/reprocess?" + foreign, admin, {{"stage", "analyze"}});
  ASSERT_EQ(bulk.status, 202) << bulk.body;
  EXPECT_EQ(bulk.json["queued"], 0);
  EXPECT_EQ(bulk.json["skipped"], 0);
  // Its own category id gives its own three calls (the filter itself works).
  auto own = gw.request("GET", "/api/v1/calls?category_id=" + std::to_string(own_cat), admin);
  ASSERT_EQ(own.status, 200);
  EXPECT_EQ(own.json["items"].size(), 3U) << own.body;
}

// Filtering by a customer's number another business has calls with (one kept clear, one
// hashed after analysis): the attacker sees nothing of them, in JSON, CSV or bulk reprocess;
// the owner finds both.
TEST(TenantAttack, FilteringByAnotherBusinessCustomerPhoneSeesNoCalls) {
  auto& gw = gateway();
  const auto victim = gw.new_business("ph-v");
  const auto attacker = gw.new_business("ph-a");
  const auto clear = seed_call(victim, "clear", "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed);
  const auto hashed = seed_call(victim, "hashed", "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed);
  storage::MySqlRepositories repos(StorageEnvironment::db(), *gw.keys);
  ASSERT_TRUE(repos.repos().calls.hash_customer_phone(tenant(victim), hashed).value());
  const std::string phone = "customer_phone=%2B15550100001";  // the number seed_call gives
  const auto admin = gw.login("admin@" + attacker + ".test", Gateway::kPassword, attacker);
  auto list = gw.request("GET", "/api/v1/calls?" + phone, admin);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_TRUE(list.json["items"].empty()) << list.body;
  auto csv = gw.request("GET", "/api/v1/calls?format=csv&" + phone, admin);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 1) << "header only: " << csv.body;
  auto bulk = gw.request("POST", "/api/v1/calls/reprocess?" + phone, admin, {{"stage", "analyze"}});
  ASSERT_EQ(bulk.status, 202) << bulk.body;
  EXPECT_EQ(bulk.json["queued"], 0);
  // Malformed numbers are refused with the reason.
  for (const char* bad : {"15550100001", "%2Babc", "%2B1", "%2B1555%2A0100001"}) {
    auto r = gw.request("GET", std::string("/api/v1/calls?customer_phone=") + bad, admin);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  const auto owner = gw.login("admin@" + victim + ".test", Gateway::kPassword, victim);
  auto own = gw.request("GET", "/api/v1/calls?" + phone, owner);
  ASSERT_EQ(own.status, 200);
  std::set<std::int64_t> ids;
  for (const auto& c : own.json["items"]) ids.insert(c["id"].get<std::int64_t>());
  EXPECT_EQ(ids, (std::set<std::int64_t>{clear, hashed})) << own.body;
  // The stored hash itself finds the hashed call for its owner and nothing for another business.
  const std::string hash = repos.repos().calls.get(tenant(victim), hashed)->customer_phone;
  auto by_hash = gw.request("GET", "/api/v1/calls?customer_phone=" + hash, owner);
  ASSERT_EQ(by_hash.status, 200) << by_hash.body;
  ASSERT_EQ(by_hash.json["items"].size(), 1U) << by_hash.body;
  EXPECT_EQ(by_hash.json["items"][0]["id"], hashed);
  auto foreign_hash = gw.request("GET", "/api/v1/calls?customer_phone=" + hash, admin);
  ASSERT_EQ(foreign_hash.status, 200);
  EXPECT_TRUE(foreign_hash.json["items"].empty()) << foreign_hash.body;
  EXPECT_EQ(gw.request("GET", "/api/v1/calls?customer_phone=sha256:xyz", admin).status, 400);
}

// ---- accounts and sessions ---------------------------------------------------------------

// E-mails are unique on the platform: another business cannot create a user (or register
// with an admin) whose e-mail exists anywhere, and is not told where it exists; login
// answers an unknown e-mail, a wrong password and a wrong business identically.
TEST(TenantAttack, ADuplicateEMailIsRefusedAndLoginNeverTellsAccountsApart) {
  auto& gw = gateway();
  const auto victim = gw.new_business("mail-v");
  const auto attacker = gw.new_business("mail-a");
  const std::string email = "admin@" + victim + ".test";
  const auto admin = gw.login("admin@" + attacker + ".test", Gateway::kPassword, attacker);
  for (const std::string& e : {email, upper(email)}) {
    auto r = gw.request("POST", "/api/v1/admin/businesses/" + attacker + "/users", admin,
                        {{"email", e}, {"password", "attacker password"}, {"role", "viewer"}});
    EXPECT_EQ(r.status, 409) << e << " " << r.body;
    EXPECT_EQ(r.json["error"]["code"], "already_exists");
    EXPECT_EQ(r.body.find(victim), std::string::npos) << r.body;  // not told where
  }
  const std::string third = "mail-c-" + unique_suffix();
  auto reg = gw.request("POST", "/api/v1/admin/businesses", gw.platform_token,
                        {{"bid", third}, {"name", "Third"}, {"admin_email", email}, {"admin_password", "long enough"}});
  EXPECT_EQ(reg.status, 409) << reg.body;
  EXPECT_EQ(gw.request("GET", "/api/v1/admin/businesses/" + third, gw.platform_token).status, 404);

  // The victim still logs in without naming the business.
  auto ok = gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", Gateway::kPassword}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json["bid"], victim);
  // Wrong password, unknown e-mail, the right password but another business: one answer.
  std::vector<HttpReply> refused = {
      gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", "wrong password"}}),
      gw.request("POST", "/api/v1/auth/login", "",
                 {{"email", "nobody-" + unique_suffix() + "@x.test"}, {"password", "wrong password"}}),
      gw.request("POST", "/api/v1/auth/login", "",
                 {{"email", email}, {"password", Gateway::kPassword}, {"bid", attacker}}),
      gw.request("POST", "/api/v1/auth/login", "",
                 {{"email", email}, {"password", Gateway::kPassword}, {"bid", "no-such-bid"}})};
  for (const auto& r : refused) {
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.body, refused[0].body);
  }
}

// Repeated wrong passwords meet an exponential delay (429 + a growing Retry-After); a
// success clears the account's count. The gateway here throttles as the product does,
// with small numbers.
TEST(TenantAttack, RepeatedWrongPasswordsAreThrottledWithAGrowingDelay) {
  Gateway gw({true, 1'000'000, 1'000'000, std::chrono::seconds(60)}, 64 * 1024, {},
             api::LoginThrottlePolicy{.free_failures = 3,
                                      .address_free_failures = 50,
                                      .base = std::chrono::milliseconds(1000),
                                      .account_max = std::chrono::milliseconds(4000)});
  const auto bid = gw.new_business("throttle");
  const std::string email = "admin@" + bid + ".test";
  auto attempt = [&](const std::string& pw) {
    return gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", pw}});
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(attempt("wrong password").status, 401) << i;
  std::vector<int> retry_after;
  for (int round = 0; round < 2; ++round) {
    auto limited = attempt("wrong password");
    ASSERT_EQ(limited.status, 429) << limited.body;
    EXPECT_EQ(limited.json["error"]["code"], "rate_limited");
    retry_after.push_back(std::stoi(limited.header("Retry-After")));
    // Once the wait is over the next attempt is checked again (and fails again).
    HttpReply r;
    ASSERT_TRUE(wait_until(
        [&] {
          r = attempt("wrong password");
          return r.status != 429;
        },
        std::chrono::seconds(10)));
    EXPECT_EQ(r.status, 401);
  }
  EXPECT_EQ(retry_after, (std::vector<int>{1, 2}));
  // Even the right password waits while the account is throttled...
  EXPECT_EQ(attempt(Gateway::kPassword).status, 429);
  HttpReply ok;
  ASSERT_TRUE(wait_until(
      [&] {
        ok = attempt(Gateway::kPassword);
        return ok.status != 429;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(ok.status, 200) << ok.body;
  // ...and a success starts the count over.
  EXPECT_EQ(attempt("wrong password").status, 401);
  EXPECT_EQ(attempt("wrong password").status, 401);
  // An unknown e-mail is throttled the same way (no hint that it does not exist).
  const std::string ghost = "ghost-" + unique_suffix() + "@x.test";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(gw.request("POST", "/api/v1/auth/login", "", {{"email", ghost}, {"password", "x"}}).status, 401);
  }
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/login", "", {{"email", ghost}, {"password", "x"}}).status, 429);
}

// Logging out, and a reused refresh token revoking its family, end the session's access
// tokens within seconds (the standing re-read), not at their expiry.
TEST(TenantAttack, LogoutAndFamilyRevocationEndAccessTokensWithinSeconds) {
  auto& gw = gateway();
  const auto bid = gw.new_business("sess");
  const std::string email = "admin@" + bid + ".test";
  const auto deadline = api::AuthService::kAccessRecheck * 3;

  auto a = gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", Gateway::kPassword}});
  ASSERT_EQ(a.status, 200);
  const auto access = a.json["access_token"].get<std::string>();
  auto other = gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", Gateway::kPassword}});
  ASSERT_EQ(other.status, 200);
  const auto other_access = other.json["access_token"].get<std::string>();
  ASSERT_EQ(gw.request("GET", "/api/v1/auth/me", access).status, 200);
  ASSERT_EQ(gw.request("POST", "/api/v1/auth/logout", "", {{"refresh_token", a.json["refresh_token"]}}).status, 204);
  EXPECT_TRUE(wait_until([&] { return gw.request("GET", "/api/v1/calls", access).status == 401; }, deadline));
  auto r = gw.request("GET", "/api/v1/calls", access);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("session has ended"), std::string::npos) << r.body;
  // The user's other session is untouched.
  EXPECT_EQ(gw.request("GET", "/api/v1/calls", other_access).status, 200);

  // A stolen refresh token used after its owner rotated it: the whole family ends, and with
  // it the access token the rotation issued.
  const auto refresh1 = other.json["refresh_token"].get<std::string>();
  auto rotated = gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", refresh1}});
  ASSERT_EQ(rotated.status, 200);
  const auto access2 = rotated.json["access_token"].get<std::string>();
  ASSERT_EQ(gw.request("GET", "/api/v1/calls", access2).status, 200);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", refresh1}}).status, 401);
  EXPECT_TRUE(wait_until([&] { return gw.request("GET", "/api/v1/calls", access2).status == 401; }, deadline));
  EXPECT_TRUE(wait_until([&] { return gw.request("GET", "/api/v1/calls", other_access).status == 401; }, deadline));
}

// Notes: an analyst deletes only notes they wrote; an admin deletes any.
TEST(TenantAttack, AnAnalystCannotDeleteAnAdminsNote) {
  auto& gw = gateway();
  const auto bid = gw.new_business("notes");
  const auto admin = gw.user_token(bid, "admin");
  const auto analyst = gw.user_token(bid, "analyst");
  const auto other_analyst = gw.user_token(bid, "analyst");
  const auto call = std::to_string(seed_call(bid, "n1", "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed));
  const std::string base = "/api/v1/calls/" + call + "/notes";
  auto id_of = [](const HttpReply& r) { return std::to_string(r.json["id"].get<std::int64_t>()); };
  auto by_admin = gw.request("POST", base, admin, {{"body", "admin's note"}});
  ASSERT_EQ(by_admin.status, 201);
  auto by_analyst = gw.request("POST", base, analyst, {{"body", "analyst's note"}});
  ASSERT_EQ(by_analyst.status, 201);
  auto refused = gw.request("DELETE", base + "/" + id_of(by_admin), analyst);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(gw.request("DELETE", base + "/" + id_of(by_analyst), other_analyst).status, 403);
  EXPECT_EQ(gw.request("GET", base, analyst).json["items"].size(), 2u);
  EXPECT_EQ(gw.request("DELETE", base + "/" + id_of(by_analyst), analyst).status, 204);
  auto again = gw.request("POST", base, analyst, {{"body", "again"}});
  EXPECT_EQ(gw.request("DELETE", base + "/" + id_of(again), admin).status, 204);
  EXPECT_EQ(gw.request("DELETE", base + "/" + id_of(by_admin), admin).status, 204);
  EXPECT_TRUE(gw.request("GET", base, analyst).json["items"].empty());
}

// Save-time egress check (defence in depth in front of the workers' connect-time check):
// with the gateway's egress policy, PUT pipeline-config (source_db.host, crm.host,
// llm_chain[].base_url) and webhook create/update refuse a destination that is a literal
// internal address, in any spelling, with 400 "<field>: destination not allowed"; a public
// literal and a hostname (not resolved at save time) are accepted.
TEST(TenantAttack, ConfigurationNamingALiteralInternalAddressIsRefusedAtSaveTime) {
  Gateway gw;
  auto policy = http::EgressSettings{}.build({});
  ASSERT_TRUE(policy) << policy.error().to_string();
  gw.set_egress_policy(&*policy);
  const auto bid = gw.new_business("egs");
  const auto admin = gw.login("admin@" + bid + ".test", Gateway::kPassword, bid);
  const std::string config = "/api/v1/admin/businesses/" + bid + "/pipeline-config";

  auto hook = gw.request("POST", "/api/v1/webhooks", admin,
                         {{"url", "https://hooks.example.com/in"}, {"events", {"call.analyzed"}}});
  ASSERT_EQ(hook.status, 201) << hook.body;
  const std::string hook_path = "/api/v1/webhooks/" + hook.json["id"].dump();

  const auto refused = [](const HttpReply& r, const std::string& field, const std::string& what) {
    EXPECT_EQ(r.status, 400) << what << ": " << r.body;
    EXPECT_EQ(r.json["error"]["message"].get<std::string>(), field + ": destination not allowed")
        << what << ": " << r.body;
  };
  for (const std::string ip : {"127.0.0.1", "2130706433", "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.1",
                               "0177.0.0.1", "127.1", "[::1]"}) {
    refused(gw.request("PUT", config, gw.platform_token,
                       {{"source_db", {{"kind", "mariadb"}, {"host", ip}, {"port", 3306}, {"database", "pbx"}}}}),
            "source_db.host", ip);
    refused(
        gw.request("PUT", config, gw.platform_token, {{"crm", {{"kind", "leadsquared"}, {"host", "http://" + ip}}}}),
        "crm.host", ip);
    refused(gw.request(
                "PUT", config, gw.platform_token,
                {{"llm_chain", {{{"provider", "ollama"}, {"model", "m"}, {"base_url", "http://" + ip + ":11434"}}}}}),
            "llm_chain[0].base_url", ip);
    refused(gw.request("POST", "/api/v1/webhooks", admin,
                       {{"url", "http://" + ip + "/hook"}, {"events", {"call.analyzed"}}}),
            "url", ip);
    refused(gw.request("PATCH", hook_path, admin, {{"url", "http://" + ip + "/hook"}}), "url", ip);
  }
  // Nothing refused was stored.
  auto saved = gw.request("GET", config, gw.platform_token);
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(saved.json.dump().find("127.0.0.1"), std::string::npos) << saved.body;
  EXPECT_EQ(gw.request("GET", hook_path, admin).json["url"], "https://hooks.example.com/in");

  // A public literal and a hostname are accepted (the worker checks names when it connects).
  for (const std::string host : {"93.184.216.34", "db.example.com"}) {
    auto ok = gw.request(
        "PUT", config, gw.platform_token,
        {{"source_db", {{"kind", "mariadb"}, {"host", host}, {"port", 3306}, {"database", "pbx"}}},
         {"crm", {{"kind", "leadsquared"}, {"host", "https://" + host}}},
         {"llm_chain", {{{"provider", "ollama"}, {"model", "m"}, {"base_url", "http://" + host + ":11434"}}}}});
    EXPECT_EQ(ok.status, 200) << host << ": " << ok.body;
    auto created = gw.request("POST", "/api/v1/webhooks", admin,
                              {{"url", "https://" + host + "/hook"}, {"events", {"call.analyzed"}}});
    EXPECT_EQ(created.status, 201) << host << ": " << created.body;
    auto patched = gw.request("PATCH", hook_path, admin, {{"url", "https://" + host + "/hook2"}});
    EXPECT_EQ(patched.status, 200) << host << ": " << patched.body;
  }
}

// ---- personal data ------------------------------------------------------------------------

// A call of `bid` whose transcript holds a spoken card number, an e-mail and a phone; its
// stored redaction (as the analyze stage writes it) names `redacted_key` as the recording's
// redacted copy when given.
storage::Id call_with_pii(Gateway& gw, const std::string& bid, const std::string& name,
                          const std::string& redacted_key = "") {
  const auto rec = put_recording(gw, bid, name + ".wav", "raw recording of " + name);
  const auto id = seed_call(bid, name, "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed, rec);
  storage::MySqlTranscriptRepository transcripts(StorageEnvironment::db());
  storage::Transcript tr;
  tr.call_id = id;
  tr.segments_json = json::array({{{"speaker", "customer"},
                                   {"start_ms", 0},
                                   {"end_ms", 9000},
                                   {"text",
                                    "card four one one one four one one one mail jane.miller@example.com "
                                    "phone 415 555 0132 refund"}}})
                         .dump();
  tr.full_text = "card four one one one four one one one mail jane.miller@example.com phone 415 555 0132 refund";
  tr.provider = "test";
  EXPECT_TRUE(transcripts.put(tenant(bid), tr));
  if (!redacted_key.empty()) {
    const auto version = transcripts.get(tenant(bid), id).value().version;
    storage::TranscriptRedaction r;
    r.call_id = id;
    r.version = version;
    r.segments_json =
        R"([{"speaker":"customer","start_ms":0,"end_ms":9000,"text":"card [DIGITS] mail [EMAIL] phone [PHONE] refund"}])";
    r.full_text = "card [DIGITS] mail [EMAIL] phone [PHONE] refund";
    r.audio_uri = "store://" + redacted_key;
    EXPECT_TRUE(transcripts.put_redaction(tenant(bid), r).value());
  }
  return id;
}

bool holds_pii(const std::string& body) {
  for (const char* s : {"4111", "four one one one", "jane.miller", "miller@", "415 555 0132", "555 0132"}) {
    if (body.find(s) != std::string::npos) return true;
  }
  return false;
}

// A viewer (and an analyst, and a "read" key) of a business that redacts asks for the raw
// text by every route, query parameter and header it might try: nothing answers with it.
TEST(TenantAttack, ACallerWithoutPiiReadGetsNoRawTextByAnyRouteParameterOrHeader) {
  auto& gw = gateway();
  const auto bid = gw.new_business("pii-v");
  const auto admin = gw.login("admin@" + bid + ".test", Gateway::kPassword, bid);
  const auto redacted_key = put_recording(gw, bid, "red.wav", "redacted recording");
  const auto id = std::to_string(call_with_pii(gw, bid, "c1", redacted_key));
  auto key =
      gw.request("POST", "/api/v1/admin/businesses/" + bid + "/api-keys", admin, {{"name", "k"}, {"scopes", {"read"}}});
  ASSERT_EQ(key.status, 201);
  ASSERT_EQ(gw.request("POST", "/api/v1/calls/" + id + "/notes", admin, {{"body", "card 4111 1111 1111 1111"}}).status,
            201);
  const std::vector<std::string> callers = {gw.user_token(bid, "viewer"), gw.user_token(bid, "analyst"),
                                            key.json["secret"].get<std::string>()};
  const std::vector<std::string> paths = {"/api/v1/calls/" + id,
                                          "/api/v1/calls/" + id + "/transcript",
                                          "/api/v1/calls/" + id + "/notes",
                                          "/api/v1/calls/" + id + "/audio",
                                          "/api/v1/calls?q=miller",
                                          "/api/v1/calls?q=0132",
                                          "/api/v1/calls?format=csv&q=miller"};
  const std::vector<std::string> extras = {"",
                                           "raw=1",
                                           "pii=1",
                                           "redact=false",
                                           "redact_pii=false",
                                           "unredacted=true",
                                           "format=json&raw=true",
                                           "format=txt",
                                           "format=srt",
                                           "format=csv",
                                           "format=raw",
                                           "bid=" + bid + "&pii=1",
                                           "scope=pii%3Aread"};
  const std::vector<httplib::Headers> headers = {{},
                                                 {{"X-Earshot-Business", bid}},
                                                 {{"X-Pii-Read", "1"}},
                                                 {{"X-Earshot-Scope", "pii:read"}},
                                                 {{"Accept", "text/plain"}}};
  int probes = 0;
  for (const auto& who : callers) {
    for (const auto& path : paths) {
      for (const auto& extra : extras) {
        for (const auto& h : headers) {
          const std::string target =
              extra.empty() ? path : path + (path.find('?') == std::string::npos ? "?" : "&") + extra;
          auto r = gw.request("GET", target, who, nullptr, h);
          ++probes;
          EXPECT_FALSE(holds_pii(r.body)) << target << " -> " << r.status << " " << r.body;
          EXPECT_NE(r.body, "raw recording of c1") << target;
          // A list filter on a word only the raw text holds finds nothing.
          if (r.status == 200 && path.starts_with("/api/v1/calls?") && !target.contains("csv")) {
            EXPECT_TRUE(r.json["items"].empty()) << target << " " << r.body;
          }
        }
      }
    }
    // The bulk reprocess's filter is the list's: it finds nothing by a raw word either
    // (analysts only; the others are refused).
    auto bulk = gw.request("POST", "/api/v1/calls/reprocess?q=miller", who, {{"stage", "analyze"}});
    if (bulk.status == 202) {
      EXPECT_EQ(bulk.json["queued"], 0) << bulk.body;
    }
  }
  EXPECT_GT(probes, 500);
  // The control: the admin reads the raw text, and the list finds the call by its raw word.
  EXPECT_TRUE(holds_pii(gw.request("GET", "/api/v1/calls/" + id + "/transcript?format=txt", admin).body));
  EXPECT_EQ(gw.request("GET", "/api/v1/calls?q=miller", admin).json["items"].size(), 1u);
}

// Another business's redacted recording: not by its call id, not by naming its object on a
// call of one's own, not through a stored row that names it; and an admin of one business
// has pii:read only for its own.
TEST(TenantAttack, AnotherBusinessesRedactedRecordingIsNeverServed) {
  auto& gw = gateway();
  const auto victim = gw.new_business("pii-v");
  const auto attacker = gw.new_business("pii-a");
  const std::string secret = "victim redacted recording";
  const auto victim_key = put_recording(gw, victim, "vred.wav", secret);
  const auto victim_call = std::to_string(call_with_pii(gw, victim, "v1", victim_key));
  const auto admin = gw.login("admin@" + attacker + ".test", Gateway::kPassword, attacker);
  const auto viewer = gw.user_token(attacker, "viewer");
  for (const auto& who : {admin, viewer}) {
    for (const std::string& path :
         {"/api/v1/calls/" + victim_call, "/api/v1/calls/" + victim_call + "/audio",
          "/api/v1/calls/" + victim_call + "/transcript", "/api/v1/calls/" + victim_call + "/transcript?format=csv"}) {
      auto r = gw.request("GET", path, who);
      EXPECT_EQ(r.status, 404) << path << " " << r.body;
      EXPECT_EQ(r.body.find(secret), std::string::npos);
      EXPECT_FALSE(holds_pii(r.body));
    }
    EXPECT_EQ(
        gw.request("GET", "/api/v1/calls/" + victim_call + "/audio", who, nullptr, {{"X-Earshot-Business", victim}})
            .status,
        404);
  }
  // Naming the victim's redacted object as a recording is refused like any foreign URI.
  auto named = gw.request(
      "POST", "/api/v1/calls", admin,
      {{"external_id", "steal-red"}, {"audio_uri", "store://" + victim_key}, {"started_at", "2026-11-20T10:00:00Z"}});
  EXPECT_EQ(named.status, 400) << named.body;
  // A row of the attacker's naming the victim's object as its redacted copy (as a bug or
  // older code might store): the viewer gets 403, never the bytes; deleting the call leaves
  // the victim's object alone.
  const auto own = std::to_string(call_with_pii(gw, attacker, "a1", victim_key));
  auto r = gw.request("GET", "/api/v1/calls/" + own + "/audio", viewer);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body.find(secret), std::string::npos);
  auto link = gw.request("POST", "/api/v1/calls/" + own + "/audio-url", viewer);
  ASSERT_EQ(link.status, 200);
  EXPECT_EQ(gw.request("GET", link.json["url"]).status, 403);
  EXPECT_EQ(gw.request("DELETE", "/api/v1/calls/" + own, admin).status, 204);
  std::ifstream in(gw.objects / victim_key, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), secret);
  // The victim's own viewer hears its redacted copy.
  const auto victim_viewer = gw.user_token(victim, "viewer");
  EXPECT_EQ(gw.request("GET", "/api/v1/calls/" + victim_call + "/audio", victim_viewer).body, secret);
}

}  // namespace
}  // namespace earshot::testing
