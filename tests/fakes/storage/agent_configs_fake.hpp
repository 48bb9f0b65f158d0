#pragma once
// AgentConfigRepository held in memory (repositories.hpp's contract): names unique per
// business, lists by name, update bumps the version. Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::storage::fakes {

class FakeAgentConfigRepository final : public AgentConfigRepository {
 public:
  Result<Id> create(const TenantId& t, const AgentConfig& c) override {
    std::lock_guard l(mu_);
    if (name_taken(t, c.name, 0)) return make_error(ErrorCode::kAlreadyExists, "agent config name exists");
    Row r{t.bid(), c};
    r.config.id = ++next_id_;
    r.config.version = 1;
    rows_[r.config.id] = r;
    return r.config.id;
  }
  Result<AgentConfig> get(const TenantId& t, Id id) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.bid != t.bid()) return make_error(ErrorCode::kNotFound, "agent config");
    return it->second.config;
  }
  Result<std::vector<AgentConfig>> list(const TenantId& t, bool enabled_only) override {
    std::lock_guard l(mu_);
    std::vector<AgentConfig> out;
    for (const auto& [id, r] : rows_) {
      if (r.bid == t.bid() && (!enabled_only || r.config.enabled)) out.push_back(r.config);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  }
  Result<bool> update(const TenantId& t, const AgentConfig& c) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(c.id);
    if (it == rows_.end() || it->second.bid != t.bid()) return false;
    if (name_taken(t, c.name, c.id)) return make_error(ErrorCode::kAlreadyExists, "agent config name exists");
    const auto version = it->second.config.version + 1;
    it->second.config = c;
    it->second.config.version = version;
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
    AgentConfig config;
  };
  bool name_taken(const TenantId& t, const std::string& name, Id except) const {
    return std::any_of(rows_.begin(), rows_.end(), [&](const auto& e) {
      return e.first != except && e.second.bid == t.bid() && e.second.config.name == name;
    });
  }
  std::mutex mu_;
  std::map<Id, Row> rows_;
  Id next_id_ = 0;
};

}  // namespace earshot::storage::fakes
