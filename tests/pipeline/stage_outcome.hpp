#pragma once
// Reading a stage handler's result in the stage unit tests: the next-stage messages of a
// Done, the Fail of a dead-letter. Anything else is a test failure naming what came instead.

#include <gtest/gtest.h>

#include <optional>
#include <variant>
#include <vector>

#include "earshot/queue/worker.hpp"

namespace earshot::pipeline::testing {

// The next-stage messages when `r` is Done (none, and a failure, otherwise).
inline std::vector<queue::OutgoingMessage> next_messages(const queue::HandlerResult& r) {
  if (!r) {
    ADD_FAILURE() << "an error instead of Done: " << r.error().to_string();
    return {};
  }
  const auto* done = std::get_if<queue::Done>(&*r);
  if (done == nullptr) {
    ADD_FAILURE() << "not Done (variant index " << r->index() << ")";
    return {};
  }
  return done->next;
}

// The Fail when `r` is one (nullopt, and a failure, otherwise).
inline std::optional<queue::Fail> failure_of(const queue::HandlerResult& r) {
  if (!r) {
    ADD_FAILURE() << "an error instead of Fail: " << r.error().to_string();
    return std::nullopt;
  }
  const auto* fail = std::get_if<queue::Fail>(&*r);
  if (fail == nullptr) {
    ADD_FAILURE() << "not Fail (variant index " << r->index() << ")";
    return std::nullopt;
  }
  return *fail;
}

}  // namespace earshot::pipeline::testing
