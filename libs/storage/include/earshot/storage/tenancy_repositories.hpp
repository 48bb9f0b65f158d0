#pragma once
// Who belongs to the platform: businesses, their users, platform admins and API keys.
// Contract (tenant scoping, errors): repository_common.hpp.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

enum class BusinessStatus { kActive, kDisabled };

struct Business {
  std::string bid;
  std::string name;
  BusinessStatus status = BusinessStatus::kActive;
  Timestamp created_at{};
};

class BusinessRepository {
 public:
  virtual ~BusinessRepository() = default;
  [[nodiscard]] virtual Status create(const TenantId& t, std::string_view name) = 0;
  [[nodiscard]] virtual Result<Business> get(const TenantId& t) = 0;
  // Platform administration: every business, by bid.
  [[nodiscard]] virtual Result<std::vector<Business>> list_all() = 0;
  [[nodiscard]] virtual Result<bool> set_status(const TenantId& t, BusinessStatus s) = 0;
  [[nodiscard]] virtual Result<bool> rename(const TenantId& t, std::string_view name) = 0;
};

enum class UserRole { kAdmin, kAnalyst, kViewer };

struct User {
  Id id = 0;
  std::string email;
  std::string display_name;
  UserRole role = UserRole::kViewer;
  std::string password_hash;  // argon2id string (crypto::hash_password)
  bool disabled = false;
  std::optional<Timestamp> last_login_at;
};

struct PlatformAdmin {
  Id id = 0;
  std::string email;
  std::string password_hash;
  bool disabled = false;
  Timestamp created_at{};
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;
  // `user.id` is ignored; returns the new id. kAlreadyExists for an e-mail taken by any user of
  // any business or by a platform admin (the message never says where: e-mails are unique
  // on the whole platform).
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, const User& user) = 0;
  [[nodiscard]] virtual Result<User> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<User> find_by_email(const TenantId& t, std::string_view email) = 0;
  [[nodiscard]] virtual Result<std::vector<User>> list(const TenantId& t) = 0;
  [[nodiscard]] virtual Result<bool> set_role(const TenantId& t, Id id, UserRole role) = 0;
  [[nodiscard]] virtual Result<bool> set_password_hash(const TenantId& t, Id id, std::string_view hash) = 0;
  [[nodiscard]] virtual Result<bool> set_disabled(const TenantId& t, Id id, bool disabled) = 0;
  [[nodiscard]] virtual Result<bool> record_login(const TenantId& t, Id id, Timestamp at) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;

  // Platform admins belong to no business.
  [[nodiscard]] virtual Result<Id> create_platform_admin(std::string_view email, std::string_view password_hash) = 0;
  [[nodiscard]] virtual Result<PlatformAdmin> find_platform_admin(std::string_view email) = 0;
  // True when a user of any business or a platform admin has this e-mail (compared as the
  // database compares them: case-insensitively).
  [[nodiscard]] virtual Result<bool> email_taken(std::string_view email) = 0;
  // Every platform admin, oldest first.
  [[nodiscard]] virtual Result<std::vector<PlatformAdmin>> list_platform_admins() = 0;
  [[nodiscard]] virtual Result<PlatformAdmin> get_platform_admin(Id id) = 0;
  // False when there is no such admin.
  [[nodiscard]] virtual Result<bool> set_platform_admin_disabled(std::string_view email, bool disabled) = 0;

  // Sign-in, before the tenant is known: the businesses with a user of this e-mail, at most
  // two (e-mails are unique since migration 0009; two means older data).
  [[nodiscard]] virtual Result<std::vector<std::string>> businesses_with_email(std::string_view email) = 0;
  // The user's current role while they may use the product: enabled, in an active business.
  // Empty otherwise, and when there is no such user.
  [[nodiscard]] virtual Result<std::optional<UserRole>> active_role(const TenantId& t, Id id) = 0;
};

struct ApiKey {
  Id id = 0;
  std::string bid;
  std::string name;
  std::string prefix;
  std::vector<std::string> scopes;
  Timestamp created_at{};
  std::optional<Timestamp> last_used_at;
  std::optional<Timestamp> revoked_at;
};

class ApiKeyRepository {
 public:
  virtual ~ApiKeyRepository() = default;
  // `key_hash` is crypto::hash_api_key(secret): the secret itself is never stored.
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, std::string_view name, std::string_view prefix,
                                          std::string_view key_hash, const std::vector<std::string>& scopes) = 0;
  [[nodiscard]] virtual Result<std::vector<ApiKey>> list(const TenantId& t) = 0;
  [[nodiscard]] virtual Result<bool> revoke(const TenantId& t, Id id, Timestamp at) = 0;
  [[nodiscard]] virtual Result<bool> touch(const TenantId& t, Id id, Timestamp at) = 0;
  // Authentication happens before the tenant is known: finds an unrevoked key by hash.
  // The returned key's bid is the tenant to use from then on. kNotFound otherwise.
  [[nodiscard]] virtual Result<ApiKey> authenticate(std::string_view key_hash) = 0;
  // As authenticate(), and only when the key's business is active.
  [[nodiscard]] virtual Result<ApiKey> authenticate_active(std::string_view key_hash) = 0;
};

}  // namespace earshot::storage
