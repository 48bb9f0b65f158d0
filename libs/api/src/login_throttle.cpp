#include "earshot/api/login_throttle.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>

#include "earshot/core/log.hpp"
#include "earshot/crypto/api_key.hpp"

namespace earshot::api {
namespace {

// KEYS[1]; ARGV now_ms, ttl_ms. Returns {failures, last_ms}.
constexpr const char* kAddFailure = R"lua(
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 't', ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return {n, tonumber(ARGV[1])}
)lua";

std::int64_t now_ms(const Clock& c) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(c.now().time_since_epoch()).count();
}

void warn_unavailable(const Error& e) {
  static std::atomic<std::uint64_t> n{0};
  if (n.fetch_add(1) % 100 == 0) {
    log::warn("login throttle unavailable; letting logins through", {{"error", e.to_string()}});
  }
}

}  // namespace

Result<FailureCount> RedisLoginFailureStore::get(const std::string& key) {
  auto r = redis_.command({"HMGET", prefix_ + key, "n", "t"});
  if (!r) return std::unexpected(r.error());
  FailureCount c;
  if (r->kind == cache::RedisReply::Kind::kArray && r->elements.size() == 2) {
    auto num = [](const cache::RedisReply& e) -> std::int64_t {
      if (e.kind != cache::RedisReply::Kind::kString) return 0;
      try {
        return std::stoll(e.str);
      } catch (const std::exception&) {
        return 0;
      }
    };
    c.failures = num(r->elements[0]);
    c.last_ms = num(r->elements[1]);
  }
  return c;
}

Result<FailureCount> RedisLoginFailureStore::add(const std::string& key, std::int64_t now,
                                                 std::chrono::milliseconds ttl) {
  auto r = redis_.eval(kAddFailure, {prefix_ + key}, {std::to_string(now), std::to_string(ttl.count())});
  if (!r) return std::unexpected(r.error());
  if (r->kind != cache::RedisReply::Kind::kArray || r->elements.size() != 2) {
    return make_error(ErrorCode::kInternal, "login throttle: unexpected script reply");
  }
  return FailureCount{r->elements[0].integer, r->elements[1].integer};
}

Status RedisLoginFailureStore::reset(const std::string& key) {
  auto r = redis_.command({"DEL", prefix_ + key});
  if (!r) return std::unexpected(r.error());
  return {};
}

std::string LoginThrottle::account_key(std::string_view email) {
  std::string lower(email);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "acct:" + crypto::hash_api_key(lower);  // no e-mail addresses in Redis
}

std::string LoginThrottle::address_key(std::string_view address) {
  return "addr:" + std::string(address);
}

std::chrono::milliseconds LoginThrottle::delay(std::int64_t failures, std::int64_t free,
                                               std::chrono::milliseconds max) const {
  const std::int64_t over = failures - free;
  if (over < 0) return std::chrono::milliseconds(0);
  const auto shift = std::min<std::int64_t>(over, 40);
  const double ms = static_cast<double>(policy_.base.count()) * static_cast<double>(std::int64_t{1} << shift);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(ms, static_cast<double>(max.count()))));
}

std::chrono::milliseconds LoginThrottle::wait_of(const std::string& key, std::int64_t free,
                                                 std::chrono::milliseconds max) {
  auto c = store_.get(key);
  if (!c) {
    warn_unavailable(c.error());
    return std::chrono::milliseconds(0);
  }
  const auto until = c->last_ms + delay(c->failures, free, max).count();
  const auto now = now_ms(clock_);
  return std::chrono::milliseconds(std::max<std::int64_t>(0, until - now));
}

Status LoginThrottle::check(std::string_view email, std::string_view address) {
  auto wait = wait_of(account_key(email), policy_.free_failures, policy_.account_max);
  if (!address.empty()) {
    wait = std::max(wait, wait_of(address_key(address), policy_.address_free_failures, policy_.address_max));
  }
  if (wait.count() <= 0) return {};
  Error e(ErrorCode::kRateLimited, "too many failed logins; retry later");
  e.retry_after = wait;
  return std::unexpected(e);
}

void LoginThrottle::failed(std::string_view email, std::string_view address) {
  const auto now = now_ms(clock_);
  if (auto r = store_.add(account_key(email), now, policy_.forget_after); !r) warn_unavailable(r.error());
  if (!address.empty()) {
    if (auto r = store_.add(address_key(address), now, policy_.forget_after); !r) warn_unavailable(r.error());
  }
}

void LoginThrottle::succeeded(std::string_view email) {
  if (auto r = store_.reset(account_key(email)); !r) warn_unavailable(r.error());
}

}  // namespace earshot::api
