#include "earshot/api/api_server.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "earshot/core/log.hpp"

namespace earshot::api {

void ApiSettings::declare(ConfigSpec& spec) {
  spec.add_string("http_host", &host, "127.0.0.1", "Address of the public API listener.");
  spec.add_int("http_port", &port, 18080, 0, 65535, "Port of the public API listener.");
  spec.add_int("http_threads", &threads, 16, 1, 1024, "Worker threads serving requests.");
  spec.add_int("http_max_body_bytes", &max_body_bytes, 256LL << 20, 1024, 4LL << 30,
               "Largest accepted request body.");
  spec.add_duration("http_read_timeout", &read_timeout, std::chrono::seconds(30),
                    std::chrono::seconds(1), std::chrono::minutes(30),
                    "Deadline to read one request.");
  spec.add_duration("http_write_timeout", &write_timeout, std::chrono::seconds(30),
                    std::chrono::seconds(1), std::chrono::minutes(30),
                    "Deadline to write one response.");
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

}  // namespace

struct ApiServer::Impl {
  ApiSettings settings;
  Runtime& runtime;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;

  Impl(ApiSettings s, Runtime& r) : settings(std::move(s)), runtime(r) {}
};

ApiServer::ApiServer(ApiSettings settings, Runtime& runtime)
    : impl_(std::make_unique<Impl>(std::move(settings), runtime)) {
  auto& m = runtime.metrics();
  impl_->requests = &m.counter("earshot_http_requests_total", "API requests by route and status.");
  impl_->latency = &m.histogram("earshot_http_request_duration_seconds", "API request latency.");
}

ApiServer::~ApiServer() { stop(); }

int ApiServer::bound_port() const { return impl_->port; }

Status ApiServer::start() {
  auto& srv = impl_->server;
  const auto threads = static_cast<std::size_t>(impl_->settings.threads);
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  srv.set_payload_max_length(static_cast<std::size_t>(impl_->settings.max_body_bytes));
  const auto rt = impl_->settings.read_timeout.count();
  const auto wt = impl_->settings.write_timeout.count();
  srv.set_read_timeout(rt / 1000, (rt % 1000) * 1000);
  srv.set_write_timeout(wt / 1000, (wt % 1000) * 1000);

  srv.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    auto id = req.get_header_value("X-Request-Id");
    res.set_header("X-Request-Id", sane_request_id(id) ? id : new_request_id());
    return httplib::Server::HandlerResponse::Unhandled;
  });
  srv.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    ErrorCode code = ErrorCode::kInternal;
    std::string msg = "internal error";
    switch (res.status) {
      case 404: code = ErrorCode::kNotFound; msg = fmt::format("no route for {} {}", req.method, req.path); break;
      case 405: code = ErrorCode::kInvalidArgument; msg = "method not allowed"; break;
      case 413: code = ErrorCode::kInvalidArgument; msg = "request body too large"; break;
      case 400: code = ErrorCode::kInvalidArgument; msg = "malformed request"; break;
      default: break;
    }
    res.set_content(error_body(Error(code, msg)), "application/json");
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
  srv.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const std::string status = std::to_string(res.status);
    impl_->requests->Add({{"method", req.method}, {"status", status}}).Increment();
    log::info("request", {{"method", req.method},
                          {"path", req.path},
                          {"status", status},
                          {"request_id", res.get_header_value("X-Request-Id")},
                          {"remote", req.remote_addr}});
  });

  srv.Get("/api/v1/version", [](const httplib::Request&, httplib::Response& res) {
    nlohmann::json body{{"service", "gateway"},
                        {"version", build_version()},
                        {"commit", build_commit()}};
    res.set_content(body.dump(), "application/json");
  });

  int port = static_cast<int>(impl_->settings.port);
  if (port == 0) {
    port = srv.bind_to_any_port(impl_->settings.host);
  } else if (!srv.bind_to_port(impl_->settings.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return make_error(ErrorCode::kUnavailable, fmt::format("API listener cannot bind {}:{}",
                                                           impl_->settings.host,
                                                           impl_->settings.port));
  }
  impl_->port = port;
  impl_->thread = std::thread([&srv] { srv.listen_after_bind(); });
  log::info("API listener started",
            {{"address", fmt::format("http://{}:{}", impl_->settings.host, port)}});
  return {};
}

void ApiServer::stop_intake() {
  // httplib stops accepting and finishes the requests its pool already runs.
  impl_->server.stop();
}

void ApiServer::stop() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace earshot::api
