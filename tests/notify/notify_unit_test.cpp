// Hermetic checks of the notify building blocks: signatures, the retry schedule, how an
// answer is judged, the CRM throttle, per-business settings, event ids and e-mail format.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "earshot/notify/channels.hpp"
#include "earshot/notify/events.hpp"
#include "earshot/notify/settings.hpp"
#include "earshot/notify/signature.hpp"
#include "earshot/notify/smtp.hpp"

namespace earshot::notify {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST(Signature, HmacMatchesRfc4231Vector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signature, HeaderSignsTimestampDotBody) {
  const std::string body = R"({"id":"evt_1"})";
  const auto h = signature_header("whsec_abc", 1763730000, body);
  EXPECT_EQ(h, "t=1763730000,v1=" + hmac_sha256_hex("whsec_abc", "1763730000." + body));
  EXPECT_TRUE(verify_signature(h, "whsec_abc", body, 1763730100, 300s));
}

TEST(Signature, VerifyRejectsTamperingWrongSecretReplayAndGarbage) {
  const std::string body = R"({"id":"evt_1"})";
  const auto h = signature_header("s1", 1000, body);
  auto tampered = verify_signature(h, "s1", body + " ", 1000, 300s);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code, ErrorCode::kPermissionDenied);
  EXPECT_FALSE(verify_signature(h, "s2", body, 1000, 300s));
  auto replay = verify_signature(h, "s1", body, 1000 + 301, 300s);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kPermissionDenied);
  auto garbage = verify_signature("v1=abc", "s1", body, 1000, 300s);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
}

TEST(Signature, NewSecretsAreRandom) {
  const auto a = new_signing_secret();
  EXPECT_TRUE(a.starts_with("whsec_"));
  EXPECT_EQ(a.size(), 6u + 48u);
  EXPECT_NE(a, new_signing_secret());
}

