#pragma once
// A service's outgoing HTTP client (one curl-multi event loop, see curl_http_client.hpp) as a
// lifecycle component. Wire it before the components that send through it: components stop
// in reverse order, so requests still in flight while those drain can finish, and the loop
// stops after them.

#include <cstdint>
#include <string>

#include "earshot/core/config.hpp"
#include "earshot/core/service.hpp"
#include "earshot/http/curl_http_client.hpp"

namespace earshot::http {

struct HttpClientSettings {
  std::int64_t max_connections = 1024;
  std::int64_t max_connections_per_host = 256;

  // Declares http_client_max_connections and http_client_max_connections_per_host.
  void declare(ConfigSpec& spec);
  [[nodiscard]] CurlHttpClientOptions options() const;
};

class HttpClientComponent final : public Component {
 public:
  // The client's loop runs from here on, so components wired before start() can hold it.
  explicit HttpClientComponent(const HttpClientSettings& settings);

  // Creates the component, hands it to `runtime` (stopped after every component added
  // later) and returns its client.
  static CurlHttpClient& add_to(Runtime& runtime, const HttpClientSettings& settings);

  [[nodiscard]] CurlHttpClient& client() { return client_; }
  [[nodiscard]] std::string name() const override { return "http-client"; }
  [[nodiscard]] Status start() override { return {}; }
  void stop() override { client_.shutdown(); }

 private:
  CurlHttpClient client_;
};

}  // namespace earshot::http
