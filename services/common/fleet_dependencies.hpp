#pragma once
// The backing services every fleet binary talks to, declared and wired the same way.

#include "earshot/cache/redis_settings.hpp"
#include "earshot/core/service.hpp"
#include "earshot/queue/amqp_settings.hpp"
#include "earshot/storage/mysql_settings.hpp"

namespace earshot::fleet {

struct Dependencies {
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  cache::RedisSettings redis;

  void declare(ConfigSpec& spec);
  // Validates the settings and registers a readiness probe for each dependency.
  [[nodiscard]] Status wire(Runtime& runtime) const;
};

}  // namespace earshot::fleet
