// The stage worker's decisions, without a broker: what each handler result and each bad
// delivery becomes, and the copies published for a retry or a dead letter.
#include "earshot/queue/outcome_router.hpp"

#include <gtest/gtest.h>

#include "earshot/queue/topology.hpp"

namespace earshot::queue {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const RetryRules kRules{.max_attempts = 4, .delays = {seconds(5), seconds(30), minutes(5)}};

Envelope envelope(int attempt = 1) {
  return Envelope{.bid = "acme",
                  .stage = Stage::kAnalyze,
                  .message_id = "m-1",
                  .trace_id = "t-1",
                  .schema_version = 1,
                  .attempt = attempt};
}

TEST(OutcomeRouter, DoneAcksOrPublishesTheNextMessagesFirst) {
  EXPECT_EQ(route_result(Outcome{Done{}}, 1, kRules).route, Route::kAck);
  Done with_next;
  OutgoingMessage next;
  next.routing_key = "notify.acme";
  with_next.next.push_back(next);
  EXPECT_EQ(route_result(Outcome{with_next}, 1, kRules).route, Route::kPublishNext);
}

TEST(OutcomeRouter, RetryGoesToTheTierOfTheAttemptAndItsHint) {
  auto first = route_result(Outcome{Retry{.reason = "provider busy", .delay_hint = std::nullopt}}, 1, kRules);
  EXPECT_EQ(first.route, Route::kRetry);
  EXPECT_EQ(first.code, ErrorCode::kUnavailable);
  EXPECT_EQ(first.reason, "provider busy");
  EXPECT_EQ(first.retry_tier, 0u);
  EXPECT_EQ(route_result(Outcome{Retry{.reason = "x", .delay_hint = std::nullopt}}, 2, kRules).retry_tier, 1u);
  // A Retry-After of a minute skips the 5 s and 30 s tiers.
  EXPECT_EQ(route_result(Outcome{Retry{.reason = "x", .delay_hint = minutes(1)}}, 1, kRules).retry_tier, 2u);
  // A retryable error is a retry too, with its own code and hint.
  Error limited(ErrorCode::kRateLimited, "429 from the provider");
  limited.retry_after = seconds(20);
  auto from_error = route_result(std::unexpected(limited), 1, kRules);
  EXPECT_EQ(from_error.route, Route::kRetry);
  EXPECT_EQ(from_error.code, ErrorCode::kRateLimited);
  EXPECT_EQ(from_error.retry_tier, 1u);
}

TEST(OutcomeRouter, TheLastAttemptDeadLettersSayingSo) {
  auto last = route_result(std::unexpected(Error(ErrorCode::kTimeout, "stt timed out")), 4, kRules);
  EXPECT_EQ(last.route, Route::kDeadLetter);
  EXPECT_EQ(last.code, ErrorCode::kTimeout);
  EXPECT_EQ(last.reason, "gave up after 4 attempts: stt timed out");
  EXPECT_EQ(route_result(std::unexpected(Error(ErrorCode::kTimeout, "t")), 3, kRules).route, Route::kRetry);
  // Without retry tiers every retry is a dead letter at once.
  const RetryRules none{.max_attempts = 5, .delays = {}};
  EXPECT_EQ(route_result(Outcome{Retry{.reason = "x", .delay_hint = std::nullopt}}, 1, none).route, Route::kDeadLetter);
}

TEST(OutcomeRouter, RefusedNextStageMessagesRetryTheInputWhateverTheCode) {
  auto d = route_publish_failure(Error(ErrorCode::kNotFound, "no route to notify.acme"), 1, kRules);
  EXPECT_EQ(d.route, Route::kRetry);
  EXPECT_EQ(d.code, ErrorCode::kNotFound);
  EXPECT_EQ(d.reason, "publishing next-stage messages: no route to notify.acme");
  EXPECT_EQ(route_publish_failure(Error(ErrorCode::kUnavailable, "x"), 4, kRules).route, Route::kDeadLetter);
}

TEST(OutcomeRouter, FailAndPermanentErrorsDeadLetterAtOnce) {
  auto fail = route_result(Outcome{Fail{.reason = "no such call", .code = ErrorCode::kNotFound}}, 1, kRules);
  EXPECT_EQ(fail.route, Route::kDeadLetter);
  EXPECT_EQ(fail.code, ErrorCode::kNotFound);
  EXPECT_EQ(fail.reason, "no such call");
  for (auto code : {ErrorCode::kInvalidArgument, ErrorCode::kPermissionDenied, ErrorCode::kInternal,
                    ErrorCode::kFailedPrecondition}) {
    auto d = route_result(std::unexpected(Error(code, "bad")), 1, kRules);
    EXPECT_EQ(d.route, Route::kDeadLetter) << code_name(code);
    EXPECT_EQ(d.code, code);
    EXPECT_EQ(d.reason, "bad");
  }
}

TEST(OutcomeRouter, BadDeliveriesAreDeadLetteredBeforeTheHandler) {
  EXPECT_FALSE(check_delivery(envelope(), "acme", Stage::kAnalyze, {}));
  auto unreadable = check_delivery(std::unexpected(Error(ErrorCode::kInvalidArgument, "x-bid header missing")), "acme",
                                   Stage::kAnalyze, {});
  ASSERT_TRUE(unreadable);
  EXPECT_EQ(unreadable->route, Route::kDeadLetter);
  EXPECT_EQ(unreadable->reason, "x-bid header missing");
  // A message naming another business than the queue it sits in (a tenant wall), or
  // another stage.
  auto other_bid = check_delivery(envelope(), "globex", Stage::kAnalyze, {});
  ASSERT_TRUE(other_bid);
  EXPECT_EQ(other_bid->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(other_bid->reason, "envelope names another business or stage than its queue");
  EXPECT_TRUE(check_delivery(envelope(), "acme", Stage::kNotify, {}));
  auto schema = check_delivery(envelope(), "acme", Stage::kAnalyze,
                               Status(std::unexpected(Error(ErrorCode::kInvalidArgument, "call_id: required"))));
  ASSERT_TRUE(schema);
  EXPECT_EQ(schema->reason, "call_id: required");
}

TEST(OutcomeRouter, RetryCopyCarriesTheNextAttemptToItsTierQueue) {
  Headers in{{"x-bid", std::string("acme")}, {"x-attempt", std::int64_t{2}}};
  const Decision d{
      .route = Route::kRetry, .code = ErrorCode::kUnavailable, .reason = std::string(1500, 'r'), .retry_tier = 1};
  auto m = retry_copy(Stage::kAnalyze, "acme", envelope(2), d, kRules, "{\"call_id\":\"c\"}", in);
  EXPECT_EQ(m.exchange, "");
  EXPECT_EQ(m.routing_key, "retry.analyze.acme.30s");
  EXPECT_EQ(m.message_id, "m-1");  // the same id: the next stage deduplicates by it
  EXPECT_EQ(m.body, "{\"call_id\":\"c\"}");
  EXPECT_EQ(std::get<std::int64_t>(m.headers.at("x-attempt")), 3);
  EXPECT_EQ(std::get<std::string>(m.headers.at("x-bid")), "acme");
  EXPECT_EQ(std::get<std::string>(m.headers.at("x-retry-reason")).size(), 1000u);
}

TEST(OutcomeRouter, DeadLetterCopySaysWhyWhereAndWhen) {
  const Decision d{
      .route = Route::kDeadLetter, .code = ErrorCode::kNotFound, .reason = "no such call", .retry_tier = 0};
  auto m = dead_letter_copy(Stage::kNotify, "acme", "m-9", 3, d, "2026-12-05T21:00:00.000Z", "{}",
                            Headers{{"x-trace-id", std::string("t")}});
  EXPECT_EQ(m.routing_key, "dlq.notify.acme");
  EXPECT_EQ(m.message_id, "m-9");
  EXPECT_EQ(std::get<std::string>(m.headers.at("x-error-code")), "not_found");
  EXPECT_EQ(std::get<std::string>(m.headers.at("x-error-reason")), "no such call");
  EXPECT_EQ(std::get<std::string>(m.headers.at("x-stage")), "notify");
  EXPECT_EQ(std::get<std::int64_t>(m.headers.at("x-attempts")), 3);
  EXPECT_EQ(std::get<std::string>(m.headers.at("x-failed-at")), "2026-12-05T21:00:00.000Z");
  EXPECT_EQ(std::get<std::string>(m.headers.at("x-trace-id")), "t");
  // A message without an id gets one, so that it can be found and redriven.
  EXPECT_FALSE(dead_letter_copy(Stage::kNotify, "acme", "", 1, d, "t", "{}", {}).message_id.empty());
}

}  // namespace
}  // namespace earshot::queue
