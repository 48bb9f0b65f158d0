#include "earshot/crypto/api_key.hpp"

#include <sodium.h>

#include "earshot/crypto/base64.hpp"
#include "sodium_init.hpp"

namespace earshot::crypto {
namespace {

constexpr std::string_view kScheme = "esk_";
constexpr std::size_t kPrefixLen = 8;
constexpr std::size_t kSecretBytes = 32;

}  // namespace

GeneratedApiKey generate_api_key() {
  detail::ensure_sodium();
  static constexpr std::string_view kAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  GeneratedApiKey key;
  key.prefix.resize(kPrefixLen);
  for (auto& c : key.prefix) c = kAlphabet[randombytes_uniform(kAlphabet.size())];
  std::string raw(kSecretBytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  key.secret = std::string(kScheme) + key.prefix + "_" + base64_encode(raw, Base64Variant::kUrlSafeNoPadding);
  sodium_memzero(raw.data(), raw.size());
  key.hash = hash_api_key(key.secret);
  return key;
}

std::string hash_api_key(std::string_view secret) {
  return sha256(secret);
}

Result<std::string> api_key_prefix(std::string_view secret) {
  if (secret.size() < kScheme.size() + kPrefixLen + 2 || !secret.starts_with(kScheme) ||
      secret[kScheme.size() + kPrefixLen] != '_') {
    return make_error(ErrorCode::kInvalidArgument, "not an Earshot API key");
  }
  return std::string(secret.substr(kScheme.size(), kPrefixLen));
}

}  // namespace earshot::crypto
