// Moves a seeded call to `analyzing` the way the pipeline does, for tests that write a call's
// analysis with the repositories: AnalysisRepository::record takes only a call being analysed
// (and moves it to analyzed). A call already analysed, notified or failed is sent back to
// pending first (as a reprocess is), so a test can record a second analysis. Header-only: any
// test linking earshot::storage (or the storage fakes) can use it.
#pragma once

#include <string>

#include "earshot/storage/call_repository.hpp"

namespace earshot::testing {

[[nodiscard]] inline Status walk_to_analyzing(storage::CallRepository& calls, const storage::TenantId& t,
                                              storage::Id id) {
  using storage::CallStatus;
  auto call = calls.get(t, id);
  if (!call) return std::unexpected(call.error());
  CallStatus at = call->status;
  if (storage::CallStateMachine::can_reprocess(at)) {
    auto back = calls.reprocess(t, id);
    if (!back) return std::unexpected(back.error());
    at = CallStatus::kPending;
  }
  for (auto [from, to] : {std::pair{CallStatus::kPending, CallStatus::kTranscribing},
                          std::pair{CallStatus::kTranscribing, CallStatus::kTranscribed},
                          std::pair{CallStatus::kTranscribed, CallStatus::kAnalyzing}}) {
    if (at != from) continue;
    auto moved = calls.advance(t, id, from, to);
    if (!moved) return std::unexpected(moved.error());
    if (!*moved) {
      return make_error(ErrorCode::kInternal, "call " + std::to_string(id) + " did not move " +
                                                  std::string(storage::status_name(from)) + " -> " +
                                                  std::string(storage::status_name(to)));
    }
    at = to;
  }
  if (at != CallStatus::kAnalyzing) {
    return make_error(ErrorCode::kInternal,
                      "call " + std::to_string(id) + " is " + std::string(storage::status_name(at)));
  }
  return {};
}

}  // namespace earshot::testing
