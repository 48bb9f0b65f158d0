#pragma once
// BusinessRepository held in memory (repositories.hpp's contract). Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::testing {

class FakeBusinessRepository final : public storage::BusinessRepository {
 public:
  Status create(const storage::TenantId& t, std::string_view name) override {
    std::lock_guard l(mu_);
    if (rows_.contains(t.bid())) return make_error(ErrorCode::kAlreadyExists, "business " + t.bid() + " exists");
    rows_[t.bid()] =
        storage::Business{t.bid(), std::string(name), storage::BusinessStatus::kActive, storage::Timestamp{}};
    return {};
  }
  Result<storage::Business> get(const storage::TenantId& t) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return make_error(ErrorCode::kNotFound, "business " + t.bid() + " not found");
    return it->second;
  }
  Result<std::vector<storage::Business>> list_all() override {
    std::lock_guard l(mu_);
    std::vector<storage::Business> out;
    for (const auto& [bid, b] : rows_) out.push_back(b);
    return out;
  }
  Result<bool> set_status(const storage::TenantId& t, storage::BusinessStatus s) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return false;
    it->second.status = s;
    return true;  // matched (the connection reports found rows, not changed ones)
  }
  Result<bool> rename(const storage::TenantId& t, std::string_view name) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return false;
    it->second.name = std::string(name);
    return true;
  }

 private:
  std::mutex mu_;
  std::map<std::string, storage::Business> rows_;  // by bid
};

}  // namespace earshot::testing
