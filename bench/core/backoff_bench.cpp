// The cost of a Backoff as the fleet uses it: one made per database call, publish and
// provider request, and asked for its first delay. Prints nanoseconds per Backoff (made and
// asked once) on 1 and 2 threads, and the same for the construction it replaced (a
// std::random_device read seeding a std::mt19937_64) as the reference.
//
//   build/bin/backoff_bench            # --count 2000000

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "earshot/core/backoff.hpp"

namespace {

using std::chrono::milliseconds;

// The construction Backoff had before: a random_device read and a Mersenne Twister per
// instance, the same distribution.
std::int64_t previous_first_delay() {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<std::int64_t> dist(50, 100);
  return dist(rng);
}

std::int64_t current_first_delay() {
  earshot::Backoff b(milliseconds(100), milliseconds(5000));
  return b.next().count();
}

// Nanoseconds per call of `f` over `count` calls on each of `threads` threads (wall time of
// the whole run divided by the calls of one thread).
template <class F>
double ns_per_call(F f, std::int64_t count, int threads) {
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  std::vector<std::int64_t> sums(static_cast<std::size_t>(threads));
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::int64_t sum = 0;
      for (std::int64_t i = 0; i < count; ++i) sum += f();
      sums[static_cast<std::size_t>(t)] = sum;
    });
  }
  for (auto& th : pool) th.join();
  const auto elapsed = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  std::int64_t total = 0;
  for (auto s : sums) total += s;
  if (total <= 0) std::abort();  // every delay is at least 50 ms: keeps the calls
  return elapsed / static_cast<double>(count);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t count = 2'000'000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--count" && i + 1 < argc) {
      count = std::strtoll(argv[++i], nullptr, 10);
    } else {
      fmt::print(stderr, "usage: backoff_bench [--count N]\n");
      return 2;
    }
  }
  if (count <= 0) count = 1;
  fmt::print("{:<44} {:>8} {:>14}\n", "Backoff made and asked once", "threads", "ns per Backoff");
  for (int threads : {1, 2}) {
    fmt::print("{:<44} {:>8} {:>14.1f}\n", "Backoff (SplitMix64, per-thread seeds)", threads,
               ns_per_call(current_first_delay, count, threads));
    fmt::print("{:<44} {:>8} {:>14.1f}\n", "reference: random_device + mt19937_64", threads,
               ns_per_call(previous_first_delay, count / 10, threads));
  }
  return 0;
}
