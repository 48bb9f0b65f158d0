#pragma once
// MySQL / MariaDB implementations of the repository interfaces. Each holds a reference to a
// shared Database (thread-safe) and is itself safe to use from many threads.

#include "earshot/crypto/keyring.hpp"
#include "earshot/storage/analytics_repository.hpp"
#include "earshot/storage/auth_repositories.hpp"
#include "earshot/storage/call_detail_repository.hpp"
#include "earshot/storage/pipeline_status_repository.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::storage {

class MySqlBusinessRepository final : public BusinessRepository {
 public:
  explicit MySqlBusinessRepository(Database& db) : db_(db) {}
  Status create(const TenantId& t, std::string_view name) override;
  Result<Business> get(const TenantId& t) override;
  Result<std::vector<Business>> list_all() override;
  Result<bool> set_status(const TenantId& t, BusinessStatus s) override;
  Result<bool> rename(const TenantId& t, std::string_view name) override;

 private:
  Database& db_;
};

class MySqlUserRepository final : public UserRepository {
 public:
  explicit MySqlUserRepository(Database& db) : db_(db) {}
  Result<Id> create(const TenantId& t, const User& user) override;
  Result<User> get(const TenantId& t, Id id) override;
  Result<User> find_by_email(const TenantId& t, std::string_view email) override;
  Result<std::vector<User>> list(const TenantId& t) override;
  Result<bool> set_role(const TenantId& t, Id id, UserRole role) override;
  Result<bool> set_password_hash(const TenantId& t, Id id, std::string_view hash) override;
  Result<bool> set_disabled(const TenantId& t, Id id, bool disabled) override;
  Result<bool> record_login(const TenantId& t, Id id, Timestamp at) override;
  Result<bool> remove(const TenantId& t, Id id) override;
  Result<Id> create_platform_admin(std::string_view email, std::string_view password_hash) override;
  Result<PlatformAdmin> find_platform_admin(std::string_view email) override;
  Result<bool> email_taken(std::string_view email) override;
  Result<std::vector<PlatformAdmin>> list_platform_admins() override;
  Result<PlatformAdmin> get_platform_admin(Id id) override;
  Result<bool> set_platform_admin_disabled(std::string_view email, bool disabled) override;
  Result<std::vector<std::string>> businesses_with_email(std::string_view email) override;
  Result<std::optional<UserRole>> active_role(const TenantId& t, Id id) override;

 private:
  Database& db_;
};

class MySqlApiKeyRepository final : public ApiKeyRepository {
 public:
  explicit MySqlApiKeyRepository(Database& db) : db_(db) {}
  Result<Id> create(const TenantId& t, std::string_view name, std::string_view prefix, std::string_view key_hash,
                    const std::vector<std::string>& scopes) override;
  Result<std::vector<ApiKey>> list(const TenantId& t) override;
  Result<bool> revoke(const TenantId& t, Id id, Timestamp at) override;
  Result<bool> touch(const TenantId& t, Id id, Timestamp at) override;
  Result<ApiKey> authenticate(std::string_view key_hash) override;
  Result<ApiKey> authenticate_active(std::string_view key_hash) override;

 private:
  Database& db_;
};

class MySqlPipelineConfigRepository final : public PipelineConfigRepository {
 public:
  MySqlPipelineConfigRepository(Database& db, const crypto::Keyring& keys) : db_(db), keys_(keys) {}
  Status put(const TenantId& t, const PipelineConfig& config) override;
  Result<PipelineConfig> get(const TenantId& t) override;
  Result<std::int64_t> reseal_all() override;

 private:
  Database& db_;
  const crypto::Keyring& keys_;
};

class MySqlAgentConfigRepository final : public AgentConfigRepository {
 public:
  explicit MySqlAgentConfigRepository(Database& db) : db_(db) {}
  Result<Id> create(const TenantId& t, const AgentConfig& c) override;
  Result<AgentConfig> get(const TenantId& t, Id id) override;
  Result<std::vector<AgentConfig>> list(const TenantId& t, bool enabled_only) override;
  Result<bool> update(const TenantId& t, const AgentConfig& c) override;
  Result<bool> remove(const TenantId& t, Id id) override;

 private:
  Database& db_;
};

