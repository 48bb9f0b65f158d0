#pragma once
// In-memory ProcessingEventRepository (storage/repositories.hpp): append-only, kNotFound
// for a call that is not the tenant's (checked against the FakeCallRepository given).
// Thread-safe.

#include <mutex>
#include <vector>

#include "fakes/storage/calls_fake.hpp"

namespace earshot::testing {

class FakeProcessingEventRepository final : public storage::ProcessingEventRepository {
 public:
  explicit FakeProcessingEventRepository(const FakeCallRepository& calls) : calls_(calls) {}

  Result<storage::Id> append(const storage::TenantId& t, const storage::ProcessingEvent& e) override {
    if (!calls_.exists(t, e.call_id)) return make_error(ErrorCode::kNotFound, "call not found");
    std::lock_guard lock(mu_);
    storage::ProcessingEvent row = e;
    row.id = static_cast<storage::Id>(events_.size()) + 1;
    events_.emplace_back(t.bid(), std::move(row));
    return events_.back().second.id;
  }

  Result<std::vector<storage::ProcessingEvent>> list_for_call(const storage::TenantId& t,
                                                              storage::Id call_id) override {
    std::lock_guard lock(mu_);
    std::vector<storage::ProcessingEvent> out;
    for (const auto& [bid, e] : events_) {
      if (bid == t.bid() && e.call_id == call_id) out.push_back(e);
    }
    return out;
  }

 private:
  const FakeCallRepository& calls_;
  std::mutex mu_;
  std::vector<std::pair<std::string, storage::ProcessingEvent>> events_;  // by id
};

}  // namespace earshot::testing
