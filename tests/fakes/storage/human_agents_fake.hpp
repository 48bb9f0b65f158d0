#pragma once
// HumanAgentRepository held in memory (repositories.hpp's contract): upsert by (bid,
// external id), lists by name then id. The aggregates are the stored agent's; set them with
// put() in tests. Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::storage::fakes {

class FakeHumanAgentRepository final : public HumanAgentRepository {
 public:
  Result<Id> upsert(const TenantId& t, const HumanAgentInput& in) override {
    std::lock_guard l(mu_);
    for (auto& [id, r] : rows_) {
      if (r.bid == t.bid() && r.agent.external_id == in.external_id) {
        r.agent.name = in.name;
        r.agent.team = in.team;
        r.agent.city = in.city;
        return id;
      }
    }
    Row r{t.bid(), HumanAgent{}};
    r.agent.id = ++next_id_;
    r.agent.external_id = in.external_id;
    r.agent.name = in.name;
    r.agent.team = in.team;
    r.agent.city = in.city;
    rows_[r.agent.id] = r;
    return r.agent.id;
  }
  Result<HumanAgent> get(const TenantId& t, Id id) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.bid != t.bid()) return make_error(ErrorCode::kNotFound, "human agent");
    return it->second.agent;
  }
  Result<HumanAgent> find_by_external_id(const TenantId& t, std::string_view external_id) override {
    std::lock_guard l(mu_);
    for (const auto& [id, r] : rows_) {
      if (r.bid == t.bid() && r.agent.external_id == external_id) return r.agent;
    }
    return make_error(ErrorCode::kNotFound, "human agent");
  }
  Result<std::vector<HumanAgent>> list(const TenantId& t) override {
    std::lock_guard l(mu_);
    std::vector<HumanAgent> out;
    for (const auto& [id, r] : rows_) {
      if (r.bid == t.bid()) out.push_back(r.agent);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  }

  // Test set-up: replaces the stored agent's aggregates (id and external id must exist).
  bool put(const TenantId& t, const HumanAgent& a) {
    std::lock_guard l(mu_);
    auto it = rows_.find(a.id);
    if (it == rows_.end() || it->second.bid != t.bid()) return false;
    it->second.agent = a;
    return true;
  }

 private:
  struct Row {
    std::string bid;
    HumanAgent agent;
  };
  std::mutex mu_;
  std::map<Id, Row> rows_;
  Id next_id_ = 0;
};

}  // namespace earshot::storage::fakes
