#pragma once
// AnalyticsRepository answering with rows the test sets, per business (nothing computed).
// Another business's rows are never returned: a business without rows gets empty answers.
// Records the last range asked. Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/analytics_repository.hpp"

namespace earshot::testing {

class FakeAnalyticsRepository final : public storage::AnalyticsRepository {
 public:
  void set_agent_days(const storage::TenantId& t, storage::Id agent, std::vector<storage::AgentDay> days) {
    std::lock_guard l(mu_);
    agent_days_[{t.bid(), agent}] = std::move(days);
  }
  void set_overview(const storage::TenantId& t, storage::AnalyticsOverview o) {
    std::lock_guard l(mu_);
    overviews_[t.bid()] = std::move(o);
  }
  void set_regions(const storage::TenantId& t, storage::RegionGroup g, std::vector<storage::RegionStats> rows) {
    std::lock_guard l(mu_);
    regions_[{t.bid(), g}] = std::move(rows);
  }
  struct Asked {
    storage::Timestamp from{};
    storage::Timestamp to{};
    int utc_offset_minutes = 0;
  };
  Asked last_asked() const {
    std::lock_guard l(mu_);
    return asked_;
  }

  Result<std::vector<storage::AgentDay>> agent_days(const storage::TenantId& t, storage::Id human_agent_id,
                                                    storage::Timestamp from, storage::Timestamp to,
                                                    int utc_offset_minutes) override {
    std::lock_guard l(mu_);
    asked_ = {from, to, utc_offset_minutes};
    auto it = agent_days_.find({t.bid(), human_agent_id});
    return it == agent_days_.end() ? std::vector<storage::AgentDay>{} : it->second;
  }
  Result<storage::AnalyticsOverview> overview(const storage::TenantId& t, storage::Timestamp from,
                                              storage::Timestamp to, int utc_offset_minutes) override {
    std::lock_guard l(mu_);
    asked_ = {from, to, utc_offset_minutes};
    auto it = overviews_.find(t.bid());
    return it == overviews_.end() ? storage::AnalyticsOverview{} : it->second;
  }
  Result<std::vector<storage::RegionStats>> regions(const storage::TenantId& t, storage::RegionGroup group,
                                                    storage::Timestamp from, storage::Timestamp to) override {
    std::lock_guard l(mu_);
    asked_ = {from, to, 0};
    auto it = regions_.find({t.bid(), group});
    return it == regions_.end() ? std::vector<storage::RegionStats>{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, storage::Id>, std::vector<storage::AgentDay>> agent_days_;
  std::map<std::string, storage::AnalyticsOverview> overviews_;
  std::map<std::pair<std::string, storage::RegionGroup>, std::vector<storage::RegionStats>> regions_;
  Asked asked_;
};

}  // namespace earshot::testing
