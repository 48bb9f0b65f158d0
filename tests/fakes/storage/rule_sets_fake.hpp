#pragma once
// RuleSetRepository (categories or scorecards) held in memory (repositories.hpp's
// contract): names unique per business, lists by name, update bumps the version.
// Thread-safe.

#include <mutex>

#include "fakes/storage/tenant_rows.hpp"

namespace earshot::testing {

class FakeRuleSetRepository final : public storage::RuleSetRepository {
 public:
  Result<storage::Id> create(const storage::TenantId& t, const storage::RuleSet& r) override {
    std::lock_guard l(mu_);
    return rows_.create_versioned(t, r);
  }
  Result<storage::RuleSet> get(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    const auto* r = rows_.find(t, id);
    if (r == nullptr) return make_error(ErrorCode::kNotFound, "rule set not found");
    return *r;
  }
  Result<std::vector<storage::RuleSet>> list(const storage::TenantId& t) override {
    std::lock_guard l(mu_);
    return rows_.list_by_name(t);
  }
  Result<bool> update(const storage::TenantId& t, const storage::RuleSet& r) override {
    std::lock_guard l(mu_);
    return rows_.update_versioned(t, r);
  }
  Result<bool> remove(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    return rows_.erase(t, id);
  }

 private:
  std::mutex mu_;
  TenantRows<storage::RuleSet> rows_;
};

}  // namespace earshot::testing
