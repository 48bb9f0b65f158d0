#include "earshot/cache/rate_limiter.hpp"

#include <fmt/format.h>

namespace earshot::cache {
namespace {

// KEYS[1] bucket; ARGV capacity, refill per ms, now in ms. Returns {allowed, wait_ms}.
// Tokens are stored as text so fractional refills survive (Lua numbers are doubles).
constexpr const char* kTokenBucket = R"lua(
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, wait}
)lua";

}  // namespace

Result<RateDecision> RedisRateLimiter::take(const std::string& key, std::int64_t capacity,
                                            std::chrono::milliseconds period,
                                            std::chrono::system_clock::time_point now) {
  if (capacity <= 0 || period.count() <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "rate limit capacity and period must be > 0");
  }
  const double per_ms = static_cast<double>(capacity) / static_cast<double>(period.count());
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  auto r = redis_.eval(kTokenBucket, {prefix_ + key},
                       {std::to_string(capacity), fmt::format("{:.12g}", per_ms), std::to_string(now_ms)});
  if (!r) return std::unexpected(r.error());
  if (r->kind != RedisReply::Kind::kArray || r->elements.size() != 2) {
    return make_error(ErrorCode::kInternal, "rate limiter: unexpected script reply");
  }
  RateDecision d;
  d.allowed = r->elements[0].integer == 1;
  d.retry_after = std::chrono::milliseconds(r->elements[1].integer);
  return d;
}

}  // namespace earshot::cache
