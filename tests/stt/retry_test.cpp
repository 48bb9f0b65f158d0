#include <gtest/gtest.h>

#include <future>

#include "earshot/stt/adapters.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "stt/stt_test_util.hpp"

namespace earshot::stt {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FailureKind;

// Timing decisions read the injected clock: with a Retry-After that passes the job deadline
// the adapter gives up at once instead of sleeping, and hands the wait to the caller.
TEST(SendWithRetry, RetryAfterBeyondTheDeadlineEndsAtOnceWithTheHint) {
  earshot::testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  fake.fail_next(earshot::testing::FailurePlan::of(5, FailureKind::kRateLimit).after_s(30));
  earshot::testing::FakeClock clock;
  http::CurlHttpClient client;
  auto c = testing::fake_config("deepgram", fake);
  c.deadline = 10s;
  DeepgramProvider p(c, client, clock);
  const auto start = std::chrono::steady_clock::now();
  auto t = testing::run(p, testing::job_for(testing::make_wav(1, 1.0), 1, 1.0));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kRateLimited);
  ASSERT_TRUE(t.error().retry_after.has_value());
  EXPECT_EQ(*t.error().retry_after, 30s);
  EXPECT_EQ(fake.count(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(SendWithRetry, RetryAfterLongerThanTheCapEndsAtOnce) {
  earshot::testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  fake.fail_next(earshot::testing::FailurePlan::of(5, FailureKind::kRateLimit).after_s(5));
  earshot::testing::FakeClock clock;
  http::CurlHttpClient client;
  auto c = testing::fake_config("deepgram", fake);
  c.retry.max_retry_after = 1s;
  DeepgramProvider p(c, client, clock);
  auto t = testing::run(p, testing::job_for(testing::make_wav(1, 1.0), 1, 1.0));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(*t.error().retry_after, 5s);
  EXPECT_EQ(fake.count(), 1);
}

}  // namespace
}  // namespace earshot::stt
