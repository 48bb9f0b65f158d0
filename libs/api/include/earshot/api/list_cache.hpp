#pragma once
// Pages of the calls list, cached per business and query (the cursor is part of the query).
//
// Dashboards poll the first page of the calls list with the same filters over and over,
// and page through the same few pages after it; a page only changes when one of the
// business's calls does. An entry is kept with the
// business's generation read before the database was asked; any change bumps the
// generation, so an entry built from data older than the change is never served:
//   - every live event of the business (call.status, pipeline.counters, delivery.*)
//     received by the gateway's subscriber, from any process;
//   - every write request (POST, PUT, PATCH, DELETE) of a caller of the business through
//     this gateway;
//   - everything, when the subscriber (re)subscribes (events may have been missed).
// A time-to-live bounds what a writer that publishes no event could leave stale.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "earshot/api/router.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"

namespace earshot::api {

class ListCache {
 public:
  // `ttl` zero disables the cache. At most `max_entries` are kept (all dropped when full).
  ListCache(const Clock& clock, std::chrono::milliseconds ttl, std::size_t max_entries = 4096,
            Metrics* metrics = nullptr);

  [[nodiscard]] bool enabled() const { return ttl_.count() > 0; }
  // The key of a request: its path and every query parameter, in order.
  [[nodiscard]] static std::string key_of(const Request& req);

  // Read before asking the database; store() with it.
  [[nodiscard]] std::uint64_t generation(const std::string& bid) const;
  [[nodiscard]] std::optional<Reply> find(const std::string& bid, const std::string& key) const;
  void store(const std::string& bid, const std::string& key, std::uint64_t generation, const Reply& reply);

  void invalidate(const std::string& bid);
  void invalidate_all();

 private:
  struct Entry {
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point expires;
    Reply reply;
  };
  [[nodiscard]] std::uint64_t generation_locked(const std::string& bid) const;

  const Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::size_t max_entries_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::uint64_t> generations_;
  std::uint64_t all_ = 0;
  std::unordered_map<std::string, Entry> entries_;  // bid + '\n' + key
  prometheus::Counter* hits_ = nullptr;
  prometheus::Counter* misses_ = nullptr;
};

}  // namespace earshot::api
