#pragma once
// CallDetailRepository answering with details the test sets, by (business, call id); any
// other call, including another business's, is kNotFound. Thread-safe.

#include <map>
#include <mutex>
#include <string>

#include "earshot/storage/call_detail_repository.hpp"

namespace earshot::testing {

class FakeCallDetailRepository final : public storage::CallDetailRepository {
 public:
  void set(const storage::TenantId& t, storage::CallDetail d) {
    std::lock_guard l(mu_);
    rows_[{t.bid(), d.call.id}] = std::move(d);
  }
  Result<storage::CallDetail> detail(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard l(mu_);
    auto it = rows_.find({t.bid(), id});
    if (it == rows_.end()) return make_error(ErrorCode::kNotFound, "call not found");
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, storage::Id>, storage::CallDetail> rows_;
};

}  // namespace earshot::testing
