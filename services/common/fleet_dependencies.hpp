#pragma once

#include <optional>
// The backing services every fleet binary talks to, declared and wired the same way.

#include "earshot/cache/redis_settings.hpp"
#include "earshot/core/service.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/storage/mysql_settings.hpp"

namespace earshot::fleet {

struct Dependencies {
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  cache::RedisSettings redis;
  crypto::MasterKeySettings master;        // secrets at rest (EARSHOT_MASTER_KEYS, _KEY_ID)
  std::optional<crypto::Keyring> keyring;  // set by wire()
  http::EgressSettings egress;             // egress_allow, egress_deny
  // The one policy for every connection made on a tenant's behalf, set by wire(): the
  // internal ranges refused, egress_allow let through, and never this platform's MySQL,
  // AMQP, Redis, this binary's admin port or the endpoints in `platform_endpoints`.
  http::AddressPolicy egress_policy;
  std::vector<http::PlatformEndpoint> platform_endpoints;  // more of ours (the gateway's API port)

  void declare(ConfigSpec& spec);
  // Validates the settings, loads the master keys, builds egress_policy and registers a
  // readiness probe for each dependency.
  [[nodiscard]] Status wire(Runtime& runtime);
};

}  // namespace earshot::fleet
