#pragma once
// In-memory EmbeddingRepository (storage/repositories.hpp): kNotFound for a call that is not
// the tenant's (checked against the FakeCallRepository given). Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fakes/storage/calls_fake.hpp"

namespace earshot::testing {

class FakeEmbeddingRepository final : public storage::EmbeddingRepository {
 public:
  explicit FakeEmbeddingRepository(const FakeCallRepository& calls) : calls_(calls) {}

  Status replace(const storage::TenantId& t, storage::Id call_id,
                 const std::vector<storage::CallEmbedding>& rows) override {
    if (!calls_.exists(t, call_id)) return make_error(ErrorCode::kNotFound, "call not found");
    std::lock_guard lock(mu_);
    auto& stored = rows_[{t.bid(), call_id}];
    stored = rows;
    std::stable_sort(stored.begin(), stored.end(),
                     [](const auto& a, const auto& b) { return a.chunk_index < b.chunk_index; });
    return {};
  }

  Result<std::vector<storage::CallEmbedding>> list_for_call(const storage::TenantId& t, storage::Id call_id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find({t.bid(), call_id});
    return it == rows_.end() ? std::vector<storage::CallEmbedding>{} : it->second;
  }

 private:
  const FakeCallRepository& calls_;
  std::mutex mu_;
  std::map<std::pair<std::string, storage::Id>, std::vector<storage::CallEmbedding>> rows_;
};

}  // namespace earshot::testing
