// Access tokens are accepted only when HS256-signed with our key and unexpired.
#include "earshot/api/jwt.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "fakes/fake_clock.hpp"

namespace earshot::api {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef-test-key";

std::string hs256(const std::string& key, const std::string& msg) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

// A token with any header and payload, signed with `key` (or unsigned when key is empty).
std::string forge(const nlohmann::json& header, const nlohmann::json& payload, const std::string& key) {
  const std::string signing = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  return signing + "." + (key.empty() ? std::string() : hs256(key, signing));
}

class JwtTest : public ::testing::Test {
 protected:
  testing::FakeClock clock;
  JwtCodec codec = *JwtCodec::make(kKey, std::chrono::minutes(15), clock);

  nlohmann::json claims(std::int64_t exp_offset) const {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
    return {{"sub", "user:7"}, {"bid", "acme"},           {"role", "analyst"},
            {"iat", now},      {"exp", now + exp_offset}, {"jti", "abc"}};
  }
};

TEST_F(JwtTest, IssuedTokenVerifiesWithItsClaims) {
  AccessClaims c;
  c.sub = "user:7";
  c.bid = "acme";
  c.role = "analyst";
  auto token = codec.issue(c);
  ASSERT_TRUE(token) << token.error().to_string();
  auto v = codec.verify(*token);
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(v->sub, "user:7");
  EXPECT_EQ(v->bid, "acme");
  EXPECT_EQ(v->role, "analyst");
  EXPECT_EQ(v->exp - v->iat, 15 * 60);
  EXPECT_FALSE(v->jti.empty());
  EXPECT_TRUE(v->sid.empty());  // no session: no sid claim
  c.sid = "0123456789abcdef0123456789abcdef";
  auto with_sid = codec.verify(*codec.issue(c));
  ASSERT_TRUE(with_sid);
  EXPECT_EQ(with_sid->sid, c.sid);
}

TEST_F(JwtTest, ExpiresByTheInjectedClock) {
  auto token = *codec.issue(AccessClaims{"user:7", "acme", "viewer", 0, 0, "", ""});
  clock.advance(std::chrono::minutes(14));
  EXPECT_TRUE(codec.verify(token));
  clock.advance(std::chrono::minutes(1));
  auto v = codec.verify(token);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(v.error().message.find("expired"), std::string::npos);
}

TEST_F(JwtTest, ARememberedTokenStillExpiresAndAnEditedCopyIsStillRefused) {
  auto token = *codec.issue(AccessClaims{"user:7", "acme", "viewer", 0, 0, "", ""});
  ASSERT_TRUE(codec.verify(token));
  EXPECT_EQ(codec.remembered(), 1u);
  ASSERT_TRUE(codec.verify(token));  // the remembered answer
  EXPECT_EQ(codec.remembered(), 1u);
  // Every other spelling is verified in full: a changed signature character, a changed
  // payload, the token with a byte appended.
  std::string sig_edited = token;
  sig_edited.back() = sig_edited.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(codec.verify(sig_edited));
  std::string appended = token + "A";
  EXPECT_FALSE(codec.verify(appended));
  auto claims_json = nlohmann::json::parse(
      *base64url_decode(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1)));
  claims_json["role"] = "admin";
  const std::string payload_edited =
      token.substr(0, token.find('.') + 1) + base64url_encode(claims_json.dump()) + token.substr(token.rfind('.'));
  EXPECT_FALSE(codec.verify(payload_edited));
  EXPECT_EQ(codec.remembered(), 1u);  // refusals are never remembered
  clock.advance(std::chrono::minutes(15));
  auto v = codec.verify(token);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("expired"), std::string::npos);
  EXPECT_EQ(codec.remembered(), 0u);  // forgotten once expired
}

TEST_F(JwtTest, RememberedTokensAreBounded) {
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < JwtCodec::kRememberedLimit + 500; ++i) {
    tokens.push_back(*codec.issue(AccessClaims{"user:" + std::to_string(i), "acme", "viewer", 0, 0, "", ""}));
  }
  for (const auto& t : tokens) ASSERT_TRUE(codec.verify(t));
  EXPECT_LE(codec.remembered(), JwtCodec::kRememberedLimit);
  EXPECT_GT(codec.remembered(), 0u);
  for (const auto& t : tokens) ASSERT_TRUE(codec.verify(t));  // dropped ones verify again
  // A copy of the codec (the same key) shares what it remembered.
  JwtCodec copy = codec;
  EXPECT_EQ(copy.remembered(), codec.remembered());
}

