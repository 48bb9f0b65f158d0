#include "earshot/core/clock.hpp"

#include <algorithm>
#include <random>

#include "earshot/core/backoff.hpp"

namespace earshot {

namespace {

// The calling thread's seed sequence: each Backoff made on this thread takes its seed from
// it. Seeded once per thread from std::random_device, so processes and threads differ.
std::uint64_t next_thread_seed() {
  thread_local SplitMix64 seeds = [] {
    std::random_device device;
    const auto high = static_cast<std::uint64_t>(device());
    return SplitMix64((high << 32U) ^ static_cast<std::uint64_t>(device()));
  }();
  return seeds();
}

}  // namespace

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : Backoff(initial, max, next_thread_seed()) {}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, std::uint64_t seed)
    : initial_(initial), max_(std::max(initial, max)), rng_(seed) {}

std::chrono::milliseconds Backoff::next() {
  const int shift = std::min(attempt_, 30);
  ++attempt_;
  const auto ceiling_ms = std::min<std::int64_t>(max_.count(), initial_.count() << shift);
  const auto floor_ms = std::min<std::int64_t>(initial_.count() / 2, ceiling_ms);
  std::uniform_int_distribution<std::int64_t> dist(floor_ms, ceiling_ms);
  return std::chrono::milliseconds(dist(rng_));
}

}  // namespace earshot
