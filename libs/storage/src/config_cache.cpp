#include "earshot/storage/config_cache.hpp"

namespace earshot::storage {

CachedPipelineConfigRepository::CachedPipelineConfigRepository(PipelineConfigRepository& inner, const Clock& clock,
                                                               std::chrono::milliseconds ttl)
    : inner_(inner), clock_(clock), ttl_(ttl) {}

Status CachedPipelineConfigRepository::put(const TenantId& t, const PipelineConfig& config) {
  auto st = inner_.put(t, config);
  std::lock_guard l(mu_);
  entries_.erase(t.bid());
  return st;
}

Result<PipelineConfig> CachedPipelineConfigRepository::get(const TenantId& t) {
  if (ttl_ <= std::chrono::milliseconds::zero()) return inner_.get(t);
  const auto now = clock_.steady_now();
  {
    std::lock_guard l(mu_);
    if (auto it = entries_.find(t.bid()); it != entries_.end() && now - it->second.read_at < ttl_) {
      return it->second.config;
    }
  }
  auto config = inner_.get(t);
  if (config || config.error().code == ErrorCode::kNotFound) {
    std::lock_guard l(mu_);
    entries_.insert_or_assign(t.bid(), Entry{.config = config, .read_at = now});
  }
  return config;
}

Result<std::int64_t> CachedPipelineConfigRepository::reseal_all() {
  auto n = inner_.reseal_all();
  std::lock_guard l(mu_);
  entries_.clear();
  return n;
}

}  // namespace earshot::storage
