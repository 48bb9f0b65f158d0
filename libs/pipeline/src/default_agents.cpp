#include "earshot/pipeline/default_agents.hpp"

#include <set>

namespace earshot::pipeline {
namespace {

// Shared tail of every template: the call itself.
constexpr const char* kCall = R"(

Call metadata (JSON): {{metadata}}
Call metrics (JSON): {{metrics}}
CRM lead (JSON, may be empty): {{lead}}

Transcript ([mm:ss] speaker: text; personal data is redacted as [EMAIL], [PHONE], [CARD], [DIGITS]):
{{transcript}})";

constexpr const char* kQuote =
    R"({"type": ["string", "null"], "maxLength": 400, "description": "a short verbatim quote from the transcript, or null"})";

std::vector<DefaultAgent> make_defaults() {
  const std::string quote = kQuote;
  std::vector<DefaultAgent> out;
  out.push_back(
      {"summary",
       std::string("Task: summary\nSummarise this customer call for a QA manager in two to four sentences: why "
                   "the customer called, what the agent did, and how the call ended. Also list up to five "
                   "key points.") +
           kCall,
       R"({"type": "object", "required": ["summary", "key_points"], "additionalProperties": false,
  "properties": {
    "summary": {"type": "string", "minLength": 1, "maxLength": 2000},
    "key_points": {"type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 300}}}})"});
  const std::string bant_item = R"({"type": "object", "required": ["value", "evidence"], "additionalProperties": false,
      "properties": {"value": {"type": ["string", "null"], "maxLength": 300}, "evidence": )" +
                                quote + "}}";
  out.push_back({"bant",
                 std::string("Task: bant\nQualify this sales call with BANT. For each of budget, authority, need and "
                             "timeline give what the customer said (null when it never came up) and a verbatim "
                             "evidence quote from the transcript (null when value is null). qualified is true only "
                             "when all four are known and favourable.") +
                     kCall,
                 R"({"type": "object", "required": ["budget", "authority", "need", "timeline", "qualified"],
  "additionalProperties": false,
  "properties": {"budget": )" +
                     bant_item + R"(, "authority": )" + bant_item + R"(, "need": )" + bant_item + R"(, "timeline": )" +
                     bant_item + R"(, "qualified": {"type": "boolean"}}})"});
  out.push_back({"sop_compliance",
                 std::string("Task: sop_compliance\nScore how well the agent followed standard operating procedure: "
                             "greeting with company and own name, verifying the customer's identity before account "
                             "details, stating the resolution clearly, offering further help and closing politely. "
                             "score is 0-100; list each violation with the step, what went wrong and a quote.") +
                     kCall,
                 R"({"type": "object", "required": ["score", "violations"], "additionalProperties": false,
  "properties": {
    "score": {"type": "integer", "minimum": 0, "maximum": 100},
    "violations": {"type": "array", "maxItems": 20, "items": {"type": "object", "required": ["step", "detail"],
      "additionalProperties": false,
      "properties": {"step": {"type": "string", "maxLength": 200}, "detail": {"type": "string", "maxLength": 500},
                     "evidence": )" +
                     quote + R"(}}}}})"});
  out.push_back({"objections",
                 std::string("Task: objections\nList the objections the customer raised (price, timing, competitor, "
                             "trust, need, authority or other), each with a quote, whether the agent handled it and "
                             "how.") +
                     kCall,
                 R"({"type": "object", "required": ["objections"], "additionalProperties": false,
  "properties": {"objections": {"type": "array", "maxItems": 20, "items": {"type": "object",
    "required": ["type", "quote", "handled"], "additionalProperties": false,
    "properties": {
      "type": {"enum": ["price", "timing", "competitor", "trust", "need", "authority", "other"]},
      "quote": {"type": "string", "maxLength": 400},
      "handled": {"type": "boolean"},
      "response": {"type": ["string", "null"], "maxLength": 500}}}}}})"});
  out.push_back({"coaching_tips",
                 std::string("Task: coaching_tips\nGive the agent up to five specific, actionable coaching tips "
                             "based on this call, each tied to a moment in the transcript, and name one thing the "
                             "agent did well.") +
                     kCall,
                 R"({"type": "object", "required": ["tips", "strength"], "additionalProperties": false,
  "properties": {
    "tips": {"type": "array", "maxItems": 5, "items": {"type": "object", "required": ["tip"],
      "additionalProperties": false,
      "properties": {"tip": {"type": "string", "minLength": 1, "maxLength": 500}, "evidence": )" +
                     quote + R"(}}},
    "strength": {"type": "string", "maxLength": 500}}})"});
  out.push_back({"issue_outcome",
                 std::string("Task: issue_outcome\nState the customer's issue, the call's outcome and the action items "
                             "with their owner (agent, customer or company). Set escalate to true when the call "
                             "needs a supervisor's attention (threats to leave or sue, abuse, an unresolved "
                             "complaint about a previous escalation) and give the reason.") +
                     kCall,
                 R"({"type": "object", "required": ["issue", "outcome", "action_items", "escalate"],
  "additionalProperties": false,
  "properties": {
    "issue": {"type": "string", "maxLength": 1000},
    "outcome": {"enum": ["resolved", "unresolved", "refunded", "replacement", "cancelled", "retained", "escalated",
                         "callback_scheduled", "sale", "no_sale", "other"]},
    "action_items": {"type": "array", "maxItems": 10, "items": {"type": "object", "required": ["owner", "action"],
      "additionalProperties": false,
      "properties": {"owner": {"enum": ["agent", "customer", "company"]},
                     "action": {"type": "string", "maxLength": 500},
                     "due": {"type": ["string", "null"], "maxLength": 100}}}},
    "escalate": {"type": "boolean"},
    "escalation_reason": {"type": ["string", "null"], "maxLength": 500}}})"});
  return out;
}

}  // namespace

const std::vector<DefaultAgent>& default_agents() {
  static const std::vector<DefaultAgent> agents = make_defaults();
  return agents;
}

const std::string& agent_system_prompt() {
  static const std::string s =
      "You analyse call-center calls for quality assurance. Answer with ONE JSON object that follows the given JSON "
      "Schema exactly: no prose, no Markdown. Use only what the transcript says; when something is not in the call, "
      "use null or an empty list rather than guessing. Quotes must be verbatim from the transcript.";
  return s;
}

Result<int> seed_default_agents(storage::AgentConfigRepository& agents, const storage::TenantId& t) {
  auto existing = agents.list(t, false);
  if (!existing) return std::unexpected(existing.error());
  std::set<std::string> names;
  for (const auto& a : *existing) names.insert(a.name);
  int created = 0;
  for (const auto& d : default_agents()) {
    if (names.contains(d.name)) continue;
    storage::AgentConfig c;
    c.name = d.name;
    c.kind = storage::AgentKind::kLlm;
    c.prompt_template = d.prompt_template;
    c.output_schema_json = d.output_schema;
    c.enabled = true;
    auto id = agents.create(t, c);
    if (!id) {
      if (id.error().code == ErrorCode::kAlreadyExists) continue;  // created concurrently
      return std::unexpected(id.error());
    }
    ++created;
  }
  return created;
}

}  // namespace earshot::pipeline
