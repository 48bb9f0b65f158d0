#pragma once
// Repository interfaces: what the services need from storage, independent of MySQL.
// Implementations: mysql_repositories.hpp. In-memory fakes: tests/fakes/storage/.
//
// Tenant scoping: every method that touches tenant-owned rows takes a TenantId, and the
// implementation matches every row on (bid, ...). A row of another business behaves
// exactly like a missing row (kNotFound / false / empty), never like an error that would
// reveal it exists. JSON-valued fields are JSON text; the database validates them
// (kInvalidArgument when malformed).
//
// Errors: kNotFound (no such row for this tenant), kAlreadyExists (unique key collision),
// kInvalidArgument (bad value), kUnavailable (database down, or deadlock / lock wait
// timeout still failing after bounded retries), kFailedPrecondition (schema not migrated).
// Methods returning Result<bool> report whether a guarded change happened.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/storage/call_state.hpp"
#include "earshot/storage/cursor.hpp"
#include "earshot/storage/sql.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::storage {

using Id = std::int64_t;

// ---- businesses --------------------------------------------------------------------------

enum class BusinessStatus { kActive, kDisabled };

struct Business {
  std::string bid;
  std::string name;
  BusinessStatus status = BusinessStatus::kActive;
  Timestamp created_at{};
};

class BusinessRepository {
 public:
  virtual ~BusinessRepository() = default;
  [[nodiscard]] virtual Status create(const TenantId& t, std::string_view name) = 0;
  [[nodiscard]] virtual Result<Business> get(const TenantId& t) = 0;
  // Platform administration: every business, by bid.
  [[nodiscard]] virtual Result<std::vector<Business>> list_all() = 0;
  [[nodiscard]] virtual Result<bool> set_status(const TenantId& t, BusinessStatus s) = 0;
  [[nodiscard]] virtual Result<bool> rename(const TenantId& t, std::string_view name) = 0;
};

// ---- users, platform admins, API keys ----------------------------------------------------

enum class UserRole { kAdmin, kAnalyst, kViewer };

struct User {
  Id id = 0;
  std::string email;
  std::string display_name;
  UserRole role = UserRole::kViewer;
  std::string password_hash;  // argon2id string (crypto::hash_password)
  bool disabled = false;
  std::optional<Timestamp> last_login_at;
};

struct PlatformAdmin {
  Id id = 0;
  std::string email;
  std::string password_hash;
  bool disabled = false;
  Timestamp created_at{};
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;
  // `user.id` is ignored; returns the new id. kAlreadyExists for an e-mail taken by any user of
  // any business or by a platform admin (the message never says where: e-mails are unique
  // on the whole platform).
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, const User& user) = 0;
  [[nodiscard]] virtual Result<User> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<User> find_by_email(const TenantId& t, std::string_view email) = 0;
  [[nodiscard]] virtual Result<std::vector<User>> list(const TenantId& t) = 0;
  [[nodiscard]] virtual Result<bool> set_role(const TenantId& t, Id id, UserRole role) = 0;
  [[nodiscard]] virtual Result<bool> set_password_hash(const TenantId& t, Id id, std::string_view hash) = 0;
  [[nodiscard]] virtual Result<bool> set_disabled(const TenantId& t, Id id, bool disabled) = 0;
  [[nodiscard]] virtual Result<bool> record_login(const TenantId& t, Id id, Timestamp at) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;

  // Platform admins belong to no business.
  [[nodiscard]] virtual Result<Id> create_platform_admin(std::string_view email, std::string_view password_hash) = 0;
  [[nodiscard]] virtual Result<PlatformAdmin> find_platform_admin(std::string_view email) = 0;
  // True when a user of any business or a platform admin has this e-mail (compared as the
  // database compares them: case-insensitively).
  [[nodiscard]] virtual Result<bool> email_taken(std::string_view email) = 0;
  // Every platform admin, oldest first.
  [[nodiscard]] virtual Result<std::vector<PlatformAdmin>> list_platform_admins() = 0;
  [[nodiscard]] virtual Result<PlatformAdmin> get_platform_admin(Id id) = 0;
  // False when there is no such admin.
  [[nodiscard]] virtual Result<bool> set_platform_admin_disabled(std::string_view email, bool disabled) = 0;

  // Sign-in, before the tenant is known: the businesses with a user of this e-mail, at most
  // two (e-mails are unique since migration 0009; two means older data).
  [[nodiscard]] virtual Result<std::vector<std::string>> businesses_with_email(std::string_view email) = 0;
  // The user's current role while they may use the product: enabled, in an active business.
  // Empty otherwise, and when there is no such user.
  [[nodiscard]] virtual Result<std::optional<UserRole>> active_role(const TenantId& t, Id id) = 0;
};

