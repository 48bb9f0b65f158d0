#pragma once
// Where a business's calls are in the pipeline (/api/v1/pipeline/status): calls by status,
// sync watermarks and the latest failures. Errors as in repositories.hpp.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "earshot/storage/repositories.hpp"

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
  // The business's calls by status; a status without calls is absent.
  [[nodiscard]] virtual Result<std::map<CallStatus, std::int64_t>> status_counts(const TenantId& t) = 0;
  // Every sync watermark of the business, by source.
  [[nodiscard]] virtual Result<std::vector<WatermarkState>> watermarks(const TenantId& t) = 0;
  // The failed calls, most recently failed first (ties: higher id first), at most `limit`.
  [[nodiscard]] virtual Result<std::vector<FailedCall>> recent_failures(const TenantId& t, int limit) = 0;
};

}  // namespace earshot::storage
