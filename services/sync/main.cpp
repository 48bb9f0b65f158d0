// earshot-sync: pulls calls from source databases, CRMs, uploads and feeds into transcribe queues
// Wiring only; the stage logic lives in libs/ and arrives with its issue.
#include "fleet_dependencies.hpp"

int main(int argc, char** argv) {
  earshot::fleet::Dependencies deps;
  earshot::ServiceDefinition def;
  def.name = "sync";
  def.summary = "pulls calls from source databases, CRMs, uploads and feeds into transcribe queues";
  def.default_admin_port = 18091;
  def.declare = [&](earshot::ConfigSpec& spec) { deps.declare(spec); };
  def.wire = [&](earshot::Runtime& runtime) { return deps.wire(runtime); };
  return earshot::run_service(argc, argv, def);
}
