#pragma once
// The gateway's public HTTP listener (cpp-httplib): a worker pool, request size limits,
// read/write deadlines, CORS, gzip (httplib compresses JSON and text when the client accepts
// it), request ids, access logs and request metrics. Every request goes through the
// Dispatcher; every error leaves as
//   {"error": {"code": "<code_name>", "message": "..."}}
// with the status from earshot::http_status(code), and carries X-Request-Id (the client's,
// when it sent a sane one).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "earshot/api/dispatcher.hpp"
#include "earshot/api/events.hpp"
#include "earshot/cache/redis_settings.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/service.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/ingest/ingestor.hpp"
#include "earshot/pipeline/object_store.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_settings.hpp"

namespace earshot::api {

struct ApiSettings {
  std::string host;
  std::int64_t port = 0;
  std::int64_t threads = 0;
  std::int64_t max_body_bytes = 0;
  std::chrono::milliseconds read_timeout{0};
  std::chrono::milliseconds write_timeout{0};
  std::string cors_origins;  // comma-separated origins, "*" for any, empty for none

  // Declares http_host, http_port, http_threads, http_max_body_bytes, http_read_timeout,
  // http_write_timeout, http_cors_origins.
  void declare(ConfigSpec& spec);
};

// Gateway-only settings: sessions, rate limits, recordings.
struct GatewaySettings {
  std::string jwt_secret;  // required, secret, >= 32 bytes
  std::chrono::milliseconds access_ttl{0};
  std::chrono::milliseconds refresh_ttl{0};
  bool rate_limit_enabled = true;
  std::int64_t rate_limit_per_ip = 0;      // requests per minute
  std::int64_t rate_limit_per_caller = 0;  // requests per minute
  pipeline::ObjectStoreSettings object_store;  // recordings (the object_store* and s3_* keys)
  EventStreamSettings events;  // GET /api/v1/events
  std::chrono::milliseconds calls_cache_ttl{0};  // pages of the calls list (list_cache.hpp)
  ingest::IngestSettings ingest;  // /api/v1/ingest/... (the ingest_* keys)

  // Declares jwt_secret, jwt_access_ttl, jwt_refresh_ttl, rate_limit_enabled,
  // rate_limit_per_ip, rate_limit_per_caller, the object store's keys, calls_cache_ttl and the sse_* keys.
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
  // Binds (port 0: any free port) and serves on a background thread.
  [[nodiscard]] Status start();
  void stop();
  [[nodiscard]] int bound_port() const;

 private:
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
};

class ApiServer : public Component {
 public:
  // Fails (kInvalidArgument) when the settings are unusable, e.g. a short JWT secret.
  [[nodiscard]] static Result<std::unique_ptr<ApiServer>> make(ApiSettings api,
                                                               GatewaySettings gateway,
                                                               GatewayDependencies deps,
                                                               Runtime& runtime);
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
