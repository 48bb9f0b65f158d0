#pragma once
// AnalyticsRepository answering with rows the test sets, per business (nothing computed).
// Another business's rows are never returned: a business without rows gets empty answers.
// Records the last range asked. Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/analytics_repository.hpp"

namespace earshot::storage::fakes {

class FakeAnalyticsRepository final : public AnalyticsRepository {
 public:
  void set_agent_days(const TenantId& t, Id agent, std::vector<AgentDay> days) {
    std::lock_guard l(mu_);
    agent_days_[{t.bid(), agent}] = std::move(days);
  }
  void set_overview(const TenantId& t, AnalyticsOverview o) {
    std::lock_guard l(mu_);
    overviews_[t.bid()] = std::move(o);
  }
  void set_regions(const TenantId& t, RegionGroup g, std::vector<RegionStats> rows) {
    std::lock_guard l(mu_);
    regions_[{t.bid(), g}] = std::move(rows);
  }
  struct Asked {
    Timestamp from{};
    Timestamp to{};
  };
  Asked last_asked() const {
    std::lock_guard l(mu_);
    return asked_;
  }

  Result<std::vector<AgentDay>> agent_days(const TenantId& t, Id human_agent_id, Timestamp from,
                                           Timestamp to) override {
    std::lock_guard l(mu_);
    asked_ = {from, to};
    auto it = agent_days_.find({t.bid(), human_agent_id});
    return it == agent_days_.end() ? std::vector<AgentDay>{} : it->second;
  }
  Result<AnalyticsOverview> overview(const TenantId& t, Timestamp from, Timestamp to) override {
    std::lock_guard l(mu_);
    asked_ = {from, to};
    auto it = overviews_.find(t.bid());
    return it == overviews_.end() ? AnalyticsOverview{} : it->second;
  }
  Result<std::vector<RegionStats>> regions(const TenantId& t, RegionGroup group, Timestamp from,
                                           Timestamp to) override {
    std::lock_guard l(mu_);
    asked_ = {from, to};
    auto it = regions_.find({t.bid(), group});
    return it == regions_.end() ? std::vector<RegionStats>{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, Id>, std::vector<AgentDay>> agent_days_;
  std::map<std::string, AnalyticsOverview> overviews_;
  std::map<std::pair<std::string, RegionGroup>, std::vector<RegionStats>> regions_;
  Asked asked_;
};

}  // namespace earshot::storage::fakes
