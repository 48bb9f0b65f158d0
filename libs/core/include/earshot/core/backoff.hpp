#pragma once
// Exponential backoff with full jitter (delay drawn uniformly from [initial/2, cap_n]), so a
// fleet that lost a dependency at the same moment does not reconnect in lockstep.

#include <chrono>
#include <cstdint>
#include <random>

namespace earshot {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
          std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt; grows with each call until reset().
  [[nodiscard]] std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  [[nodiscard]] int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace earshot
