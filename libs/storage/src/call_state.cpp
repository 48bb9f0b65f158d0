#include "earshot/storage/call_state.hpp"

#include <array>
#include <utility>

namespace earshot::storage {
namespace {

constexpr std::array<std::pair<CallStatus, std::string_view>, 7> kNames{{
    {CallStatus::kPending, "pending"},
    {CallStatus::kTranscribing, "transcribing"},
    {CallStatus::kTranscribed, "transcribed"},
    {CallStatus::kAnalyzing, "analyzing"},
    {CallStatus::kAnalyzed, "analyzed"},
    {CallStatus::kNotified, "notified"},
    {CallStatus::kFailed, "failed"},
}};

}  // namespace

std::string_view status_name(CallStatus s) {
  for (const auto& [c, n] : kNames) {
    if (c == s) return n;
  }
  return "failed";
}

std::optional<CallStatus> status_from_name(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

bool CallStateMachine::can_advance(CallStatus from, CallStatus to) {
  switch (from) {
    case CallStatus::kPending:
      return to == CallStatus::kTranscribing;
    case CallStatus::kTranscribing:
      return to == CallStatus::kTranscribed;
    case CallStatus::kTranscribed:
      return to == CallStatus::kAnalyzing;
    case CallStatus::kAnalyzing:
      return to == CallStatus::kAnalyzed;
    case CallStatus::kAnalyzed:
      return to == CallStatus::kNotified;
    case CallStatus::kNotified:
    case CallStatus::kFailed:
      return false;
  }
  return false;
}

bool CallStateMachine::can_reprocess(CallStatus from) {
  return from == CallStatus::kAnalyzed || from == CallStatus::kNotified || from == CallStatus::kFailed;
}

std::vector<CallStatus> CallStateMachine::reprocessable() {
  return {CallStatus::kAnalyzed, CallStatus::kNotified, CallStatus::kFailed};
}

}  // namespace earshot::storage
