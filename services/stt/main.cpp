// earshot-stt: decodes and measures call audio and transcribes it (transcribe.{bid} -> analyze.{bid})
// Wiring only; the stage logic lives in libs/ and arrives with its issue.
#include "fleet_dependencies.hpp"

int main(int argc, char** argv) {
  earshot::fleet::Dependencies deps;
  earshot::ServiceDefinition def;
  def.name = "stt";
  def.summary = "decodes and measures call audio and transcribes it (transcribe.{bid} -> analyze.{bid})";
  def.default_admin_port = 18092;
  def.declare = [&](earshot::ConfigSpec& spec) { deps.declare(spec); };
  def.wire = [&](earshot::Runtime& runtime) { return deps.wire(runtime); };
  return earshot::run_service(argc, argv, def);
}
