// Signed recording links: the MAC binds business, call and expiry; expiry follows the
// injected clock; every malformed or tampered part is refused with the right reason.
#include "earshot/api/audio_link.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

#include "earshot/api/jwt.hpp"
#include "fakes/fake_clock.hpp"

namespace earshot::api {
namespace {

using std::chrono::seconds;

crypto::Keyring ring(const std::string& kid) {
  return *crypto::Keyring::parse(kid + ":" + crypto::Keyring::generate_key_base64(), kid);
}

class AudioLinkTest : public ::testing::Test {
 protected:
  testing::FakeClock clock;
  crypto::Keyring keys = ring("k1");
  AudioLinkSigner signer{audio_link_key(keys), clock};

  std::int64_t now() const { return std::chrono::duration_cast<seconds>(clock.now().time_since_epoch()).count(); }
  static std::string reason(const Status& st) { return st ? std::string("ok") : st.error().message; }
};

TEST_F(AudioLinkTest, ALinkVerifiesForItsBusinessAndCallUntilItExpires) {
  auto link = signer.sign("acme", 42);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->exp, now() + 600);
  EXPECT_EQ(link->sig.size(), 43U);  // 32 bytes, base64url without padding
  const std::string exp = std::to_string(link->exp);
  EXPECT_EQ(reason(signer.verify("acme", 42, exp, link->sig)), "ok");
  clock.advance(std::chrono::milliseconds(599'000));
  EXPECT_EQ(reason(signer.verify("acme", 42, exp, link->sig)), "ok");
  clock.advance(std::chrono::milliseconds(1'000));  // exp == now: over
  EXPECT_EQ(reason(signer.verify("acme", 42, exp, link->sig)), "audio link expired");
}

TEST_F(AudioLinkTest, TheMacBindsBusinessCallAndExpiry) {
  auto link = *signer.sign("acme", 42);
  const std::string exp = std::to_string(link.exp);
  EXPECT_EQ(reason(signer.verify("acme", 43, exp, link.sig)), "audio link invalid");
  EXPECT_EQ(reason(signer.verify("acme2", 42, exp, link.sig)), "audio link invalid");
  EXPECT_EQ(reason(signer.verify("acm", 42, exp, link.sig)), "audio link invalid");
  EXPECT_EQ(reason(signer.verify("acme", 42, std::to_string(link.exp + 1), link.sig)), "audio link invalid");
  EXPECT_EQ(reason(signer.verify("acme", 42, std::to_string(link.exp - 1), link.sig)), "audio link invalid");
  // "acme\n4\n2..." must not equal "acme\n42\n..." shifted: the separators fix the fields.
  EXPECT_NE(signer.mac("acme", 4, 21), signer.mac("acme", 42, 1));
  // The message is exactly "bid\ncall\nexp" under the derived key (HMAC-SHA512-256).
  const std::string key = audio_link_key(keys);
  const std::string msg = "acme\n42\n" + exp;
  unsigned char want[crypto_auth_BYTES];
  crypto_auth(want, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
              reinterpret_cast<const unsigned char*>(key.data()));
  EXPECT_EQ(link.sig, base64url_encode(std::string_view(reinterpret_cast<const char*>(want), sizeof want)));
}

TEST_F(AudioLinkTest, AnotherKeyOrTheRawMasterKeyDoesNotSign) {
  auto link = *signer.sign("acme", 42);
  const std::string exp = std::to_string(link.exp);
  const AudioLinkSigner other(audio_link_key(ring("k1")), clock);  // another fleet's key
  EXPECT_EQ(reason(other.verify("acme", 42, exp, link.sig)), "audio link invalid");
  // The derived key depends on the label: another purpose's key differs.
  EXPECT_NE(audio_link_key(keys), keys.derive_key("another purpose"));
  EXPECT_EQ(audio_link_key(keys).size(), 32U);
  // Not configured: signing fails, nothing verifies.
  const AudioLinkSigner none("", clock);
  EXPECT_FALSE(none.sign("acme", 42));
  EXPECT_EQ(reason(none.verify("acme", 42, exp, link.sig)), "audio link invalid");
}

TEST_F(AudioLinkTest, MalformedSignaturesAndExpiriesAreInvalid) {
  auto link = *signer.sign("acme", 42);
  const std::string exp = std::to_string(link.exp);
  for (const std::string& sig :
       {std::string(), link.sig.substr(0, 42), link.sig.substr(0, 20), link.sig + "A", link.sig + "AAAA",
        std::string("!!!!"), std::string(43, 'A'), link.sig + "=", std::string(4096, 'x')}) {
    EXPECT_EQ(reason(signer.verify("acme", 42, exp, sig)), "audio link invalid") << sig;
  }
  // A second spelling of the same 32 bytes (the last character's unused bits) is refused too.
  std::string alt = link.sig;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  alt.back() = alphabet[alphabet.find(alt.back()) ^ 1];
  EXPECT_EQ(reason(signer.verify("acme", 42, exp, alt)), "audio link invalid");
  for (const std::string& e : {std::string(), std::string("abc"), exp + "x", " " + exp, "+" + exp, std::string("-1"),
                               std::string("0"), std::string("99999999999999999999999")}) {
    EXPECT_EQ(reason(signer.verify("acme", 42, e, link.sig)), "audio link invalid") << e;
  }
  EXPECT_EQ(reason(signer.verify("", 42, exp, link.sig)), "audio link invalid");
}

TEST_F(AudioLinkTest, AnExpiryTooFarAheadIsRefusedEvenWhenSigned) {
  // Signed by a clock 11 minutes ahead (slack is 1 minute): too far for this gateway.
  testing::FakeClock ahead;
  ahead.set_wall(clock.now() + seconds(660));
  const AudioLinkSigner fast(audio_link_key(keys), ahead);
  auto far = *fast.sign("acme", 42);
  EXPECT_EQ(reason(signer.verify("acme", 42, std::to_string(far.exp), far.sig)), "audio link invalid");
  // Within the slack (30 s ahead) it is accepted.
  ahead.set_wall(clock.now() + seconds(30));
  auto near = *fast.sign("acme", 42);
  EXPECT_EQ(reason(signer.verify("acme", 42, std::to_string(near.exp), near.sig)), "ok");
}

}  // namespace
}  // namespace earshot::api
