#pragma once
// In-memory CategoryMatchRepository (storage/repositories.hpp): kNotFound for a call that is
// not the tenant's (checked against the FakeCallRepository given). Categories are not
// checked (they live in the rule-set fake): any category id is accepted. Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fakes/storage/calls_fake.hpp"

namespace earshot::testing {

class FakeCategoryMatchRepository final : public storage::CategoryMatchRepository {
 public:
  explicit FakeCategoryMatchRepository(const FakeCallRepository& calls) : calls_(calls) {}

  Status replace(const storage::TenantId& t, storage::Id call_id,
                 const std::vector<storage::CategoryMatch>& matches) override {
    if (!calls_.exists(t, call_id)) return make_error(ErrorCode::kNotFound, "call not found");
    std::lock_guard lock(mu_);
    auto& stored = rows_[{t.bid(), call_id}];
    stored = matches;
    std::sort(stored.begin(), stored.end(), [](const auto& a, const auto& b) { return a.category_id < b.category_id; });
    return {};
  }

  // By category id.
  Result<std::vector<storage::CategoryMatch>> list_for_call(const storage::TenantId& t, storage::Id call_id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find({t.bid(), call_id});
    return it == rows_.end() ? std::vector<storage::CategoryMatch>{} : it->second;
  }

 private:
  const FakeCallRepository& calls_;
  std::mutex mu_;
  std::map<std::pair<std::string, storage::Id>, std::vector<storage::CategoryMatch>> rows_;
};

}  // namespace earshot::testing
