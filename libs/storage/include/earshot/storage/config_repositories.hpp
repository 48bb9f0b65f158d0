#pragma once
// Per-business configuration: the pipeline config (with its sealed secrets) and the
// analysis agents. Contract (tenant scoping, errors): repository_common.hpp.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

enum class LeadFilterMode { kOff, kPrefer, kRequire };

struct PipelineConfig {
  std::string source_db_json = "{}";       // {kind, host, port, database, user, table}
  std::string column_mapping_json = "{}";  // source column -> call field
  std::string crm_json = "{}";
  LeadFilterMode lead_filter_mode = LeadFilterMode::kOff;
  std::string stt_provider = "pocketsphinx";
  std::string stt_options_json = "{}";
  std::string llm_chain_json = "[]";
  std::string embedding_provider = "hashed-bow";
  std::string language = "en";
  std::string default_country_code = "1";
  std::int64_t concurrency = 4;
  std::int64_t rate_limit_per_min = 60;
  std::int64_t retention_days = 365;
  bool hash_phone_after_analysis = false;
  // Transcripts, their exports, search and the recording are served redacted to callers
  // without pii:read (docs/security.md, "Personal data"); off: everyone reads them raw.
  bool redact_pii = true;
  std::string channel_roles_json = R"({"0":"agent","1":"customer"})";
  // The optional LLM sentiment pass (docs/analyze.md): one request per call to the llm_chain
  // scores each turn; the lexicon stays the fallback. Off by default.
  bool llm_sentiment = false;
  // Passwords and API keys (e.g. "source_db_password", "crm_api_key", "llm_api_key").
  // Plaintext only in memory: stored sealed under a master key.
  std::map<std::string, std::string> secrets;
  std::int64_t version = 0;  // read-only: bumped on every put
};

class PipelineConfigRepository {
 public:
  virtual ~PipelineConfigRepository() = default;
  [[nodiscard]] virtual Status put(const TenantId& t, const PipelineConfig& config) = 0;
  // kNotFound when the business has none; kFailedPrecondition when its secrets are sealed
  // under a master key id that is not configured.
  [[nodiscard]] virtual Result<PipelineConfig> get(const TenantId& t) = 0;
  // Key rotation: re-seals every business's secrets that are not under the primary key.
  // Returns how many rows were re-sealed.
  [[nodiscard]] virtual Result<std::int64_t> reseal_all() = 0;
};

enum class AgentKind { kBuiltin, kLlm };

struct AgentConfig {
  Id id = 0;
  std::string name;
  AgentKind kind = AgentKind::kBuiltin;
  std::string prompt_template;
  std::string output_schema_json = "{}";
  std::string model;
  bool enabled = true;
  std::int64_t version = 1;  // read-only: bumped on every update
};

class AgentConfigRepository {
 public:
  virtual ~AgentConfigRepository() = default;
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, const AgentConfig& c) = 0;
  [[nodiscard]] virtual Result<AgentConfig> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<std::vector<AgentConfig>> list(const TenantId& t, bool enabled_only) = 0;
  // Replaces name/kind/prompt/schema/model/enabled of c.id and bumps the version.
  [[nodiscard]] virtual Result<bool> update(const TenantId& t, const AgentConfig& c) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;
};

}  // namespace earshot::storage
