#pragma once
// PipelineStatusRepository answering with rows the test sets, per business; another
// business's rows are never returned. recent_failures() honours its limit and order as
// given by the test (set them most recent first). Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/pipeline_status_repository.hpp"

namespace earshot::storage::fakes {

class FakePipelineStatusRepository final : public PipelineStatusRepository {
 public:
  void set(const TenantId& t, std::vector<WatermarkState> marks, std::vector<FailedCall> failures) {
    std::lock_guard l(mu_);
    rows_[t.bid()] = Rows{std::move(marks), std::move(failures)};
  }

  Result<std::vector<WatermarkState>> watermarks(const TenantId& t) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    return it == rows_.end() ? std::vector<WatermarkState>{} : it->second.marks;
  }
  Result<std::vector<FailedCall>> recent_failures(const TenantId& t, int limit) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return std::vector<FailedCall>{};
    auto out = it->second.failures;
    if (limit >= 0 && out.size() > static_cast<std::size_t>(limit)) out.resize(static_cast<std::size_t>(limit));
    return out;
  }

 private:
  struct Rows {
    std::vector<WatermarkState> marks;
    std::vector<FailedCall> failures;
  };
  std::mutex mu_;
  std::map<std::string, Rows> rows_;  // by bid
};

}  // namespace earshot::storage::fakes
