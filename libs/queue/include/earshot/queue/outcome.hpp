#pragma once
// An error as a stage handler's result.

#include "earshot/core/error.hpp"
#include "earshot/queue/worker.hpp"

namespace earshot::queue {

// Fail{message, code} when message_fate(code) dead-letters it (a message naming no call, a
// call that does not exist), else the error itself (retried).
[[nodiscard]] inline HandlerResult outcome_of(const Error& e) {
  if (message_fate(e.code) == MessageFate::kDeadLetter) return Outcome{Fail{e.message, e.code}};
  return std::unexpected(e);
}

}  // namespace earshot::queue