struct ApiKey {
  Id id = 0;
  std::string bid;
  std::string name;
  std::string prefix;
  std::vector<std::string> scopes;
  Timestamp created_at{};
  std::optional<Timestamp> last_used_at;
  std::optional<Timestamp> revoked_at;
};

class ApiKeyRepository {
 public:
  virtual ~ApiKeyRepository() = default;
  // `key_hash` is crypto::hash_api_key(secret): the secret itself is never stored.
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, std::string_view name, std::string_view prefix,
                                          std::string_view key_hash, const std::vector<std::string>& scopes) = 0;
  [[nodiscard]] virtual Result<std::vector<ApiKey>> list(const TenantId& t) = 0;
  [[nodiscard]] virtual Result<bool> revoke(const TenantId& t, Id id, Timestamp at) = 0;
  [[nodiscard]] virtual Result<bool> touch(const TenantId& t, Id id, Timestamp at) = 0;
  // Authentication happens before the tenant is known: finds an unrevoked key by hash.
  // The returned key's bid is the tenant to use from then on. kNotFound otherwise.
  [[nodiscard]] virtual Result<ApiKey> authenticate(std::string_view key_hash) = 0;
  // As authenticate(), and only when the key's business is active.
  [[nodiscard]] virtual Result<ApiKey> authenticate_active(std::string_view key_hash) = 0;
};

// ---- per-business configuration ----------------------------------------------------------

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
  std::string channel_roles_json = R"({"0":"agent","1":"customer"})";
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

// ---- human agents ------------------------------------------------------------------------

struct HumanAgentInput {
  std::string external_id;
  std::string name;
  std::string team;
  std::string city;
};

struct HumanAgent {
  Id id = 0;
  std::string external_id;
  std::string name;
  std::string team;
  std::string city;
  std::int64_t total_calls = 0;
  double talk_ratio_sum = 0;
  std::int64_t talk_ratio_count = 0;
  double customer_sentiment_sum = 0;
  std::int64_t customer_sentiment_count = 0;
  double qa_score_sum = 0;
  std::int64_t qa_score_count = 0;
  std::int64_t escalations = 0;
  std::string trend_json = "[]";  // newest last, at most kAgentTrendLength entries

  [[nodiscard]] std::optional<double> avg_talk_ratio() const {
    return talk_ratio_count ? std::optional(talk_ratio_sum / double(talk_ratio_count)) : std::nullopt;
  }
  [[nodiscard]] std::optional<double> avg_customer_sentiment() const {
    return customer_sentiment_count ? std::optional(customer_sentiment_sum / double(customer_sentiment_count))
                                    : std::nullopt;
  }
  [[nodiscard]] std::optional<double> avg_qa_score() const {
    return qa_score_count ? std::optional(qa_score_sum / double(qa_score_count)) : std::nullopt;
  }
};

inline constexpr std::size_t kAgentTrendLength = 50;

class HumanAgentRepository {
 public:
  virtual ~HumanAgentRepository() = default;
  // Creates or updates (name/team/city) the agent with this external id; returns its id.
  [[nodiscard]] virtual Result<Id> upsert(const TenantId& t, const HumanAgentInput& in) = 0;
  [[nodiscard]] virtual Result<HumanAgent> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<HumanAgent> find_by_external_id(const TenantId& t, std::string_view external_id) = 0;
  [[nodiscard]] virtual Result<std::vector<HumanAgent>> list(const TenantId& t) = 0;
};

// ---- calls -------------------------------------------------------------------------------

enum class CallDirection { kInbound, kOutbound, kUnknown };

struct CallInput {
  std::string external_id;
  std::optional<Id> human_agent_id;
  std::string customer_phone;  // E.164 (normalize_phone_e164)
  std::string customer_name;
  CallDirection direction = CallDirection::kUnknown;
  std::string city;
  std::string issue_category;
  std::string call_context;
  Timestamp started_at{};
  std::int64_t duration_ms = 0;
  std::string audio_uri;
  int channels = 1;
  std::string language;
  std::string metadata_json = "{}";
};

struct CallRecord : CallInput {
  Id id = 0;
  CallStatus status = CallStatus::kPending;
  std::string failed_stage;
  std::string failed_reason;
  std::int64_t attempts = 0;
  bool customer_phone_hashed = false;
  std::optional<double> agent_talk_ratio;
  std::optional<double> customer_sentiment;
  std::optional<double> qa_score;
  Timestamp status_changed_at{};
  Timestamp created_at{};
};

