#include "earshot/api/auth.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include "earshot/core/log.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/crypto/password.hpp"

namespace earshot::api {
namespace {

const Error kBadLogin(ErrorCode::kUnauthenticated, "wrong e-mail or password");

Error bad_refresh(std::string_view why) {
  return Error(ErrorCode::kUnauthenticated, std::string("invalid refresh token: ").append(why));
}

std::string random_token(std::string_view prefix, std::size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return std::string(prefix) + base64url_encode(raw);
}

std::string new_family() {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  return fmt::format("{:02x}", fmt::join(b, ""));
}

// A hash to verify against when the account does not exist, so the answer takes as long.
const std::string& dummy_hash() {
  static const std::string h = crypto::hash_password("not a real password").value_or("");
  return h;
}

std::optional<Role> role_of(storage::UserRole r) {
  switch (r) {
    case storage::UserRole::kAdmin:
      return Role::kAdmin;
    case storage::UserRole::kAnalyst:
      return Role::kAnalyst;
    case storage::UserRole::kViewer:
      return Role::kViewer;
  }
  return std::nullopt;
}

}  // namespace

bool valid_api_key_scope(std::string_view scope) {
  return scope == "ingest" || scope == "read" || scope == "embed" || scope == "pii:read";
}

AuthService::AuthService(AuthRepositories repos, const JwtCodec& jwt, const Clock& clock,
                         std::chrono::seconds refresh_ttl)
    : repos_(repos), jwt_(jwt), clock_(clock), refresh_ttl_(refresh_ttl) {}

AuthService::AuthService(storage::Repositories& repos, const JwtCodec& jwt, const Clock& clock,
                         std::chrono::seconds refresh_ttl)
    : AuthService(AuthRepositories{repos.users, repos.businesses, repos.api_keys, repos.refresh_tokens}, jwt, clock,
                  refresh_ttl) {}

Result<Session> AuthService::login(std::string_view email, std::string_view password, std::optional<std::string> bid,
                                   std::string_view client_address) {
  if (email.empty() || email.size() > 255 || password.empty() || password.size() > 1024) {
    return make_error(ErrorCode::kInvalidArgument, "email and password are required");
  }
  if (throttle_ != nullptr) {
    if (auto st = throttle_->check(email, client_address); !st) return std::unexpected(st.error());
  }
  auto out = check_login(email, password, std::move(bid));
  if (throttle_ != nullptr) {
    if (out) {
      throttle_->succeeded(email);
    } else if (out.error().code == ErrorCode::kUnauthenticated) {
      throttle_->failed(email, client_address);
    }
  }
  return out;
}

Result<Session> AuthService::check_login(std::string_view email, std::string_view password,
                                         std::optional<std::string> bid) {
  // Every refusal below is kBadLogin after exactly one password hash check.
  auto refuse = [&]() -> Result<Session> {
    // Only the cost of the check matters (a refusal takes as long as a wrong password), not
    // its answer.
    (void)crypto::verify_password(dummy_hash(), password);
    return std::unexpected(kBadLogin);
  };
  auto& users = repos_.users;
  if (!bid) {
    auto admin = users.find_platform_admin(email);
    if (admin) {
      if (!crypto::verify_password(admin->password_hash, password) || admin->disabled) {
        return std::unexpected(kBadLogin);
      }
      Principal p;
      p.kind = Principal::Kind::kPlatformAdmin;
      p.id = admin->id;
      p.role = Role::kPlatformAdmin;
      return issue(p, new_family());
    }
    if (admin.error().code != ErrorCode::kNotFound) return std::unexpected(admin.error());
  }
  auto found_in = users.businesses_with_email(email);
  if (!found_in) return std::unexpected(found_in.error());
  // None, or (older data, before e-mails were unique) two businesses: the same answer.
  if (found_in->size() != 1) return refuse();
  const std::string found = found_in->front();
  if (bid && *bid != found) return refuse();
  auto tenant = storage::TenantId::make(found);
  if (!tenant) return refuse();
  auto user = users.find_by_email(*tenant, email);
  if (!user) {
    if (user.error().code != ErrorCode::kNotFound) return std::unexpected(user.error());
    return refuse();
  }
  if (!crypto::verify_password(user->password_hash, password) || user->disabled) {
    return std::unexpected(kBadLogin);
  }
  auto biz = repos_.businesses.get(*tenant);
  if (!biz) return std::unexpected(biz.error().code == ErrorCode::kNotFound ? kBadLogin : biz.error());
  if (biz->status != storage::BusinessStatus::kActive) return std::unexpected(kBadLogin);
  // The last-login time is informational: failing to record it must not refuse a correct
  // login, but the operator hears about it.
  if (auto st = users.record_login(*tenant, user->id, storage::to_timestamp(clock_.now())); !st) {
    log::warn("last login not recorded",
              {{"bid", found}, {"user_id", std::to_string(user->id)}, {"error", st.error().to_string()}});
  }
  const auto role = role_of(user->role);
  if (!role) return make_error(ErrorCode::kInternal, "user has an unknown role");
  Principal p;
  p.kind = Principal::Kind::kUser;
  p.id = user->id;
  p.bid = found;
  p.role = *role;
  return issue(p, new_family());
}

Result<std::string> AuthService::store_refresh(const Principal& p, const std::string& family) {
  std::string token = random_token("ert_", 32);
  storage::RefreshToken row;
  row.token_hash = crypto::hash_api_key(token);
  row.family_id = family;
  row.bid = p.bid;
  row.user_id = p.id;
  row.is_platform_admin = p.kind == Principal::Kind::kPlatformAdmin;
  row.expires_at = storage::to_timestamp(clock_.now() + refresh_ttl_);
  if (auto st = repos_.refresh_tokens.store(row); !st) return std::unexpected(st.error());
  return token;
}

Result<Session> AuthService::issue(const Principal& p, const std::string& family) {
  auto refresh = store_refresh(p, family);
  if (!refresh) return std::unexpected(refresh.error());
  AccessClaims c;
  c.sub = p.subject();
  c.bid = p.bid;
  c.role = std::string(role_name(p.role));
  c.sid = family;
  auto access = jwt_.issue(c);
  if (!access) return std::unexpected(access.error());
  return Session{*access, jwt_.ttl().count(), *refresh, p};
}

Result<Session> AuthService::refresh(std::string_view refresh_token) {
  if (!refresh_token.starts_with("ert_") || refresh_token.size() > 128) {
    return std::unexpected(bad_refresh("malformed"));
  }
  const auto now = storage::to_timestamp(clock_.now());
  // The next token of the family, stored only if the presented one rotates.
  const std::string next_token = random_token("ert_", 32);
  auto rot = repos_.refresh_tokens.rotate(crypto::hash_api_key(refresh_token), now, crypto::hash_api_key(next_token),
                                          storage::to_timestamp(clock_.now() + refresh_ttl_));
  if (!rot) return std::unexpected(rot.error());
  switch (rot->outcome) {
    case storage::RotationOutcome::kUnknown:
      return std::unexpected(bad_refresh("unknown or no longer valid"));
    case storage::RotationOutcome::kExpired:
      return std::unexpected(bad_refresh("expired"));
    case storage::RotationOutcome::kReused: {
      auto st = repos_.refresh_tokens.revoke_family(rot->family_id, now);
      if (!st) return std::unexpected(st.error());
      return std::unexpected(bad_refresh("already used; the session is revoked"));
    }
    case storage::RotationOutcome::kRotated:
      break;
  }
  Principal p;
  p.id = rot->user_id;
  if (rot->is_platform_admin) {
    p.kind = Principal::Kind::kPlatformAdmin;
    p.role = Role::kPlatformAdmin;
  } else {
    p.kind = Principal::Kind::kUser;
    const auto role = role_of(rot->role);
    if (!role) return make_error(ErrorCode::kInternal, "refresh token of a user with an unknown role");
    p.bid = rot->bid;
    p.role = *role;
  }
  AccessClaims c;
  c.sub = p.subject();
  c.bid = p.bid;
  c.role = std::string(role_name(p.role));
  c.sid = rot->family_id;
  auto access = jwt_.issue(c);
  if (!access) return std::unexpected(access.error());
  return Session{*access, jwt_.ttl().count(), next_token, p};
}

Status AuthService::logout(std::string_view refresh_token) {
  if (!refresh_token.starts_with("ert_") || refresh_token.size() > 128) {
    return make_error(ErrorCode::kInvalidArgument, "refresh_token is malformed");
  }
  const auto now = storage::to_timestamp(clock_.now());
  auto fam = repos_.refresh_tokens.family_of(crypto::hash_api_key(refresh_token));
  if (!fam) return std::unexpected(fam.error());
  const auto& family = *fam;
  if (!family) return {};
  auto r = repos_.refresh_tokens.revoke_family(*family, now);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<Principal> AuthService::authenticate_bearer(std::string_view token) const {
  auto claims = jwt_.verify(token);
  if (!claims) return std::unexpected(claims.error());
  Principal p;
  auto role = role_from_name(claims->role);
  const auto colon = claims->sub.find(':');
  if (!role || colon == std::string::npos) {
    return make_error(ErrorCode::kUnauthenticated, "invalid access token: bad claims");
  }
  const std::string kind = claims->sub.substr(0, colon);
  try {
    p.id = std::stoll(claims->sub.substr(colon + 1));
  } catch (const std::exception&) {
    return make_error(ErrorCode::kUnauthenticated, "invalid access token: bad subject");
  }
  p.role = *role;
  if (kind == "admin" && *role == Role::kPlatformAdmin && claims->bid.empty()) {
    p.kind = Principal::Kind::kPlatformAdmin;
    auto enabled = admin_enabled(p.id);
    if (!enabled) return std::unexpected(enabled.error());
    if (!*enabled) return make_error(ErrorCode::kUnauthenticated, "the platform admin is disabled");
  } else if (kind == "user" && *role != Role::kPlatformAdmin && !claims->bid.empty()) {
    p.kind = Principal::Kind::kUser;
    p.bid = claims->bid;
    auto now_role = current_role(p.bid, p.id);
    if (!now_role) return std::unexpected(now_role.error());
    if (!*now_role) {
      return make_error(ErrorCode::kUnauthenticated, "the user or its business is disabled; log in again");
    }
    p.role = **now_role;
  } else {
    return make_error(ErrorCode::kUnauthenticated, "invalid access token: bad claims");
  }
  if (!claims->sid.empty()) {
    auto open = session_open(claims->sid);
    if (!open) return std::unexpected(open.error());
    if (!*open) return make_error(ErrorCode::kUnauthenticated, "the session has ended; log in again");
  }
  return p;
}

Result<bool> AuthService::session_open(const std::string& sid) const {
  const auto now = clock_.steady_now();
  {
    std::lock_guard lock(standing_mu_);
    auto it = sessions_.find(sid);
    if (it != sessions_.end() && now - it->second.checked < kAccessRecheck) return it->second.ok;
  }
  // Open while any token of the family is unrevoked (rotation revokes one and adds the next;
  // logout and a reused token revoke them all).
  auto open = repos_.refresh_tokens.family_open(sid);
  if (!open) return std::unexpected(open.error());
  const bool ok = *open;
  std::lock_guard lock(standing_mu_);
  if (sessions_.size() > 100'000) {
    std::erase_if(sessions_, [&](const auto& e) { return now - e.second.checked >= kAccessRecheck; });
  }
  sessions_[sid] = Checked{ok, now};
  return ok;
}

Result<bool> AuthService::admin_enabled(std::int64_t admin) const {
  const auto now = clock_.steady_now();
  {
    std::lock_guard lock(standing_mu_);
    auto it = admins_.find(admin);
    if (it != admins_.end() && now - it->second.checked < kAccessRecheck) return it->second.ok;
  }
  auto a = repos_.users.get_platform_admin(admin);
  if (!a && a.error().code != ErrorCode::kNotFound) return std::unexpected(a.error());
  const bool ok = a && !a->disabled;
  std::lock_guard lock(standing_mu_);
  admins_[admin] = Checked{ok, now};
  return ok;
}

Result<std::optional<Role>> AuthService::current_role(const std::string& bid, std::int64_t user) const {
  const auto now = clock_.steady_now();
  const auto key = std::make_pair(bid, user);
  {
    std::lock_guard lock(standing_mu_);
    auto it = standing_.find(key);
    if (it != standing_.end() && now - it->second.checked < kAccessRecheck) return it->second.role;
  }
  std::optional<Role> role;
  if (auto tenant = storage::TenantId::make(bid)) {  // a malformed bid names no user
    auto r = repos_.users.active_role(*tenant, user);
    if (!r) return std::unexpected(r.error());
    if (const auto& active = *r) role = role_of(*active);
  }
  std::lock_guard lock(standing_mu_);
  if (standing_.size() > 100'000) {  // forget long-gone sessions rather than grow forever
    std::erase_if(standing_, [&](const auto& e) { return now - e.second.checked >= kAccessRecheck; });
  }
  standing_[key] = Standing{role, now};
  return role;
}

Result<Principal> AuthService::authenticate_api_key(std::string_view secret) {
  if (!crypto::api_key_prefix(secret)) {
    return make_error(ErrorCode::kUnauthenticated, "invalid API key");
  }
  auto key = repos_.api_keys.authenticate_active(crypto::hash_api_key(secret));
  if (!key) {
    if (key.error().code == ErrorCode::kNotFound) return make_error(ErrorCode::kUnauthenticated, "invalid API key");
    return std::unexpected(key.error());
  }
  Principal p;
  p.kind = Principal::Kind::kApiKey;
  p.id = key->id;
  p.bid = key->bid;
  p.role = Role::kViewer;
  p.scopes = key->scopes;
  if (p.has_scope("embed") && !p.has_scope("read")) p.scopes.emplace_back("read");
  {
    std::lock_guard lock(usage_mu_);
    usage_.insert_or_assign(p.id, std::pair{p.bid, clock_.now()});
  }
  return p;
}

Status AuthService::business_for_admin(std::string_view bid) const {
  auto tenant = storage::TenantId::make(std::string(bid));
  if (!tenant) {
    return make_error(ErrorCode::kInvalidArgument, "X-Earshot-Business is not a valid business id");
  }
  auto b = repos_.businesses.get(*tenant);
  if (!b) {
    if (b.error().code == ErrorCode::kNotFound) return make_error(ErrorCode::kNotFound, "no such business");
    return std::unexpected(b.error());
  }
  if (b->status != storage::BusinessStatus::kActive) {
    return make_error(ErrorCode::kNotFound, fmt::format("business {} is disabled", b->bid));
  }
  return {};
}

std::size_t AuthService::flush_api_key_usage() {
  std::map<std::int64_t, std::pair<std::string, std::chrono::system_clock::time_point>> batch;
  {
    std::lock_guard lock(usage_mu_);
    batch.swap(usage_);
  }
  std::size_t written = 0;
  auto& keys = repos_.api_keys;
  for (const auto& [id, use] : batch) {
    auto t = storage::TenantId::make(use.first);
    if (!t) continue;
    if (auto r = keys.touch(*t, id, std::chrono::time_point_cast<storage::Timestamp::duration>(use.second)); !r) {
      log::warn("API key last use not recorded", {{"error", r.error().to_string()}});
      std::lock_guard lock(usage_mu_);
      usage_.try_emplace(id, use);  // a newer use noted meanwhile wins
      continue;
    }
    ++written;
  }
  return written;
}

}  // namespace earshot::api
