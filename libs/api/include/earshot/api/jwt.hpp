#pragma once
// Access tokens: HS256 JSON Web Tokens, issued and verified strictly.
//
// Verification accepts a token only when its header names alg HS256 (so "none" and every
// other algorithm are refused before any library sees the token), the signature verifies
// under our key, `exp` is present and in the future by the injected clock, and the claims
// carry the fields below. libjwt is used with the key always passed (its NULL-key decode
// would accept unsigned tokens) and never trusted to check `exp`.

#include <chrono>
#include <cstdint>
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
  [[nodiscard]] static Result<JwtCodec> make(std::string key, std::chrono::seconds ttl,
                                             const Clock& clock);

  // Sets iat, exp (now + ttl) and a random jti; returns the compact token.
  [[nodiscard]] Result<std::string> issue(AccessClaims claims) const;
  // kUnauthenticated with a reason for anything but a valid, unexpired token of ours.
  [[nodiscard]] Result<AccessClaims> verify(std::string_view token) const;
  [[nodiscard]] std::chrono::seconds ttl() const { return ttl_; }

 private:
  JwtCodec(std::string key, std::chrono::seconds ttl, const Clock& clock)
      : key_(std::move(key)), ttl_(ttl), clock_(&clock) {}
  std::string key_;
  std::chrono::seconds ttl_;
  const Clock* clock_;
};

// base64url without padding (RFC 4648 section 5), as JWTs use it.
[[nodiscard]] std::string base64url_encode(std::string_view bytes);
[[nodiscard]] Result<std::string> base64url_decode(std::string_view text);

}  // namespace earshot::api