struct UpsertOutcome {
  Id id = 0;
  bool created = false;  // false: the call existed and its fields were updated
};

struct CallListQuery {
  std::optional<Id> human_agent_id;
  std::optional<Timestamp> started_from;  // inclusive
  std::optional<Timestamp> started_to;    // exclusive
  std::optional<double> sentiment_min;    // customer sentiment, inclusive
  std::optional<double> sentiment_max;
  std::optional<double> talk_ratio_min;  // agent talk ratio, inclusive
  std::optional<double> talk_ratio_max;
  std::optional<CallStatus> status;
  std::optional<std::string> category;  // issue category
  std::optional<std::string> language;
  std::optional<std::string> city;
  std::optional<std::string> text;  // transcript must contain every word
  CallSort sort = CallSort::kStartedAt;
  SortOrder order = SortOrder::kDesc;
  int limit = 50;      // 1..500
  std::string cursor;  // next_cursor of the previous page, or empty
};

struct CallPage {
  std::vector<CallRecord> calls;
  std::string next_cursor;  // empty on the last page
};

struct CallSyncState {
  Id id = 0;
  std::string external_id;
  CallStatus status = CallStatus::kPending;
  std::string audio_uri;
  std::string language;
  // Upserts seen: 1 when created, +1 per later upsert / upsert_batch / insert_if_absent of
  // the same external id. A call an upsert created is one still at 1 right after it.
  std::int64_t sync_count = 1;
};

