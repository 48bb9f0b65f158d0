#pragma once
// The real fleet as child processes, for end-to-end suites and benchmarks: the five binaries
// (gateway, sync, stt, analyze, notify), any number of instances of each, one environment
// shared by all plus overrides per binary, each instance on its own admin port (and the
// gateway on its own API port). An instance can be killed (SIGKILL, no drain) and started
// again with the same environment and ports; /readyz, /metrics and the process's resident
// memory and open descriptors (/proc) can be read at any time. Every instance's output is
// kept across restarts, so a failing suite can show what a binary said before it was killed.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace earshot::testing {

struct FleetOptions {
  // Binaries to run and how many instances of each (a binary left out is not started).
  std::map<std::string, int> instances{{"gateway", 1}, {"sync", 1}, {"stt", 1}, {"analyze", 1}, {"notify", 1}};
  // The environment of every instance (EARSHOT_MYSQL_*, EARSHOT_AMQP_URL, master keys, ...).
  std::map<std::string, std::string> env;
  // Added to (and winning over) `env` for one binary ("stt" -> {EARSHOT_OBJECT_STORE_DIR, ...}).
  std::map<std::string, std::map<std::string, std::string>> env_by_binary;
  std::string bin_dir = EARSHOT_BIN_DIR;
  std::chrono::milliseconds ready_deadline = std::chrono::seconds(60);
};

// One running (or killed) instance of a binary.
struct FleetMember {
  std::string binary;  // "stt"
  int index = 0;
  int admin_port = 0;
  int http_port = 0;  // gateway only
  std::map<std::string, std::string> env;
  std::unique_ptr<ChildProcess> process;
  std::string earlier_output;  // what earlier runs of this instance printed
  int starts = 0;
};

struct ProcessStats {
  std::int64_t rss_bytes = 0;
  int open_fds = 0;
};

class Fleet {
 public:
  explicit Fleet(FleetOptions options);
  ~Fleet();  // SIGTERM to every running instance, SIGKILL after a short grace
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Starts every instance and waits until each answers /readyz 200. False (with the
  // reason in error()) when one exits or misses the deadline.
  [[nodiscard]] bool start();
  [[nodiscard]] const std::string& error() const { return error_; }

  [[nodiscard]] std::vector<std::string> binaries() const;
  [[nodiscard]] int count(const std::string& binary) const;

  // SIGKILL (the process gets no chance to drain) and reap.
  void kill(const std::string& binary, int index = 0);
  // Starts a killed or stopped instance again, same environment and ports. True when the
  // process started (readiness is wait_ready's).
  [[nodiscard]] bool restart(const std::string& binary, int index = 0);
  // SIGTERM and wait up to `deadline` for the exit; its exit code.
  std::optional<int> stop(const std::string& binary, int index, std::chrono::milliseconds deadline);

  [[nodiscard]] bool running(const std::string& binary, int index = 0);
  [[nodiscard]] bool ready(const std::string& binary, int index = 0);
  // Polls /readyz until 200; false when the process exits or the deadline passes.
  [[nodiscard]] bool wait_ready(const std::string& binary, int index, std::chrono::milliseconds deadline);
  [[nodiscard]] HttpResult metrics(const std::string& binary, int index = 0);
  [[nodiscard]] std::optional<ProcessStats> stats(const std::string& binary, int index = 0);

  [[nodiscard]] int admin_port(const std::string& binary, int index = 0) const;
  [[nodiscard]] int api_port(int index = 0) const;  // a gateway's API listener
  [[nodiscard]] pid_t pid(const std::string& binary, int index = 0) const;
  // Everything the instance printed, over all its runs.
  [[nodiscard]] std::string output(const std::string& binary, int index = 0) const;
  // The last `lines` lines of every instance's output, each under a heading.
  [[nodiscard]] std::string tails(int lines) const;

 private:
  FleetMember& member(const std::string& binary, int index);
  [[nodiscard]] const FleetMember& member(const std::string& binary, int index) const;
  bool launch(FleetMember& m);

  FleetOptions options_;
  mutable std::mutex mu_;  // members_' processes (kill/restart from a driver thread)
  std::vector<std::unique_ptr<FleetMember>> members_;
  std::string error_;
};

// A value of one series of a Prometheus text exposition: `name{labels}` exactly as printed
// (labels in the order the binary prints them), or `name` alone. nullopt when absent.
[[nodiscard]] std::optional<double> metric_value(const std::string& exposition, const std::string& series);

}  // namespace earshot::testing
