#pragma once
// PipelineStatusRepository answering with rows the test sets, per business; another
// business's rows are never returned. recent_failures() honours its limit and order as
// given by the test (set them most recent first). Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/storage/pipeline_status_repository.hpp"

namespace earshot::testing {

class FakePipelineStatusRepository final : public storage::PipelineStatusRepository {
 public:
  void set(const storage::TenantId& t, std::vector<storage::WatermarkState> marks,
           std::vector<storage::FailedCall> failures) {
    std::lock_guard l(mu_);
    rows_[t.bid()] = Rows{std::move(marks), std::move(failures)};
  }

  Result<std::vector<storage::WatermarkState>> watermarks(const storage::TenantId& t) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    return it == rows_.end() ? std::vector<storage::WatermarkState>{} : it->second.marks;
  }
  Result<std::vector<storage::FailedCall>> recent_failures(const storage::TenantId& t, int limit) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return std::vector<storage::FailedCall>{};
    auto out = it->second.failures;
    if (limit >= 0 && out.size() > static_cast<std::size_t>(limit)) out.resize(static_cast<std::size_t>(limit));
    return out;
  }

 private:
  struct Rows {
    std::vector<storage::WatermarkState> marks;
    std::vector<storage::FailedCall> failures;
  };
  std::mutex mu_;
  std::map<std::string, Rows> rows_;  // by bid
};

}  // namespace earshot::testing
