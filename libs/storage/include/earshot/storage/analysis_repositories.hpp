#pragma once
// What the analyze stage writes: analyses (with the QA score and escalation they decide),
// embeddings, category matches, and the escalations analysts work through.
// Contract (tenant scoping, errors): repository_common.hpp.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/storage/call_state.hpp"
#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

struct AnalysisInput {
  Id agent_config_id = 0;
  std::int64_t agent_version = 1;
  std::string output_json = "{}";
  std::string model;
  std::string prompt_hash;
  std::int64_t latency_ms = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  // An agent run that failed is stored too: failed, with its reason (the call still counts
  // as analysed).
  bool failed = false;
  std::string error = {};
  bool cache_hit = false;  // the output came from the LLM result cache
};

struct Analysis : AnalysisInput {
  Id id = 0;
  Id call_id = 0;
  bool is_latest = false;
  Timestamp created_at{};
};

enum class EscalationSeverity { kLow, kMedium, kHigh };
enum class EscalationStatus { kOpen, kAcknowledged, kResolved };

struct CallAnalysisResult {
  std::vector<AnalysisInput> analyses;
  std::optional<double> qa_score;
  // When set, an escalation is opened in the same transaction and counted for the agent.
  std::optional<std::string> escalation_reason;
  EscalationSeverity escalation_severity = EscalationSeverity::kMedium;
  Timestamp at{};  // for the agent's trend entry
};

// What AnalysisRepository::record did.
struct RecordOutcome {
  // True: everything was written and the call moved analyzing -> analyzed. False: the call
  // was not `analyzing` any more (another run finished it, it failed, it was sent back to
  // pending) and NOTHING was written.
  bool recorded = false;
  bool aggregated = false;                    // the call was added to its human agent's aggregates
  CallStatus status = CallStatus::kAnalyzed;  // the call's status after the call
};

class AnalysisRepository {
 public:
  virtual ~AnalysisRepository() = default;
  // One transaction, only while the call is `analyzing` (call row locked first): stores the
  // analyses (earlier runs of the same agent config stay, no longer latest), sets the call's
  // QA score, opens the escalation if any, the first time for this call adds it to its human
  // agent's aggregates (agent row locked with SELECT ... FOR UPDATE; trend bounded), counts
  // the escalation for the agent, and last moves the call analyzing -> analyzed. So a failure
  // anywhere leaves nothing written and the call `analyzing` (a retry records once), and a
  // second run of the same analysis finds the call `analyzed` and writes nothing
  // (recorded = false). kNotFound for a foreign call.
  [[nodiscard]] virtual Result<RecordOutcome> record(const TenantId& t, Id call_id, const CallAnalysisResult& r) = 0;
  [[nodiscard]] virtual Result<std::vector<Analysis>> list_for_call(const TenantId& t, Id call_id,
                                                                    bool latest_only) = 0;
};

// One vector of a call: the whole call (chunk_index -1) or one transcript chunk (0, 1, ...).
struct CallEmbedding {
  std::int64_t chunk_index = -1;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string text;   // the chunk's (redacted) text; empty for the whole-call vector
  std::string model;  // the embedder's id, e.g. "hashed-bow:256"
  std::vector<float> vector;
};

// One stored vector row with its row id: the key a search index holds for it. Re-analysis
// replaces a call's rows, so ids of an earlier analysis stop existing.
struct EmbeddingRow {
  Id id = 0;
  Id call_id = 0;
  std::int64_t chunk_index = -1;  // -1: the whole-call vector
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string text;
  std::vector<float> vector;  // empty where a method says it does not read vectors
};

// An analysed call whose vectors another embedder made (the model of its whole-call vector).
struct StaleCallEmbeddings {
  Id call_id = 0;
  std::string model;
};

