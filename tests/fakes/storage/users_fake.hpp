#pragma once
// UserRepository held in memory (repositories.hpp's contract): e-mails unique on the whole
// platform and compared case-insensitively, as the database's collation compares them;
// active_role() reads the business's status from the BusinessRepository given. Thread-safe.

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::testing {

class FakeUserRepository final : public storage::UserRepository {
 public:
  explicit FakeUserRepository(storage::BusinessRepository& businesses) : businesses_(businesses) {}

  Result<storage::Id> create(const storage::TenantId& t, const storage::User& user) override {
    std::lock_guard l(mu_);
    if (taken(user.email)) return email_exists();
    Row r{t.bid(), user};
    r.user.id = ++next_id_;
    users_[r.user.id] = r;
    return r.user.id;
  }
  Result<storage::User> get(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    auto it = users_.find(id);
    if (it == users_.end() || it->second.bid != t.bid()) return not_found("user");
    return it->second.user;
  }
  Result<storage::User> find_by_email(const storage::TenantId& t, std::string_view email) override {
    std::lock_guard l(mu_);
    for (const auto& [id, r] : users_) {
      if (r.bid == t.bid() && same_email(r.user.email, email)) return r.user;
    }
    return not_found("user");
  }
  Result<std::vector<storage::User>> list(const storage::TenantId& t) override {
    std::lock_guard l(mu_);
    std::vector<storage::User> out;
    for (const auto& [id, r] : users_) {
      if (r.bid == t.bid()) out.push_back(r.user);
    }
    std::sort(out.begin(), out.end(),
              [](const storage::User& a, const storage::User& b) { return lower(a.email) < lower(b.email); });
    return out;
  }
  Result<bool> set_role(const storage::TenantId& t, storage::Id id, storage::UserRole role) override {
    return change(t, id, [&](storage::User& u) { u.role = role; });
  }
  Result<bool> set_password_hash(const storage::TenantId& t, storage::Id id, std::string_view hash) override {
    return change(t, id, [&](storage::User& u) { u.password_hash = std::string(hash); });
  }
  Result<bool> set_disabled(const storage::TenantId& t, storage::Id id, bool disabled) override {
    return change(t, id, [&](storage::User& u) { u.disabled = disabled; });
  }
  Result<bool> record_login(const storage::TenantId& t, storage::Id id, storage::Timestamp at) override {
    return change(t, id, [&](storage::User& u) { u.last_login_at = at; });
  }
  Result<bool> remove(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    auto it = users_.find(id);
    if (it == users_.end() || it->second.bid != t.bid()) return false;
    users_.erase(it);
    return true;
  }

  Result<storage::Id> create_platform_admin(std::string_view email, std::string_view password_hash) override {
    std::lock_guard l(mu_);
    for (const auto& [id, r] : users_) {
      if (same_email(r.user.email, email)) return email_exists();
    }
    for (const auto& [id, a] : admins_) {
      if (same_email(a.email, email)) {
        return make_error(ErrorCode::kAlreadyExists, "a platform admin with this e-mail already exists");
      }
    }
    storage::PlatformAdmin a{++next_admin_id_, std::string(email), std::string(password_hash), false,
                             storage::Timestamp{}};
    admins_[a.id] = a;
    return a.id;
  }
  Result<storage::PlatformAdmin> find_platform_admin(std::string_view email) override {
    std::lock_guard l(mu_);
    for (const auto& [id, a] : admins_) {
      if (same_email(a.email, email)) return a;
    }
    return not_found("platform admin");
  }
  Result<bool> email_taken(std::string_view email) override {
    std::lock_guard l(mu_);
    return taken(email);
  }
  Result<std::vector<storage::PlatformAdmin>> list_platform_admins() override {
    std::lock_guard l(mu_);
    std::vector<storage::PlatformAdmin> out;
    for (const auto& [id, a] : admins_) out.push_back(a);
    return out;
  }
  Result<storage::PlatformAdmin> get_platform_admin(storage::Id id) override {
    std::lock_guard l(mu_);
    auto it = admins_.find(id);
    if (it == admins_.end()) return not_found("platform admin");
    return it->second;
  }
  Result<bool> set_platform_admin_disabled(std::string_view email, bool disabled) override {
    std::lock_guard l(mu_);
    for (auto& [id, a] : admins_) {
      if (same_email(a.email, email)) {
        a.disabled = disabled;
        return true;
      }
    }
    return false;
  }
  Result<std::vector<std::string>> businesses_with_email(std::string_view email) override {
    std::lock_guard l(mu_);
    std::vector<std::string> out;
    for (const auto& [id, r] : users_) {
      if (out.size() < 2 && same_email(r.user.email, email)) out.push_back(r.bid);
    }
    return out;
  }
  Result<std::optional<storage::UserRole>> active_role(const storage::TenantId& t, storage::Id id) override {
    std::optional<storage::UserRole> role;
    {
      std::lock_guard l(mu_);
      auto it = users_.find(id);
      if (it == users_.end() || it->second.bid != t.bid() || it->second.user.disabled) return role;
      role = it->second.user.role;
    }
    auto b = businesses_.get(t);
    if (!b) {
      if (b.error().code == ErrorCode::kNotFound) return std::optional<storage::UserRole>{};
      return std::unexpected(b.error());
    }
    if (b->status != storage::BusinessStatus::kActive) return std::optional<storage::UserRole>{};
    return role;
  }

  // Test set-up of older data (before e-mails were unique): adds a user without the
  // platform-wide uniqueness check.
  storage::Id add_unchecked(const storage::TenantId& t, storage::User user) {
    std::lock_guard l(mu_);
    user.id = ++next_id_;
    users_[user.id] = Row{t.bid(), user};
    return user.id;
  }

 private:
  struct Row {
    std::string bid;
    storage::User user;
  };
  static std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  static bool same_email(std::string_view a, std::string_view b) { return lower(a) == lower(b); }
  static std::unexpected<Error> not_found(std::string_view what) {
    return std::unexpected(Error(ErrorCode::kNotFound, std::string(what) + " not found"));
  }
  static std::unexpected<Error> email_exists() {
    return std::unexpected(Error(ErrorCode::kAlreadyExists,
                                 "a user with this e-mail already exists (e-mails are unique on the platform)"));
  }
  bool taken(std::string_view email) const {
    for (const auto& [id, r] : users_) {
      if (same_email(r.user.email, email)) return true;
    }
    for (const auto& [id, a] : admins_) {
      if (same_email(a.email, email)) return true;
    }
    return false;
  }
  template <class F>
  Result<bool> change(const storage::TenantId& t, storage::Id id, F&& f) {
    std::lock_guard l(mu_);
    auto it = users_.find(id);
    if (it == users_.end() || it->second.bid != t.bid()) return false;
    f(it->second.user);
    return true;  // matched (the connection reports found rows, not changed ones)
  }

  storage::BusinessRepository& businesses_;
  std::mutex mu_;
  std::map<storage::Id, Row> users_;
  std::map<storage::Id, storage::PlatformAdmin> admins_;
  storage::Id next_id_ = 0;
  storage::Id next_admin_id_ = 0;
};

}  // namespace earshot::testing
