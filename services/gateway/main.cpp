// earshot-gateway: the REST API, live events, dashboard and chat.
#include "earshot/api/api_server.hpp"
#include "fleet_dependencies.hpp"

int main(int argc, char** argv) {
  earshot::fleet::Dependencies deps;
  earshot::api::ApiSettings api;
  earshot::ServiceDefinition def;
  def.name = "gateway";
  def.summary = "serves the REST API, live events, the dashboard and chat over calls";
  def.default_admin_port = 18095;
  def.declare = [&](earshot::ConfigSpec& spec) {
    deps.declare(spec);
    api.declare(spec);
  };
  def.wire = [&](earshot::Runtime& runtime) -> earshot::Status {
    if (auto st = deps.wire(runtime); !st) return st;
    runtime.add_component(std::make_unique<earshot::api::ApiServer>(api, runtime));
    return {};
  };
  return earshot::run_service(argc, argv, def);
}
