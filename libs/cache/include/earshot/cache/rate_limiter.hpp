#pragma once
// Token-bucket rate limiting shared by every gateway instance through Redis.
//
// A bucket holds up to `capacity` tokens and refills continuously at capacity per `period`.
// Each request takes one token; an empty bucket refuses and says how long until a token is
// back. The bucket update is one Lua script (atomic on the server), keyed by whatever the
// caller limits on (an API key, a user, an IP address).

#include <chrono>
#include <cstdint>
#include <string>

#include "earshot/cache/redis_client.hpp"
#include "earshot/core/error.hpp"

namespace earshot::cache {

struct RateDecision {
  bool allowed = true;
  std::chrono::milliseconds retry_after{0};  // when refused: wait at least this long
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // `now` is passed in (the caller's injected clock) so behaviour is testable.
  [[nodiscard]] virtual Result<RateDecision> take(const std::string& key, std::int64_t capacity,
                                                  std::chrono::milliseconds period,
                                                  std::chrono::system_clock::time_point now) = 0;
};

class RedisRateLimiter final : public RateLimiter {
 public:
  // Keys are "<prefix><key>"; they expire once a bucket would be full again.
  RedisRateLimiter(RedisClient& redis, std::string prefix = "earshot:rl:")
      : redis_(redis), prefix_(std::move(prefix)) {}
  [[nodiscard]] Result<RateDecision> take(const std::string& key, std::int64_t capacity,
                                          std::chrono::milliseconds period,
                                          std::chrono::system_clock::time_point now) override;

 private:
  RedisClient& redis_;
  std::string prefix_;
};

}  // namespace earshot::cache
