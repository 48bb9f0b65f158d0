#pragma once
// How many times slower than a plain build this test binary runs. A test that bounds wall
// time (requests served in parallel, a deadline held) multiplies its bound by it, so the
// bound still tells parallel from serial and a held deadline from a missed one when the
// binary is built with a sanitizer (scripts/sanitize.sh). GCC defines the macros below.

namespace earshot::testing {

#if defined(__SANITIZE_THREAD__)
inline constexpr int kTimingSlack = 5;
#elif defined(__SANITIZE_ADDRESS__)
inline constexpr int kTimingSlack = 2;
#else
inline constexpr int kTimingSlack = 1;
#endif

}  // namespace earshot::testing
