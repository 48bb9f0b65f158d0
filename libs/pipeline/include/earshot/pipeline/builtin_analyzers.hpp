#pragma once
// The parts of the analyze stage that need no storage: what the built-in analyzers conclude
// from one call's transcript. The stage stores it; `earshot analyze-file` prints it.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/analytics/pii.hpp"
#include "earshot/analytics/summary.hpp"
#include "earshot/analytics/transcript.hpp"

namespace earshot::pipeline {

// The transcript with its PII redacted (segment for segment), the count per PII type and
// each segment's findings (found over the whole call, so a question types the next answer).
struct PiiScan {
  std::vector<analytics::TranscriptSegment> redacted;
  std::map<std::string, int> counts;
  std::vector<std::vector<analytics::PiiFinding>> findings;  // per segment
};
[[nodiscard]] PiiScan scan_pii(const std::vector<analytics::TranscriptSegment>& segments);

// Summary, outcome and escalation of a call. `agent_escalations` ("agent NAME: reason", see
// agent_escalation) join the built-in escalation's triggers.
struct CallConclusion {
  analytics::ExtractiveSummary summary;
  analytics::OutcomeGuess outcome;
  analytics::EscalationDecision escalation;
};
[[nodiscard]] CallConclusion conclude_call(const std::vector<analytics::TranscriptSegment>& segments,
                                           const analytics::SentimentTimeline& timeline,
                                           const std::vector<std::string>& matched_categories,
                                           const std::vector<std::string>& agent_escalations = {});

// Every text of `c` that quotes the transcript (summary, issue, resolution, outcome evidence,
// escalation reason) with its PII redacted; conclude_call does it.
void redact_conclusion(CallConclusion& c);

// The escalation an LLM agent's output asks for ({"escalate": true, "escalation_reason": ...}),
// as "agent NAME: reason"; none when it does not ask or the output is not a JSON object.
[[nodiscard]] std::optional<std::string> agent_escalation(std::string_view agent, const std::string& output_json);

}  // namespace earshot::pipeline
