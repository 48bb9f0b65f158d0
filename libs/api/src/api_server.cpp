#include "earshot/api/api_server.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "earshot/api/auth.hpp"
#include "earshot/api/business_admin.hpp"
#include "earshot/api/gateway.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/rate_limiter.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/core/log.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/pipeline/object_store.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::api {

void ApiSettings::declare(ConfigSpec& spec) {
  spec.add_string("http_host", &host, "127.0.0.1", "Address of the public API listener.");
  spec.add_int("http_port", &port, 18080, 0, 65535, "Port of the public API listener.");
  spec.add_int("http_threads", &threads, 16, 1, 1024,
               "Worker threads serving requests (one per open connection).");
  spec.add_int("http_max_body_bytes", &max_body_bytes, 1LL << 20, 1024, 1LL << 30,
               "Largest accepted request body; larger ones get 413.");
  spec.add_duration("http_read_timeout", &read_timeout, std::chrono::seconds(10),
                    std::chrono::seconds(1), std::chrono::minutes(30),
                    "Deadline to read one request.");
  spec.add_duration("http_write_timeout", &write_timeout, std::chrono::seconds(30),
                    std::chrono::seconds(1), std::chrono::minutes(30),
                    "Deadline to write one response.");
  spec.add_string("http_cors_origins", &cors_origins, "",
                  "Origins allowed by CORS, comma-separated; * for any; empty for none.");
}

void GatewaySettings::declare(ConfigSpec& spec) {
  spec.add_string("jwt_secret", &jwt_secret, "",
                  "HS256 key signing access tokens (at least 32 bytes).",
                  ConfigOptions{.required = true, .secret = true});
  spec.add_duration("jwt_access_ttl", &access_ttl, std::chrono::minutes(15),
                    std::chrono::seconds(30), std::chrono::hours(24), "Access token lifetime.");
  spec.add_duration("jwt_refresh_ttl", &refresh_ttl, std::chrono::hours(24 * 14),
                    std::chrono::minutes(5), std::chrono::hours(24 * 90),
                    "Refresh token lifetime.");
  spec.add_bool("rate_limit_enabled", &rate_limit_enabled, true,
                "Token-bucket rate limits in Redis (per address and per caller).");
  spec.add_int("rate_limit_per_ip", &rate_limit_per_ip, 600, 1, 10'000'000,
               "Requests per minute from one client address.");
  spec.add_int("rate_limit_per_caller", &rate_limit_per_caller, 1200, 1, 10'000'000,
               "Requests per minute from one user or API key.");
  object_store.declare(spec);
  ingest.declare(spec);
  events.declare(spec);
  spec.add_duration("calls_cache_ttl", &calls_cache_ttl, std::chrono::seconds(5),
                    std::chrono::milliseconds(0), std::chrono::minutes(10),
                    "Longest a cached page of the calls list is served (it is dropped at "
                    "once when the business's calls change); 0 disables the cache.");
}

std::string error_body(const Error& error) {
  nlohmann::json body{{"error", {{"code", code_name(error.code)}, {"message", error.message}}}};
  return body.dump();
}

namespace {

bool sane_request_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}", rng());
}

// Set by the handler, read by the access logger on the same worker thread.
thread_local std::string t_route;
// The business the request acted on (the caller's, the one a platform admin named, or the
// `{bid}` path segment); empty when none.
thread_local std::string t_bid;
thread_local std::chrono::steady_clock::time_point t_start;

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string part = s.substr(i, j - i);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    i = j + 1;
  }
  return out;
}

}  // namespace

struct HttpServer::Impl {
  ApiSettings settings;
  Dispatcher& dispatcher;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::vector<std::string> origins;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;

  Impl(ApiSettings s, Dispatcher& d) : settings(std::move(s)), dispatcher(d) {
    origins = split_csv(settings.cors_origins);
  }

  [[nodiscard]] bool origin_allowed(const std::string& origin) const {
    if (origin.empty()) return false;
    for (const auto& o : origins) {
      if (o == "*" || o == origin) return true;
    }
    return false;
  }

  void cors(const httplib::Request& req, httplib::Response& res) const {
    const auto origin = req.get_header_value("Origin");
    if (!origin_allowed(origin)) return;
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Content-Range");
  }