class MySqlHumanAgentRepository final : public HumanAgentRepository {
 public:
  explicit MySqlHumanAgentRepository(Database& db) : db_(db) {}
  Result<Id> upsert(const TenantId& t, const HumanAgentInput& in) override;
  Result<HumanAgent> get(const TenantId& t, Id id) override;
  Result<HumanAgent> find_by_external_id(const TenantId& t, std::string_view external_id) override;
  Result<std::vector<HumanAgent>> list(const TenantId& t) override;

 private:
  Database& db_;
};

class MySqlCallRepository final : public CallRepository, public CallDetailRepository {
 public:
  // `phone_peppers[0]` is prepended to a phone before it is hashed, so the small space of
  // phone numbers cannot be enumerated without it; a search by number tries every pepper
  // (those of earlier master keys match numbers hashed before a rotation).
  explicit MySqlCallRepository(Database& db, std::vector<std::string> phone_peppers = {})
      : db_(db), phone_peppers_(std::move(phone_peppers)) {
    if (phone_peppers_.empty()) phone_peppers_.emplace_back();
  }
  Result<UpsertOutcome> upsert(const TenantId& t, const CallInput& in) override;
  Status upsert_batch(const TenantId& t, std::span<const CallInput> in) override;
  Result<UpsertOutcome> insert_if_absent(const TenantId& t, const CallInput& in) override;
  Result<PushedOutcome> insert_pushed(const TenantId& t, const PushedCall& in) override;
  Result<CallRecord> get(const TenantId& t, Id id) override;
  Result<CallRecord> find_by_external_id(const TenantId& t, std::string_view external_id) override;
  Result<bool> advance(const TenantId& t, Id id, CallStatus from, CallStatus to) override;
  Result<bool> mark_failed(const TenantId& t, Id id, std::string_view stage, std::string_view reason) override;
  Result<bool> reprocess(const TenantId& t, Id id) override;
  Result<CallPage> list(const TenantId& t, const CallListQuery& q) override;
  Result<CallDetail> detail(const TenantId& t, Id id) override;
  Result<bool> remove(const TenantId& t, Id id) override;
  Result<std::vector<PurgeCandidate>> purge_candidates(const TenantId& t, Timestamp cutoff, int limit) override;
  Result<std::int64_t> remove_many(const TenantId& t, std::span<const Id> ids) override;
  Result<bool> hash_customer_phone(const TenantId& t, Id id) override;
  Result<std::int64_t> hash_finished_phones(const TenantId& t, int limit) override;
  Result<std::map<CallStatus, std::int64_t>> count_by_status(const TenantId& t) override;
  Result<std::vector<CallSyncState>> sync_states(const TenantId& t, std::span<const std::string> external_ids) override;
  Result<std::vector<Id>> ids_matching(const TenantId& t, const CallFilter& f, int limit) override;

 private:
  Database& db_;
  std::vector<std::string> phone_peppers_;
};

class MySqlTranscriptRepository final : public TranscriptRepository {
 public:
  explicit MySqlTranscriptRepository(Database& db) : db_(db) {}
  Status put(const TenantId& t, const Transcript& tr) override;
  Result<bool> put_transcribed(const TenantId& t, const Transcript& tr, const CallMetrics& m,
                               const ProcessingEvent& event) override;
  Result<Transcript> get(const TenantId& t, Id call_id) override;
  Result<bool> put_redaction(const TenantId& t, const TranscriptRedaction& r) override;
  Result<std::unordered_map<Id, std::string>> redacted_segments_of(const TenantId& t,
                                                                   std::span<const Id> call_ids) override;
  Status put_english(const TenantId& t, Id call_id, const std::string& segments_json,
                     const std::string& source) override;
  Status put_language(const TenantId& t, Id call_id, const std::string& language, const std::string& source) override;
  Result<std::unordered_map<Id, std::string>> segments_of(const TenantId& t, std::span<const Id> call_ids) override;
  Result<std::vector<Id>> search(const TenantId& t, std::string_view text, int limit) override;

 private:
  Database& db_;
};

class MySqlMetricsRepository final : public MetricsRepository {
 public:
  explicit MySqlMetricsRepository(Database& db) : db_(db) {}
  Status put(const TenantId& t, const CallMetrics& m) override;
  Result<CallMetrics> get(const TenantId& t, Id call_id) override;

 private:
  Database& db_;
};

class MySqlAnalysisRepository final : public AnalysisRepository {
 public:
  explicit MySqlAnalysisRepository(Database& db) : db_(db) {}
  Result<RecordOutcome> record(const TenantId& t, Id call_id, const CallAnalysisResult& r) override;
  Result<std::vector<Analysis>> list_for_call(const TenantId& t, Id call_id, bool latest_only) override;

