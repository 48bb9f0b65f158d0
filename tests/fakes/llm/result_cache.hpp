#pragma once
// A bounded in-process ResultCache with a TTL on an injected clock, for tests and
// benchmarks (the analyze worker caches in Redis). Thread-safe.

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "earshot/core/clock.hpp"
#include "earshot/llm/agent.hpp"

namespace earshot::llm {

class InMemoryResultCache final : public ResultCache {
 public:
  InMemoryResultCache(const Clock& clock, std::chrono::seconds ttl, std::size_t max_entries = 10'000)
      : clock_(&clock), ttl_(ttl), max_entries_(max_entries) {}

  [[nodiscard]] std::optional<std::string> get(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (clock_->steady_now() >= it->second.second) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.first;
  }

  void put(const std::string& key, const std::string& value) override {
    std::lock_guard lock(mu_);
    const auto now = clock_->steady_now();
    if (entries_.size() >= max_entries_) {
      std::erase_if(entries_, [now](const auto& e) { return now >= e.second.second; });
      if (entries_.size() >= max_entries_) entries_.erase(entries_.begin());
    }
    entries_[key] = {value, now + ttl_};
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  const Clock* clock_;
  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> entries_;
};

}  // namespace earshot::llm
