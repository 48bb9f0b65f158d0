#include "fleet_dependencies.hpp"

namespace earshot::fleet {

void Dependencies::declare(ConfigSpec& spec) {
  mysql.declare(spec);
  amqp.declare(spec);
  redis.declare(spec);
  master.declare(spec);
}

Status Dependencies::wire(Runtime& runtime) {
  auto keys = crypto::Keyring::from_settings(master);
  if (!keys) return std::unexpected(keys.error());
  keyring.emplace(std::move(*keys));
  if (auto ep = queue::parse_amqp_url(amqp.url); !ep) {
    return std::unexpected(ep.error().with_context("EARSHOT_AMQP_URL"));
  }
  if (auto ep = cache::parse_redis_url(redis.url); !ep) {
    return std::unexpected(ep.error().with_context("EARSHOT_REDIS_URL"));
  }
  runtime.add_dependency(storage::make_mysql_probe(mysql));
  runtime.add_dependency(queue::make_amqp_probe(amqp));
  runtime.add_dependency(cache::make_redis_probe(redis));
  return {};
}

}  // namespace earshot::fleet
