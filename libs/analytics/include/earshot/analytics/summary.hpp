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

// Evidence for an escalation, read from the customer's turns (and the agent's own "I'll
// escalate this"):
//   - a request for a manager, a supervisor or an escalation ("can I speak to a supervisor");
//   - a legal, regulatory or formal-complaint threat ("my lawyer", "the ombudsman");
//   - a churn threat ("I'm cancelling", "switching to another provider");
//   - a repeated contact ("third time I'm calling", "I called last week");
//   - the customer ending negative: the mean of their last two segments at or below
//     end_threshold, and their last segment negative.
// A request or a threat escalates on its own (unless the customer withdraws it: "no need for
// a manager"); a churn threat, a repeated contact or a negative call escalates only when the
// call also ends negative; a negative end escalates on its own. A fall in sentiment that ends
// neutral or positive is not an escalation. Severity: high for a legal or regulatory threat or
// for two kinds of evidence or more, medium otherwise.
struct EscalationOptions {
  double end_threshold = -0.2;  // mean of the customer's last two segments at or below: ends negative
  std::vector<std::string> request_phrases{"supervisor", "manager",        "team leader",
                                           "team lead",  "someone senior", "escalate",
                                           "escalated",  "your boss",      "speak to someone else"};
  std::vector<std::string> threat_phrases{
      "lawyer",     "solicitor",     "attorney",          "legal action",          "sue you",
      "to court",   "ombudsman",     "regulator",         "formal complaint",      "file a complaint",
      "report you", "reporting you", "trading standards", "better business bureau"};
  std::vector<std::string> churn_phrases{"cancel my",
                                         "cancel it",
                                         "cancelling",
                                         "canceling",
                                         "cancel the contract",
                                         "switch to another",
                                         "switching to another",
                                         "switching provider",
                                         "going elsewhere",
                                         "take my business elsewhere",
                                         "close my account",
                                         "i'm done with you",
                                         "lost a customer",
                                         "i'm leaving"};
  std::vector<std::string> repeat_phrases{
      "second time",      "third time",        "fourth time",       "fifth time",         "second call",
      "third call",       "fourth call",       "fifth call",        "called last week",   "called before",
      "called yesterday", "called five times", "called four times", "called three times", "called twice",
      "every time you",   "every time i call", "how many times",    "again about"};
};

struct EscalationDecision {
  bool escalate = false;
  std::string reason;  // every piece of evidence, "; "-separated
  bool high = false;   // severity high vs medium
};

[[nodiscard]] EscalationDecision detect_escalation(const std::vector<TranscriptSegment>& segments,
                                                   const SentimentTimeline& sentiment,
                                                   const std::vector<std::string>& matched_categories,
                                                   const EscalationOptions& options = {});

}  // namespace earshot::analytics
