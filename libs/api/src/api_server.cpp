#include "earshot/api/api_server.hpp"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "earshot/api/auth.hpp"
#include "earshot/api/business_admin.hpp"
#include "earshot/api/gateway.hpp"
#include "earshot/api/rag_events.hpp"
#include "earshot/api/static_site.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/provider_errors.hpp"
#include "earshot/cache/rate_limiter.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/cache/usage_counter.hpp"
#include "earshot/core/log.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/http/http_client_component.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/rag/index_retriever.hpp"
#include "earshot/rag/registry.hpp"
#include "earshot/rag/storage_source.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::api {

void ApiSettings::declare(ConfigSpec& spec) {
  spec.add_string("http_host", &host, "127.0.0.1", "Address of the public API listener.");
  spec.add_int("http_port", &port, 18080, 0, 65535, "Port of the public API listener.");
  spec.add_int("http_threads", &threads, 16, 1, 1024,
               "Listener threads: they accept, read and write connections and run the route "
               "handlers, which hold one while they wait on MariaDB or Redis (keep "
               "mysql_pool_size at least as large); open, idle and slow connections and live "
               "event streams hold none.");
  spec.add_int("http_max_body_bytes", &max_body_bytes, 1LL << 20, 1024, 1LL << 30,
               "Largest accepted request body; larger ones get 413 (a larger Content-Length "
               "before any of the body is read; chunked bodies when they pass it).");
  spec.add_duration("http_header_timeout", &header_timeout, std::chrono::seconds(10), std::chrono::milliseconds(100),
                    std::chrono::minutes(30),
                    "Deadline for a request's line and headers once a connection opens or its "
                    "next request starts; the connection is closed after it.");
  spec.add_duration("http_read_timeout", &read_timeout, std::chrono::seconds(10), std::chrono::milliseconds(100),
                    std::chrono::minutes(30), "Deadline to read a request's body once its headers arrived.");
  spec.add_duration("http_write_timeout", &write_timeout, std::chrono::seconds(30), std::chrono::milliseconds(100),
                    std::chrono::minutes(30), "Deadline to write one response (or one piece of a streamed one).");
  spec.add_duration("http_idle_timeout", &idle_timeout, std::chrono::seconds(5), std::chrono::milliseconds(100),
                    std::chrono::minutes(30), "Keep-alive: how long a connection may wait for its next request.");
  spec.add_int("http_max_connections", &max_connections, 10'000, 1, 1'000'000,
               "Open connections in all; more are answered 503 and closed.");
  spec.add_int("http_max_connections_per_address", &max_connections_per_address, 64, 1, 1'000'000,
               "Open connections from one client address; more are answered 503 and closed.");
  spec.add_int("http_hsts_max_age", &hsts_max_age, 0, 0, 100'000'000,
               "Strict-Transport-Security max-age in seconds sent on every response (set it "
               "when TLS terminates in front of the gateway); 0 sends none.");
  spec.add_string("http_cors_origins", &cors_origins, "",
                  "Origins allowed by CORS, comma-separated; * for any; empty for none.");
}

