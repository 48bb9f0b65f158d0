#include "earshot/core/error.hpp"

#include <gtest/gtest.h>

#include <set>

namespace earshot {
namespace {

const ErrorCode kAll[] = {
    ErrorCode::kInvalidArgument,  ErrorCode::kNotFound,        ErrorCode::kAlreadyExists,
    ErrorCode::kPermissionDenied, ErrorCode::kUnauthenticated, ErrorCode::kFailedPrecondition,
    ErrorCode::kRateLimited,      ErrorCode::kUnavailable,     ErrorCode::kTimeout,
    ErrorCode::kInternal,
};

TEST(ErrorMapping, TransientCodesAreRetriedEverythingElseDeadLettered) {
  EXPECT_EQ(message_fate(ErrorCode::kUnavailable), MessageFate::kRetry);
  EXPECT_EQ(message_fate(ErrorCode::kRateLimited), MessageFate::kRetry);
  EXPECT_EQ(message_fate(ErrorCode::kTimeout), MessageFate::kRetry);
  EXPECT_EQ(message_fate(ErrorCode::kInvalidArgument), MessageFate::kDeadLetter);
  EXPECT_EQ(message_fate(ErrorCode::kNotFound), MessageFate::kDeadLetter);
  EXPECT_EQ(message_fate(ErrorCode::kAlreadyExists), MessageFate::kDeadLetter);
  EXPECT_EQ(message_fate(ErrorCode::kPermissionDenied), MessageFate::kDeadLetter);
  EXPECT_EQ(message_fate(ErrorCode::kUnauthenticated), MessageFate::kDeadLetter);
  EXPECT_EQ(message_fate(ErrorCode::kFailedPrecondition), MessageFate::kDeadLetter);
  EXPECT_EQ(message_fate(ErrorCode::kInternal), MessageFate::kDeadLetter);
}

TEST(ErrorMapping, HttpStatuses) {
  EXPECT_EQ(http_status(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(http_status(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(http_status(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(http_status(ErrorCode::kNotFound), 404);
  EXPECT_EQ(http_status(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(http_status(ErrorCode::kFailedPrecondition), 409);
  EXPECT_EQ(http_status(ErrorCode::kRateLimited), 429);
  EXPECT_EQ(http_status(ErrorCode::kInternal), 500);
  EXPECT_EQ(http_status(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(http_status(ErrorCode::kTimeout), 504);
}

TEST(ErrorMapping, OnlyServerSideCodesMapTo5xx) {
  for (ErrorCode c : kAll) {
    const bool server_side = c == ErrorCode::kInternal || c == ErrorCode::kUnavailable || c == ErrorCode::kTimeout;
    EXPECT_EQ(http_status(c) >= 500, server_side) << code_name(c);
  }
}

TEST(ErrorMapping, NamesRoundTripAndAreDistinct) {
  std::set<std::string_view> names;
  for (ErrorCode c : kAll) {
    auto name = code_name(c);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(code_from_name(name), c);
  }
  EXPECT_EQ(code_from_name("no_such_code"), std::nullopt);
  EXPECT_EQ(code_name(ErrorCode::kFailedPrecondition), "failed_precondition");
}

TEST(Error, ToStringAndContext) {
  Error e(ErrorCode::kUnavailable, "connection refused");
  EXPECT_EQ(e.to_string(), "unavailable: connection refused");
  EXPECT_EQ(e.with_context("mysql").to_string(), "unavailable: mysql: connection refused");
  Result<int> r = make_error(ErrorCode::kNotFound, "call 7");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace earshot
