#pragma once
// PipelineConfigRepository held in memory (repositories.hpp's contract). Secrets are kept
// as given (nothing to seal in memory); reseal_all() re-seals nothing. Thread-safe.

#include <map>
#include <mutex>
#include <string>

#include "earshot/storage/repositories.hpp"

namespace earshot::testing {

class FakePipelineConfigRepository final : public storage::PipelineConfigRepository {
 public:
  Status put(const storage::TenantId& t, const storage::PipelineConfig& config) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    const std::int64_t version = it == rows_.end() ? 1 : it->second.version + 1;
    auto& row = rows_[t.bid()];
    row = config;
    row.version = version;
    return {};
  }
  Result<storage::PipelineConfig> get(const storage::TenantId& t) override {
    std::lock_guard l(mu_);
    auto it = rows_.find(t.bid());
    if (it == rows_.end()) return make_error(ErrorCode::kNotFound, "pipeline config of " + t.bid() + " not found");
    return it->second;
  }
  Result<std::int64_t> reseal_all() override { return 0; }

 private:
  std::mutex mu_;
  std::map<std::string, storage::PipelineConfig> rows_;  // by bid
};

}  // namespace earshot::testing
