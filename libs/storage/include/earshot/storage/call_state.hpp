#pragma once
// The call pipeline's states and the transitions the storage layer allows.
//
//   pending -> transcribing -> transcribed -> analyzing -> analyzed -> notified
//   any state but failed -> failed (with the stage and reason)
//   analyzed | notified | failed -> pending (reprocess)
//
// Transitions are applied with a guarded UPDATE (... WHERE id=? AND bid=? AND status=?) and
// report whether they happened, so a redelivered message finds the work already claimed.

#include <optional>
#include <string_view>
#include <vector>

namespace earshot::storage {

enum class CallStatus { kPending, kTranscribing, kTranscribed, kAnalyzing, kAnalyzed, kNotified, kFailed };

[[nodiscard]] std::string_view status_name(CallStatus s);
[[nodiscard]] std::optional<CallStatus> status_from_name(std::string_view name);

class CallStateMachine {
 public:
  // The forward step (and only it) is legal from each working state.
  [[nodiscard]] static bool can_advance(CallStatus from, CallStatus to);
  [[nodiscard]] static bool can_fail(CallStatus from) { return from != CallStatus::kFailed; }
  [[nodiscard]] static bool can_reprocess(CallStatus from);
  // States from which reprocessing is allowed (for the guarded UPDATE).
  [[nodiscard]] static std::vector<CallStatus> reprocessable();
  // Entering these counts one processing attempt.
  [[nodiscard]] static bool counts_attempt(CallStatus to) {
    return to == CallStatus::kTranscribing || to == CallStatus::kAnalyzing;
  }
};

}  // namespace earshot::storage
