#pragma once
// The process's Prometheus registry and the project's metric naming rules.
//
// Naming: every project metric is `earshot_<snake_case>`; counters end in `_total`; durations
// are histograms in `_seconds`; sizes in `_bytes`. Registering a name that breaks the rules
// is a programming error and throws std::logic_error at start-up, so a bad name never ships.
// Process metrics (process_cpu_seconds_total, process_resident_memory_bytes, ...) and
// earshot_build_info{service,version,commit} are exported by every binary.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace earshot {

enum class MetricType { kCounter, kGauge, kHistogram };

// Empty string when `name` is valid for `type`, else the reason it is not.
[[nodiscard]] std::string metric_name_problem(std::string_view name, MetricType type);

class Metrics {
 public:
  Metrics(std::string service, std::string version, std::string commit);

  prometheus::Family<prometheus::Counter>& counter(const std::string& name, const std::string& help);
  prometheus::Family<prometheus::Gauge>& gauge(const std::string& name, const std::string& help);
  prometheus::Family<prometheus::Histogram>& histogram(const std::string& name, const std::string& help);

  // Exposition text (format 0.0.4) of every metric, process metrics included.
  [[nodiscard]] std::string serialize() const;

  [[nodiscard]] const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }
  [[nodiscard]] const std::string& service() const { return service_; }

  // Default buckets for latency histograms, in seconds (5 ms .. 5 min).
  static prometheus::Histogram::BucketBoundaries latency_buckets();

 private:
  std::string service_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_;
};

}  // namespace earshot
