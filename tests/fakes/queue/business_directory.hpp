#pragma once
// A BusinessDirectory held in memory, for tests and benchmarks (the fleet uses the
// businesses table). Thread-safe.

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "earshot/queue/control.hpp"

namespace earshot::queue {

class InMemoryBusinessDirectory final : public BusinessDirectory {
 public:
  void enable(const std::string& bid) {
    std::lock_guard l(mu_);
    enabled_.insert(bid);
  }
  void disable(const std::string& bid) {
    std::lock_guard l(mu_);
    enabled_.erase(bid);
  }
  // Makes enabled_businesses() fail with kUnavailable while set.
  void set_unavailable(bool unavailable) {
    std::lock_guard l(mu_);
    unavailable_ = unavailable;
  }
  [[nodiscard]] Result<std::vector<std::string>> enabled_businesses() override {
    std::lock_guard l(mu_);
    if (unavailable_) return make_error(ErrorCode::kUnavailable, "directory unavailable");
    return std::vector<std::string>(enabled_.begin(), enabled_.end());
  }

 private:
  std::mutex mu_;
  std::set<std::string> enabled_;
  bool unavailable_ = false;
};

}  // namespace earshot::queue
