#pragma once
// RuleSetRepository (categories or scorecards) held in memory (repositories.hpp's
// contract): names unique per business, lists by name, update bumps the version.
// Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::storage::fakes {

class FakeRuleSetRepository final : public RuleSetRepository {
 public:
  Result<Id> create(const TenantId& t, const RuleSet& r) override {
    std::lock_guard l(mu_);
    if (name_taken(t, r.name, 0)) return make_error(ErrorCode::kAlreadyExists, "name exists");
    Row row{t.bid(), r};
    row.set.id = ++next_id_;
    row.set.version = 1;
    rows_[row.set.id] = row;
    return row.set.id;
  }
  Result<RuleSet> get(const TenantId& t, Id id) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.bid != t.bid()) return make_error(ErrorCode::kNotFound, "rule set");
    return it->second.set;
  }
  Result<std::vector<RuleSet>> list(const TenantId& t) override {
    std::lock_guard l(mu_);
    std::vector<RuleSet> out;
    for (const auto& [id, r] : rows_) {
      if (r.bid == t.bid()) out.push_back(r.set);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  }
  Result<bool> update(const TenantId& t, const RuleSet& r) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(r.id);
    if (it == rows_.end() || it->second.bid != t.bid()) return false;
    if (name_taken(t, r.name, r.id)) return make_error(ErrorCode::kAlreadyExists, "name exists");
    const auto version = it->second.set.version + 1;
    it->second.set = r;
    it->second.set.version = version;
    return true;
  }
  Result<bool> remove(const TenantId& t, Id id) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.bid != t.bid()) return false;
    rows_.erase(it);
    return true;
  }

 private:
  struct Row {
    std::string bid;
    RuleSet set;
  };
  bool name_taken(const TenantId& t, const std::string& name, Id except) const {
    return std::any_of(rows_.begin(), rows_.end(), [&](const auto& e) {
      return e.first != except && e.second.bid == t.bid() && e.second.set.name == name;
    });
  }
  std::mutex mu_;
  std::map<Id, Row> rows_;
  Id next_id_ = 0;
};

}  // namespace earshot::storage::fakes
