#pragma once
// The one way into storage: every repository a binary uses, as interfaces, in one bundle.
//
// A composition root (a binary's wiring, or a test) makes the repositories once and hands
// `Repositories` to the code that needs them; library code takes the interfaces, never a
// `Database` or a concrete MySQL class. `MySqlRepositories` owns the MariaDB
// implementations over one shared `Database`; tests build the bundle from the in-memory
// fakes of tests/fakes/storage.

#include <memory>

#include "earshot/crypto/keyring.hpp"
#include "earshot/storage/analytics_repository.hpp"
#include "earshot/storage/auth_repositories.hpp"
#include "earshot/storage/call_detail_repository.hpp"
#include "earshot/storage/delivery_repository.hpp"
#include "earshot/storage/pipeline_status_repository.hpp"
#include "earshot/storage/repositories.hpp"
#include "earshot/storage/run_locks.hpp"

namespace earshot::storage {

struct Repositories {
  BusinessRepository& businesses;
  UserRepository& users;
  ApiKeyRepository& api_keys;
  PipelineConfigRepository& pipeline_configs;
  AgentConfigRepository& agent_configs;
  HumanAgentRepository& human_agents;
  CallRepository& calls;
  TranscriptRepository& transcripts;
  MetricsRepository& metrics;
  AnalysisRepository& analyses;
  EmbeddingRepository& embeddings;
  ProcessingEventRepository& events;
  WatermarkRepository& watermarks;
  CrmLeadRepository& crm_leads;
  RuleSetRepository& categories;
  RuleSetRepository& scorecards;
  CategoryMatchRepository& category_matches;
  EscalationRepository& escalations;
  NoteRepository& notes;
  RefreshTokenRepository& refresh_tokens;
  AnalyticsRepository& analytics;
  PipelineStatusRepository& pipeline_status;
  CallDetailRepository& call_details;
  DeliveryRepository& deliveries;
  RunLocks& run_locks;
  KnowledgeRepository& knowledge;
  ChatRepository& chat;
};

// The MariaDB implementations of every repository over one shared Database (which must
// outlive this). Thread-safe as the repositories are.
class MySqlRepositories {
 public:
  MySqlRepositories(Database& db, const crypto::Keyring& keys);
  ~MySqlRepositories();
  MySqlRepositories(const MySqlRepositories&) = delete;
  MySqlRepositories& operator=(const MySqlRepositories&) = delete;

  [[nodiscard]] Repositories& repos() { return *repos_; }
  [[nodiscard]] Database& database() { return db_; }

 private:
  struct Owned;
  Database& db_;
  std::unique_ptr<Owned> owned_;
  std::unique_ptr<Repositories> repos_;
};

}  // namespace earshot::storage
