#include "earshot/http/retry_after.hpp"

#include <gtest/gtest.h>

#include "earshot/core/json_ms.hpp"
#include "fakes/fake_clock.hpp"

namespace earshot::http {
namespace {

using namespace std::chrono_literals;

TEST(ParseRetryAfter, ReadsMillisecondsSecondsAndHttpDates) {
  testing::FakeClock clock;
  // 1994-11-06 08:49:37 UTC
  clock.set_wall(std::chrono::system_clock::from_time_t(784111777));
  const auto now = clock.now();
  EXPECT_EQ(parse_retry_after({{"retry-after-ms", "1500"}}, now), 1500ms);
  EXPECT_EQ(parse_retry_after({{"retry-after-ms", "12.2"}}, now), 13ms);
  EXPECT_EQ(parse_retry_after({{"retry-after", "3"}}, now), 3000ms);
  EXPECT_EQ(parse_retry_after({{"retry-after", " 0 "}}, now), 0ms);
  EXPECT_EQ(parse_retry_after({{"retry-after", "Sun, 06 Nov 1994 08:49:47 GMT"}}, now), 10000ms);
  EXPECT_EQ(parse_retry_after({{"retry-after", "Sunday, 06-Nov-94 08:50:37 GMT"}}, now), 60000ms);
  EXPECT_EQ(parse_retry_after({{"retry-after", "Sun Nov  6 08:49:57 1994"}}, now), 20000ms);
  EXPECT_EQ(parse_retry_after({{"retry-after", "Sun, 06 Nov 1994 08:00:00 GMT"}}, now), 0ms);
}

TEST(ParseRetryAfter, MillisecondsWinAndGarbageIsIgnored) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after({{"retry-after-ms", "250"}, {"retry-after", "9"}}, now), 250ms);
  EXPECT_EQ(parse_retry_after({{"retry-after-ms", "soon"}, {"retry-after", "9"}}, now), 9000ms);
  EXPECT_EQ(parse_retry_after({{"retry-after", "-5"}}, now), std::nullopt);
  EXPECT_EQ(parse_retry_after({{"retry-after", "tomorrow-ish"}}, now), std::nullopt);
  EXPECT_EQ(parse_retry_after({}, now), std::nullopt);
}

// Twenty digits of seconds are 1e23 ms, beyond 64 bits: the wait is clamped, not converted
// with undefined behaviour (the callers cap it further).
TEST(ParseRetryAfter, AHugeWaitIsClampedNotOverflowed) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after({{"retry-after", "99999999999999999999"}}, now), std::chrono::milliseconds(kMaxJsonMs));
  EXPECT_EQ(parse_retry_after({{"retry-after-ms", "99999999999999999999"}}, now),
            std::chrono::milliseconds(kMaxJsonMs));
  EXPECT_EQ(parse_retry_after({{"retry-after", "9999999.5"}}, now), 9999999500ms);
}

}  // namespace
}  // namespace earshot::http
