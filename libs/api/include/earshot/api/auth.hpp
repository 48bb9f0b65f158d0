#pragma once
// Sessions and credentials: password login, rotating refresh tokens, access-token and API
// key authentication.
//
// Refresh tokens are random (32 bytes, "ert_" + base64url), stored only as SHA-256 in
// auth_refresh_tokens. refresh() revokes the presented token and issues the next one of its
// family in one transaction; presenting an already revoked token again revokes the whole
// family (the token was copied), so both the thief and the owner must log in again.
//
// Thread-safe: state lives in the repositories (API key last-use notes wait in memory for
// flush_api_key_usage()).

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "earshot/api/dispatcher.hpp"
#include "earshot/api/jwt.hpp"
#include "earshot/api/login_throttle.hpp"
#include "earshot/api/router.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/storage/repository_set.hpp"

namespace earshot::api {

struct Session {
  std::string access_token;
  std::int64_t expires_in = 0;  // seconds
  std::string refresh_token;
  Principal principal;
};

// What AuthService reads and writes (repository_set.hpp's bundle has them all).
struct AuthRepositories {
  storage::UserRepository& users;
  storage::BusinessRepository& businesses;
  storage::ApiKeyRepository& api_keys;
  storage::RefreshTokenRepository& refresh_tokens;
};

class AuthService {
 public:
  AuthService(AuthRepositories repos, const JwtCodec& jwt, const Clock& clock, std::chrono::seconds refresh_ttl);
  AuthService(storage::Repositories& repos, const JwtCodec& jwt, const Clock& clock, std::chrono::seconds refresh_ttl);

  // An e-mail names one account on the platform (a platform admin or one business's user;
  // unique since migration 0009); `bid`, when given, must be that user's business. Platform
  // admins log in without one. kUnauthenticated "wrong e-mail or password" for an unknown
  // e-mail, a wrong password, a disabled user, admin or business, a wrong `bid` and an
  // e-mail still present in two businesses (older data): one answer after one password
  // hash check in every case, so accounts cannot be probed by answer or by time.
  // With a throttle set: kRateLimited (retry_after) while the account or `client_address`
  // must wait after repeated failures (login_throttle.hpp), before any check.
  [[nodiscard]] Result<Session> login(std::string_view email, std::string_view password, std::optional<std::string> bid,
                                      std::string_view client_address = {});
  // Failed-login throttling (optional; not owned; must outlive the service).
  void set_login_throttle(LoginThrottle* throttle) { throttle_ = throttle; }
  [[nodiscard]] Result<Session> refresh(std::string_view refresh_token);
  [[nodiscard]] std::chrono::seconds refresh_ttl() const { return refresh_ttl_; }
  // Revokes the token's whole family. Unknown tokens are ignored (logout is idempotent).
  [[nodiscard]] Status logout(std::string_view refresh_token);

  // kUnauthenticated unless `token` is a valid access token of a platform admin who is still
  // enabled, or of a business user who is still enabled in a still active business, and its
  // session (the `sid` claim: the refresh-token family) is not revoked by logout or by a
  // reused refresh token. The user's current role replaces the token's. All of these are
  // re-read at most once per kAccessRecheck, so disabling, demoting and logging out take
  // effect within it, not at the token's expiry.
  [[nodiscard]] Result<Principal> authenticate_bearer(std::string_view token) const;
  static constexpr std::chrono::seconds kAccessRecheck{2};
  // kUnauthenticated unless `secret` is an unrevoked API key of an active business.
  // Also notes the key as used; the notes reach api_keys.last_used_at in batches.
  [[nodiscard]] Result<Principal> authenticate_api_key(std::string_view secret);

  // The business a platform admin names on a tenant route: ok when it exists and is active;
  // kNotFound ("no such business" / "business B is disabled"), kInvalidArgument for a
  // malformed bid.
  [[nodiscard]] Status business_for_admin(std::string_view bid) const;

  // Writes the last use of every key used since the previous flush (one UPDATE per key, not
  // one per request); returns how many keys were written. The gateway calls it periodically
  // and at shutdown. A key whose write fails is kept for the next flush.
  std::size_t flush_api_key_usage();

 private:
  [[nodiscard]] Result<Session> check_login(std::string_view email, std::string_view password,
                                            std::optional<std::string> bid);
  [[nodiscard]] Result<Session> issue(const Principal& p, const std::string& family);
  [[nodiscard]] Result<std::string> store_refresh(const Principal& p, const std::string& family);

  AuthRepositories repos_;
  const JwtCodec& jwt_;
  const Clock& clock_;
  std::chrono::seconds refresh_ttl_;
  std::mutex usage_mu_;
  std::map<std::int64_t, std::pair<std::string, std::chrono::system_clock::time_point>>
      usage_;  // key id -> bid, last use

  // The standing of a token's user, read at most once per kAccessRecheck per user.
  struct Standing {
    std::optional<Role> role;  // empty: the user or its business is disabled or gone
    std::chrono::steady_clock::time_point checked{};
  };
  [[nodiscard]] Result<std::optional<Role>> current_role(const std::string& bid, std::int64_t user) const;
  mutable std::mutex standing_mu_;
  mutable std::map<std::pair<std::string, std::int64_t>, Standing> standing_;
  // Whether a session (refresh-token family) is still open, and a platform admin still
  // enabled: re-read at most once per kAccessRecheck.
  struct Checked {
    bool ok = false;
    std::chrono::steady_clock::time_point checked{};
  };
  [[nodiscard]] Result<bool> session_open(const std::string& sid) const;
  [[nodiscard]] Result<bool> admin_enabled(std::int64_t admin) const;
  mutable std::map<std::string, Checked> sessions_;
  mutable std::map<std::int64_t, Checked> admins_;
  LoginThrottle* throttle_ = nullptr;
};

// The dispatcher's Authenticator answered by an AuthService (the gateway, its tests and
// benchmarks).
class ServiceAuthenticator final : public Authenticator {
 public:
  explicit ServiceAuthenticator(AuthService& auth) : auth_(auth) {}
  Result<Principal> bearer(std::string_view token) override { return auth_.authenticate_bearer(token); }
  Result<Principal> api_key(std::string_view secret) override { return auth_.authenticate_api_key(secret); }
  Status business_for_admin(std::string_view bid) override { return auth_.business_for_admin(bid); }

 private:
  AuthService& auth_;
};

// The scopes an API key may carry: "ingest" (send calls), "read" (read calls and analytics),
// "embed" (read-only key for embedding dashboards; implies read), "pii:read" (transcripts and
// recordings raw where the business redacts personal data; never with embed).
[[nodiscard]] bool valid_api_key_scope(std::string_view scope);

}  // namespace earshot::api
