// earshot-gateway: the REST API, live events, dashboard and chat.
#include "earshot/api/api_server.hpp"
#include "fleet_dependencies.hpp"

int main(int argc, char** argv) {
  earshot::fleet::Dependencies deps;
  earshot::queue::TopologySettings topology;
  earshot::api::ApiSettings api;
  earshot::api::GatewaySettings gateway;
  earshot::storage::MySqlReplicaSettings replica;  // the gateway's alone: no other binary reads a replica
  earshot::ServiceDefinition def;
  def.name = "gateway";
  def.summary = "serves the REST API, live events, the dashboard and chat over calls";
  def.default_admin_port = 18095;
  def.declare = [&](earshot::ConfigSpec& spec) {
    deps.declare(spec);
    replica.declare(spec);
    topology.declare(spec);
    api.declare(spec);
    gateway.declare(spec);
  };
  def.wire = [&](earshot::Runtime& runtime) -> earshot::Status {
    // The API port is ours too: never a tenant destination.
    deps.platform_endpoints.push_back({"http", api.host.empty() ? "0.0.0.0" : api.host, static_cast<int>(api.port)});
    // The replica is ours too.
    if (replica.enabled()) {
      const auto r = replica.resolve(deps.mysql);
      deps.platform_endpoints.push_back({"mysql_replica", r.host, static_cast<int>(r.port)});
    }
    if (auto st = deps.wire(runtime); !st) return st;
    // Recording downloads (Twilio) go to URLs a caller named: the egress policy applies.
    gateway.ingest.fetch_policy = deps.egress_policy;
    if (auto st = topology.resolve(); !st) return st;
    earshot::api::GatewayDependencies gd{deps.mysql, deps.amqp, topology, deps.redis, &*deps.keyring, replica};
    auto server = earshot::api::ApiServer::make(api, gateway, gd, runtime);
    if (!server) return std::unexpected(server.error());
    runtime.add_component(std::move(*server));
    return {};
  };
  return earshot::run_service(argc, argv, def);
}
