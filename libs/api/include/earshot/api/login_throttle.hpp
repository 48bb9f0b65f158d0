#pragma once
// Failed-login throttling, per account (the e-mail as typed, lower-cased) and per client
// address, shared by every gateway instance through Redis.
//
// Each key counts failed logins and remembers the last one. After `free_failures` failures
// of an account (`address_free_failures` of an address) the key must wait
// base * 2^(failures - free) from its last failure (1 s, 2 s, 4 s, ...) before its next
// attempt is even checked: until then login answers 429 with Retry-After. The account's wait is capped at
// `account_max`, so an attacker's address cannot lock a user out for long, while the attacker's own address waits up to
// `address_max`. A successful login clears the account's counter; a key with no failure for `forget_after` is
// forgotten. The answer is the same whether the e-mail exists or not. When Redis cannot be reached the throttle lets
// logins through (logged).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/cache/redis_client.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"

namespace earshot::api {

struct LoginThrottlePolicy {
  std::int64_t free_failures = 5;           // per account
  std::int64_t address_free_failures = 20;  // per address (many users may share one, e.g. an office)
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds account_max{std::chrono::minutes(1)};
  std::chrono::milliseconds address_max{std::chrono::hours(1)};
  // Longer than address_max, so waiting out the cap does not start the count over.
  std::chrono::milliseconds forget_after{std::chrono::hours(2)};
};

struct FailureCount {
  std::int64_t failures = 0;
  std::int64_t last_ms = 0;  // wall clock, ms since the epoch
};

// Where the counters live: Redis in the gateway, memory in unit tests.
class LoginFailureStore {
 public:
  virtual ~LoginFailureStore() = default;
  [[nodiscard]] virtual Result<FailureCount> get(const std::string& key) = 0;
  // Counts one failure at `now_ms`; the key expires `ttl` later.
  [[nodiscard]] virtual Result<FailureCount> add(const std::string& key, std::int64_t now_ms,
                                                 std::chrono::milliseconds ttl) = 0;
  [[nodiscard]] virtual Status reset(const std::string& key) = 0;
};

class RedisLoginFailureStore final : public LoginFailureStore {
 public:
  explicit RedisLoginFailureStore(cache::RedisClient& redis, std::string prefix = "earshot:login:")
      : redis_(redis), prefix_(std::move(prefix)) {}
  Result<FailureCount> get(const std::string& key) override;
  Result<FailureCount> add(const std::string& key, std::int64_t now_ms, std::chrono::milliseconds ttl) override;
  Status reset(const std::string& key) override;

 private:
  cache::RedisClient& redis_;
  std::string prefix_;
};

class LoginThrottle {
 public:
  LoginThrottle(LoginFailureStore& store, const Clock& clock, LoginThrottlePolicy policy = {})
      : store_(store), clock_(clock), policy_(policy) {}

  // kRateLimited ("too many failed logins; retry later", retry_after set) while the account
  // or the address must wait; OK otherwise.
  [[nodiscard]] Status check(std::string_view email, std::string_view address);
  void failed(std::string_view email, std::string_view address);
  void succeeded(std::string_view email);

  // The wait after `failures` failures, capped at `max` (0 below `free` failures).
  [[nodiscard]] std::chrono::milliseconds delay(std::int64_t failures, std::int64_t free,
                                                std::chrono::milliseconds max) const;
  [[nodiscard]] const LoginThrottlePolicy& policy() const { return policy_; }

 private:
  [[nodiscard]] static std::string account_key(std::string_view email);
  [[nodiscard]] static std::string address_key(std::string_view address);
  // How long `key` must still wait (0: may try now).
  [[nodiscard]] std::chrono::milliseconds wait_of(const std::string& key, std::int64_t free,
                                                  std::chrono::milliseconds max);

  LoginFailureStore& store_;
  const Clock& clock_;
  LoginThrottlePolicy policy_;
};

}  // namespace earshot::api
