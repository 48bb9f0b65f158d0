#pragma once
// The call detail view (GET /api/v1/calls/{id}): a call with its transcript, metrics,
// latest analyses, category matches, escalations and notes. Contract (tenant scoping,
// errors): repository_common.hpp.

#include <optional>
#include <string>
#include <vector>

#include "earshot/storage/analysis_repositories.hpp"
#include "earshot/storage/call_repository.hpp"
#include "earshot/storage/note_repository.hpp"
#include "earshot/storage/repository_common.hpp"
#include "earshot/storage/transcript_repository.hpp"

namespace earshot::storage {

// A call with what its detail view shows (MySQL reads it in two statements on one
// connection instead of one round trip per part).
struct CallDetail {
  CallRecord call{};
  std::optional<Transcript> transcript{};
  // The call's metrics, without loudness_series (left empty), when measured.
  std::optional<CallMetrics> metrics{};
  // An analysis with the name and kind of its agent config (read in the same statement).
  struct AnalysisView : Analysis {
    std::optional<std::string> agent_name{};  // "builtin.qa", an LLM agent's name; empty: config deleted
    std::optional<std::string> agent_kind{};  // "builtin" | "llm", as stored
  };
  // The latest analysis per agent config, by id; only id, agent_config_id, agent_version,
  // output_json, model, created_at and the agent's name and kind are read.
  std::vector<AnalysisView> analyses{};
  std::vector<CategoryMatch> categories{};  // by category id
  struct EscalationView {
    Id id = 0;
    std::string reason{};
    std::string severity{};  // low | medium | high
    std::string status{};    // open | acknowledged | resolved
    Timestamp created_at{};
    std::optional<Timestamp> resolved_at{};
  };
  std::vector<EscalationView> escalations{};  // by id
  std::vector<CallNote> notes{};              // by id
};

class CallDetailRepository {
 public:
  virtual ~CallDetailRepository() = default;
  // kNotFound when the call is not the tenant's. MySQL: two statements on one connection.
  [[nodiscard]] virtual Result<CallDetail> detail(const TenantId& t, Id id) = 0;
};

}  // namespace earshot::storage
