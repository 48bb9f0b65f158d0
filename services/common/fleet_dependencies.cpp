#include "fleet_dependencies.hpp"

namespace earshot::fleet {

void Dependencies::declare(ConfigSpec& spec) {
  mysql.declare(spec);
  amqp.declare(spec);
  redis.declare(spec);
  master.declare(spec);
  egress.declare(spec);
}

Status Dependencies::wire(Runtime& runtime) {
  auto keys = crypto::Keyring::from_settings(master);
  if (!keys) return std::unexpected(keys.error());
  keyring.emplace(std::move(*keys));
  auto amqp_ep = queue::parse_amqp_url(amqp.url);
  if (!amqp_ep) return std::unexpected(amqp_ep.error().with_context("EARSHOT_AMQP_URL"));
  auto redis_ep = cache::parse_redis_url(redis.url);
  if (!redis_ep) return std::unexpected(redis_ep.error().with_context("EARSHOT_REDIS_URL"));
  auto platform = platform_endpoints;
  platform.push_back({"mysql", mysql.host, static_cast<int>(mysql.port)});
  platform.push_back({"amqp", amqp_ep->host, amqp_ep->port});
  platform.push_back({"redis", redis_ep->host, redis_ep->port});
  const auto& rs = runtime.settings();
  if (rs.admin_port > 0) {
    platform.push_back({"admin", rs.admin_host.empty() ? "0.0.0.0" : rs.admin_host, static_cast<int>(rs.admin_port)});
  }
  auto policy = egress.build(platform);
  if (!policy) return std::unexpected(policy.error());
  egress_policy = std::move(*policy);
  runtime.add_dependency(storage::make_mysql_probe(mysql));
  runtime.add_dependency(queue::make_amqp_probe(amqp));
  runtime.add_dependency(cache::make_redis_probe(redis));
  return {};
}

}  // namespace earshot::fleet