class CallRepository {
 public:
  virtual ~CallRepository() = default;
  // Idempotent on (bid, external_id): a re-synced call updates its descriptive fields and
  // keeps its status, derived data and (if already hashed) its hashed phone.
  [[nodiscard]] virtual Result<UpsertOutcome> upsert(const TenantId& t, const CallInput& in) = 0;
  // The same for many calls: multi-row INSERT ... ON DUPLICATE KEY UPDATE in one
  // transaction (chunks of 1000 rows).
  [[nodiscard]] virtual Status upsert_batch(const TenantId& t, std::span<const CallInput> in) = 0;
  // Creates the call unless (bid, external_id) exists; an existing call is left as it is
  // (only its sync_count grows) and returned with created = false. Pushed uploads use it.
  [[nodiscard]] virtual Result<UpsertOutcome> insert_if_absent(const TenantId& t, const CallInput& in) = 0;
  [[nodiscard]] virtual Result<CallRecord> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<CallRecord> find_by_external_id(const TenantId& t, std::string_view external_id) = 0;
  // Guarded step along the pipeline (CallStateMachine::can_advance(from, to), else
  // kInvalidArgument). False when the call is not (any more) in `from`.
  [[nodiscard]] virtual Result<bool> advance(const TenantId& t, Id id, CallStatus from, CallStatus to) = 0;
  // Any state but failed -> failed, recording the stage and reason.
  [[nodiscard]] virtual Result<bool> mark_failed(const TenantId& t, Id id, std::string_view stage,
                                                 std::string_view reason) = 0;
  // analyzed | notified | failed -> pending, clearing the failure and the attempt count.
  [[nodiscard]] virtual Result<bool> reprocess(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<CallPage> list(const TenantId& t, const CallListQuery& q) = 0;
  // Deletes the call and everything derived from it (transcript, metrics, analyses, events,
  // notes, escalations, category matches) in one transaction. False when absent.
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;
  // Retention: deletes calls started before `cutoff` with everything derived, in batches of
  // `batch_size` calls per transaction. Returns the number of calls deleted.
  [[nodiscard]] virtual Result<std::int64_t> purge_started_before(const TenantId& t, Timestamp cutoff,
                                                                  int batch_size) = 0;
  // Replaces the customer phone by "sha256:<hex>" of it (idempotent). False when absent
  // or already hashed.
  [[nodiscard]] virtual Result<bool> hash_customer_phone(const TenantId& t, Id id) = 0;
  // The business's calls per status (statuses without calls absent).
  [[nodiscard]] virtual Result<std::map<CallStatus, std::int64_t>> count_by_status(const TenantId& t) = 0;
  // The state of the tenant's calls with these external ids (one index read; missing ones
  // absent, in no particular order). A sync reads it back after upsert_batch.
  [[nodiscard]] virtual Result<std::vector<CallSyncState>> sync_states(const TenantId& t,
                                                                       std::span<const std::string> external_ids) = 0;
};

// ---- transcripts, metrics, analyses ------------------------------------------------------

struct Transcript {
  Id call_id = 0;
  std::string segments_json = "[]";  // [{speaker, start_ms, end_ms, text, confidence}]
  std::string full_text;
  std::string provider;
  std::string language;
  std::int64_t version = 0;  // read-only: 1 on first write, +1 per rewrite
};

struct CallMetrics;
struct ProcessingEvent;

class TranscriptRepository {
 public:
  virtual ~TranscriptRepository() = default;
  // Writes (or rewrites) the call's transcript. kNotFound when the call is not the tenant's.
  [[nodiscard]] virtual Status put(const TenantId& t, const Transcript& tr) = 0;
  // A transcription's result in one transaction: the transcript (as put()), the call's
  // metrics (as MetricsRepository::put), the call moved transcribing -> transcribed (when it
  // is transcribing) and `event` appended. True when the call moved; kNotFound when the call
  // is not the tenant's.
  [[nodiscard]] virtual Result<bool> put_transcribed(const TenantId& t, const Transcript& tr, const CallMetrics& m,
                                                     const ProcessingEvent& event) = 0;
  [[nodiscard]] virtual Result<Transcript> get(const TenantId& t, Id call_id) = 0;
  // Calls whose transcript contains every word of `text` (FULLTEXT), newest first.
  [[nodiscard]] virtual Result<std::vector<Id>> search(const TenantId& t, std::string_view text, int limit) = 0;
};

enum class MetricsSource { kAudio, kTranscript };

// The conversation metrics of a call (definitions: the shared metrics document).
struct CallMetrics {
  Id call_id = 0;
  MetricsSource source = MetricsSource::kTranscript;
  std::int64_t duration_ms = 0;
  std::int64_t agent_talk_ms = 0;
  std::int64_t customer_talk_ms = 0;
  std::optional<double> agent_talk_ratio;
  std::optional<double> agent_talk_pct_of_call;
  std::int64_t non_talk_ms = 0;
  std::string silences_json = "[]";
  std::int64_t overtalk_ms = 0;
  std::int64_t overtalk_count = 0;
  std::int64_t agent_interruptions = 0;
  std::int64_t agent_interruption_ms = 0;
  std::int64_t customer_interruptions = 0;
  std::int64_t customer_interruption_ms = 0;
  std::optional<double> agent_loudness_mean_dbfs;
  std::optional<double> agent_loudness_peak_dbfs;
  std::optional<double> customer_loudness_mean_dbfs;
  std::optional<double> customer_loudness_peak_dbfs;
  std::string loudness_series_json = "{}";
  std::int64_t longest_monologue_ms = 0;
  std::int64_t longest_customer_story_ms = 0;
  std::optional<double> interactivity_per_min;
  std::optional<double> patience_ms;
  std::optional<double> agent_wpm;
  std::optional<double> customer_wpm;
  std::optional<double> question_rate_per_hour;
  std::optional<double> agent_sentiment;
  std::optional<double> customer_sentiment;
  std::optional<double> agent_sentiment_q[4];
  std::optional<double> customer_sentiment_q[4];
  std::optional<double> sentiment_change;
};

class MetricsRepository {
 public:
  virtual ~MetricsRepository() = default;
  // Writes the call's metrics and, in the same transaction, the values the call list filters
  // on (agent talk ratio, customer sentiment). kNotFound when the call is not the tenant's.
  [[nodiscard]] virtual Status put(const TenantId& t, const CallMetrics& m) = 0;
  [[nodiscard]] virtual Result<CallMetrics> get(const TenantId& t, Id call_id) = 0;
};

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

class AnalysisRepository {
 public:
  virtual ~AnalysisRepository() = default;
  // One transaction: stores the analyses (earlier runs of the same agent config stay, no
  // longer latest), sets the call's QA score, opens the escalation if any, and the first
  // time for this call adds it to its human agent's aggregates (agent row locked with
  // SELECT ... FOR UPDATE; trend bounded). Returns whether the aggregates were updated
  // (false on a re-analysis or for a call without an agent). kNotFound for a foreign call.
  [[nodiscard]] virtual Result<bool> record(const TenantId& t, Id call_id, const CallAnalysisResult& r) = 0;
  [[nodiscard]] virtual Result<std::vector<Analysis>> list_for_call(const TenantId& t, Id call_id,
                                                                    bool latest_only) = 0;
};

// ---- embeddings ----------------------------------------------------------------------------

// One vector of a call: the whole call (chunk_index -1) or one transcript chunk (0, 1, ...).
struct CallEmbedding {
  std::int64_t chunk_index = -1;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string text;   // the chunk's (redacted) text; empty for the whole-call vector
  std::string model;  // the embedder's id, e.g. "hashed-bow:256"
  std::vector<float> vector;
};

class EmbeddingRepository {
 public:
  virtual ~EmbeddingRepository() = default;
  // Replaces every vector of the call (re-analysis). kNotFound for a foreign call.
  [[nodiscard]] virtual Status replace(const TenantId& t, Id call_id, const std::vector<CallEmbedding>& rows) = 0;
  // The call's vectors, whole call first, then chunks in order.
  [[nodiscard]] virtual Result<std::vector<CallEmbedding>> list_for_call(const TenantId& t, Id call_id) = 0;
};

// ---- pipeline history --------------------------------------------------------------------

enum class EventOutcome { kStarted, kSucceeded, kFailed, kRetried, kSkipped };

struct ProcessingEvent {
  Id id = 0;
  Id call_id = 0;
  std::string stage;
  EventOutcome outcome = EventOutcome::kStarted;
  std::int64_t attempt = 1;
  std::string error;
  std::int64_t duration_ms = 0;
  Timestamp created_at{};
};

class ProcessingEventRepository {
 public:
  virtual ~ProcessingEventRepository() = default;
  // Append-only. kNotFound when the call is not the tenant's.
  [[nodiscard]] virtual Result<Id> append(const TenantId& t, const ProcessingEvent& e) = 0;
  [[nodiscard]] virtual Result<std::vector<ProcessingEvent>> list_for_call(const TenantId& t, Id call_id) = 0;
};

// ---- sync --------------------------------------------------------------------------------

class WatermarkRepository {
 public:
  virtual ~WatermarkRepository() = default;
  [[nodiscard]] virtual Result<std::optional<std::string>> get(const TenantId& t, std::string_view source) = 0;
  [[nodiscard]] virtual Status put(const TenantId& t, std::string_view source, std::string_view position) = 0;
};

struct CrmLead {
  Id id = 0;
  std::string phone;  // E.164
  std::string lead_id;
  std::string fields_json = "{}";
  Timestamp modified_at{};
};

class CrmLeadRepository {
 public:
  virtual ~CrmLeadRepository() = default;
  // Idempotent on (bid, lead_id); an older modified_at never overwrites a newer one.
  [[nodiscard]] virtual Status upsert(const TenantId& t, const CrmLead& lead) = 0;
  // The most recently modified lead with this phone.
  [[nodiscard]] virtual Result<std::optional<CrmLead>> find_by_phone(const TenantId& t, std::string_view phone) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, std::string_view lead_id) = 0;
  [[nodiscard]] virtual Result<std::int64_t> count(const TenantId& t) = 0;
  // find_by_phone for many phones at once (one read): phone -> its most recently modified
  // lead; phones without a lead absent.
  [[nodiscard]] virtual Result<std::map<std::string, CrmLead>> find_by_phones(const TenantId& t,
                                                                              std::span<const std::string> phones) = 0;
};

