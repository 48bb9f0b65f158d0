#pragma once

#include <optional>
// The backing services every fleet binary talks to, declared and wired the same way.

#include "earshot/cache/redis_settings.hpp"
#include "earshot/core/service.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/storage/mysql_settings.hpp"

namespace earshot::fleet {

struct Dependencies {
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  cache::RedisSettings redis;
  crypto::MasterKeySettings master;  // secrets at rest (EARSHOT_MASTER_KEYS, _KEY_ID)
  std::optional<crypto::Keyring> keyring;  // set by wire()

  void declare(ConfigSpec& spec);
  // Validates the settings, loads the master keys and registers a readiness probe for each
  // dependency.
  [[nodiscard]] Status wire(Runtime& runtime);
};

}  // namespace earshot::fleet
