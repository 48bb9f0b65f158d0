#include <gtest/gtest.h>

#include <future>

#include "earshot/stt/adapters.hpp"
#include "earshot/stt/retry.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/stt/fake_providers.hpp"
#include "stt/stt_test_util.hpp"

namespace earshot::stt {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FailureKind;

TEST(ErrorForStatus, MapsStatusesToWhatTheCallerShouldDo) {
  EXPECT_EQ(error_for_status("p", 401, "", "", false).code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(error_for_status("p", 403, "", "", false).code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(error_for_status("p", 402, "", "", false).code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(error_for_status("p", 429, "x", "", true).code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(error_for_status("p", 429, "", "", false).code, ErrorCode::kRateLimited);
  EXPECT_EQ(error_for_status("p", 400, "", "", false).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_for_status("p", 413, "", "", false).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_for_status("p", 422, "", "", false).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_for_status("p", 408, "", "", false).code, ErrorCode::kTimeout);
  EXPECT_EQ(error_for_status("p", 500, "", "", false).code, ErrorCode::kUnavailable);
  EXPECT_EQ(error_for_status("p", 503, "", "", false).code, ErrorCode::kUnavailable);
  for (auto c : {ErrorCode::kRateLimited, ErrorCode::kUnavailable, ErrorCode::kTimeout}) EXPECT_TRUE(is_retryable(c));
  for (auto c : {ErrorCode::kUnauthenticated, ErrorCode::kPermissionDenied, ErrorCode::kFailedPrecondition,
                 ErrorCode::kInvalidArgument, ErrorCode::kNotFound}) {
    EXPECT_FALSE(is_retryable(c));
  }
}

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

TEST(SendWithRetry, ADeadlineAlreadyPassedOnTheClockSendsNothing) {
  earshot::testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  earshot::testing::FakeClock clock;
  http::CurlHttpClient client;
  RetryContext ctx;
  ctx.client = &client;
  ctx.clock = &clock;
  ctx.deadline = clock.steady_now() - 1ms;
  ctx.what = "probe";
  std::promise<Result<http::HttpResponse>> done;
  send_with_retry(
      ctx, [&] { http::HttpRequest r; r.url = fake.base_url() + "/v1/listen"; return r; },
      [](const http::HttpResponse& r) { return error_for_status("p", r.status, "", "", false); },
      [&](Result<http::HttpResponse> r) { done.set_value(std::move(r)); });
  auto r = done.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(fake.count(), 0);
}

}  // namespace
}  // namespace earshot::stt
