#pragma once
// Where a business's calls are in the pipeline (/api/v1/pipeline/status): sync watermarks
// and the latest failures (the calls by status are CallRepository::count_by_status). Errors
// as in repository_common.hpp.

#include <cstdint>
#include <string>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

struct WatermarkState {
  std::string source;
  std::string position;
  Timestamp updated_at{};
};

struct FailedCall {
  Id id = 0;
  std::string external_id;
  std::string stage;
  std::string reason;
  std::int64_t attempts = 0;
  Timestamp failed_at{};  // when the call became failed
};

class PipelineStatusRepository {
 public:
  virtual ~PipelineStatusRepository() = default;
  // Every sync watermark of the business, by source.
  [[nodiscard]] virtual Result<std::vector<WatermarkState>> watermarks(const TenantId& t) = 0;
  // The failed calls, most recently failed first (ties: higher id first), at most `limit`.
  [[nodiscard]] virtual Result<std::vector<FailedCall>> recent_failures(const TenantId& t, int limit) = 0;
};

}  // namespace earshot::storage
