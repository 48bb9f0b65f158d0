#include "earshot/notify/signature.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <charconv>
#include <cstdlib>

namespace earshot::notify {
namespace {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  ensure_sodium();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string(hex, crypto_auth_hmacsha256_BYTES * 2);
}

std::string signature_header(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  std::string signed_text = fmt::format("{}.", unix_seconds);
  signed_text.append(body);
  return fmt::format("t={},v1={}", unix_seconds, hmac_sha256_hex(secret, signed_text));
}

Status verify_signature(std::string_view header, std::string_view secret, std::string_view body, std::int64_t now_unix,
                        std::chrono::seconds tolerance) {
  std::string_view t_text;
  std::string_view v1;
  while (!header.empty()) {
    const auto comma = header.find(',');
    auto part = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.starts_with("t=")) t_text = part.substr(2);
    if (part.starts_with("v1=")) v1 = part.substr(3);
  }
  std::int64_t t = 0;
  auto [p, ec] = std::from_chars(t_text.data(), t_text.data() + t_text.size(), t);
  if (t_text.empty() || ec != std::errc() || p != t_text.data() + t_text.size() || v1.size() != 64) {
    return make_error(ErrorCode::kInvalidArgument, "signature header must be t=<unix>,v1=<64 hex>");
  }
  if (std::abs(now_unix - t) > tolerance.count()) {
    return make_error(ErrorCode::kPermissionDenied, "signature timestamp outside the tolerance");
  }
  std::string signed_text = fmt::format("{}.", t);
  signed_text.append(body);
  const auto expected = hmac_sha256_hex(secret, signed_text);
  if (sodium_memcmp(expected.data(), v1.data(), expected.size()) != 0) {
    return make_error(ErrorCode::kPermissionDenied, "signature mismatch");
  }
  return {};
}

std::string new_signing_secret() {
  ensure_sodium();
  unsigned char raw[24];
  randombytes_buf(raw, sizeof raw);
  char hex[sizeof raw * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return "whsec_" + std::string(hex, sizeof raw * 2);
}

}  // namespace earshot::notify
