#include "earshot/cache/usage_counter.hpp"

#include <charconv>

namespace earshot::cache {
namespace {

// KEYS[1] counter; ARGV amount, ttl in seconds. INCRBY, and a TTL on a key that has none
// (one script, so a crash between the two never leaves a counter that lives forever).
constexpr const char* kAdd = R"lua(
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return v
)lua";

}  // namespace

Result<std::int64_t> RedisUsageCounter::get(const std::string& key) {
  auto r = redis_.command({"GET", prefix_ + key});
  if (!r) return std::unexpected(r.error());
  if (r->kind == RedisReply::Kind::kNil) return std::int64_t{0};
  std::int64_t v = 0;
  const auto* end = r->str.data() + r->str.size();
  if (r->kind != RedisReply::Kind::kString || std::from_chars(r->str.data(), end, v).ptr != end) {
    return make_error(ErrorCode::kInternal, "usage counter: not an integer");
  }
  return v;
}

Result<std::int64_t> RedisUsageCounter::add(const std::string& key, std::int64_t amount, std::chrono::seconds ttl) {
  if (amount < 0 || ttl.count() <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "usage counter: amount must be >= 0 and ttl > 0");
  }
  auto r = redis_.eval(kAdd, {prefix_ + key}, {std::to_string(amount), std::to_string(ttl.count())});
  if (!r) return std::unexpected(r.error());
  if (r->kind != RedisReply::Kind::kInteger) return make_error(ErrorCode::kInternal, "usage counter: unexpected reply");
  return r->integer;
}

}  // namespace earshot::cache
