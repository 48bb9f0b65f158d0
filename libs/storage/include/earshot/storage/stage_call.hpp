#pragma once
// The call a pipeline stage message names (transcribe, analyze, notify): the business from
// the message's envelope and the call id from its body (as queue/messages.hpp parsed it),
// the call loaded for that business, and the stage's processing events of the call
// (started, skipped, succeeded, failed), each timed from the message's arrival.
//
// Errors are plain values with the codes the stage worker maps to the message's fate: a
// message that names no call (kInvalidArgument) or a call the business does not have
// (kNotFound) is dead-lettered with the reason; a database error is retried.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/log.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::storage {

class StageCall {
 public:
  // What the stage uses; it outlives the StageCall.
  struct Deps {
    CallRepository* calls = nullptr;
    ProcessingEventRepository* events = nullptr;
    const Clock* clock = nullptr;
  };
  // The message as the stage received it.
  struct Message {
    std::string_view stage{};  // the stage's name in events and failures ("analyze")
    std::string_view bid{};    // the envelope's business
    std::int64_t attempt = 1;  // the envelope's attempt
    std::chrono::steady_clock::time_point received{};
  };

  // `call_id` is the call id as the message's body wrote it (queue::*Request::call_id): a
  // positive integer; `m.bid` must be a valid business id. kInvalidArgument with the reason
  // otherwise.
  [[nodiscard]] static Result<StageCall> parse(const Message& m, std::string call_id, Deps deps);

  [[nodiscard]] const TenantId& tenant() const { return tenant_; }
  [[nodiscard]] Id call_id() const { return call_id_; }
  // The call id as the message wrote it.
  [[nodiscard]] const std::string& call_text() const { return call_text_; }
  // The log context of the call's work (bid, call_id and the message's trace).
  [[nodiscard]] log::Context log_context(std::string trace_id) const;

  // The call; kNotFound "call N does not exist for business B" when the business has none.
  [[nodiscard]] Result<CallRecord> load() const;

  // This stage's event for the call, timed from the message's arrival until now.
  [[nodiscard]] ProcessingEvent event(EventOutcome outcome, std::string error = {}) const;
  // Appends event(outcome, error). Never fails the message: a write that fails is logged.
  void record(EventOutcome outcome, std::string error = {}) const;

  // Marks the call failed by this stage with `e`'s message, then records the failed event
  // and logs why. False when the call was already failed; an error (nothing recorded) when
  // the database did not take the change.
  [[nodiscard]] Result<bool> fail(const Error& e) const;

 private:
  StageCall(const Message& m, TenantId tenant, Id call_id, std::string call_text, Deps deps);

  std::string stage_;
  TenantId tenant_;
  Id call_id_ = 0;
  std::string call_text_;
  std::int64_t attempt_ = 1;
  std::chrono::steady_clock::time_point received_{};
  Deps d_{};
};

}  // namespace earshot::storage