void GatewaySettings::declare(ConfigSpec& spec) {
  spec.add_string("jwt_secret", &jwt_secret, "", "HS256 key signing access tokens (at least 32 bytes).",
                  ConfigOptions{.required = true, .secret = true});
  spec.add_duration("jwt_access_ttl", &access_ttl, std::chrono::minutes(15), std::chrono::seconds(30),
                    std::chrono::hours(24), "Access token lifetime.");
  spec.add_duration("jwt_refresh_ttl", &refresh_ttl, std::chrono::hours(24 * 14), std::chrono::minutes(5),
                    std::chrono::hours(24 * 90), "Refresh token lifetime.");
  spec.add_bool("rate_limit_enabled", &rate_limit_enabled, true,
                "Token-bucket rate limits in Redis (per address and per caller).");
  spec.add_int("rate_limit_per_ip", &rate_limit_per_ip, 600, 1, 10'000'000,
               "Requests per minute from one client address.");
  spec.add_int("rate_limit_per_caller", &rate_limit_per_caller, 1200, 1, 10'000'000,
               "Requests per minute from one user or API key.");
  object_store.declare(spec);
  ingest.declare(spec);
  events.declare(spec);
  llm.declare(spec);
  rag.declare(spec);
  spec.add_duration("calls_cache_ttl", &calls_cache_ttl, std::chrono::seconds(5), std::chrono::milliseconds(0),
                    std::chrono::minutes(10),
                    "Longest a cached page of the calls list is served (it is dropped at "
                    "once when the business's calls change); 0 disables the cache.");
  spec.add_string("web_dir", &web_dir, "web/dist",
                  "The built dashboard (scripts/build.sh builds web/ into web/dist), served at / "
                  "and read once at start; when it has no index.html the gateway serves the API "
                  "alone and / answers 404 saying so.");
}

void RagSettings::declare(ConfigSpec& spec) {
  spec.add_int("rag_index_memory_bytes", &index_memory_bytes, std::int64_t{2} << 30, std::int64_t{16} << 20,
               std::int64_t{1} << 40,
               "Memory for the search shards this gateway keeps loaded (all businesses); the least "
               "recently used shards are evicted above it.");
  spec.add_int("chat_requests_per_minute", &chat_requests_per_minute, 30, 1, 1'000'000,
               "Chat questions per minute per business (429 above it).");
  spec.add_int("chat_tokens_per_day", &chat_tokens_per_day, 1'000'000, 1'000, 1'000'000'000,
               "LLM tokens (prompt and answer, estimated) chat may spend per business per day; "
               "over it, chat answers without the LLM (extractively).");
  spec.add_int("knowledge_max_bytes", &knowledge_max_bytes, std::int64_t{10} << 20, 1024, std::int64_t{1} << 30,
               "Largest knowledge-base document, posted or uploaded (413 above it).");
  spec.add_duration("chat_timeout", &chat_timeout, std::chrono::seconds(60), std::chrono::seconds(1),
                    std::chrono::minutes(10), "Deadline of one chat answer, retrieval to the last token.");
}

std::string error_body(const Error& error) {
  nlohmann::json body{{"error", {{"code", code_name(error.code)}, {"message", error.message}}}};
  return body.dump();
}

struct ApiServer::Impl {
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<storage::MySqlRepositories> repos;
  // The read replica (mysql_replica_host); null when none is configured.
  std::unique_ptr<storage::Database> read_db;
  std::unique_ptr<storage::MySqlRepositories> read_repos;
  std::optional<JwtCodec> jwt;
  std::unique_ptr<AuthService> auth;
  std::unique_ptr<ServiceAuthenticator> authenticator;
  std::unique_ptr<queue::Publisher> publisher;
  std::unique_ptr<AmqpQueueControl> queues;
  std::unique_ptr<cache::RedisClient> redis;
  std::unique_ptr<cache::RedisRateLimiter> limiter;
  std::unique_ptr<RedisLoginFailureStore> login_failures;
  std::unique_ptr<LoginThrottle> login_throttle;
  std::unique_ptr<cache::LiveEvents> live_events;
  // Failed provider requests per business: read by the pipeline status, written by chat's LLM.
  std::unique_ptr<cache::RedisProviderErrorStore> provider_error_store;
  std::unique_ptr<cache::ProviderErrorRecorder> provider_errors;
  std::unique_ptr<EventHub> event_hub;
  std::unique_ptr<ListCache> list_cache;
  // Search and chat: the shards, the LLM chains (through the egress policy), the limits.
  std::unique_ptr<rag::StorageChunkSource> chunk_source;
  std::unique_ptr<rag::IndexRegistry> rag_index;
  std::unique_ptr<rag::IndexRetriever> retriever;
  std::unique_ptr<http::TenantHttpClient> llm_http;
  std::unique_ptr<cache::RedisRateLimiter> llm_limiter;
  std::unique_ptr<pipeline::LlmProviderFactory> llm;
  std::unique_ptr<cache::RedisUsageCounter> chat_tokens;  // the chat's daily token budget
  // Writes API keys' last use every few seconds (AuthService batches the notes).
  std::thread usage_flusher;
  std::mutex usage_mu;
  std::condition_variable usage_cv;
  bool usage_stop = false;
  std::unique_ptr<cache::LiveEventSubscriber> subscriber;
  // Requests to an S3 object store (declared before the services that hold the store).
  std::unique_ptr<http::CurlHttpClient> object_http;
  std::unique_ptr<GatewayServices> services;
  Router router;
  std::unique_ptr<StaticSite> site;  // before the dispatcher that points at it
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<HttpServer> http;
};