class EmbeddingRepository {
 public:
  virtual ~EmbeddingRepository() = default;
  // Replaces every vector of the call (re-analysis). kNotFound for a foreign call.
  [[nodiscard]] virtual Status replace(const TenantId& t, Id call_id, const std::vector<CallEmbedding>& rows) = 0;
  // The call's vectors, whole call first, then chunks in order.
  [[nodiscard]] virtual Result<std::vector<CallEmbedding>> list_for_call(const TenantId& t, Id call_id) = 0;
  // The business's rows of embedder `model` (whole-call vectors and chunks) with id >
  // after_id, in id order, at most `limit` (1..10000): the keyset scan a search index is
  // loaded with.
  [[nodiscard]] virtual Result<std::vector<EmbeddingRow>> scan(const TenantId& t, std::string_view model, Id after_id,
                                                               int limit) = 0;
  // One call's rows of `model`, whole call first, then chunks in order (empty when absent).
  [[nodiscard]] virtual Result<std::vector<EmbeddingRow>> rows_of_call(const TenantId& t, std::string_view model,
                                                                       Id call_id) = 0;
  // The rows with these ids that still exist, without vectors, in no particular order
  // (missing and foreign ids absent): search results re-read. At most 1000 ids.
  [[nodiscard]] virtual Result<std::vector<EmbeddingRow>> by_ids(const TenantId& t, std::span<const Id> ids) = 0;
  // The embedders the business has vectors of, sorted.
  [[nodiscard]] virtual Result<std::vector<std::string>> models(const TenantId& t) = 0;
  // The business's analysed calls (status analyzed or notified) with id > after_call_id
  // whose whole-call vector (chunk -1) another embedder than `model` made, in call id
  // order, at most `limit` (1..1000): what a re-embedding for `model` takes next.
  [[nodiscard]] virtual Result<std::vector<StaleCallEmbeddings>> calls_needing_embedding(const TenantId& t,
                                                                                         std::string_view model,
                                                                                         Id after_call_id,
                                                                                         int limit) = 0;
  // Replaces the call's vectors by `rows` only while the call's stored rows are exactly
  // `expected` (row ids, any order), in one transaction that locks the call: false, with
  // nothing written, when they changed since they were read (the call was analysed or
  // re-embedded meanwhile) or the call is gone. The old rows go in the same transaction (a
  // call holds one embedder's rows: unique (bid, call_id, chunk_index)).
  [[nodiscard]] virtual Result<bool> replace_if_unchanged(const TenantId& t, Id call_id, std::span<const Id> expected,
                                                          const std::vector<CallEmbedding>& rows) = 0;
};

struct CategoryMatch {
  Id category_id = 0;
  std::string spans_json = "[]";  // [{begin_ms, end_ms}]
};

class CategoryMatchRepository {
 public:
  virtual ~CategoryMatchRepository() = default;
  // Replaces the call's matches. kNotFound for a foreign call or category.
  [[nodiscard]] virtual Status replace(const TenantId& t, Id call_id, const std::vector<CategoryMatch>& matches) = 0;
  [[nodiscard]] virtual Result<std::vector<CategoryMatch>> list_for_call(const TenantId& t, Id call_id) = 0;
};

struct Escalation {
  Id id = 0;
  Id call_id = 0;
  std::string reason;
  EscalationSeverity severity = EscalationSeverity::kMedium;
  EscalationStatus status = EscalationStatus::kOpen;
  Timestamp created_at{};
  std::optional<Timestamp> resolved_at;
};

class EscalationRepository {
 public:
  virtual ~EscalationRepository() = default;
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, Id call_id, std::string_view reason,
                                          EscalationSeverity severity) = 0;
  [[nodiscard]] virtual Result<std::vector<Escalation>> list(const TenantId& t, std::optional<EscalationStatus> status,
                                                             int limit) = 0;
  [[nodiscard]] virtual Result<bool> set_status(const TenantId& t, Id id, EscalationStatus s, Timestamp at) = 0;
  // The escalations of one call, newest first (empty for a foreign or missing call).
  [[nodiscard]] virtual Result<std::vector<Escalation>> list_for_call(const TenantId& t, Id call_id) = 0;
};

}  // namespace earshot::storage
