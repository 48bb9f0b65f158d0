#pragma once
// Retention: deletes a business's calls (with everything derived from them) once they are
// older than the business's retention_days. Run it per business from a scheduler; each call
// deletes in batches, one transaction per batch, so it never holds locks for long.

#include "earshot/core/clock.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::storage {

class RetentionPurger {
 public:
  RetentionPurger(PipelineConfigRepository& configs, CallRepository& calls, const Clock& clock, int batch_size = 500)
      : configs_(configs), calls_(calls), clock_(clock), batch_size_(batch_size) {}

  // Calls started before now - retention_days are deleted; returns how many. kNotFound when
  // the business has no pipeline config (nothing says how long to keep its calls).
  [[nodiscard]] Result<std::int64_t> purge(const TenantId& t);

 private:
  PipelineConfigRepository& configs_;
  CallRepository& calls_;
  const Clock& clock_;
  int batch_size_;
};

}  // namespace earshot::storage
