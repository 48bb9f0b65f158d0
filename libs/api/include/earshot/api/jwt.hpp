#pragma once
// Access tokens: HS256 JSON Web Tokens, issued and verified strictly.
//
// Verification accepts a token only when its header names alg HS256 (so "none" and every
// other algorithm are refused before any library sees the token), the signature verifies
// under our key, `exp` is present and in the future by the injected clock, and the claims
// carry the fields below. libjwt is used with the key always passed (its NULL-key decode
// would accept unsigned tokens) and never trusted to check `exp`.
//
// A token that passed all of that is remembered (its exact bytes, bounded, per codec), so
// the next request with the same token skips the signature and JSON work: the cost of a
// full verification was some 15% of the gateway's CPU per uncached list page. `exp` is
// still checked against the clock on every use.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"

namespace earshot::api {

struct AccessClaims {
  std::string sub;   // "user:12" or "admin:1"
  std::string bid;   // empty for platform admins
  std::string role;  // role_name()
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  std::string jti;
  // The session (refresh-token family) the token was issued in; logout or a revoked family
  // ends every access token carrying it (AuthService re-reads it). Empty in tokens issued
  // before sessions were tracked.
  std::string sid;
};

inline constexpr std::size_t kMinJwtKeyBytes = 32;

class JwtCodec {
 public:
  // kInvalidArgument when the key is shorter than kMinJwtKeyBytes.
  [[nodiscard]] static Result<JwtCodec> make(std::string key, std::chrono::seconds ttl, const Clock& clock);

  // Sets iat, exp (now + ttl) and a random jti; returns the compact token.
  [[nodiscard]] Result<std::string> issue(AccessClaims claims) const;
  // kUnauthenticated with a reason for anything but a valid, unexpired token of ours.
  [[nodiscard]] Result<AccessClaims> verify(std::string_view token) const;
  [[nodiscard]] std::chrono::seconds ttl() const { return ttl_; }

  // Tokens remembered as verified (for tests and metrics).
  [[nodiscard]] std::size_t remembered() const;
  // At most this many tokens are remembered.
  static constexpr std::size_t kRememberedLimit = std::size_t{16} * 1024;

 private:
  struct Verified;
  JwtCodec(std::string key, std::chrono::seconds ttl, const Clock& clock);
  [[nodiscard]] Result<AccessClaims> verify_fully(std::string_view token) const;
  std::string key_;
  std::chrono::seconds ttl_;
  const Clock* clock_;
  std::shared_ptr<Verified> verified_;  // shared by copies: same key, same answers
};

// base64url without padding (RFC 4648 section 5), as JWTs use it.
[[nodiscard]] std::string base64url_encode(std::string_view bytes);
[[nodiscard]] Result<std::string> base64url_decode(std::string_view text);

}  // namespace earshot::api
