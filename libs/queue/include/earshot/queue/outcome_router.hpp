#pragma once
// What becomes of a consumed stage message, decided without the broker: the stage worker
// asks these functions and carries the answer out (publish, ack, record, count). Pure (no
// I/O, no clock, no metrics), so every path is unit-tested (queue_unit_test,
// OutcomeRouter.*).
//
//   before the handler  check_delivery(): an unreadable envelope, one naming another
//                       business or stage than its queue, or a body its schema refuses is
//                       dead-lettered without running the handler;
//   after the handler   route_result(): Done without messages -> ack; Done with messages ->
//                       publish them, ack once confirmed; Retry or a retryable Error -> a
//                       copy to the retry tier for the attempt (and hint), or a dead letter
//                       after max_attempts; Fail or a dead-letter Error -> dead letter;
//                       route_publish_failure(): next-stage messages the broker refused ->
//                       retried like a Retry.
//   the copies          retry_copy() and dead_letter_copy() build the message to publish.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/worker.hpp"

namespace earshot::queue {

enum class Route {
  kAck,          // done and nothing to publish: ack the input
  kPublishNext,  // done: publish the next-stage messages, ack the input once confirmed
  kRetry,        // publish a retry copy (attempt + 1) to `retry_tier`, then ack
  kDeadLetter,   // publish a dead-letter copy with `code` and `reason`, then ack
};

struct Decision {
  Route route = Route::kAck;
  ErrorCode code = ErrorCode::kInternal;  // kRetry, kDeadLetter
  std::string reason;                     // kRetry, kDeadLetter
  std::size_t retry_tier = 0;             // kRetry: index into the retry delays
};

struct RetryRules {
  int max_attempts = 1;
  std::vector<std::chrono::milliseconds> delays;  // the retry tiers, shortest first
};

// Nothing when the handler may run; else the dead letter. `envelope` is what
// decode_envelope() made of the headers; `schema_check` the stage schema's verdict on the
// body (pass {} when the worker does not validate).
[[nodiscard]] std::optional<Decision> check_delivery(const Result<Envelope>& envelope, std::string_view queue_bid,
                                                     Stage queue_stage, const Status& schema_check);

// The decision for a handler's result on attempt `attempt` (1 for a first delivery).
[[nodiscard]] Decision route_result(const HandlerResult& result, int attempt, const RetryRules& rules);

// The broker refused a Done's next-stage messages: the input is retried (whatever the error's
// code), or dead-lettered after max_attempts.
[[nodiscard]] Decision route_publish_failure(const Error& error, int attempt, const RetryRules& rules);

// The copies to publish. `message_id`, `body` and `headers` are the input's own.
[[nodiscard]] OutgoingMessage retry_copy(Stage stage, std::string_view bid, const Envelope& envelope,
                                         const Decision& decision, const RetryRules& rules, std::string body,
                                         Headers headers);
[[nodiscard]] OutgoingMessage dead_letter_copy(Stage stage, std::string_view bid, std::string message_id, int attempt,
                                               const Decision& decision, std::string failed_at, std::string body,
                                               Headers headers);

}  // namespace earshot::queue