TEST(RetrySchedule, DoublesWithJitterCapsAndEnds) {
  NotifySettings s;
  s.retry_initial = 30s;
  s.retry_max_delay = 6h;
  s.max_attempts = 12;
  std::mt19937_64 rng(7);
  auto d1 = retry_delay(s, 1, std::nullopt, rng);
  auto d2 = retry_delay(s, 2, std::nullopt, rng);
  auto d5 = retry_delay(s, 5, std::nullopt, rng);
  auto d11 = retry_delay(s, 11, std::nullopt, rng);
  ASSERT_TRUE(d1 && d2 && d5 && d11);
  EXPECT_GE(*d1, 24s);
  EXPECT_LE(*d1, 36s);
  EXPECT_GE(*d2, 48s);
  EXPECT_LE(*d2, 72s);
  EXPECT_GE(*d5, milliseconds(384'000));  // 8 min * 0.8
  EXPECT_LE(*d11, milliseconds(static_cast<std::int64_t>(6 * 3'600'000 * 1.2)));
  EXPECT_GE(*d11, milliseconds(static_cast<std::int64_t>(6 * 3'600'000 * 0.8)));
  EXPECT_FALSE(retry_delay(s, 12, std::nullopt, rng)) << "attempts used up";
  // Over hours: the whole schedule spans more than 12 hours.
  milliseconds total{0};
  for (int a = 1; a < 12; ++a) total += *retry_delay(s, a, std::nullopt, rng);
  EXPECT_GT(total, 12h);
}

TEST(RetrySchedule, RetryAfterIsHonouredButBounded) {
  NotifySettings s;
  s.retry_initial = 100ms;
  std::mt19937_64 rng(1);
  EXPECT_GE(*retry_delay(s, 1, milliseconds(90'000), rng), 90s);
  EXPECT_EQ(*retry_delay(s, 1, milliseconds(100 * 3'600'000), rng), 24h);
  EXPECT_LE(*retry_delay(s, 1, milliseconds(1), rng), 120ms) << "a shorter hint never shortens the backoff below it";
}

Result<http::HttpResponse> response(int status, std::map<std::string, std::string> headers = {}) {
  http::HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = "nope";
  return r;
}

TEST(Classify, StatusesAndTransportErrors) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(classify(response(200), now).kind, AttemptResult::Kind::kDelivered);
  EXPECT_EQ(classify(response(204), now).kind, AttemptResult::Kind::kDelivered);
  for (int s : {408, 429, 500, 502, 503, 504}) {
    EXPECT_EQ(classify(response(s), now).kind, AttemptResult::Kind::kRetryable) << s;
  }
  for (int s : {301, 400, 401, 403, 404, 410, 422}) {
    EXPECT_EQ(classify(response(s), now).kind, AttemptResult::Kind::kPermanent) << s;
  }
  auto limited = classify(response(429, {{"retry-after", "7"}}), now);
  ASSERT_TRUE(limited.retry_after);
  EXPECT_EQ(*limited.retry_after, 7s);
  EXPECT_EQ(limited.response_code, 429);
  EXPECT_NE(limited.error.find("HTTP 429"), std::string::npos);
  Result<http::HttpResponse> timeout = std::unexpected(Error(ErrorCode::kTimeout, "deadline"));
  EXPECT_EQ(classify(timeout, now).kind, AttemptResult::Kind::kRetryable);
  Result<http::HttpResponse> refused = std::unexpected(Error(ErrorCode::kUnavailable, "connection refused"));
  EXPECT_EQ(classify(refused, now).kind, AttemptResult::Kind::kRetryable);
  Result<http::HttpResponse> policy =
      std::unexpected(Error(ErrorCode::kPermissionDenied, "loopback address 127.0.0.1 refused"));
  auto p = classify(policy, now);
  EXPECT_EQ(p.kind, AttemptResult::Kind::kPermanent);
  EXPECT_NE(p.error.find("loopback"), std::string::npos);
}

TEST(WindowThrottle, AtMostLimitPerWindowPerKey) {
  WindowThrottle th(25, 5s);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  for (int i = 0; i < 25; ++i) EXPECT_EQ(th.reserve("a", t0), 0ms) << i;
  EXPECT_EQ(th.reserve("a", t0), 5500ms) << "the 26th waits for the first slot to leave the window (+10%)";
  EXPECT_EQ(th.reserve("a", t0 + 1s), 4500ms);
  EXPECT_EQ(th.reserve("b", t0), 0ms) << "another business has its own budget";
  // 60 reservations at one instant: every window of 5 s holds at most 25 starts.
  WindowThrottle th2(25, 5s);
  std::vector<milliseconds> slots;
  for (int i = 0; i < 60; ++i) slots.push_back(th2.reserve("x", t0));
  for (std::size_t i = 25; i < slots.size(); ++i) EXPECT_GE(slots[i] - slots[i - 25], 5500ms) << i;
}

TEST(BusinessSettings, ParsesAndRejectsWithReasons) {
  auto ok = BusinessNotifySettings::from_json(nlohmann::json::parse(
      R"({"crm_writeback":false,"link_base_url":"https://app.test","alerts":{"email_to":["qa@acme.test"],"chat_webhook_url":"https://chat.test/hook","min_severity":"high"}})"));
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_FALSE(ok->crm_writeback);
  EXPECT_EQ(ok->alert_emails, std::vector<std::string>{"qa@acme.test"});
  EXPECT_EQ(ok->min_severity, "high");
  auto round = BusinessNotifySettings::from_json(ok->to_json());
  ASSERT_TRUE(round);
  EXPECT_EQ(round->chat_webhook_url, "https://chat.test/hook");
  for (const char* bad : {R"({"alerts":{"email_to":["not-an-address"]}})", R"({"alerts":{"min_severity":"urgent"}})",
                          R"({"alerts":{"chat_webhook_url":"ftp://x"}})", R"({"colour":"red"})",
                          R"({"alerts":{"email_to":["a@b.c\r\nBcc: x@y.z"]}})"}) {
    auto r = BusinessNotifySettings::from_json(nlohmann::json::parse(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Events, IdsAreStableAndDistinct) {
  EXPECT_EQ(event_id("acme", 7, "call.analyzed", "123"), event_id("acme", 7, "call.analyzed", "123"));
  EXPECT_NE(event_id("acme", 7, "call.analyzed", "123"), event_id("acme", 7, "call.analyzed", "124"));
  EXPECT_NE(event_id("acme", 7, "call.analyzed", "123"), event_id("acme", 7, "call.failed", "123"));
  EXPECT_NE(event_id("acme", 7, "call.analyzed", "123"), event_id("beta", 7, "call.analyzed", "123"));
  const auto e =
      make_event("evt_x", "call.analyzed", "acme", std::chrono::system_clock::time_point{} + 1000ms, {{"k", 1}});
  EXPECT_EQ(e["version"], kEventVersion);
  EXPECT_EQ(e["created_at"], "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(e["data"]["k"], 1);
  EXPECT_TRUE(known_event_type("escalation.created"));
  EXPECT_FALSE(known_event_type("call.exploded"));
}

TEST(Email, HeadersCannotBeInjectedAndLinesEndCrLf) {
  Email m{{"qa@acme.test"}, "Escalation\r\nBcc: evil@x.test", "line one\nline two"};
  const auto text = format_email("earshot@acme.test", m, std::chrono::system_clock::time_point{});
  EXPECT_NE(text.find("Subject: Escalation  Bcc: evil@x.test\r\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(text.find("line one\r\nline two\r\n"), std::string::npos);
  EXPECT_NE(text.find("To: qa@acme.test\r\n"), std::string::npos);
}

TEST(LeadSquared, DateFormatAndRequest) {
  EXPECT_EQ(leadsquared_time(std::chrono::system_clock::time_point{} + 86'400'000ms + 3'723'000ms),
            "1970-01-02 01:02:03");
  storage::PipelineConfig c;
  c.crm_json = R"({"kind":"leadsquared","host":"https://api-in21.leadsquared.com/","activity_event":205})";
  EXPECT_FALSE(leadsquared_config(c)) << "keys missing";
  c.secrets = {{"crm_access_key", "u$r"}, {"crm_secret_key", "s k"}};
  auto cfg = leadsquared_config(c);
  ASSERT_TRUE(cfg) << cfg.error().to_string();
  auto req = leadsquared_activity_request(*cfg, {{"RelatedProspectId", "L1"}}, 5s);
  EXPECT_EQ(req.url, "https://api-in21.leadsquared.com/v2/ProspectActivity.svc/Create?accessKey=u%24r&secretKey=s%20k");
  auto body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["ActivityEvent"], 205);
  EXPECT_EQ(body["RelatedProspectId"], "L1");
  c.crm_json = R"({"kind":"salesforce"})";
  auto other = leadsquared_config(c);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kFailedPrecondition);
  // Fields of another JSON type are a clear refusal, not an exception (found by fuzzing).
  for (const char* odd : {R"({"kind":0})", R"({"kind":"leadsquared","host":5})", R"({"kind":["leadsquared"]})"}) {
    c.crm_json = odd;
    auto refused = leadsquared_config(c);
    ASSERT_FALSE(refused) << odd;
    EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition) << odd;
  }
}

}  // namespace
}  // namespace earshot::notify
