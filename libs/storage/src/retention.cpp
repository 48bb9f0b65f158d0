#include "earshot/storage/retention.hpp"

namespace earshot::storage {

Result<std::int64_t> RetentionPurger::purge(const TenantId& t) {
  auto config = configs_.get(t);
  if (!config) return std::unexpected(config.error());
  if (config->retention_days <= 0) {
    return make_error(ErrorCode::kFailedPrecondition, "retention_days must be positive");
  }
  const auto cutoff = to_timestamp(clock_.now()) - std::chrono::days(config->retention_days);
  return calls_.purge_started_before(t, cutoff, batch_size_);
}

}  // namespace earshot::storage