ApiServer::ApiServer() : impl_(std::make_unique<Impl>()) {}
ApiServer::~ApiServer() {
  stop();
}

Result<std::unique_ptr<ApiServer>> ApiServer::make(ApiSettings api, const GatewaySettings& gw,
                                                   const GatewayDependencies& deps, Runtime& runtime) {
  if (deps.keys == nullptr) return make_error(ErrorCode::kInvalidArgument, "no master keys");
  std::unique_ptr<ApiServer> self(new ApiServer());
  auto& m = *self->impl_;
  auto jwt =
      JwtCodec::make(gw.jwt_secret, std::chrono::duration_cast<std::chrono::seconds>(gw.access_ttl), runtime.clock());
  if (!jwt) return std::unexpected(jwt.error().with_context("EARSHOT_JWT_SECRET"));
  m.jwt.emplace(std::move(*jwt));
  m.db = std::make_unique<storage::Database>(deps.mysql);
  m.repos = std::make_unique<storage::MySqlRepositories>(*m.db, *deps.keys);
  if (deps.mysql_replica.enabled()) {
    // Readiness waits for the replica as for the primary: a gateway that cannot reach it
    // would answer its list and analytics reads with 503, so it leaves the load balancer.
    const auto replica = deps.mysql_replica.resolve(deps.mysql);
    m.read_db = std::make_unique<storage::Database>(replica);
    m.read_repos = std::make_unique<storage::MySqlRepositories>(*m.read_db, *deps.keys);
    runtime.add_dependency(storage::make_mysql_probe(replica, "mysql_replica"));
    log::info("lag-tolerant reads go to the replica",
              {{"host", replica.host}, {"port", std::to_string(replica.port)}, {"database", replica.database}});
  }
  m.auth = std::make_unique<AuthService>(m.repos->repos(), *m.jwt, runtime.clock(),
                                         std::chrono::duration_cast<std::chrono::seconds>(gw.refresh_ttl));
  m.authenticator = std::make_unique<ServiceAuthenticator>(*m.auth);
  m.publisher = std::make_unique<queue::Publisher>(deps.amqp, queue::PublisherOptions{}, &runtime.metrics());
  m.queues = std::make_unique<AmqpQueueControl>(deps.amqp, deps.topology, *m.publisher);
  auto redis = cache::RedisClient::make(deps.redis);
  if (!redis) return std::unexpected(redis.error().with_context("EARSHOT_REDIS_URL"));
  m.redis = std::move(*redis);
  m.limiter = std::make_unique<cache::RedisRateLimiter>(*m.redis);
  m.login_failures = std::make_unique<RedisLoginFailureStore>(*m.redis);
  m.login_throttle = std::make_unique<LoginThrottle>(*m.login_failures, runtime.clock());
  m.auth->set_login_throttle(m.login_throttle.get());
  m.live_events = std::make_unique<cache::LiveEvents>(*m.redis, runtime.clock(), &runtime.metrics());
  m.provider_error_store = std::make_unique<cache::RedisProviderErrorStore>(*m.redis);
  m.provider_errors =
      std::make_unique<cache::ProviderErrorRecorder>(*m.provider_error_store, runtime.clock(), &runtime.metrics());
  m.event_hub = std::make_unique<EventHub>(*m.live_events, gw.events, &runtime.metrics());
  m.list_cache = std::make_unique<ListCache>(runtime.clock(), gw.calls_cache_ttl, 4096, &runtime.metrics());
  m.chunk_source = std::make_unique<rag::StorageChunkSource>(m.repos->repos().embeddings, m.repos->repos().knowledge);
  rag::RegistrySettings index_settings;
  index_settings.memory_budget_bytes = static_cast<std::size_t>(gw.rag.index_memory_bytes);
  m.rag_index =
      std::make_unique<rag::IndexRegistry>(*m.chunk_source, runtime.clock(), index_settings, &runtime.metrics());
  {
    // Chat answers and query embeddings go to the business's providers: the egress policy
    // applies, with the operator's own LLM endpoints (ollama_url, openai_url, bedrock_url)
    // let through, as in the analyze worker.
    auto policy = gw.ingest.fetch_policy;
    for (const auto& url : {gw.llm.defaults.ollama_url, gw.llm.defaults.openai_url, gw.llm.defaults.bedrock_url}) {
      if (!url.empty()) http::allow_operator_url(policy, url);
    }
    auto& client = http::HttpClientComponent::add_to(runtime, http::HttpClientSettings{});
    m.llm_http = std::make_unique<http::TenantHttpClient>(client, std::move(policy));
  }
  // The fleet-wide per-business LLM bucket the analyze workers share.
  m.llm_limiter = std::make_unique<cache::RedisRateLimiter>(*m.redis, "earshot:rl:llm:");
  m.llm = std::make_unique<pipeline::LlmProviderFactory>(*m.llm_http, runtime.clock(), gw.llm, m.llm_limiter.get(),
                                                         m.provider_errors.get());
  // Every live event wakes the business's streams, drops its cached list pages and updates its
  // loaded search shards; a (re)subscription wakes, drops cached pages and drops the loaded
  // shards of every business (events may have been missed meanwhile: each shard reloads from
  // the database on its next use).
  m.subscriber = std::make_unique<cache::LiveEventSubscriber>(
      deps.redis,
      [hub = m.event_hub.get(), lc = m.list_cache.get(), index = m.rag_index.get()](const std::string& bid,
                                                                                    const cache::LiveEvent& event) {
        lc->invalidate(bid);
        hub->notify(bid);
        (void)apply_index_event(*index, bid, event);  // logged there
      },
      [hub = m.event_hub.get(), lc = m.list_cache.get(), index = m.rag_index.get()] {
        lc->invalidate_all();
        hub->notify_all();
        index->forget_all();  // updates may have been missed: shards reload on next use
      });
  m.services = std::make_unique<GatewayServices>(GatewayServices{
      m.repos->repos(), *deps.keys, runtime.clock(), *m.auth, *m.queues, gw.object_store.dir, &runtime.health(),
      &runtime.metrics(), openapi_document(), m.event_hub.get(), m.list_cache.get()});
  if (m.read_repos) m.services->read_repos = &m.read_repos->repos();
  m.services->ingest = gw.ingest;
  m.services->rag_index = m.rag_index.get();
  m.retriever = std::make_unique<rag::IndexRetriever>(*m.rag_index, m.repos->repos().calls, m.repos->repos().embeddings,
                                                      m.repos->repos().knowledge, &m.repos->repos().transcripts,
                                                      rag::IndexRetrieverSettings{}, &runtime.metrics());
  m.services->retriever = m.retriever.get();
  m.services->llm = m.llm.get();
  m.services->provider_errors = m.provider_errors.get();
  m.services->rate_limiter = m.limiter.get();
  m.chat_tokens = std::make_unique<cache::RedisUsageCounter>(*m.redis, "earshot:chat-tokens:");
  m.services->chat_tokens = m.chat_tokens.get();
  m.services->rag = gw.rag;
  // The pipeline-config and webhook routes refuse literal addresses the egress policy refuses.
  m.services->egress_policy = &m.services->ingest.fetch_policy;
  if (gw.object_store.kind == "s3") m.object_http = std::make_unique<http::CurlHttpClient>();
  auto objects = objectstore::ObjectStores::make(gw.object_store, m.object_http.get(), runtime.clock());
  if (!objects) return std::unexpected(objects.error());
  m.services->object_store = std::move(*objects);
  add_all_routes(m.router, *m.services);
  RateLimitOptions limits;
  limits.enabled = gw.rate_limit_enabled;
  limits.per_ip = gw.rate_limit_per_ip;
  limits.per_caller = gw.rate_limit_per_caller;
  m.dispatcher = std::make_unique<Dispatcher>(m.router, *m.authenticator, m.limiter.get(), limits, runtime.clock(),
                                              runtime.metrics());
  m.dispatcher->on_write([lc = m.list_cache.get()](const std::string& bid) { lc->invalidate(bid); });
  if (auto site = StaticSite::load(gw.web_dir); site) {
    m.site = std::make_unique<StaticSite>(std::move(*site));
    m.dispatcher->serve_site(m.site.get(), {});
    log::info("dashboard loaded", {{"web_dir", gw.web_dir},
                                   {"files", std::to_string(m.site->files())},
                                   {"bytes", std::to_string(m.site->bytes())}});
  } else {
    m.dispatcher->serve_site(nullptr, site.error().message);
    log::warn("no dashboard: serving the API alone", {{"web_dir", gw.web_dir}, {"reason", site.error().message}});
  }
  // Uploads carry recordings: the listener takes the largest one plus the form around it.
  api.max_body_bytes = std::max<std::int64_t>(api.max_body_bytes, gw.ingest.max_audio_bytes + (1LL << 20));
  // Knowledge-base uploads likewise, so the route's own 413 (knowledge_max_bytes) is the limit.
  api.max_body_bytes = std::max<std::int64_t>(api.max_body_bytes, gw.rag.knowledge_max_bytes + (1LL << 20));
  m.http = std::make_unique<HttpServer>(std::move(api), *m.dispatcher, runtime.metrics());
  return self;
}

