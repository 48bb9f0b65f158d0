#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "earshot/core/config.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/health.hpp"

namespace earshot::queue {

struct AmqpSettings {
  std::string url;  // amqp://user:password@host:port/vhost
  std::chrono::milliseconds heartbeat{0};
  std::chrono::milliseconds connect_timeout{0};

  // Declares amqp_url (secret: it carries the password), amqp_heartbeat,
  // amqp_connect_timeout.
  void declare(ConfigSpec& spec);
};

struct AmqpEndpoint {
  std::string host;
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
};

// Parses amqp://user:password@host:port/vhost (percent-encoded parts decoded; an empty
// path means vhost "/"). kInvalidArgument on anything else.
[[nodiscard]] Result<AmqpEndpoint> parse_amqp_url(std::string_view url);

[[nodiscard]] std::unique_ptr<DependencyProbe> make_amqp_probe(const AmqpSettings& settings);

}  // namespace earshot::queue
