#include <gtest/gtest.h>

#include "earshot/crypto/api_key.hpp"
#include "earshot/crypto/base64.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/crypto/password.hpp"

namespace earshot::crypto {
namespace {

std::string keys_text(std::initializer_list<std::pair<std::string, std::string>> keys) {
  std::string out;
  for (const auto& [kid, b64] : keys) out += (out.empty() ? "" : ",") + kid + ":" + b64;
  return out;
}

TEST(Base64, RoundTripsBothVariants) {
  const std::string bytes("\x00\xff\x10hello\xfe", 9);
  for (auto v : {Base64Variant::kStandard, Base64Variant::kUrlSafeNoPadding}) {
    auto back = base64_decode(base64_encode(bytes, v), v);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(base64_encode("hi"), "aGk=");
  EXPECT_EQ(base64_encode("hi", Base64Variant::kUrlSafeNoPadding), "aGk");
  EXPECT_EQ(base64_decode("not base64!").error().code, ErrorCode::kInvalidArgument);
}

TEST(Hashing, Sha256AndHex) {
  EXPECT_EQ(hex_encode(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(Keyring, EncryptsAndDecrypts) {
  auto ring = Keyring::parse(keys_text({{"k1", Keyring::generate_key_base64()}}), "k1");
  ASSERT_TRUE(ring.has_value()) << ring.error().to_string();
  const std::string secret = "source-db-password-123";
  const std::string sealed = ring->encrypt(secret);
  EXPECT_EQ(sealed.find(secret), std::string::npos);
  EXPECT_EQ(Keyring::key_id_of(sealed).value(), "k1");
  EXPECT_EQ(ring->decrypt(sealed).value(), secret);
  // A fresh nonce every time.
  EXPECT_NE(ring->encrypt(secret), sealed);
}

TEST(Keyring, UnknownKeyIdFailsNamingIt) {
  auto old_ring = Keyring::parse(keys_text({{"old", Keyring::generate_key_base64()}}), "old");
  auto new_ring = Keyring::parse(keys_text({{"new", Keyring::generate_key_base64()}}), "new");
  const std::string sealed = old_ring->encrypt("x");
  auto r = new_ring->decrypt(sealed);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("'old'"), std::string::npos) << r.error().message;
}

TEST(Keyring, RotationKeepsOldValuesReadable) {
  const std::string k1 = Keyring::generate_key_base64();
  const std::string k2 = Keyring::generate_key_base64();
  auto before = Keyring::parse(keys_text({{"k1", k1}}), "k1");
  auto after = Keyring::parse(keys_text({{"k1", k1}, {"k2", k2}}), "k2");
  const std::string old_value = before->encrypt("v");
  EXPECT_EQ(after->decrypt(old_value).value(), "v");
  EXPECT_EQ(Keyring::key_id_of(after->encrypt("v")).value(), "k2");
}

TEST(Keyring, TamperingIsDetected) {
  auto ring = Keyring::parse(keys_text({{"k1", Keyring::generate_key_base64()}}), "k1");
  std::string sealed = ring->encrypt("payload");
  sealed.back() = static_cast<char>(sealed.back() ^ 1);
  EXPECT_EQ(ring->decrypt(sealed).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ring->decrypt("garbage").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ring->decrypt(sealed.substr(0, 10)).error().code, ErrorCode::kInvalidArgument);
}

TEST(Keyring, RejectsBadConfiguration) {
  const std::string good = Keyring::generate_key_base64();
  EXPECT_FALSE(Keyring::parse("", "k1").has_value());
  EXPECT_FALSE(Keyring::parse("k1" + good, "k1").has_value());                   // no colon
  EXPECT_FALSE(Keyring::parse("k1:c2hvcnQ=", "k1").has_value());                 // short key
  EXPECT_FALSE(Keyring::parse("k 1:" + good, "k 1").has_value());                // bad id
  EXPECT_FALSE(Keyring::parse("k1:" + good + ",k1:" + good, "k1").has_value());  // twice
  auto missing = Keyring::parse("k1:" + good, "k2");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("EARSHOT_MASTER_KEY_ID"), std::string::npos);
  // The key material never appears in an error.
  auto bad = Keyring::parse("k1:" + good.substr(0, 20), "k1");
  EXPECT_EQ(bad.error().message.find(good.substr(0, 20)), std::string::npos);
}

TEST(MasterKeySettings, DeclaresKeysFromEnvironment) {
  ConfigSpec spec;
  MasterKeySettings s;
  s.declare(spec);
  const std::string key = Keyring::generate_key_base64();
  ASSERT_TRUE(spec.load({{"EARSHOT_MASTER_KEYS", "a:" + key}, {"EARSHOT_MASTER_KEY_ID", "a"}}));
  auto ring = Keyring::from_settings(s);
  ASSERT_TRUE(ring.has_value());
  EXPECT_EQ(ring->primary_key_id(), "a");
  EXPECT_EQ(spec.effective_values().at("master_keys").find(key), std::string::npos);
}

TEST(Password, HashesWithArgon2idAndVerifies) {
  auto h = hash_password("correct horse");
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->starts_with("$argon2id$"));
  EXPECT_TRUE(verify_password(*h, "correct horse"));
  EXPECT_FALSE(verify_password(*h, "correct horse "));
  EXPECT_FALSE(verify_password("not a hash", "x"));
  EXPECT_FALSE(password_needs_rehash(*h));
  EXPECT_EQ(hash_password("").error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(*h, hash_password("correct horse").value());  // salted
}

TEST(ApiKey, GeneratesHashesAndParsesPrefix) {
  const auto k = generate_api_key();
  EXPECT_TRUE(k.secret.starts_with("esk_" + k.prefix + "_"));
  EXPECT_EQ(k.hash.size(), 32u);
  EXPECT_EQ(hash_api_key(k.secret), k.hash);
  EXPECT_TRUE(constant_time_equal(hash_api_key(k.secret), k.hash));
  EXPECT_EQ(api_key_prefix(k.secret).value(), k.prefix);
  EXPECT_FALSE(api_key_prefix("nope").has_value());
  EXPECT_NE(generate_api_key().secret, k.secret);
}

}  // namespace
}  // namespace earshot::crypto

namespace earshot::crypto {
namespace {

TEST(KeyringDerive, EveryConfiguredKeyDerivesItsOwnValueThePrimaryFirst) {
  const std::string k1 = Keyring::generate_key_base64();
  const std::string k2 = Keyring::generate_key_base64();
  auto old_primary = Keyring::parse("k1:" + k1, "k1");
  auto rotated = Keyring::parse("k1:" + k1 + ",k2:" + k2, "k2");
  ASSERT_TRUE(old_primary && rotated);
  const auto before = old_primary->derive_keys("purpose");
  const auto after = rotated->derive_keys("purpose");
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0], rotated->derive_key("purpose"));  // the primary's first
  EXPECT_EQ(after[1], before[0]);                       // the old key's value is still there
  EXPECT_NE(after[0], after[1]);
  EXPECT_EQ(after[0].size(), kMasterKeyBytes);
  EXPECT_NE(rotated->derive_keys("another")[1], before[0]);  // labels keep purposes apart
  EXPECT_TRUE(Keyring().derive_keys("purpose").empty());
}

}  // namespace
}  // namespace earshot::crypto
