#pragma once
// ApiKeyRepository held in memory (repositories.hpp's contract); authenticate_active() reads
// the business's status from the BusinessRepository given. Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::testing {

class FakeApiKeyRepository final : public storage::ApiKeyRepository {
 public:
  explicit FakeApiKeyRepository(storage::BusinessRepository& businesses) : businesses_(businesses) {}

  Result<storage::Id> create(const storage::TenantId& t, std::string_view name, std::string_view prefix,
                             std::string_view key_hash, const std::vector<std::string>& scopes) override {
    if (key_hash.size() != 32) return make_error(ErrorCode::kInvalidArgument, "API key hash must be 32 bytes");
    std::lock_guard l(mu_);
    for (const auto& [id, r] : keys_) {
      if (r.hash == key_hash) return make_error(ErrorCode::kAlreadyExists, "duplicate API key hash");
    }
    Row r;
    r.key.id = ++next_id_;
    r.key.bid = t.bid();
    r.key.name = std::string(name);
    r.key.prefix = std::string(prefix);
    r.key.scopes = scopes;
    r.hash = std::string(key_hash);
    keys_[r.key.id] = r;
    return r.key.id;
  }
  Result<std::vector<storage::ApiKey>> list(const storage::TenantId& t) override {
    std::lock_guard l(mu_);
    std::vector<storage::ApiKey> out;
    for (const auto& [id, r] : keys_) {
      if (r.key.bid == t.bid()) out.push_back(r.key);  // by id: created_at, id order
    }
    return out;
  }
  Result<bool> revoke(const storage::TenantId& t, storage::Id id, storage::Timestamp at) override {
    std::lock_guard l(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end() || it->second.key.bid != t.bid() || it->second.key.revoked_at) return false;
    it->second.key.revoked_at = at;
    return true;
  }
  Result<bool> touch(const storage::TenantId& t, storage::Id id, storage::Timestamp at) override {
    std::lock_guard l(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end() || it->second.key.bid != t.bid()) return false;
    it->second.key.last_used_at = at;
    return true;
  }
  Result<storage::ApiKey> authenticate(std::string_view key_hash) override {
    std::lock_guard l(mu_);
    for (const auto& [id, r] : keys_) {
      if (r.hash == key_hash && !r.key.revoked_at) return r.key;
    }
    return make_error(ErrorCode::kNotFound, "API key not found");
  }
  Result<storage::ApiKey> authenticate_active(std::string_view key_hash) override {
    auto k = authenticate(key_hash);
    if (!k) return k;
    auto t = storage::TenantId::make(k->bid);
    if (!t) return make_error(ErrorCode::kNotFound, "API key not found");
    auto b = businesses_.get(*t);
    if (!b) {
      if (b.error().code == ErrorCode::kNotFound) return make_error(ErrorCode::kNotFound, "API key not found");
      return std::unexpected(b.error());
    }
    if (b->status != storage::BusinessStatus::kActive) return make_error(ErrorCode::kNotFound, "API key not found");
    return k;
  }

 private:
  struct Row {
    storage::ApiKey key;
    std::string hash;
  };
  storage::BusinessRepository& businesses_;
  std::mutex mu_;
  std::map<storage::Id, Row> keys_;
  storage::Id next_id_ = 0;
};

}  // namespace earshot::testing
