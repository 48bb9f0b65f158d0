#include "earshot/core/metrics.hpp"

#include <fmt/format.h>
#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace earshot {

std::string metric_name_problem(std::string_view name, MetricType type) {
  if (!name.starts_with("earshot_")) return "must start with earshot_";
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) != 0 || std::isdigit(static_cast<unsigned char>(c)) != 0 ||
          c == '_')) {
      return "must be lower snake_case";
    }
  }
  if (name.ends_with("_")) return "must not end with _";
  const bool total = name.ends_with("_total");
  if (type == MetricType::kCounter && !total) return "counter must end with _total";
  if (type != MetricType::kCounter && total) return "only counters end with _total";
  if (type == MetricType::kHistogram && !(name.ends_with("_seconds") || name.ends_with("_bytes") ||
                                          name.ends_with("_ratio") || name.ends_with("_items"))) {
    return "histogram must carry a unit suffix (_seconds, _bytes, _ratio, _items)";
  }
  return {};
}

namespace {

void check_name(const std::string& name, MetricType type) {
  if (auto problem = metric_name_problem(name, type); !problem.empty()) {
    throw std::logic_error(fmt::format("bad metric name {}: {}", name, problem));
  }
}

// Linux process metrics read from /proc/self, in the names Prometheus clients use.
class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector() {
    // Process start time: boot time + starttime ticks.
    std::ifstream stat("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), {});
    auto fields = fields_after_comm(content);
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double boot = 0;
    std::ifstream s("/proc/stat");
    std::string line;
    while (std::getline(s, line)) {
      if (line.starts_with("btime ")) boot = std::stod(line.substr(6));
    }
    if (fields.size() > 19) start_time_ = boot + std::stod(fields[19]) / ticks;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::ifstream stat("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), {});
    auto f = fields_after_comm(content);
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double cpu = 0, vsize = 0, rss = 0, threads = 0;
    if (f.size() > 21) {
      cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;  // utime + stime
      threads = std::stod(f[17]);
      vsize = std::stod(f[20]);
      rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
    }
    double fds = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      fds += 1;
    }
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);

    std::vector<prometheus::MetricFamily> out;
    out.push_back(one("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                      prometheus::MetricType::Counter, cpu));
    out.push_back(
        one("process_resident_memory_bytes", "Resident memory size in bytes.", prometheus::MetricType::Gauge, rss));
    out.push_back(
        one("process_virtual_memory_bytes", "Virtual memory size in bytes.", prometheus::MetricType::Gauge, vsize));
    out.push_back(one("process_open_fds", "Number of open file descriptors.", prometheus::MetricType::Gauge, fds));
    out.push_back(one("process_max_fds", "Maximum number of open file descriptors.", prometheus::MetricType::Gauge,
                      static_cast<double>(rl.rlim_cur)));
    out.push_back(
        one("process_threads", "Number of OS threads in the process.", prometheus::MetricType::Gauge, threads));
    out.push_back(one("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                      prometheus::MetricType::Gauge, start_time_));
    return out;
  }

 private:
  // /proc/self/stat: "pid (comm) state ..."; comm may contain spaces, so split after ')'.
  // Returned index 0 is field 3 (state).
  static std::vector<std::string> fields_after_comm(const std::string& content) {
    std::vector<std::string> out;
    auto pos = content.rfind(')');
    if (pos == std::string::npos) return out;
    std::istringstream in(content.substr(pos + 2));
    std::string tok;
    while (in >> tok) out.push_back(tok);
    return out;
  }

  static prometheus::MetricFamily one(std::string name, std::string help, prometheus::MetricType type, double value) {
    prometheus::MetricFamily fam;
    fam.name = std::move(name);
    fam.help = std::move(help);
    fam.type = type;
    prometheus::ClientMetric m;
    if (type == prometheus::MetricType::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
    fam.metric.push_back(m);
    return fam;
  }

  double start_time_ = 0;
};

}  // namespace

Metrics::Metrics(std::string service, std::string version, std::string commit)
    : service_(std::move(service)),
      registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()) {
  gauge("earshot_build_info", "Build of the running binary; always 1.")
      .Add({{"service", service_}, {"version", version}, {"commit", commit}})
      .Set(1);
}

prometheus::Family<prometheus::Counter>& Metrics::counter(const std::string& name, const std::string& help) {
  check_name(name, MetricType::kCounter);
  return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
}

prometheus::Family<prometheus::Gauge>& Metrics::gauge(const std::string& name, const std::string& help) {
  check_name(name, MetricType::kGauge);
  return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
}

prometheus::Family<prometheus::Histogram>& Metrics::histogram(const std::string& name, const std::string& help) {
  check_name(name, MetricType::kHistogram);
  return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
}

std::string Metrics::serialize() const {
  auto families = registry_->Collect();
  auto proc = process_->Collect();
  families.insert(families.end(), proc.begin(), proc.end());
  return prometheus::TextSerializer().Serialize(families);
}

prometheus::Histogram::BucketBoundaries Metrics::latency_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

}  // namespace earshot
