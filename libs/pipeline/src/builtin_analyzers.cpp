#include "earshot/pipeline/builtin_analyzers.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "earshot/analytics/pii.hpp"
#include "earshot/pipeline/redaction.hpp"

namespace earshot::pipeline {

PiiScan scan_pii(const std::vector<analytics::TranscriptSegment>& segments) {
  PiiScan out;
  std::vector<std::string> texts;
  texts.reserve(segments.size());
  for (const auto& s : segments) texts.push_back(s.text);
  out.findings.resize(segments.size());
  for (const auto& f : analytics::find_pii_in_turns(texts)) {
    ++out.counts[std::string(analytics::pii_name(f.type))];
    out.findings[f.segment].push_back(f);
  }
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    out.redacted.push_back({s.role, s.start_ms, s.end_ms, analytics::redact(s.text, out.findings[i])});
  }
  return out;
}

CallConclusion conclude_call(const std::vector<analytics::TranscriptSegment>& segments,
                             const analytics::SentimentTimeline& timeline,
                             const std::vector<std::string>& matched_categories,
                             const std::vector<std::string>& agent_escalations) {
  // The outcome guess reads how the customer ended: their last segment's sentiment.
  std::optional<double> last_customer;
  for (std::size_t i = segments.size(); i-- > 0;) {
    if (segments[i].role == analytics::Role::kCustomer) {
      last_customer = timeline.segment[i];
      break;
    }
  }
  CallConclusion out{analytics::summarize(segments), analytics::guess_outcome(segments, last_customer),
                     analytics::detect_escalation(segments, timeline, matched_categories)};
  auto& escalation = out.escalation;
  for (const auto& reason : agent_escalations) {
    escalation.reason += (escalation.escalate && !escalation.reason.empty() ? "; " : "") + reason;
    escalation.escalate = true;
  }
  redact_conclusion(out);
  return out;
}

void redact_conclusion(CallConclusion& c) {
  // These quote the transcript and leave the platform (webhooks, alerts, CRM notes): they are
  // stored redacted whatever the business's redaction setting.
  for (std::string* text : {&c.summary.text, &c.summary.issue, &c.summary.resolution, &c.summary.closing,
                            &c.outcome.evidence, &c.escalation.reason}) {
    *text = redact_text(*text);
  }
}

std::optional<std::string> agent_escalation(std::string_view agent, const std::string& output_json) {
  const auto j = nlohmann::json::parse(output_json, nullptr, false);
  if (!j.is_object() || !j.value("escalate", false)) return std::nullopt;
  const std::string why = j.contains("escalation_reason") && j["escalation_reason"].is_string()
                              ? j["escalation_reason"].get<std::string>()
                              : std::string("escalation requested");
  return fmt::format("agent {}: {}", agent, why);
}

}  // namespace earshot::pipeline
