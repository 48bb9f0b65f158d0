// earshot-notify: delivers webhooks, CRM write-back, alerts and live events (notify.{bid})
// Wiring only; the stage logic lives in libs/ and arrives with its issue.
#include "fleet_dependencies.hpp"

int main(int argc, char** argv) {
  earshot::fleet::Dependencies deps;
  earshot::ServiceDefinition def;
  def.name = "notify";
  def.summary = "delivers webhooks, CRM write-back, alerts and live events (notify.{bid})";
  def.default_admin_port = 18094;
  def.declare = [&](earshot::ConfigSpec& spec) { deps.declare(spec); };
  def.wire = [&](earshot::Runtime& runtime) { return deps.wire(runtime); };
  return earshot::run_service(argc, argv, def);
}
