#pragma once
// HumanAgentRepository held in memory (repositories.hpp's contract): upsert by (bid,
// external id), lists by name then id. The aggregates are the stored agent's; set them with
// put() in tests. Thread-safe.

#include <mutex>

#include "fakes/storage/tenant_rows.hpp"

namespace earshot::testing {

class FakeHumanAgentRepository final : public storage::HumanAgentRepository {
 public:
  Result<storage::Id> upsert(const storage::TenantId& t, const storage::HumanAgentInput& in) override {
    std::lock_guard l(mu_);
    auto same = rows_.list(t, [&](const storage::HumanAgent& a) { return a.external_id == in.external_id; });
    if (!same.empty()) {
      storage::HumanAgent* a = rows_.find(t, same.front().id);
      a->name = in.name;
      a->team = in.team;
      a->city = in.city;
      return a->id;
    }
    storage::HumanAgent a;
    a.external_id = in.external_id;
    a.name = in.name;
    a.team = in.team;
    a.city = in.city;
    return rows_.add(t, a);
  }
  Result<storage::HumanAgent> get(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    const auto* a = rows_.find(t, id);
    if (a == nullptr) return make_error(ErrorCode::kNotFound, "human agent not found");
    return *a;
  }
  Result<storage::HumanAgent> find_by_external_id(const storage::TenantId& t, std::string_view external_id) override {
    std::lock_guard l(mu_);
    auto same = rows_.list(t, [&](const storage::HumanAgent& a) { return a.external_id == external_id; });
    if (same.empty()) return make_error(ErrorCode::kNotFound, "human agent not found");
    return same.front();
  }
  Result<std::vector<storage::HumanAgent>> list(const storage::TenantId& t) override {
    std::lock_guard l(mu_);
    return rows_.list_by_name(t);
  }

  // Test set-up: replaces the stored agent's aggregates (a.id must be the business's agent).
  bool put(const storage::TenantId& t, const storage::HumanAgent& a) {
    std::lock_guard l(mu_);
    storage::HumanAgent* cur = rows_.find(t, a.id);
    if (cur == nullptr) return false;
    *cur = a;
    return true;
  }

 private:
  std::mutex mu_;
  TenantRows<storage::HumanAgent> rows_;
};

}  // namespace earshot::testing
