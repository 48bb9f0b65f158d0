#include "earshot/http/http_client_component.hpp"

#include <memory>

namespace earshot::http {

void HttpClientSettings::declare(ConfigSpec& spec) {
  spec.add_int("http_client_max_connections", &max_connections, 1024, 1, 65536,
               "Open outgoing HTTP connections at most (requests beyond wait for one).");
  spec.add_int("http_client_max_connections_per_host", &max_connections_per_host, 256, 1, 65536,
               "Open outgoing HTTP connections to one host at most.");
}

CurlHttpClientOptions HttpClientSettings::options() const {
  CurlHttpClientOptions o;
  o.max_total_connections = static_cast<std::size_t>(max_connections);
  o.max_connections_per_host = static_cast<std::size_t>(max_connections_per_host);
  return o;
}

HttpClientComponent::HttpClientComponent(const HttpClientSettings& settings) : client_(settings.options()) {}

CurlHttpClient& HttpClientComponent::add_to(Runtime& runtime, const HttpClientSettings& settings) {
  auto component = std::make_unique<HttpClientComponent>(settings);
  auto& client = component->client();
  runtime.add_component(std::move(component));
  return client;
}

}  // namespace earshot::http