// ---- categories and scorecards -----------------------------------------------------------

// A named rule set: a category (rules_json = its rules) or a scorecard (its questions).
struct RuleSet {
  Id id = 0;
  std::string name;
  std::string rules_json = "[]";
  bool enabled = true;
  std::int64_t version = 1;  // read-only: bumped on every update
};

class RuleSetRepository {
 public:
  virtual ~RuleSetRepository() = default;
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, const RuleSet& r) = 0;
  [[nodiscard]] virtual Result<RuleSet> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<std::vector<RuleSet>> list(const TenantId& t) = 0;
  [[nodiscard]] virtual Result<bool> update(const TenantId& t, const RuleSet& r) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;
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

// ---- escalations and notes ---------------------------------------------------------------

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

struct CallNote {
  Id id = 0;
  Id call_id = 0;
  std::optional<Id> author_user_id;
  std::string body;
  Timestamp created_at{};
};

class NoteRepository {
 public:
  virtual ~NoteRepository() = default;
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, Id call_id, std::optional<Id> author_user_id,
                                          std::string_view body) = 0;
  [[nodiscard]] virtual Result<std::vector<CallNote>> list_for_call(const TenantId& t, Id call_id) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;
};

// ---- call detail -------------------------------------------------------------------------

// A call with what its detail view shows (CallDetailRepository, call_detail_repository.hpp;
// MySQL reads it in two statements on one connection instead of one round trip per part).
struct CallDetail {
  CallRecord call{};
  std::optional<Transcript> transcript{};
  // The call's metrics, without loudness_series (left empty), when measured.
  std::optional<CallMetrics> metrics{};
  // The latest analysis per agent config, by id; only id, agent_config_id, agent_version,
  // output_json, model and created_at are read.
  std::vector<Analysis> analyses{};
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

}  // namespace earshot::storage
