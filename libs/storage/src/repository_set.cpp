#include "earshot/storage/repository_set.hpp"

#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/mysql_run_locks.hpp"

namespace earshot::storage {

namespace {

// The phone peppers: keys derived from the master keys for this one purpose, hex-encoded so
// they travel as text. The primary key's first (new hashes), then the older keys' (numbers
// hashed before a rotation stay searchable while their key is configured).
std::vector<std::string> phone_peppers(const crypto::Keyring& keys) {
  std::vector<std::string> out;
  for (const auto& raw : keys.derive_keys("earshot.phone-hash.v1")) {
    std::string hex;
    hex.reserve(raw.size() * 2);
    for (unsigned char ch : raw) {
      constexpr std::string_view kDigits = "0123456789abcdef";
      hex += kDigits[ch >> 4];
      hex += kDigits[ch & 0x0f];
    }
    out.push_back(std::move(hex));
  }
  return out;
}

}  // namespace

struct MySqlRepositories::Owned {
  Owned(Database& db, const crypto::Keyring& keys)
      : businesses(db),
        users(db),
        api_keys(db),
        pipeline_configs(db, keys),
        agent_configs(db),
        human_agents(db),
        calls(db, phone_peppers(keys)),
        transcripts(db),
        metrics(db),
        analyses(db),
        embeddings(db),
        events(db),
        watermarks(db),
        crm_leads(db),
        categories(db, MySqlRuleSetRepository::Kind::kCategories),
        scorecards(db, MySqlRuleSetRepository::Kind::kScorecards),
        category_matches(db),
        escalations(db),
        notes(db),
        refresh_tokens(db),
        analytics(db),
        pipeline_status(db),
        deliveries(db, keys),
        run_locks(db),
        knowledge(db),
        chat(db) {}

  MySqlBusinessRepository businesses;
  MySqlUserRepository users;
  MySqlApiKeyRepository api_keys;
  MySqlPipelineConfigRepository pipeline_configs;
  MySqlAgentConfigRepository agent_configs;
  MySqlHumanAgentRepository human_agents;
  MySqlCallRepository calls;
  MySqlTranscriptRepository transcripts;
  MySqlMetricsRepository metrics;
  MySqlAnalysisRepository analyses;
  MySqlEmbeddingRepository embeddings;
  MySqlProcessingEventRepository events;
  MySqlWatermarkRepository watermarks;
  MySqlCrmLeadRepository crm_leads;
  MySqlRuleSetRepository categories;
  MySqlRuleSetRepository scorecards;
  MySqlCategoryMatchRepository category_matches;
  MySqlEscalationRepository escalations;
  MySqlNoteRepository notes;
  MySqlRefreshTokenRepository refresh_tokens;
  MySqlAnalyticsRepository analytics;
  MySqlPipelineStatusRepository pipeline_status;
  MySqlDeliveryRepository deliveries;
  MySqlRunLocks run_locks;
  MySqlKnowledgeRepository knowledge;
  MySqlChatRepository chat;
};

MySqlRepositories::MySqlRepositories(Database& db, const crypto::Keyring& keys)
    : db_(db), owned_(std::make_unique<Owned>(db, keys)) {
  auto& o = *owned_;
  repos_ = std::make_unique<Repositories>(Repositories{
      .businesses = o.businesses,
      .users = o.users,
      .api_keys = o.api_keys,
      .pipeline_configs = o.pipeline_configs,
      .agent_configs = o.agent_configs,
      .human_agents = o.human_agents,
      .calls = o.calls,
      .transcripts = o.transcripts,
      .metrics = o.metrics,
      .analyses = o.analyses,
      .embeddings = o.embeddings,
      .events = o.events,
      .watermarks = o.watermarks,
      .crm_leads = o.crm_leads,
      .categories = o.categories,
      .scorecards = o.scorecards,
      .category_matches = o.category_matches,
      .escalations = o.escalations,
      .notes = o.notes,
      .refresh_tokens = o.refresh_tokens,
      .analytics = o.analytics,
      .pipeline_status = o.pipeline_status,
      .call_details = o.calls,
      .deliveries = o.deliveries,
      .run_locks = o.run_locks,
      .knowledge = o.knowledge,
      .chat = o.chat,
  });
}

MySqlRepositories::~MySqlRepositories() = default;

}  // namespace earshot::storage