TEST_F(JwtTest, ForgedTokenWithOurKeyVerifies) {
  // The forging helper itself is right, so the refusals below are about what they change.
  auto v = codec.verify(forge({{"alg", "HS256"}, {"typ", "JWT"}}, claims(60), kKey));
  EXPECT_TRUE(v) << v.error().to_string();
}

TEST_F(JwtTest, RefusesEditedPayload) {
  auto token = *codec.issue(AccessClaims{"user:7", "acme", "viewer", 0, 0, "", ""});
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  auto payload = nlohmann::json::parse(*base64url_decode(token.substr(d1 + 1, d2 - d1 - 1)));
  payload["role"] = "admin";
  payload["bid"] = "other";
  const std::string edited = token.substr(0, d1 + 1) + base64url_encode(payload.dump()) + token.substr(d2);
  auto v = codec.verify(edited);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(JwtTest, RefusesAlgNone) {
  for (const char* alg : {"none", "None", "NONE"}) {
    auto v = codec.verify(forge({{"alg", alg}, {"typ", "JWT"}}, claims(60), ""));
    ASSERT_FALSE(v) << alg;
    EXPECT_EQ(v.error().code, ErrorCode::kUnauthenticated);
  }
  // Even with a valid HS256 signature appended, a header naming none is refused.
  auto v = codec.verify(forge({{"alg", "none"}}, claims(60), kKey));
  EXPECT_FALSE(v);
}

TEST_F(JwtTest, RefusesOtherAlgorithmsAndMissingAlg) {
  EXPECT_FALSE(codec.verify(forge({{"alg", "HS512"}}, claims(60), kKey)));
  EXPECT_FALSE(codec.verify(forge({{"alg", "RS256"}}, claims(60), kKey)));
  EXPECT_FALSE(codec.verify(forge({{"typ", "JWT"}}, claims(60), kKey)));
}

TEST_F(JwtTest, RefusesWrongKey) {
  auto v = codec.verify(forge({{"alg", "HS256"}}, claims(60), kKey + "x"));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kUnauthenticated);
  auto other = *JwtCodec::make(std::string(40, 'k'), std::chrono::minutes(15), clock);
  auto token = *other.issue(AccessClaims{"user:7", "acme", "viewer", 0, 0, "", ""});
  EXPECT_FALSE(codec.verify(token));
}

TEST_F(JwtTest, RefusesMissingOrNonIntegerExp) {
  auto c = claims(60);
  c.erase("exp");
  EXPECT_FALSE(codec.verify(forge({{"alg", "HS256"}}, c, kKey)));
  c["exp"] = "99999999999";
  EXPECT_FALSE(codec.verify(forge({{"alg", "HS256"}}, c, kKey)));
  EXPECT_FALSE(codec.verify(forge({{"alg", "HS256"}}, claims(0), kKey)));
  EXPECT_FALSE(codec.verify(forge({{"alg", "HS256"}}, claims(-1), kKey)));
}

TEST_F(JwtTest, RefusesMalformedTokens) {
  for (const char* t : {"", "abc", "a.b", "a.b.c.d", "....", "eyJhbGciOiJIUzI1NiJ9..", "%%%.%%%.%%%"}) {
    auto v = codec.verify(t);
    ASSERT_FALSE(v) << t;
    EXPECT_EQ(v.error().code, ErrorCode::kUnauthenticated) << t;
  }
}

TEST(JwtCodecMake, RefusesShortKeys) {
  testing::FakeClock clock;
  auto c = JwtCodec::make(std::string(31, 'k'), std::chrono::minutes(1), clock);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(JwtCodec::make(std::string(32, 'k'), std::chrono::minutes(1), clock));
}

TEST(Base64Url, RoundTrips) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    EXPECT_EQ(*base64url_decode(base64url_encode(s)), s);
  }
  EXPECT_FALSE(base64url_decode("a+b/"));
}

}  // namespace
}  // namespace earshot::api
