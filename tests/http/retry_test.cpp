#include "earshot/http/retry.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace earshot::http