 private:
  Database& db_;
};

class MySqlEmbeddingRepository final : public EmbeddingRepository {
 public:
  explicit MySqlEmbeddingRepository(Database& db) : db_(db) {}
  Status replace(const TenantId& t, Id call_id, const std::vector<CallEmbedding>& rows) override;
  Result<std::vector<CallEmbedding>> list_for_call(const TenantId& t, Id call_id) override;
  Result<std::vector<EmbeddingRow>> scan(const TenantId& t, std::string_view model, Id after_id, int limit) override;
  Result<std::vector<EmbeddingRow>> rows_of_call(const TenantId& t, std::string_view model, Id call_id) override;
  Result<std::vector<EmbeddingRow>> by_ids(const TenantId& t, std::span<const Id> ids) override;
  Result<std::vector<std::string>> models(const TenantId& t) override;
  Result<std::vector<StaleCallEmbeddings>> calls_needing_embedding(const TenantId& t, std::string_view model,
                                                                   Id after_call_id, int limit) override;
  Result<bool> replace_if_unchanged(const TenantId& t, Id call_id, std::span<const Id> expected,
                                    const std::vector<CallEmbedding>& rows) override;

 private:
  Database& db_;
};

class MySqlProcessingEventRepository final : public ProcessingEventRepository {
 public:
  explicit MySqlProcessingEventRepository(Database& db) : db_(db) {}
  Result<Id> append(const TenantId& t, const ProcessingEvent& e) override;
  Result<std::vector<ProcessingEvent>> list_for_call(const TenantId& t, Id call_id) override;

 private:
  Database& db_;
};

class MySqlWatermarkRepository final : public WatermarkRepository {
 public:
  explicit MySqlWatermarkRepository(Database& db) : db_(db) {}
  Result<std::optional<std::string>> get(const TenantId& t, std::string_view source) override;
  Status put(const TenantId& t, std::string_view source, std::string_view position) override;

 private:
  Database& db_;
};

class MySqlCrmLeadRepository final : public CrmLeadRepository {
 public:
  explicit MySqlCrmLeadRepository(Database& db) : db_(db) {}
  Status upsert(const TenantId& t, const CrmLead& lead) override;
  Result<std::optional<CrmLead>> find_by_phone(const TenantId& t, std::string_view phone) override;
  Result<bool> remove(const TenantId& t, std::string_view lead_id) override;
  Result<std::int64_t> count(const TenantId& t) override;
  Result<std::map<std::string, CrmLead>> find_by_phones(const TenantId& t,
                                                        std::span<const std::string> phones) override;

 private:
  Database& db_;
};

// Categories and scorecards share one implementation over their own tables.
class MySqlRuleSetRepository final : public RuleSetRepository {
 public:
  enum class Kind { kCategories, kScorecards };
  MySqlRuleSetRepository(Database& db, Kind kind) : db_(db), kind_(kind) {}
  Result<Id> create(const TenantId& t, const RuleSet& r) override;
  Result<RuleSet> get(const TenantId& t, Id id) override;
  Result<std::vector<RuleSet>> list(const TenantId& t) override;
  Result<bool> update(const TenantId& t, const RuleSet& r) override;
  Result<bool> remove(const TenantId& t, Id id) override;

 private:
  Database& db_;
  Kind kind_;
};

class MySqlCategoryMatchRepository final : public CategoryMatchRepository {
 public:
  explicit MySqlCategoryMatchRepository(Database& db) : db_(db) {}
  Status replace(const TenantId& t, Id call_id, const std::vector<CategoryMatch>& matches) override;
  Result<std::vector<CategoryMatch>> list_for_call(const TenantId& t, Id call_id) override;

 private:
  Database& db_;
};

class MySqlEscalationRepository final : public EscalationRepository {
 public:
  explicit MySqlEscalationRepository(Database& db) : db_(db) {}
  Result<Id> create(const TenantId& t, Id call_id, std::string_view reason, EscalationSeverity severity) override;
  Result<std::vector<Escalation>> list(const TenantId& t, std::optional<EscalationStatus> status, int limit) override;
  Result<bool> set_status(const TenantId& t, Id id, EscalationStatus s, Timestamp at) override;
  Result<std::vector<Escalation>> list_for_call(const TenantId& t, Id call_id) override;

 private:
  Database& db_;
};

