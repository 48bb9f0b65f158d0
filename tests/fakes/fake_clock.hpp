#pragma once
// A Clock that only moves when told to.

#include <mutex>

#include "earshot/core/clock.hpp"

namespace earshot::testing {

class FakeClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::system_clock::time_point now() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }
  void advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    wall_ += d;
    steady_ += d;
  }
  void set_wall(std::chrono::system_clock::time_point t) {
    std::lock_guard lock(mu_);
    wall_ = t;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point wall_{std::chrono::seconds(1'800'000'000)};
  std::chrono::steady_clock::time_point steady_{std::chrono::hours(1)};
};

}  // namespace earshot::testing