Status ApiServer::start() {
  impl_->publisher->start();
  if (auto st = impl_->subscriber->start(); !st) return st;
  impl_->usage_flusher = std::thread([m = impl_.get()] {
    std::unique_lock lock(m->usage_mu);
    while (!m->usage_stop) {
      m->usage_cv.wait_for(lock, std::chrono::seconds(10), [m] { return m->usage_stop; });
      lock.unlock();
      (void)m->auth->flush_api_key_usage();
      lock.lock();
    }
  });
  return impl_->http->start();
}

void ApiServer::stop_intake() {
  // Live event streams end first; then the listener stops accepting, closes idle
  // connections and finishes the requests in flight.
  if (impl_->event_hub) impl_->event_hub->close();
  if (impl_->http) impl_->http->stop();
}

void ApiServer::stop() {
  if (impl_->event_hub) impl_->event_hub->close();
  if (impl_->http) impl_->http->stop();
  if (impl_->subscriber) impl_->subscriber->stop();
  {
    std::lock_guard lock(impl_->usage_mu);
    impl_->usage_stop = true;
  }
  impl_->usage_cv.notify_all();
  if (impl_->usage_flusher.joinable()) impl_->usage_flusher.join();  // flushes once more
  if (impl_->publisher) impl_->publisher->stop();
}

int ApiServer::bound_port() const {
  return impl_->http ? impl_->http->bound_port() : 0;
}

}  // namespace earshot::api
