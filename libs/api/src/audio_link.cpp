#include "earshot/api/audio_link.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <charconv>

#include "earshot/api/jwt.hpp"

namespace earshot::api {
namespace {

constexpr std::string_view kLabel = "earshot audio link v1";

Error invalid_link() {
  return Error(ErrorCode::kUnauthenticated, "audio link invalid");
}

std::string message_of(std::string_view bid, std::int64_t call_id, std::int64_t exp, bool pii) {
  return pii ? fmt::format("{}\n{}\n{}\npii", bid, call_id, exp) : fmt::format("{}\n{}\n{}", bid, call_id, exp);
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string audio_link_key(const crypto::Keyring& keys) {
  return keys.derive_key(kLabel);
}

// crypto_auth and crypto_auth_verify are plain HMAC-SHA512-256 and a constant-time compare:
// they need no sodium_init().
AudioLinkSigner::AudioLinkSigner(std::string key, const Clock& clock) : key_(std::move(key)), clock_(&clock) {}

std::string AudioLinkSigner::mac(std::string_view bid, std::int64_t call_id, std::int64_t exp, bool pii) const {
  const std::string message = message_of(bid, call_id, exp, pii);
  std::string out(crypto_auth_BYTES, '\0');
  crypto_auth(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(message.data()),
              message.size(), reinterpret_cast<const unsigned char*>(key_.data()));
  return out;
}

Result<AudioLinkSigner::Link> AudioLinkSigner::sign(std::string_view bid, std::int64_t call_id, bool pii) const {
  if (key_.size() != crypto_auth_KEYBYTES) return make_error(ErrorCode::kInternal, "audio link key is not configured");
  Link link;
  link.exp = unix_seconds(clock_->now()) + kLifetime.count();
  link.sig = base64url_encode(mac(bid, call_id, link.exp, pii));
  return link;
}

Status AudioLinkSigner::verify(std::string_view bid, std::int64_t call_id, std::string_view exp, std::string_view sig,
                               bool pii) const {
  if (key_.size() != crypto_auth_KEYBYTES || bid.empty()) return std::unexpected(invalid_link());
  std::int64_t e = 0;
  const auto [end, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), e);
  if (exp.empty() || ec != std::errc() || end != exp.data() + exp.size() || e <= 0) {
    return std::unexpected(invalid_link());
  }
  auto raw = base64url_decode(sig);
  // Only the canonical spelling: no second text for the same MAC.
  if (!raw || raw->size() != crypto_auth_BYTES || base64url_encode(*raw) != sig) return std::unexpected(invalid_link());
  const std::string message = message_of(bid, call_id, e, pii);
  if (crypto_auth_verify(reinterpret_cast<const unsigned char*>(raw->data()),
                         reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return std::unexpected(invalid_link());
  }
  const std::int64_t now = unix_seconds(clock_->now());
  if (e <= now) return make_error(ErrorCode::kUnauthenticated, "audio link expired");
  if (e > now + kLifetime.count() + kSlack.count()) return std::unexpected(invalid_link());
  return {};
}

}  // namespace earshot::api
