#pragma once
// What a business without an LLM still gets: an extractive summary, a call outcome guess and
// escalation detection from rules, sentiment and (when present) agent outputs.

#include <optional>
#include <string>
#include <vector>

#include "earshot/analytics/transcript.hpp"

namespace earshot::analytics {

struct ExtractiveSummary {
  std::string issue;       // the customer's first substantive statement
  std::string resolution;  // the agent's statement that best reads as an action taken
  std::string closing;     // the customer's last substantive statement
  std::string text;        // the three joined, for display
};

[[nodiscard]] ExtractiveSummary summarize(const std::vector<TranscriptSegment>& segments);

// "resolved", "refunded", "replacement", "cancelled", "retained", "escalated",
// "callback_scheduled", "unresolved" or "unknown", with the evidence that decided it.
struct OutcomeGuess {
  std::string outcome = "unknown";
  std::string evidence;
};

[[nodiscard]] OutcomeGuess guess_outcome(const std::vector<TranscriptSegment>& segments,
                                         std::optional<double> final_customer_sentiment);

struct EscalationOptions {
  double sentiment_threshold = -0.5;  // customer call sentiment at or below
  double change_threshold = -0.5;     // customer Q4 - Q1 at or below
  std::vector<std::string> customer_phrases{"supervisor",           "manager",          "lawyer",
                                            "cancel my account",    "file a complaint", "report you",
                                            "speak to someone else"};
};

struct EscalationDecision {
  bool escalate = false;
  std::string reason;  // every trigger, "; "-separated
  bool high = false;   // severity high (sentiment triggers) vs medium
};

[[nodiscard]] EscalationDecision detect_escalation(const std::vector<TranscriptSegment>& segments,
                                                   const SentimentTimeline& sentiment,
                                                   const std::vector<std::string>& matched_categories,
                                                   const EscalationOptions& options = {});

}  // namespace earshot::analytics
