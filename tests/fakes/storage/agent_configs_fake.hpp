#pragma once
// AgentConfigRepository held in memory (repositories.hpp's contract): names unique per
// business, lists by name, update bumps the version. Thread-safe.

#include <mutex>

#include "fakes/storage/tenant_rows.hpp"

namespace earshot::testing {

class FakeAgentConfigRepository final : public storage::AgentConfigRepository {
 public:
  Result<storage::Id> create(const storage::TenantId& t, const storage::AgentConfig& c) override {
    std::lock_guard l(mu_);
    return rows_.create_versioned(t, c);
  }
  Result<storage::AgentConfig> get(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    const auto* c = rows_.find(t, id);
    if (c == nullptr) return make_error(ErrorCode::kNotFound, "agent config not found");
    return *c;
  }
  Result<std::vector<storage::AgentConfig>> list(const storage::TenantId& t, bool enabled_only) override {
    std::lock_guard l(mu_);
    auto out = rows_.list_by_name(t);
    if (enabled_only) std::erase_if(out, [](const storage::AgentConfig& c) { return !c.enabled; });
    return out;
  }
  Result<bool> update(const storage::TenantId& t, const storage::AgentConfig& c) override {
    std::lock_guard l(mu_);
    return rows_.update_versioned(t, c);
  }
  Result<bool> remove(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    return rows_.erase(t, id);
  }

 private:
  std::mutex mu_;
  TenantRows<storage::AgentConfig> rows_;
};

}  // namespace earshot::testing
