#pragma once
// RefreshTokenRepository held in memory (auth_repositories.hpp's contract). rotate() asks
// the UserRepository given whether the token's owner may still sign in (platform admin
// enabled; user enabled in an active business), as the MySQL rotation does inside its
// transaction; one mutex makes each rotation atomic. Thread-safe.

#include <map>
#include <mutex>
#include <string>

#include "earshot/storage/auth_repositories.hpp"

namespace earshot::testing {

class FakeRefreshTokenRepository final : public storage::RefreshTokenRepository {
 public:
  explicit FakeRefreshTokenRepository(storage::UserRepository& users) : users_(users) {}

  Status store(const storage::RefreshToken& token) override {
    std::lock_guard l(mu_);
    return insert(token);
  }
  Result<storage::RefreshRotation> rotate(std::string_view token_hash, storage::Timestamp now,
                                          std::string_view next_token_hash,
                                          storage::Timestamp next_expires_at) override {
    std::lock_guard l(mu_);
    storage::RefreshRotation out;
    auto it = rows_.find(std::string(token_hash));
    if (it == rows_.end()) return out;
    const Row presented = it->second;
    out.family_id = presented.token.family_id;
    if (presented.revoked_at) {
      out.outcome = storage::RotationOutcome::kReused;
      return out;
    }
    if (presented.token.expires_at <= now) {
      out.outcome = storage::RotationOutcome::kExpired;
      return out;
    }
    if (presented.token.is_platform_admin) {
      auto a = users_.get_platform_admin(presented.token.user_id);
      if (!a) {
        if (a.error().code == ErrorCode::kNotFound) return out;
        return std::unexpected(a.error());
      }
      if (a->disabled) return out;
    } else {
      auto t = storage::TenantId::make(presented.token.bid);
      if (!t) return out;
      auto role = users_.active_role(*t, presented.token.user_id);
      if (!role) return std::unexpected(role.error());
      if (!*role) return out;
      out.role = **role;
    }
    storage::RefreshToken next = presented.token;
    next.token_hash = std::string(next_token_hash);
    next.expires_at = next_expires_at;
    if (auto st = insert(next); !st) return std::unexpected(st.error());
    it->second.revoked_at = now;
    out.outcome = storage::RotationOutcome::kRotated;
    out.bid = presented.token.bid;
    out.user_id = presented.token.user_id;
    out.is_platform_admin = presented.token.is_platform_admin;
    return out;
  }
  Result<std::optional<std::string>> family_of(std::string_view token_hash) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(std::string(token_hash));
    if (it == rows_.end()) return std::optional<std::string>{};
    return std::optional(it->second.token.family_id);
  }
  Result<std::int64_t> revoke_family(std::string_view family_id, storage::Timestamp at) override {
    std::lock_guard l(mu_);
    std::int64_t n = 0;
    for (auto& [hash, r] : rows_) {
      if (r.token.family_id == family_id && !r.revoked_at) {
        r.revoked_at = at;
        ++n;
      }
    }
    return n;
  }
  Result<bool> family_open(std::string_view family_id) override {
    std::lock_guard l(mu_);
    for (const auto& [hash, r] : rows_) {
      if (r.token.family_id == family_id && !r.revoked_at) return true;
    }
    return false;
  }

  // Test inspection: how many tokens are stored, and how many of them unrevoked.
  std::size_t size() const {
    std::lock_guard l(mu_);
    return rows_.size();
  }
  std::size_t unrevoked() const {
    std::lock_guard l(mu_);
    std::size_t n = 0;
    for (const auto& [hash, r] : rows_) n += r.revoked_at ? 0 : 1;
    return n;
  }

 private:
  struct Row {
    storage::RefreshToken token;
    std::optional<storage::Timestamp> revoked_at;
  };
  Status insert(const storage::RefreshToken& token) {
    if (rows_.contains(token.token_hash)) return make_error(ErrorCode::kAlreadyExists, "duplicate refresh token");
    rows_[token.token_hash] = Row{token, std::nullopt};
    return {};
  }

  storage::UserRepository& users_;
  mutable std::mutex mu_;
  std::map<std::string, Row> rows_;  // by token hash
};

}  // namespace earshot::testing
