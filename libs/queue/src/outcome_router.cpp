#include "earshot/queue/outcome_router.hpp"

#include <fmt/format.h>

#include "earshot/queue/topology.hpp"

namespace earshot::queue {
namespace {

constexpr std::size_t kReasonHeaderLimit = 1000;

Decision dead_letter(ErrorCode code, std::string reason) {
  return Decision{.route = Route::kDeadLetter, .code = code, .reason = std::move(reason), .retry_tier = 0};
}

Decision retry(ErrorCode code, const std::string& reason, std::optional<std::chrono::milliseconds> hint, int attempt,
               const RetryRules& rules) {
  if (attempt >= rules.max_attempts || rules.delays.empty()) {
    return dead_letter(code, fmt::format("gave up after {} attempts: {}", attempt, reason));
  }
  return Decision{.route = Route::kRetry,
                  .code = code,
                  .reason = reason,
                  .retry_tier = select_retry_tier(attempt, rules.delays, hint)};
}

}  // namespace

std::optional<Decision> check_delivery(const Result<Envelope>& envelope, std::string_view queue_bid, Stage queue_stage,
                                       const Status& schema_check) {
  if (!envelope) return dead_letter(envelope.error().code, envelope.error().message);
  if (envelope->bid != queue_bid || envelope->stage != queue_stage) {
    return dead_letter(ErrorCode::kInvalidArgument, "envelope names another business or stage than its queue");
  }
  if (!schema_check) return dead_letter(schema_check.error().code, schema_check.error().message);
  return std::nullopt;
}

Decision route_result(const HandlerResult& result, int attempt, const RetryRules& rules) {
  if (!result) {
    const Error& e = result.error();
    if (message_fate(e.code) == MessageFate::kRetry) return retry(e.code, e.message, e.retry_after, attempt, rules);
    return dead_letter(e.code, e.message);
  }
  if (const auto* done = std::get_if<Done>(&*result)) {
    return Decision{.route = done->next.empty() ? Route::kAck : Route::kPublishNext,
                    .code = ErrorCode::kInternal,
                    .reason = {},
                    .retry_tier = 0};
  }
  if (const auto* r = std::get_if<Retry>(&*result)) {
    return retry(ErrorCode::kUnavailable, r->reason, r->delay_hint, attempt, rules);
  }
  const auto& f = std::get<Fail>(*result);
  return dead_letter(f.code, f.reason);
}

Decision route_publish_failure(const Error& error, int attempt, const RetryRules& rules) {
  return retry(error.code, "publishing next-stage messages: " + error.message, std::nullopt, attempt, rules);
}

OutgoingMessage retry_copy(Stage stage, std::string_view bid, const Envelope& envelope, const Decision& decision,
                           const RetryRules& rules, std::string body, Headers headers) {
  OutgoingMessage m;
  m.exchange = "";
  m.routing_key = retry_queue(stage, std::string(bid), rules.delays.at(decision.retry_tier));
  m.message_id = envelope.message_id;
  m.body = std::move(body);
  m.headers = std::move(headers);
  m.headers[std::string(header::kAttempt)] = std::int64_t{envelope.attempt + 1};
  m.headers["x-retry-reason"] = decision.reason.substr(0, kReasonHeaderLimit);
  return m;
}

OutgoingMessage dead_letter_copy(Stage stage, std::string_view bid, std::string message_id, int attempt,
                                 const Decision& decision, std::string failed_at, std::string body, Headers headers) {
  OutgoingMessage m;
  m.exchange = "";
  m.routing_key = dead_letter_queue(stage, std::string(bid));
  m.message_id = message_id.empty() ? new_message_id() : std::move(message_id);
  m.body = std::move(body);
  m.headers = std::move(headers);
  m.headers[std::string(header::kErrorCode)] = std::string(code_name(decision.code));
  m.headers[std::string(header::kErrorReason)] = decision.reason.substr(0, kReasonHeaderLimit);
  m.headers[std::string(header::kStage)] = std::string(stage_name(stage));
  m.headers[std::string(header::kAttempts)] = std::int64_t{attempt};
  m.headers[std::string(header::kFailedAt)] = std::move(failed_at);
  return m;
}

}  // namespace earshot::queue
