#pragma once
// Client-side request throttle: at most `limit` requests in any `window` (a sliding log of
// reserved send times), e.g. LeadSquared's 25 requests per 5 s. Thread-safe.

#include <chrono>
#include <deque>
#include <mutex>

#include "earshot/core/clock.hpp"

namespace earshot::sync {

class Throttle {
 public:
  Throttle(int limit, std::chrono::milliseconds window, const Clock& clock);
  // Reserves the next send slot and returns how long to wait before sending (0 when a slot
  // is free now). Each call takes one slot.
  [[nodiscard]] std::chrono::milliseconds reserve();

 private:
  int limit_;
  std::chrono::milliseconds window_;
  const Clock& clock_;
  std::mutex mu_;
  std::deque<std::chrono::steady_clock::time_point> sent_;  // reserved send times, ascending
};

}  // namespace earshot::sync
