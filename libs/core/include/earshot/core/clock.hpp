#pragma once
// Time is injected: logic takes a Clock& so tests can drive it (see tests/fakes/fake_clock.hpp).

#include <chrono>

namespace earshot {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps that are stored or shown.
  [[nodiscard]] virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time, for deadlines and durations.
  [[nodiscard]] virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now(); }
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  // A process-wide instance for wiring in main(); logic should still receive it by reference.
  static SystemClock& instance();
};

}  // namespace earshot
