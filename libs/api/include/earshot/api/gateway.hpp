#pragma once
// The gateway's routes, registered on a Router. Handlers get their dependencies here
// (constructor-style references); nothing reaches for globals.

#include <memory>
#include <string>

#include "earshot/api/auth.hpp"
#include "earshot/api/business_admin.hpp"
#include "earshot/api/events.hpp"
#include "earshot/api/list_cache.hpp"
#include "earshot/api/rag_settings.hpp"
#include "earshot/api/router.hpp"
#include "earshot/cache/provider_errors.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/health.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/ingest/ingestor.hpp"
#include "earshot/storage/repository_set.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::cache {
class RateLimiter;
class UsageCounter;
}  // namespace earshot::cache
namespace earshot::pipeline {
class BusinessLlmSource;
}
namespace earshot::rag {
class IndexRegistry;
class Retriever;
}  // namespace earshot::rag

namespace earshot::api {

struct GatewayServices {
  storage::Repositories& repos;  // the one way into storage: the primary database
  const crypto::Keyring& keys;
  const Clock& clock;
  AuthService& auth;
  QueueControl& queues;
  std::string object_store_dir;      // root of store:// recordings (when object_store is null)
  HealthRegistry* health = nullptr;  // /readyz; null: always ready
  Metrics* metrics = nullptr;        // /metrics; null: 404
  std::string openapi_json;          // served at /api/v1/openapi.json
  EventHub* events = nullptr;        // /api/v1/events; null: 503
  ListCache* list_cache = nullptr;   // pages of the calls list; null: not cached
  ingest::IngestSettings ingest{};   // /api/v1/ingest/...: limits, Twilio's public URL
  http::HttpClient* http = nullptr;  // recording downloads; null: the ingest routes make one
  // Where recordings are written, streamed from and deleted; null: the local store in
  // object_store_dir (set so by the routes that need it).
  std::shared_ptr<objectstore::ObjectStore> object_store{};
  // The binary's egress policy: the pipeline-config and webhook routes refuse a URL or host
  // that is a literal address it refuses (hostnames are checked by the workers at connect
  // time). Null: no save-time check.
  const http::AddressPolicy* egress_policy = nullptr;
  // Search, chat, similar calls and the knowledge base (docs/rag.md). A null retriever or
  // LLM source: those routes answer 503.
  rag::Retriever* retriever = nullptr;
  rag::IndexRegistry* rag_index = nullptr;     // the shards behind `retriever`
  pipeline::BusinessLlmSource* llm = nullptr;  // a business's chat chain and embedder
  cache::RateLimiter* rate_limiter = nullptr;  // chat requests and token budget per business; null: none
  cache::UsageCounter* chat_tokens = nullptr;  // LLM tokens chat spent per business per day; null: no budget
  // Failed provider requests per business (the pipeline status's provider_errors); null: the
  // status answers provider_errors_error "not configured".
  cache::ProviderErrorRecorder* provider_errors = nullptr;
  RagSettings rag{};
  // The read replica's repositories (mysql_replica_host), read by the lag-tolerant routes
  // only: the calls list (JSON and CSV), analytics and the pipeline status. Null: those read
  // `repos` too. Reached through read_repos_of(). docs/storage.md, "Read replica", says
  // which reads stay on the primary and why.
  storage::Repositories* read_repos = nullptr;
};

// Where a lag-tolerant read goes: the replica when there is one, else the primary.
[[nodiscard]] inline storage::Repositories& read_repos_of(const GatewayServices& s) {
  return s.read_repos != nullptr ? *s.read_repos : s.repos;
}

// The object store of `s` (the local store in object_store_dir when none was given).
[[nodiscard]] objectstore::ObjectStore& object_store_of(GatewayServices& s);

void add_system_routes(Router& router, GatewayServices& s);
void add_auth_routes(Router& router, GatewayServices& s);
void add_admin_routes(Router& router, GatewayServices& s);
void add_call_routes(Router& router, GatewayServices& s);
void add_analytics_routes(Router& router, GatewayServices& s);
void add_pipeline_routes(Router& router, GatewayServices& s);
void add_webhook_routes(Router& router, GatewayServices& s);  // routes_webhooks.cpp
void add_event_routes(Router& router, GatewayServices& s);
void add_ingest_routes(Router& router, GatewayServices& s);
void add_knowledge_routes(Router& router, GatewayServices& s);  // routes_knowledge.cpp
void add_chat_routes(Router& router, GatewayServices& s);       // routes_chat.cpp
void add_search_routes(Router& router, GatewayServices& s);     // routes_search.cpp

inline void add_all_routes(Router& router, GatewayServices& s) {
  add_system_routes(router, s);
  add_auth_routes(router, s);
  add_admin_routes(router, s);
  add_call_routes(router, s);
  add_analytics_routes(router, s);
  add_pipeline_routes(router, s);
  add_webhook_routes(router, s);
  add_event_routes(router, s);
  add_ingest_routes(router, s);
  add_knowledge_routes(router, s);
  add_chat_routes(router, s);
  add_search_routes(router, s);
}

// Validation of category rules and scorecard questions by the analyzer's own parser
// (docs/api.md); kInvalidArgument naming the first bad field ("rules[2].window").
[[nodiscard]] Status validate_category_rules(const Json& rules);
[[nodiscard]] Status validate_scorecard_questions(const Json& questions);
// The stored form of a scorecard, {"questions": [...]}, which the analyze stage parses.
[[nodiscard]] Json scorecard_document(const Json& questions);

}  // namespace earshot::api
