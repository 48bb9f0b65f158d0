#pragma once
// Amounts counted per key and shared by every gateway instance through Redis (the chat's
// daily token budget per business). A key counts from its first add and expires `ttl` later,
// so a key per period ("<bid>:2026-12-06") restarts at 0 each period and never piles up.

#include <chrono>
#include <cstdint>
#include <string>

#include "earshot/cache/redis_client.hpp"
#include "earshot/core/error.hpp"

namespace earshot::cache {

class UsageCounter {
 public:
  virtual ~UsageCounter() = default;
  // What `key` has counted (0 when nothing, or expired).
  [[nodiscard]] virtual Result<std::int64_t> get(const std::string& key) = 0;
  // Adds `amount` (>= 0) and returns the new total; a new key expires `ttl` later.
  [[nodiscard]] virtual Result<std::int64_t> add(const std::string& key, std::int64_t amount,
                                                 std::chrono::seconds ttl) = 0;
};

class RedisUsageCounter final : public UsageCounter {
 public:
  // Keys are "<prefix><key>".
  explicit RedisUsageCounter(RedisClient& redis, std::string prefix = "earshot:usage:")
      : redis_(redis), prefix_(std::move(prefix)) {}
  [[nodiscard]] Result<std::int64_t> get(const std::string& key) override;
  [[nodiscard]] Result<std::int64_t> add(const std::string& key, std::int64_t amount,
                                         std::chrono::seconds ttl) override;

 private:
  RedisClient& redis_;
  std::string prefix_;
};

}  // namespace earshot::cache
