#pragma once
// In-memory MetricsRepository (storage/repositories.hpp): put() also writes the call's
// agent talk ratio and customer sentiment on the FakeCallRepository given (the list filters
// on them); kNotFound for a call that is not the tenant's. Thread-safe.

#include <map>
#include <mutex>
#include <string>

#include "fakes/storage/calls_fake.hpp"

namespace earshot::testing {

class FakeMetricsRepository final : public storage::MetricsRepository {
 public:
  explicit FakeMetricsRepository(FakeCallRepository& calls) : calls_(calls) {}

  Status put(const storage::TenantId& t, const storage::CallMetrics& m) override {
    if (!calls_.exists(t, m.call_id)) return make_error(ErrorCode::kNotFound, "call not found");
    {
      std::lock_guard lock(mu_);
      rows_[{t.bid(), m.call_id}] = m;
    }
    calls_.set_scores(t, m.call_id, m.agent_talk_ratio, m.customer_sentiment);
    return {};
  }

  Result<storage::CallMetrics> get(const storage::TenantId& t, storage::Id call_id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find({t.bid(), call_id});
    if (it == rows_.end()) return make_error(ErrorCode::kNotFound, "metrics not found");
    return it->second;
  }

 private:
  FakeCallRepository& calls_;
  std::mutex mu_;
  std::map<std::pair<std::string, storage::Id>, storage::CallMetrics> rows_;
};

}  // namespace earshot::testing
