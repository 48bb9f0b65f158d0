// Sessions (refresh tokens) and the sign-in lookups of users and API keys.
#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

namespace {

// The user's role while they may use the product, on `db` (the Database or a transaction's
// Connection).
template <class Executor>
Result<std::optional<UserRole>> active_role_on(Executor& db, std::string_view bid, Id id) {
  auto r = db.execute(
      "SELECT u.role, u.disabled, b.status FROM users u JOIN businesses b ON b.bid = u.bid "
      "WHERE u.bid = ? AND u.id = ?",
      {Value(bid), Value(id)});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty() || r->rows[0][1].as_int() != 0 || r->rows[0][2].as_string() != "active") {
    return std::optional<UserRole>{};
  }
  return std::optional(from_name(kUserRole, r->rows[0][0].as_string()));
}

template <class Executor>
Result<ExecResult> insert_refresh(Executor& db, const RefreshToken& t) {
  const Value params[] = {
      Value(t.token_hash), Value(t.family_id),         t.bid.empty() ? Value(nullptr) : Value(t.bid),
      Value(t.user_id),    Value(t.is_platform_admin), Value(t.expires_at)};
  return db.execute(
      "INSERT INTO auth_refresh_tokens (token_hash, family_id, bid, user_id, is_platform_admin, "
      "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      params);
}

}  // namespace

Result<std::vector<std::string>> MySqlUserRepository::businesses_with_email(std::string_view email) {
  auto r = db_.execute("SELECT bid FROM users WHERE email = ? LIMIT 2", {Value(email)});
  if (!r) return std::unexpected(r.error());
  std::vector<std::string> out;
  for (const auto& row : r->rows) out.push_back(row[0].as_string());
  return out;
}

Result<std::optional<UserRole>> MySqlUserRepository::active_role(const TenantId& t, Id id) {
  return active_role_on(db_, t.bid(), id);
}

Status MySqlRefreshTokenRepository::store(const RefreshToken& token) {
  auto r = insert_refresh(db_, token);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<RefreshRotation> MySqlRefreshTokenRepository::rotate(std::string_view token_hash, Timestamp now,
                                                            std::string_view next_token_hash,
                                                            Timestamp next_expires_at) {
  return db_.transaction<RefreshRotation>([&](Connection& c) -> Result<RefreshRotation> {
    RefreshRotation out;
    auto r = c.execute(
        "SELECT id, family_id, bid, user_id, is_platform_admin, expires_at, revoked_at "
        "FROM auth_refresh_tokens WHERE token_hash = ? FOR UPDATE",
        {Value(token_hash)});
    if (!r) return std::unexpected(r.error());
    if (r->rows.empty()) return out;
    const auto& row = r->rows[0];
    out.family_id = row[1].as_string();
    if (!row[6].is_null()) {
      out.outcome = RotationOutcome::kReused;
      return out;
    }
    if (row[5].as_time() <= now) {
      out.outcome = RotationOutcome::kExpired;
      return out;
    }
    RefreshToken next;
    next.token_hash = std::string(next_token_hash);
    next.family_id = out.family_id;
    next.user_id = row[3].as_int();
    next.is_platform_admin = row[4].as_int() != 0;
    next.expires_at = next_expires_at;
    if (next.is_platform_admin) {
      auto a = c.execute("SELECT disabled FROM platform_admins WHERE id = ?", {Value(next.user_id)});
      if (!a) return std::unexpected(a.error());
      if (a->rows.empty() || a->rows[0][0].as_int() != 0) return out;  // a disabled admin's session ends
    } else {
      next.bid = row[2].as_string();
      auto role = active_role_on(c, next.bid, next.user_id);
      if (!role) return std::unexpected(role.error());
      if (!*role) return out;
      out.role = **role;
    }
    auto rev = c.execute("UPDATE auth_refresh_tokens SET revoked_at = ? WHERE id = ?", {Value(now), row[0]});
    if (!rev) return std::unexpected(rev.error());
    if (auto ins = insert_refresh(c, next); !ins) return std::unexpected(ins.error());
    out.outcome = RotationOutcome::kRotated;
    out.bid = next.bid;
    out.user_id = next.user_id;
    out.is_platform_admin = next.is_platform_admin;
    return out;
  });
}

Result<std::optional<std::string>> MySqlRefreshTokenRepository::family_of(std::string_view token_hash) {
  auto r = db_.execute("SELECT family_id FROM auth_refresh_tokens WHERE token_hash = ?", {Value(token_hash)});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return std::optional<std::string>{};
  return std::optional(r->rows[0][0].as_string());
}

Result<std::int64_t> MySqlRefreshTokenRepository::revoke_family(std::string_view family_id, Timestamp at) {
  auto r = db_.execute("UPDATE auth_refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                       {Value(at), Value(family_id)});
  if (!r) return std::unexpected(r.error());
  return static_cast<std::int64_t>(r->affected_rows);
}

Result<bool> MySqlRefreshTokenRepository::family_open(std::string_view family_id) {
  auto r = db_.execute("SELECT 1 FROM auth_refresh_tokens WHERE family_id = ? AND revoked_at IS NULL LIMIT 1",
                       {Value(family_id)});
  if (!r) return std::unexpected(r.error());
  return !r->rows.empty();
}

}  // namespace earshot::storage
