#pragma once
// Liveness and readiness.
//
// HealthRegistry holds one DependencyState per external dependency (mysql, rabbitmq, redis,
// ...). /healthz answers 200 while the process runs; /readyz answers 200 only when every
// registered dependency is up and the process is not draining, else 503 with the reasons.
//
// DependencyMonitor keeps one dependency's state current from a background thread: it
// connects (with jittered exponential backoff between failures), pings at an interval while
// connected, and on a failed ping drops the connection and reconnects.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"

namespace earshot {

class DependencyState {
 public:
  DependencyState(std::string name, prometheus::Gauge* up_gauge) : name_(std::move(name)), up_gauge_(up_gauge) {}
  void set_up();
  void set_down(std::string reason);
  [[nodiscard]] bool up() const { return up_.load(); }
  [[nodiscard]] std::string reason() const;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
  prometheus::Gauge* up_gauge_;
  std::atomic<bool> up_{false};
  mutable std::mutex mu_;
  std::string reason_ = "not connected yet";
};

class HealthRegistry {
 public:
  explicit HealthRegistry(Metrics& metrics);
  // The returned state lives as long as the registry.
  DependencyState& add(const std::string& name);
  void set_draining() { draining_.store(true); }
  [[nodiscard]] bool draining() const { return draining_.load(); }
  // Not ready while starting: the runtime sets it before its admin listener opens and clears
  // it once every component has started (a gateway's API listener is bound), so /readyz
  // never sends traffic to a port that is not listening yet.
  void set_starting(bool starting) { starting_.store(starting); }

  struct Report {
    bool ready = false;
    std::string json;  // {"status":"ready"|"unavailable","starting":bool,"draining":bool,"dependencies":{...}}
  };
  [[nodiscard]] Report readiness() const;

 private:
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<DependencyState>> deps_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> starting_{false};
};

// One dependency's connection, as the monitor sees it. Implementations live with the client
// they probe (libs/storage, libs/queue, libs/cache); all calls come from the monitor thread.
class DependencyProbe {
 public:
  virtual ~DependencyProbe() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // Establishes the connection; must honour its own connect deadline.
  [[nodiscard]] virtual Status connect() = 0;
  // Checks the open connection with a short deadline.
  [[nodiscard]] virtual Status ping() = 0;
  virtual void close() = 0;
};

class DependencyMonitor {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds backoff_initial{200};
    std::chrono::milliseconds backoff_max{5000};
  };
  DependencyMonitor(std::unique_ptr<DependencyProbe> probe, DependencyState& state, Metrics& metrics, Options options);
  ~DependencyMonitor();
  DependencyMonitor(const DependencyMonitor&) = delete;
  DependencyMonitor& operator=(const DependencyMonitor&) = delete;

  void start();
  void stop();

 private:
  void run();
  bool sleep_for(std::chrono::milliseconds d);  // false when stopping

  std::unique_ptr<DependencyProbe> probe_;
  DependencyState& state_;
  Options options_;
  prometheus::Counter* reconnects_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace earshot
