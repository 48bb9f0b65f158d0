#pragma once
// The gateway's public HTTP listener, event-driven on Boost.Beast/Asio: a bounded pool of
// threads accepts connections, reads and parses requests under deadlines (headers, body,
// keep-alive idle) and writes replies asynchronously, so an idle or slow connection holds no
// thread. Route handlers block (MariaDB, Redis) and run on the thread that read the request;
// while one waits, the other threads serve the other connections.
// Connections are capped per client address and in all; a Content-Length over the body limit
// is answered 413 before any of the body is read. Also: CORS, gzip of JSON and text when the
// client accepts it, HEAD, single byte ranges of streamed objects, security headers, request
// ids, access logs and request metrics. Server-sent event streams are EventSinks written
// without a thread. Every request goes through the Dispatcher; every error leaves as
//   {"error": {"code": "<code_name>", "message": "..."}}
// with the status from earshot::http_status(code), and carries X-Request-Id (the client's,
// when it sent a sane one).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "earshot/api/dispatcher.hpp"
#include "earshot/api/events.hpp"
#include "earshot/api/rag_settings.hpp"
#include "earshot/cache/redis_settings.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/service.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/ingest/ingestor.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_settings.hpp"

namespace earshot::api {

struct ApiSettings {
  std::string host;
  std::int64_t port = 0;
  std::int64_t threads = 0;  // listener threads; a route handler holds one while it runs
  std::int64_t max_body_bytes = 0;
  std::chrono::milliseconds header_timeout{10'000};  // request line and headers
  std::chrono::milliseconds read_timeout{0};         // the body
  std::chrono::milliseconds write_timeout{0};        // one response (or one piece of it)
  std::chrono::milliseconds idle_timeout{5'000};     // keep-alive: wait for the next request
  std::int64_t max_connections = 10'000;             // open connections in all
  std::int64_t max_connections_per_address = 64;     // open connections of one client address
  std::int64_t hsts_max_age = 0;                     // seconds; 0: no Strict-Transport-Security
  std::string cors_origins;                          // comma-separated origins, "*" for any, empty for none

  // Declares http_host, http_port, http_threads, http_max_body_bytes,
  // http_header_timeout, http_read_timeout, http_write_timeout, http_idle_timeout,
  // http_max_connections, http_max_connections_per_address, http_hsts_max_age,
  // http_cors_origins.
  void declare(ConfigSpec& spec);
};

// Gateway-only settings: sessions, rate limits, recordings.
struct GatewaySettings {
  std::string jwt_secret;  // required, secret, >= 32 bytes
  std::chrono::milliseconds access_ttl{0};
  std::chrono::milliseconds refresh_ttl{0};
  bool rate_limit_enabled = true;
  std::int64_t rate_limit_per_ip = 0;             // requests per minute
  std::int64_t rate_limit_per_caller = 0;         // requests per minute
  objectstore::ObjectStoreSettings object_store;  // recordings (the object_store* and s3_* keys)
  EventStreamSettings events;                     // GET /api/v1/events
  std::chrono::milliseconds calls_cache_ttl{0};   // pages of the calls list (list_cache.hpp)
  ingest::IngestSettings ingest;                  // /api/v1/ingest/... (the ingest_* keys)
  pipeline::LlmSettings llm;                      // chat answers and query embeddings (the llm_* keys)
  RagSettings rag;                                // search, chat, knowledge base
  std::string web_dir;                            // the built dashboard served at / (static_site.hpp)

  // Declares web_dir, jwt_secret, jwt_access_ttl, jwt_refresh_ttl, rate_limit_enabled,
  // rate_limit_per_ip, rate_limit_per_caller, the object store's keys, calls_cache_ttl, the
  // sse_* keys, the llm_* keys (pipeline::LlmSettings) and the chat/knowledge keys (RagSettings).
  void declare(ConfigSpec& spec);
};

// Error body for `error`, as every route returns it.
[[nodiscard]] std::string error_body(const Error& error);

// The HTTP side only: listens and hands every request to the dispatcher.
class HttpServer {
 public:
  HttpServer(ApiSettings settings, Dispatcher& dispatcher, Metrics& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Binds (port 0: any free port) and serves on background threads.
  [[nodiscard]] Status start();
  // Stops accepting, closes idle connections, lets requests in flight finish (up to the
  // write timeout), then closes every connection and joins the threads.
  void stop();
  [[nodiscard]] int bound_port() const;

 private:
  friend class HttpConnection;  // one connection (http_server.cpp)
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The gateway component: database pool, sessions, queues, rate limiter, routes and the
// listener, started and stopped together.
struct GatewayDependencies {
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  queue::TopologySettings topology;
  cache::RedisSettings redis;
  const crypto::Keyring* keys = nullptr;
  // When enabled: a second pool and repositories over the replica for the lag-tolerant reads
  // (GatewayServices::read_repos), and a readiness dependency "mysql_replica".
  storage::MySqlReplicaSettings mysql_replica{};
};

class ApiServer : public Component {
 public:
  // Fails (kInvalidArgument) when the settings are unusable, e.g. a short JWT secret.
  [[nodiscard]] static Result<std::unique_ptr<ApiServer>> make(ApiSettings api, const GatewaySettings& gateway,
                                                               const GatewayDependencies& deps, Runtime& runtime);
  ~ApiServer() override;
  [[nodiscard]] std::string name() const override { return "api"; }
  [[nodiscard]] Status start() override;
  void stop_intake() override;
  void stop() override;
  [[nodiscard]] int bound_port() const;

 private:
  ApiServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The OpenAPI document built into the binary (proto/openapi.json).
[[nodiscard]] const std::string& openapi_document();

}  // namespace earshot::api
