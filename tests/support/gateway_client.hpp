#pragma once
// A small client of a running gateway's REST API for tests and benchmarks that drive the real
// binaries (the chaos suite, bench/pipeline): JSON calls with a bearer token, and the two
// ingest routes with an API key. A request that got no answer (refused, cut, timed out) is
// status 0, so callers can retry it.

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

namespace earshot::testing {

struct GatewayReply {
  int status = 0;  // 0: no answer (connection refused or cut)
  std::string body;
  nlohmann::json j;  // the body parsed; discarded when it is not JSON
};

class GatewayClient {
 public:
  explicit GatewayClient(int port, int read_timeout_s = 30) : port_(port), read_timeout_s_(read_timeout_s) {}

  [[nodiscard]] GatewayReply call(const std::string& method, const std::string& path, const std::string& token,
                                  const nlohmann::json& body = nullptr) const {
    auto cli = client();
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (!token.empty()) req.set_header("Authorization", "Bearer " + token);
    if (!body.is_null()) {
      req.body = body.dump();
      req.set_header("Content-Type", "application/json");
    }
    return wrap(cli.send(req));
  }

  // POST /api/v1/ingest/calls (multipart: the recording and its fields).
  [[nodiscard]] GatewayReply upload(const std::string& api_key, const httplib::MultipartFormDataItems& items) const {
    auto cli = client();
    return wrap(cli.Post("/api/v1/ingest/calls", {{"X-Api-Key", api_key}}, items));
  }

  // POST /api/v1/ingest/transcripts.
  [[nodiscard]] GatewayReply push_transcript(const std::string& api_key, const nlohmann::json& body) const {
    auto cli = client();
    return wrap(cli.Post("/api/v1/ingest/transcripts", {{"X-Api-Key", api_key}}, body.dump(), "application/json"));
  }

 private:
  [[nodiscard]] httplib::Client client() const {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_connection_timeout(5, 0);
    cli.set_read_timeout(read_timeout_s_, 0);
    return cli;
  }
  static GatewayReply wrap(const httplib::Result& res) {
    GatewayReply out;
    if (!res) return out;
    out.status = res->status;
    out.body = res->body;
    out.j = nlohmann::json::parse(res->body, nullptr, false);
    return out;
  }

  int port_;
  int read_timeout_s_;
};

}  // namespace earshot::testing
