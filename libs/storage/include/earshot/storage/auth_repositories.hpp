#pragma once
// Sessions' storage: the refresh tokens of auth_refresh_tokens (api::AuthService).
//
// A refresh token is stored only as the SHA-256 of its secret. Tokens are looked up before
// the tenant is known (like API keys): the token's row names its business. Errors as in
// repository_common.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "earshot/storage/repository_common.hpp"
#include "earshot/storage/tenancy_repositories.hpp"

namespace earshot::storage {

struct RefreshToken {
  std::string token_hash;  // crypto::hash_api_key(secret)
  std::string family_id;   // the session: every token rotated from one login
  std::string bid;         // the user's business; empty for a platform admin
  Id user_id = 0;          // users.id, or platform_admins.id
  bool is_platform_admin = false;
  Timestamp expires_at{};
};

enum class RotationOutcome {
  kRotated,  // the presented token is revoked and the next one stored
  kUnknown,  // no such token, or its owner may no longer sign in
  kExpired,
  kReused,  // the presented token was already revoked: nothing changed
};

struct RefreshRotation {
  RotationOutcome outcome = RotationOutcome::kUnknown;
  std::string family_id;  // the presented token's family (empty when there is no such token)
  // kRotated: whose session it is, and (users) their current role.
  std::string bid;
  Id user_id = 0;
  bool is_platform_admin = false;
  UserRole role = UserRole::kViewer;
};

class RefreshTokenRepository {
 public:
  virtual ~RefreshTokenRepository() = default;
  [[nodiscard]] virtual Status store(const RefreshToken& token) = 0;
  // One transaction with the presented token's row locked (SELECT ... FOR UPDATE), so two
  // concurrent refreshes with one token rotate it once: kReused when it is already revoked,
  // kExpired when expires_at <= now, kUnknown when there is no such token or its owner may
  // no longer sign in (a platform admin disabled or gone; a user disabled or gone, or whose
  // business is disabled). Otherwise the token is revoked at `now` and the next one of the
  // family (same owner, `next_token_hash`, `next_expires_at`) is stored: kRotated.
  [[nodiscard]] virtual Result<RefreshRotation> rotate(std::string_view token_hash, Timestamp now,
                                                       std::string_view next_token_hash, Timestamp next_expires_at) = 0;
  // The family of a token, revoked or not; empty when there is no such token.
  [[nodiscard]] virtual Result<std::optional<std::string>> family_of(std::string_view token_hash) = 0;
  // Revokes every still unrevoked token of the family at `at`; returns how many.
  [[nodiscard]] virtual Result<std::int64_t> revoke_family(std::string_view family_id, Timestamp at) = 0;
  // Whether any token of the family is unrevoked (the session is open).
  [[nodiscard]] virtual Result<bool> family_open(std::string_view family_id) = 0;
};

}  // namespace earshot::storage
