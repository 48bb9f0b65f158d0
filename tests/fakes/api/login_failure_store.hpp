#pragma once
// Login failure counters in memory, for tests (the gateway keeps them in Redis).
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "earshot/api/login_throttle.hpp"

namespace earshot::api {

class InMemoryLoginFailureStore final : public LoginFailureStore {
 public:
  Result<FailureCount> get(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = keys_.find(key);
    return it == keys_.end() ? FailureCount{} : it->second.first;
  }
  Result<FailureCount> add(const std::string& key, std::int64_t now_ms, std::chrono::milliseconds ttl) override {
    std::lock_guard lock(mu_);
    auto& e = keys_[key];
    if (e.second != 0 && e.second <= now_ms) e.first = {};  // expired
    e.first.failures += 1;
    e.first.last_ms = now_ms;
    e.second = now_ms + ttl.count();
    return e.first;
  }
  Status reset(const std::string& key) override {
    std::lock_guard lock(mu_);
    keys_.erase(key);
    return {};
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<FailureCount, std::int64_t>> keys_;  // count, expires at ms
};

}  // namespace earshot::api
