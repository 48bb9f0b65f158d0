#pragma once
// The gateway's public HTTP listener. Every error leaves as
//   {"error": {"code": "<code_name>", "message": "..."}}
// with the status from earshot::http_status(code); every response carries X-Request-Id
// (the client's, when it sent a sane one) and is access-logged.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "earshot/core/config.hpp"
#include "earshot/core/service.hpp"

namespace earshot::api {

struct ApiSettings {
  std::string host;
  std::int64_t port = 0;
  std::int64_t threads = 0;
  std::int64_t max_body_bytes = 0;
  std::chrono::milliseconds read_timeout{0};
  std::chrono::milliseconds write_timeout{0};

  // Declares http_host, http_port, http_threads, http_max_body_bytes, http_read_timeout,
  // http_write_timeout.
  void declare(ConfigSpec& spec);
};

// Error body for `error`, as every route returns it.
[[nodiscard]] std::string error_body(const Error& error);

// Builds the API component; it binds at start() and reports its port through bound_port().
class ApiServer : public Component {
 public:
  ApiServer(ApiSettings settings, Runtime& runtime);
  ~ApiServer() override;
  [[nodiscard]] std::string name() const override { return "api"; }
  [[nodiscard]] Status start() override;
  void stop_intake() override;
  void stop() override;
  [[nodiscard]] int bound_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::api
