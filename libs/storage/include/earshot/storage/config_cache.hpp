#pragma once
// A business's pipeline config remembered for a short time, in front of the repository: a
// stage reads it per call, while it changes rarely. A change made elsewhere (the gateway,
// another process) reaches this process within `ttl`; put() through this object at once.

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "earshot/core/clock.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::storage {

class CachedPipelineConfigRepository final : public PipelineConfigRepository {
 public:
  // `ttl` zero: every get() reads the repository.
  CachedPipelineConfigRepository(PipelineConfigRepository& inner, const Clock& clock, std::chrono::milliseconds ttl);

  // Writes through and forgets the business's entry.
  [[nodiscard]] Status put(const TenantId& t, const PipelineConfig& config) override;
  // The config (or kNotFound) read less than `ttl` ago, else a fresh read. Other errors are
  // returned and not remembered.
  [[nodiscard]] Result<PipelineConfig> get(const TenantId& t) override;
  // Re-seals through the repository and forgets every entry.
  [[nodiscard]] Result<std::int64_t> reseal_all() override;

 private:
  struct Entry {
    Result<PipelineConfig> config = PipelineConfig{};
    std::chrono::steady_clock::time_point read_at{};
  };
  PipelineConfigRepository& inner_;
  const Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace earshot::storage