  void serve(const httplib::Request& hreq, httplib::Response& res) {
    Request req;
    req.method = hreq.method == "HEAD" ? "GET" : hreq.method;
    req.path = hreq.path;
    req.target = hreq.target;
    for (const auto& [k, v] : hreq.params) req.query.emplace(k, v);
    for (const auto& [k, v] : hreq.headers) req.headers.emplace(k, v);
    req.body = hreq.body;
    for (const auto& [name, f] : hreq.files) req.parts.push_back({f.name, f.filename, f.content_type, f.content});
    req.remote_addr = hreq.remote_addr;
    req.request_id = res.get_header_value("X-Request-Id");
    std::string route;
    Reply reply = dispatcher.handle(req, route);
    t_route = route;
    t_bid = req.principal && !req.principal->bid.empty() ? req.principal->bid : std::string();
    if (auto it = req.path_params.find("bid"); t_bid.empty() && it != req.path_params.end()) t_bid = it->second;
    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    if (reply.stream) {
      // Server-sent events: written as they come, on this worker thread, until the stream
      // function returns (client gone, or shutdown).
      auto stream = std::move(reply.stream);
      res.set_chunked_content_provider(
          reply.content_type, [stream](std::size_t, httplib::DataSink& sink) {
            bool ok = true;
            StreamSink out{[&](std::string_view d) {
                             ok = ok && sink.write(d.data(), d.size());
                             return ok;
                           },
                           [&] { return ok && sink.is_writable(); }};
            stream(out);
            if (ok) sink.done();
            return ok;
          });
    } else if (reply.read_piece) {
      // Streamed in pieces; httplib cuts the request's byte ranges (offset/length) itself
      // and asks again from where the last piece ended.
      res.set_content_provider(
          static_cast<std::size_t>(reply.object_size), reply.content_type,
          [read = std::move(reply.read_piece)](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            auto piece = read(offset, length);
            if (!piece) {
              log::warn("object stream ended early", {{"error", piece.error().to_string()}});
              return false;
            }
            return !piece->empty() && sink.write(piece->data(), piece->size());
          });
    } else if (reply.raw) {
      if (!reply.raw->empty() || !reply.content_type.empty()) {
        res.set_content(std::move(*reply.raw), reply.content_type);
      }
    } else if (reply.status != 204) {
      res.set_content(reply.json.dump(), "application/json");
    }
    cors(hreq, res);
  }
};

