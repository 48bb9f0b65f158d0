#pragma once
// An in-memory ProviderErrorStore with the Redis store's semantics: per bucket a count hash,
// a last-error hash and a provider set capped at `cap`, every key of a bucket expiring `ttl`
// after its last write (on the given clock).

#include <map>
#include <mutex>
#include <set>

#include "earshot/cache/provider_errors.hpp"
#include "earshot/core/clock.hpp"

namespace earshot::testing {

class InMemoryProviderErrorStore final : public cache::ProviderErrorStore {
 public:
  explicit InMemoryProviderErrorStore(const Clock& clock) : clock_(clock) {}

  Result<bool> add(const std::string& bucket, const std::string& member, const std::string& field,
                   const std::string& last, std::chrono::seconds ttl, std::size_t cap) override {
    std::lock_guard lock(mu_);
    if (fail_next_) {
      fail_next_ = false;
      return make_error(ErrorCode::kUnavailable, "redis down");
    }
    auto& e = live(bucket);
    if (!e.providers.contains(member)) {
      if (e.providers.size() >= cap) return false;
      e.providers.insert(member);
    }
    ++e.data.counts[field];
    e.data.last[field] = last;
    e.expires = clock_.now() + ttl;
    last_ttl_ = ttl;
    return true;
  }

  Result<std::vector<Bucket>> read(const std::vector<std::string>& buckets) override {
    std::lock_guard lock(mu_);
    if (fail_next_) {
      fail_next_ = false;
      return make_error(ErrorCode::kUnavailable, "redis down");
    }
    std::vector<Bucket> out;
    for (const auto& b : buckets) out.push_back(live(b).data);
    return out;
  }

  // Bucket names alive now.
  std::set<std::string> buckets() {
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    for (const auto& [k, e] : entries_) {
      if (e.expires > clock_.now()) out.insert(k);
    }
    return out;
  }
  void fail_next() {
    std::lock_guard lock(mu_);
    fail_next_ = true;
  }
  std::chrono::seconds last_ttl() {
    std::lock_guard lock(mu_);
    return last_ttl_;
  }

 private:
  struct Entry {
    Bucket data;
    std::set<std::string> providers;
    std::chrono::system_clock::time_point expires{};
  };
  Entry& live(const std::string& bucket) {
    auto& e = entries_[bucket];
    if (e.expires <= clock_.now()) e = Entry{};
    return e;
  }
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  bool fail_next_ = false;
  std::chrono::seconds last_ttl_{0};
};

}  // namespace earshot::testing
