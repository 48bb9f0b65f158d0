#include "earshot/http/retry.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <future>

#include "earshot/http/curl_http_client.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/stt/fake_providers.hpp"

namespace earshot::http {
namespace {

using namespace std::chrono_literals;

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

TEST(SendWithRetry, ADeadlineAlreadyPassedOnTheClockSendsNothing) {
  testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  earshot::testing::FakeClock clock;
  CurlHttpClient client;
  RetryContext ctx;
  ctx.client = &client;
  ctx.clock = &clock;
  ctx.deadline = clock.steady_now() - 1ms;
  ctx.what = "probe";
  std::promise<Result<HttpResponse>> done;
  send_with_retry(
      ctx,
      [&] {
        HttpRequest r;
        r.url = fake.base_url() + "/v1/listen";
        return r;
      },
      [](const HttpResponse& r) { return error_for_status("p", r.status, "", "", false); },
      [&](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  auto r = done.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(fake.count(), 0);
}

Result<HttpResponse> send_to_failing_fake(testing::FakeDeepgram& fake, std::function<bool()> may_retry,
                                          std::shared_ptr<CancelSignal> cancel = nullptr) {
  CurlHttpClient client;
  RetryContext ctx;
  ctx.client = &client;
  ctx.clock = &SystemClock::instance();
  ctx.policy.initial_backoff = 1ms;
  ctx.policy.max_backoff = 2ms;
  ctx.deadline = SystemClock::instance().steady_now() + 20s;
  ctx.what = "probe";
  ctx.may_retry = std::move(may_retry);
  ctx.cancel = std::move(cancel);
  std::promise<Result<HttpResponse>> done;
  send_with_retry(
      ctx,
      [&] {
        HttpRequest r;
        r.method = "POST";
        r.url = fake.base_url() + "/v1/listen";
        return r;
      },
      [](const HttpResponse& r) { return error_for_status("p", r.status, "", "", false); },
      [&](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

TEST(SendWithRetry, MayRetryFalseEndsTheRetriesWithTheLastError) {
  testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  fake.fail_next(testing::FailurePlan::of(5, testing::FailureKind::kServerError));
  auto r = send_to_failing_fake(fake, [] { return false; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("partial answer passed on"), std::string::npos) << r.error().message;
  EXPECT_EQ(fake.count("/v1/listen"), 1);

  // Asked before every retry: true twice, then false.
  fake.fail_next(testing::FailurePlan::of(5, testing::FailureKind::kServerError));
  int asked = 0;
  r = send_to_failing_fake(fake, [&] { return ++asked <= 2; });
  ASSERT_FALSE(r);
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(fake.count("/v1/listen"), 1 + 3);
}

TEST(SendWithRetry, ACancelledSignalEndsTheRetriesAndNoAttemptFollows) {
  testing::FakeDeepgram fake;
  ASSERT_TRUE(fake.start());
  fake.fail_next(testing::FailurePlan::of(5, testing::FailureKind::kServerError));
  auto cancel = std::make_shared<CancelSignal>();
  // Cancelled after the first failed attempt: the retry loop ends there.
  auto r = send_to_failing_fake(
      fake,
      [&] {
        cancel->cancel();
        return true;
      },
      cancel);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("cancelled"), std::string::npos) << r.error().message;
  EXPECT_EQ(fake.count("/v1/listen"), 1);
  // Cancelled before: nothing is sent at all.
  r = send_to_failing_fake(fake, nullptr, cancel);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cancelled"), std::string::npos) << r.error().message;
  EXPECT_EQ(fake.count("/v1/listen"), 1);
}

}  // namespace
}  // namespace earshot::http