class MySqlNoteRepository final : public NoteRepository {
 public:
  explicit MySqlNoteRepository(Database& db) : db_(db) {}
  Result<Id> create(const TenantId& t, Id call_id, std::optional<Id> author_user_id, std::string_view body) override;
  Result<std::vector<CallNote>> list_for_call(const TenantId& t, Id call_id) override;
  Result<bool> remove(const TenantId& t, Id id) override;

 private:
  Database& db_;
};

class MySqlRefreshTokenRepository final : public RefreshTokenRepository {
 public:
  explicit MySqlRefreshTokenRepository(Database& db) : db_(db) {}
  Status store(const RefreshToken& token) override;
  Result<RefreshRotation> rotate(std::string_view token_hash, Timestamp now, std::string_view next_token_hash,
                                 Timestamp next_expires_at) override;
  Result<std::optional<std::string>> family_of(std::string_view token_hash) override;
  Result<std::int64_t> revoke_family(std::string_view family_id, Timestamp at) override;
  Result<bool> family_open(std::string_view family_id) override;

 private:
  Database& db_;
};

class MySqlAnalyticsRepository final : public AnalyticsRepository {
 public:
  explicit MySqlAnalyticsRepository(Database& db) : db_(db) {}
  Result<std::vector<AgentDay>> agent_days(const TenantId& t, Id human_agent_id, Timestamp from, Timestamp to,
                                           int utc_offset_minutes) override;
  Result<AnalyticsOverview> overview(const TenantId& t, Timestamp from, Timestamp to, int utc_offset_minutes) override;
  Result<std::vector<RegionStats>> regions(const TenantId& t, RegionGroup group, Timestamp from, Timestamp to) override;

 private:
  Database& db_;
};

class MySqlPipelineStatusRepository final : public PipelineStatusRepository {
 public:
  explicit MySqlPipelineStatusRepository(Database& db) : db_(db) {}
  Result<std::vector<WatermarkState>> watermarks(const TenantId& t) override;
  Result<std::vector<FailedCall>> recent_failures(const TenantId& t, int limit) override;

 private:
  Database& db_;
};

class MySqlKnowledgeRepository final : public KnowledgeRepository {
 public:
  explicit MySqlKnowledgeRepository(Database& db) : db_(db) {}
  Result<Id> create(const TenantId& t, const KnowledgeDocumentInput& in) override;
  Result<KnowledgeDocument> get(const TenantId& t, Id id) override;
  Result<KnowledgeDocumentPage> list(const TenantId& t, const KnowledgeListQuery& q) override;
  Result<KnowledgeDocument> update(const TenantId& t, Id id, const std::optional<std::string>& title,
                                   const std::optional<KnowledgeContent>& content) override;
  Result<bool> remove(const TenantId& t, Id id) override;
  Result<bool> set_status(const TenantId& t, Id id, std::int64_t version, KnowledgeStatus status,
                          std::string_view error) override;
  Result<bool> replace_chunks(const TenantId& t, Id id, std::int64_t version, std::string_view model,
                              const std::vector<KnowledgeChunkInput>& rows) override;
  Result<std::vector<KnowledgeChunk>> scan_chunks(const TenantId& t, std::string_view model, Id after_id,
                                                  int limit) override;
  Result<std::vector<KnowledgeChunk>> chunks_of(const TenantId& t, std::string_view model, Id document_id) override;
  Result<std::vector<KnowledgeChunkHit>> chunks_by_ids(const TenantId& t, std::span<const Id> ids) override;
  Result<std::vector<KnowledgeEmbeddingJob>> documents_needing_embedding(const TenantId& t, std::string_view model,
                                                                         int limit) override;

 private:
  Database& db_;
};

class MySqlChatRepository final : public ChatRepository {
 public:
  explicit MySqlChatRepository(Database& db) : db_(db) {}
  Result<Id> create_session(const TenantId& t, Id user_id, std::string_view title) override;
  Result<ChatSession> get_session(const TenantId& t, Id user_id, Id id) override;
  Result<ChatSessionPage> list_sessions(const TenantId& t, Id user_id, Id before_id, int limit) override;
  Result<Id> append_message(const TenantId& t, Id user_id, Id session_id, const ChatMessageInput& m) override;
  Result<std::vector<ChatMessage>> messages(const TenantId& t, Id user_id, Id session_id, int limit) override;

 private:
  Database& db_;
};

}  // namespace earshot::storage
