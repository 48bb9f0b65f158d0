#pragma once
// Pipeline history: the append-only events of each call's stages.
// Contract (tenant scoping, errors): repository_common.hpp.

#include <cstdint>
#include <string>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

enum class EventOutcome { kStarted, kSucceeded, kFailed, kRetried, kSkipped };

struct ProcessingEvent {
  Id id = 0;
  Id call_id = 0;
  std::string stage;
  EventOutcome outcome = EventOutcome::kStarted;
  std::int64_t attempt = 1;
  std::string error;
  std::int64_t duration_ms = 0;
  Timestamp created_at{};
};

class ProcessingEventRepository {
 public:
  virtual ~ProcessingEventRepository() = default;
  // Append-only. kNotFound when the call is not the tenant's.
  [[nodiscard]] virtual Result<Id> append(const TenantId& t, const ProcessingEvent& e) = 0;
  [[nodiscard]] virtual Result<std::vector<ProcessingEvent>> list_for_call(const TenantId& t, Id call_id) = 0;
};

}  // namespace earshot::storage
