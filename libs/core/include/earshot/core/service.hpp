#pragma once
// The lifecycle every Earshot binary shares.
//
//   int main(int argc, char** argv) { return earshot::run_service(argc, argv, definition); }
//
// run_service parses --help / --version / --config FILE / --check-config, loads the typed
// config (runtime keys below plus the service's own), starts JSON logging and the admin HTTP
// listener (/metrics, /healthz, /readyz), lets the definition wire its components and
// dependency probes, starts the probes, then the components in order. On SIGTERM or SIGINT:
// /readyz turns 503 (draining), components stop intake (reverse order), drain in-flight work
// until the shutdown deadline, stop (reverse order), and the process exits 0.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/health.hpp"
#include "earshot/core/metrics.hpp"

namespace earshot {

// Build identity, set by CMake.
[[nodiscard]] std::string_view build_version();
[[nodiscard]] std::string_view build_commit();

// A long-lived part of a service (a consumer, an HTTP server, a scheduler).
class Component {
 public:
  virtual ~Component() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // Begin work. Called after every earlier component started.
  [[nodiscard]] virtual Status start() = 0;
  // Stop taking new work (stop consuming, stop accepting connections). Must not block long.
  virtual void stop_intake() {}
  // Finish in-flight work until `deadline`; work not finished by then is left for redelivery.
  virtual void drain(std::chrono::steady_clock::time_point deadline) { (void)deadline; }
  // Release resources. Called in reverse start order.
  virtual void stop() = 0;
};

struct RuntimeSettings {
  std::string log_level;
  std::string log_format;
  std::string admin_host;
  std::int64_t admin_port = 0;
  std::chrono::milliseconds shutdown_grace{0};
  std::chrono::milliseconds dependency_check_interval{0};
  std::string instance_id;

  // Declares log_level, log_format, admin_host, admin_port, shutdown_grace,
  // dependency_check_interval, instance_id. `default_admin_port` differs per binary so a
  // whole fleet runs on one host without clashes.
  void declare(ConfigSpec& spec, std::int64_t default_admin_port);
};

class Runtime {
 public:
  Runtime(std::string service, RuntimeSettings settings, Clock& clock);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  [[nodiscard]] const std::string& service() const { return service_; }
  [[nodiscard]] const RuntimeSettings& settings() const { return settings_; }
  [[nodiscard]] Metrics& metrics() { return metrics_; }
  [[nodiscard]] HealthRegistry& health() { return health_; }
  [[nodiscard]] Clock& clock() { return clock_; }

  void add_component(std::unique_ptr<Component> component);
  // Watches a dependency: its state shows in /readyz and earshot_dependency_up.
  void add_dependency(std::unique_ptr<DependencyProbe> probe);

  // Starts the admin listener, the dependency monitors and the components.
  [[nodiscard]] Status start();
  // Asks run-to-completion to begin shutdown (from any thread).
  void request_shutdown();
  // Blocks until request_shutdown(), then shuts down in order. Returns the exit code.
  int wait_and_shutdown();
  // Port the admin listener bound (useful when admin_port is 0).
  [[nodiscard]] int admin_port() const;

 private:
  struct Impl;
  std::string service_;
  RuntimeSettings settings_;
  Clock& clock_;
  Metrics metrics_;
  HealthRegistry health_;
  std::unique_ptr<Impl> impl_;
};

struct ServiceDefinition {
  std::string name;     // short name: "stt"; the binary is earshot-<name>
  std::string summary;  // one line for --help
  std::int64_t default_admin_port = 0;
  // Declares the service's own config keys, bound to fields the definition owns.
  std::function<void(ConfigSpec&)> declare;
  // Creates components and dependency probes once config is loaded.
  std::function<Status(Runtime&)> wire;
};

// Calls tune_allocator(), then parses flags and config, wires and runs the service.
int run_service(int argc, char** argv, const ServiceDefinition& definition);

// Sets the heap to keep freed blocks of up to 32 MiB mapped (glibc: the mmap threshold at
// 32 MiB, trimming above 64 MiB) rather than returning each one to the kernel. A worker
// decodes a call into channel buffers of about 10 MB and frees them; without this every
// call re-faults those pages, which measured half of the decode time. Memory stays bounded
// by the largest working set (plus 64 MiB of trim slack). Called once at start; benches
// call it too so they measure what the binaries do.
void tune_allocator();

}  // namespace earshot