HttpServer::HttpServer(ApiSettings settings, Dispatcher& dispatcher, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(settings), dispatcher)) {
  impl_->requests = &metrics.counter("earshot_http_requests_total",
                                     "API requests by method, route and status.");
  impl_->latency = &metrics.histogram("earshot_http_request_duration_seconds",
                                      "API request latency by route.");
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bound_port() const { return impl_->port; }

Status HttpServer::start() {
  auto& srv = impl_->server;
  auto* impl = impl_.get();
  const auto threads = static_cast<std::size_t>(impl->settings.threads);
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  srv.set_payload_max_length(static_cast<std::size_t>(impl->settings.max_body_bytes));
  const auto rt = impl->settings.read_timeout.count();
  const auto wt = impl->settings.write_timeout.count();
  srv.set_read_timeout(rt / 1000, (rt % 1000) * 1000);
  srv.set_write_timeout(wt / 1000, (wt % 1000) * 1000);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle and the
  // client's delayed ACK add ~40 ms to every keep-alive response.
  srv.set_tcp_nodelay(true);
  srv.set_keep_alive_max_count(10000);
  srv.set_keep_alive_timeout(5);

  srv.set_pre_routing_handler([impl](const httplib::Request& req, httplib::Response& res) {
    t_start = std::chrono::steady_clock::now();
    t_route = "unmatched";
    t_bid.clear();
    auto id = req.get_header_value("X-Request-Id");
    res.set_header("X-Request-Id", sane_request_id(id) ? id : new_request_id());
    if (req.method == "OPTIONS") {
      // CORS preflight: answered here, never reaches a route.
      t_route = "preflight";
      const auto origin = req.get_header_value("Origin");
      if (!impl->origin_allowed(origin)) {
        res.status = 403;
        res.set_content(error_body(Error(ErrorCode::kPermissionDenied, "origin not allowed")),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }
      res.status = 204;
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
      res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
      res.set_header("Access-Control-Allow-Headers",
                     "Authorization, Content-Type, X-Api-Key, X-Request-Id, Range, Last-Event-ID, "
                     "X-Earshot-Business");
      res.set_header("Access-Control-Max-Age", "600");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto handler = [impl](const httplib::Request& req, httplib::Response& res) { impl->serve(req, res); };
  srv.Get(".*", handler);
  srv.Post(".*", handler);
  srv.Put(".*", handler);
  srv.Patch(".*", handler);
  srv.Delete(".*", handler);
  srv.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    ErrorCode code = ErrorCode::kInternal;
    std::string msg = "internal error";
    std::string name;
    switch (res.status) {
      case 404: code = ErrorCode::kNotFound; msg = fmt::format("no route for {} {}", req.method, req.path); break;
      case 405: code = ErrorCode::kInvalidArgument; msg = "method not allowed"; name = "method_not_allowed"; break;
      case 413: code = ErrorCode::kInvalidArgument; msg = "request body too large"; name = "payload_too_large"; break;
      case 414: code = ErrorCode::kInvalidArgument; msg = "request URI too long"; break;
      case 416: code = ErrorCode::kInvalidArgument; msg = "range not satisfiable"; name = "range_not_satisfiable"; break;
      case 400: code = ErrorCode::kInvalidArgument; msg = "malformed request"; break;
      default: break;
    }
    nlohmann::json body{{"error", {{"code", name.empty() ? std::string(code_name(code)) : name},
                                   {"message", msg}}}};
    res.set_content(body.dump(), "application/json");
  });
  srv.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                               std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log::error("unhandled exception in request", {{"error", what}});
    res.status = 500;
    res.set_content(error_body(Error(ErrorCode::kInternal, "internal error")), "application/json");
  });
  srv.set_logger([impl](const httplib::Request& req, const httplib::Response& res) {
    const std::string status = std::to_string(res.status);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    impl->requests->Add({{"method", req.method}, {"route", t_route}, {"status", status}}).Increment();
    impl->latency->Add({{"route", t_route}}, Metrics::latency_buckets()).Observe(secs);
    log::info("request", {{"method", req.method},
                          {"path", req.path},
                          {"route", t_route},
                          {"business", t_bid},
                          {"status", status},
                          {"duration_ms", fmt::format("{:.1f}", secs * 1000)},
                          {"request_id", res.get_header_value("X-Request-Id")},
                          {"remote", req.remote_addr}});
  });

  int port = static_cast<int>(impl->settings.port);
  if (port == 0) {
    port = srv.bind_to_any_port(impl->settings.host);
  } else if (!srv.bind_to_port(impl->settings.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return make_error(ErrorCode::kUnavailable, fmt::format("API listener cannot bind {}:{}",
                                                           impl->settings.host,
                                                           impl->settings.port));
  }
  impl->port = port;
  impl->thread = std::thread([&srv] { srv.listen_after_bind(); });
  log::info("API listener started",
            {{"address", fmt::format("http://{}:{}", impl->settings.host, port)}});
  return {};
}

void HttpServer::stop() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

struct ApiServer::Impl {
  std::unique_ptr<storage::Database> db;
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
  std::unique_ptr<EventHub> event_hub;
  std::unique_ptr<ListCache> list_cache;
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
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<HttpServer> http;
};

ApiServer::ApiServer() : impl_(std::make_unique<Impl>()) {}
ApiServer::~ApiServer() { stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::make(ApiSettings api, GatewaySettings gw,
                                                   GatewayDependencies deps, Runtime& runtime) {
  if (deps.keys == nullptr) return make_error(ErrorCode::kInvalidArgument, "no master keys");
  std::unique_ptr<ApiServer> self(new ApiServer());
  auto& m = *self->impl_;
  auto jwt = JwtCodec::make(gw.jwt_secret,
                            std::chrono::duration_cast<std::chrono::seconds>(gw.access_ttl),
                            runtime.clock());
  if (!jwt) return std::unexpected(jwt.error().with_context("EARSHOT_JWT_SECRET"));
  m.jwt.emplace(std::move(*jwt));
  m.db = std::make_unique<storage::Database>(deps.mysql);
  m.auth = std::make_unique<AuthService>(
      *m.db, *m.jwt, runtime.clock(), std::chrono::duration_cast<std::chrono::seconds>(gw.refresh_ttl));
  m.authenticator = std::make_unique<ServiceAuthenticator>(*m.auth);
  m.publisher = std::make_unique<queue::Publisher>(deps.amqp, queue::PublisherOptions{}, &runtime.metrics());
  m.queues = std::make_unique<AmqpQueueControl>(deps.amqp, deps.topology, *m.publisher);
  auto redis = cache::RedisClient::make(deps.redis, 8);
  if (!redis) return std::unexpected(redis.error().with_context("EARSHOT_REDIS_URL"));
  m.redis = std::move(*redis);
  m.limiter = std::make_unique<cache::RedisRateLimiter>(*m.redis);
  m.login_failures = std::make_unique<RedisLoginFailureStore>(*m.redis);
  m.login_throttle = std::make_unique<LoginThrottle>(*m.login_failures, runtime.clock());
  m.auth->set_login_throttle(m.login_throttle.get());
  if (gw.events.max_clients >= api.threads) {
    return make_error(ErrorCode::kInvalidArgument,
                      "EARSHOT_SSE_MAX_CLIENTS must be below EARSHOT_HTTP_THREADS (each live "
                      "event stream holds a thread)");
  }
  m.live_events = std::make_unique<cache::LiveEvents>(*m.redis, runtime.clock(), &runtime.metrics());
  m.event_hub = std::make_unique<EventHub>(*m.live_events, gw.events, &runtime.metrics());
  m.list_cache = std::make_unique<ListCache>(runtime.clock(), gw.calls_cache_ttl, 4096, &runtime.metrics());
  // Every live event wakes the business's streams and drops its cached list pages; a
  // (re)subscription does so for every business (events may have been missed meanwhile).
  m.subscriber = std::make_unique<cache::LiveEventSubscriber>(
      deps.redis,
      [hub = m.event_hub.get(), lc = m.list_cache.get()](const std::string& bid, const cache::LiveEvent&) {
        lc->invalidate(bid);
        hub->notify(bid);
      },
      [hub = m.event_hub.get(), lc = m.list_cache.get()] {
        lc->invalidate_all();
        hub->notify_all();
      });
  m.services = std::make_unique<GatewayServices>(GatewayServices{
      *m.db, *deps.keys, runtime.clock(), *m.auth, *m.queues, gw.object_store.dir,
      &runtime.health(), &runtime.metrics(), openapi_document(), m.event_hub.get(),
      m.list_cache.get()});
  m.services->ingest = gw.ingest;
  if (gw.object_store.kind == "s3") m.object_http = std::make_unique<http::CurlHttpClient>();
  auto objects = pipeline::ObjectStores::make(gw.object_store, m.object_http.get(), runtime.clock());
  if (!objects) return std::unexpected(objects.error());
  m.services->object_store = std::move(*objects);
  add_all_routes(m.router, *m.services);
  RateLimitOptions limits;
  limits.enabled = gw.rate_limit_enabled;
  limits.per_ip = gw.rate_limit_per_ip;
  limits.per_caller = gw.rate_limit_per_caller;
  m.dispatcher = std::make_unique<Dispatcher>(m.router, *m.authenticator, m.limiter.get(), limits,
                                              runtime.clock(), runtime.metrics());
  m.dispatcher->on_write([lc = m.list_cache.get()](const std::string& bid) { lc->invalidate(bid); });
  // Uploads carry recordings: the listener takes the largest one plus the form around it.
  api.max_body_bytes = std::max<std::int64_t>(api.max_body_bytes, gw.ingest.max_audio_bytes + (1LL << 20));
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
  // Live event streams end first (each holds a worker thread); then httplib stops accepting
  // and finishes the requests its pool already runs.
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

int ApiServer::bound_port() const { return impl_->http ? impl_->http->bound_port() : 0; }

}  // namespace earshot::api
