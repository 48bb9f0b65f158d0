#pragma once
// The whole gateway in-process against the real test services: the migrated scratch
// database of the binary, RabbitMQ and Redis, listening on a free port. Requests go over
// real HTTP (cpp-httplib client).

#include <httplib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "earshot/api/api_server.hpp"
#include "earshot/api/auth.hpp"
#include "earshot/api/business_admin.hpp"
#include "earshot/api/events.hpp"
#include "earshot/api/gateway.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/provider_errors.hpp"
#include "earshot/cache/rate_limiter.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/rag/index_retriever.hpp"
#include "earshot/rag/storage_source.hpp"
#include "storage/storage_fixture.hpp"

namespace earshot::testing {

struct HttpReply {
  int status = 0;
  nlohmann::json json;
  std::string body;
  httplib::Headers headers;
  [[nodiscard]] std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  }
};

class Gateway {
 public:
  explicit Gateway(api::RateLimitOptions limits = {true, 1'000'000, 1'000'000, std::chrono::seconds(60)},
                   std::int64_t max_body = 64 * 1024, ingest::IngestSettings ingest = {},
                   api::LoginThrottlePolicy login_policy = {},
                   std::shared_ptr<objectstore::ObjectStore> store = nullptr, std::int64_t listener_threads = 8,
                   std::string amqp_url = "", queue::PublisherOptions publisher = {});
  ~Gateway();

  HttpReply request(const std::string& method, const std::string& path, const std::string& token = "",
                    const nlohmann::json& body = nullptr, httplib::Headers extra = {});
  HttpReply raw_request(const std::string& method, const std::string& path, const std::string& body,
                        httplib::Headers headers);

  // Registers a business through the API as the platform admin, with an admin user
  // "admin@<bid>.test" / kPassword; remembers it for queue cleanup.
  std::string new_business(const std::string& prefix = "gw");
  // Access token of a fresh user of `bid` with `role` (created through the API).
  std::string user_token(const std::string& bid, const std::string& role);
  std::string login(const std::string& email, const std::string& password, const std::string& bid = "");

  api::AuthService& auth() { return *auth_; }
  // The policy the pipeline-config and webhook routes check literal destinations against
  // (the binary passes its egress policy; null, the default here: no save-time check).
  void set_egress_policy(const http::AddressPolicy* policy);
  // Search, chat and knowledge-base settings (e.g. a small knowledge_max_bytes); the routes
  // read them per request.
  void set_rag_settings(const api::RagSettings& rag);
  // The services the routes were given (their fields are read per request, so a test may set
  // what the fixture leaves null: the retriever, the LLM source, the chat limits).
  api::GatewayServices& services() { return *services_; }
  // Provider errors per business, in the real Redis under this gateway's own prefix (what the
  // pipeline status reads and the LLM factory records into).
  cache::ProviderErrorRecorder& provider_errors() { return *provider_errors_; }
  // The key the gateway signs access tokens with (token tampering tests sign their own).
  const std::string& jwt_secret() const { return jwt_secret_; }

  static constexpr const char* kPassword = "correct horse battery";
  std::string platform_token;
  int port = 0;
  std::filesystem::path objects;
  std::unique_ptr<crypto::Keyring> keys;
  std::unique_ptr<queue::TopologyAdmin> topology_admin;
  api::Router router;
  std::vector<std::string> businesses;
  // Search as the server wires it: the shards (kept current from live events), the
  // retriever, the businesses' embedders (no LLM endpoint configured).
  std::unique_ptr<rag::StorageChunkSource> chunk_source;
  std::unique_ptr<rag::IndexRegistry> rag_index;
  std::unique_ptr<rag::IndexRetriever> retriever;

 private:
  Metrics metrics_{"gateway-test", "0", "0"};
  std::string jwt_secret_;
  std::optional<api::JwtCodec> jwt_;
  std::unique_ptr<storage::MySqlRepositories> repos_;
  std::unique_ptr<api::AuthService> auth_;
  std::unique_ptr<api::ServiceAuthenticator> authenticator_;
  std::unique_ptr<queue::Publisher> publisher_;
  std::unique_ptr<api::AmqpQueueControl> queues_;
  std::unique_ptr<cache::RedisClient> redis_;
  std::unique_ptr<cache::RedisRateLimiter> limiter_;
  std::unique_ptr<api::RedisLoginFailureStore> login_failures_;
  std::unique_ptr<api::LoginThrottle> login_throttle_;
  std::unique_ptr<cache::LiveEvents> live_events_;
  std::unique_ptr<cache::RedisProviderErrorStore> provider_error_store_;
  std::unique_ptr<cache::ProviderErrorRecorder> provider_errors_;
  std::unique_ptr<api::EventHub> event_hub_;
  std::unique_ptr<http::CurlHttpClient> llm_http_;
  std::unique_ptr<pipeline::LlmProviderFactory> llm_;
  std::unique_ptr<cache::LiveEventSubscriber> index_events_;
  std::unique_ptr<api::GatewayServices> services_;
  std::unique_ptr<api::Dispatcher> dispatcher_;
  std::unique_ptr<api::HttpServer> http_;
};

// One gateway for the whole test binary (created on first use).
Gateway& gateway();

[[nodiscard]] storage::TenantId tenant(const std::string& bid);
// Percent-encodes everything but unreserved characters.
[[nodiscard]] std::string pct(const std::string& s);
// A call with metrics, transcript and (with `audio_key`) a recording URI, written straight
// to the database; returns its id.
storage::Id seed_call(const std::string& bid, const std::string& external, const std::string& city, double sentiment,
                      double talk_ratio, storage::CallStatus status, const std::string& audio_key = "");

}  // namespace earshot::testing
