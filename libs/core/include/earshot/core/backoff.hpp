#pragma once
// Exponential backoff with full jitter (delay drawn uniformly from [initial/2, cap_n]), so a
// fleet that lost a dependency at the same moment does not reconnect in lockstep.
//
// A Backoff is made per database call, publish and provider request: its jitter comes from a
// SplitMix64 generator seeded from the calling thread's seed sequence (itself seeded once per
// thread from std::random_device), not from a std::random_device read and a Mersenne Twister
// state per construction.

#include <chrono>
#include <cstdint>
#include <limits>

namespace earshot {

// SplitMix64 (Steele, Lea and Flood, 2014): 64 bits of state, one add and two
// xor-shift-multiply rounds per number. A UniformRandomBitGenerator for the <random>
// distributions; not for secrets.
class SplitMix64 {
 public:
  using result_type = std::uint64_t;
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() {
    std::uint64_t z = state_ += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
  }

 private:
  std::uint64_t state_;
};

class Backoff {
 public:
  // Jitter seeded from the calling thread's seed sequence.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  // Jitter from `seed`: the same seed gives the same delays (tests).
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, std::uint64_t seed);

  // The delay before the next attempt; grows with each call until reset().
  [[nodiscard]] std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  [[nodiscard]] int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  SplitMix64 rng_;
};

}  // namespace earshot
