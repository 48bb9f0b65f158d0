#pragma once
// The LLM agents every new business starts with: each a prompt template (variables
// {{transcript}}, {{metadata}}, {{metrics}}, {{lead}}) and a JSON Schema its answer must
// follow. seed_default_agents() is called wherever a business is created (the gateway's
// registration and `earshot business create` share api::register_business; seed-demo calls it
// too); it only adds agents whose names the business does not have yet, so a business's edits
// are never overwritten.

#include <string>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::pipeline {

struct DefaultAgent {
  std::string name;
  std::string prompt_template;
  std::string output_schema;  // JSON text
};

// summary, bant, sop_compliance, objections, coaching_tips, issue_outcome.
[[nodiscard]] const std::vector<DefaultAgent>& default_agents();

// The system prompt every LLM agent is sent (the task itself is in the agent's template).
[[nodiscard]] const std::string& agent_system_prompt();

// Creates the default agents the business lacks (kind llm, enabled, version 1). Returns how
// many were created. Safe to call concurrently and repeatedly.
[[nodiscard]] Result<int> seed_default_agents(storage::AgentConfigRepository& agents, const storage::TenantId& t);

}  // namespace earshot::pipeline
