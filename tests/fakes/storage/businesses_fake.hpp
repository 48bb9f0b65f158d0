#pragma once
// BusinessRepository held in memory (repositories.hpp's contract). Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::storage::fakes {

class FakeBusinessRepository final : public BusinessRepository {
 public:
  Status create(const TenantId& t, std::string_view name) override {
    std::lock_guard l(mu_);
    if (rows_.contains(t.bid())) return make_error(ErrorCode::kAlreadyExists, "business " + t.bid() + " exists");
    rows_[t.bid()] = Business{t.bid(), std::string(name), BusinessStatus::kActive, Timestamp{}};
    return {};
  }
  Result<Business> get(const TenantId& t) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return make_error(ErrorCode::kNotFound, "business " + t.bid() + " not found");
    return it->second;
  }
  Result<std::vector<Business>> list_all() override {
    std::lock_guard l(mu_);
    std::vector<Business> out;
    for (const auto& [bid, b] : rows_) out.push_back(b);
    return out;
  }
  Result<bool> set_status(const TenantId& t, BusinessStatus s) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return false;
    it->second.status = s;
    return true;  // matched (the connection reports found rows, not changed ones)
  }
  Result<bool> rename(const TenantId& t, std::string_view name) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return false;
    it->second.name = std::string(name);
    return true;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Business> rows_;  // by bid
};

}  // namespace earshot::storage::fakes
