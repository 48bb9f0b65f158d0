#pragma once
// Every in-memory repository of tests/fakes/storage wired together as one
// storage::Repositories bundle (repository_set.hpp), for unit tests that hand code the
// whole bundle. The fakes are public members, so a test can seed them and use their hooks.
// Not copyable or movable: the bundle refers to the members.

#include "earshot/storage/repository_set.hpp"
#include "fakes/storage/agent_configs_fake.hpp"
#include "fakes/storage/analyses_fake.hpp"
#include "fakes/storage/analytics_fake.hpp"
#include "fakes/storage/api_keys_fake.hpp"
#include "fakes/storage/businesses_fake.hpp"
#include "fakes/storage/call_details_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/category_matches_fake.hpp"
#include "fakes/storage/chat_fake.hpp"
#include "fakes/storage/crm_leads_fake.hpp"
#include "fakes/storage/deliveries_fake.hpp"
#include "fakes/storage/embeddings_fake.hpp"
#include "fakes/storage/escalations_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/human_agents_fake.hpp"
#include "fakes/storage/knowledge_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"
#include "fakes/storage/notes_fake.hpp"
#include "fakes/storage/pipeline_configs_fake.hpp"
#include "fakes/storage/pipeline_status_fake.hpp"
#include "fakes/storage/refresh_tokens_fake.hpp"
#include "fakes/storage/rule_sets_fake.hpp"
#include "fakes/storage/run_locks_fake.hpp"
#include "fakes/storage/transcripts_fake.hpp"
#include "fakes/storage/users_fake.hpp"
#include "fakes/storage/watermarks_fake.hpp"

namespace earshot::testing {

struct FakeRepositories {
  explicit FakeRepositories(const Clock* clock = nullptr)
      : calls(clock), escalations(calls, clock), knowledge(clock), chat(clock) {
    calls.set_pushed_sinks(
        [this](const storage::TenantId& t, const storage::Transcript& tr) { return transcripts.put(t, tr); },
        [this](const storage::TenantId& t, storage::Id id) { return transcripts.get(t, id).has_value(); },
        [this](const storage::TenantId& t, storage::Id id, const std::string& body) -> Status {
          auto n = notes.create(t, id, std::nullopt, body);
          if (!n) return std::unexpected(n.error());
          return {};
        });
  }
  FakeRepositories(const FakeRepositories&) = delete;
  FakeRepositories& operator=(const FakeRepositories&) = delete;

  FakeBusinessRepository businesses;
  FakeUserRepository users{businesses};
  FakeApiKeyRepository api_keys{businesses};
  FakePipelineConfigRepository pipeline_configs;
  FakeAgentConfigRepository agent_configs;
  FakeHumanAgentRepository human_agents;
  FakeCallRepository calls;
  FakeMetricsRepository metrics{calls};
  FakeProcessingEventRepository events{calls};
  FakeTranscriptRepository transcripts{calls, metrics, events};
  FakeEscalationRepository escalations;
  FakeAnalysisRepository analyses{calls, escalations};
  FakeEmbeddingRepository embeddings{calls};
  FakeWatermarkRepository watermarks;
  FakeCrmLeadRepository crm_leads;
  FakeRuleSetRepository categories;
  FakeRuleSetRepository scorecards;
  FakeCategoryMatchRepository category_matches{calls};
  FakeNoteRepository notes{&calls};
  FakeRefreshTokenRepository refresh_tokens{users};
  FakeAnalyticsRepository analytics;
  FakePipelineStatusRepository pipeline_status;
  FakeCallDetailRepository call_details;
  FakeDeliveryRepository deliveries;
  FakeRunLocks run_locks;
  FakeKnowledgeRepository knowledge;
  FakeChatRepository chat;

  storage::Repositories repos{businesses, users,          api_keys,   pipeline_configs, agent_configs,    human_agents,
                              calls,      transcripts,    metrics,    analyses,         embeddings,       events,
                              watermarks, crm_leads,      categories, scorecards,       category_matches, escalations,
                              notes,      refresh_tokens, analytics,  pipeline_status,  call_details,     deliveries,
                              run_locks,  knowledge,      chat};
};

}  // namespace earshot::testing
