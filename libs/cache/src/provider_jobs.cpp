#include "earshot/cache/provider_jobs.hpp"

#include <fmt/format.h>

namespace earshot::cache {

std::string RedisProviderJobStore::key(std::string_view bid, std::int64_t call_id) const {
  return fmt::format("{}{}:{}", prefix_, bid, call_id);
}

Result<std::map<std::string, std::string>> RedisProviderJobStore::load(std::string_view bid, std::int64_t call_id) {
  auto r = redis_.command({"HGETALL", key(bid, call_id)});
  if (!r) return std::unexpected(r.error());
  std::map<std::string, std::string> out;
  if (r->kind != RedisReply::Kind::kArray) return out;
  for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) out[r->elements[i].str] = r->elements[i + 1].str;
  return out;
}

Status RedisProviderJobStore::save(std::string_view bid, std::int64_t call_id, const std::string& field,
                                   const std::string& job_id) {
  // One round trip: the field and the hash's expiry together.
  static const std::string kScript =
      "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return redis.call('EXPIRE', KEYS[1], ARGV[3])";
  auto r = redis_.eval(kScript, {key(bid, call_id)}, {field, job_id, std::to_string(ttl_.count())});
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace earshot::cache
