#include "earshot/core/health.hpp"

#include <nlohmann/json.hpp>

#include "earshot/core/backoff.hpp"
#include "earshot/core/log.hpp"

namespace earshot {

void DependencyState::set_up() {
  std::lock_guard lock(mu_);
  reason_.clear();
  up_.store(true);
  up_gauge_->Set(1);
}

void DependencyState::set_down(std::string reason) {
  std::lock_guard lock(mu_);
  reason_ = std::move(reason);
  up_.store(false);
  up_gauge_->Set(0);
}

std::string DependencyState::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

HealthRegistry::HealthRegistry(Metrics& metrics) : metrics_(metrics) {}

DependencyState& HealthRegistry::add(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& gauge = metrics_.gauge("earshot_dependency_up", "1 when the dependency answered its last check, else 0.")
                    .Add({{"dependency", name}});
  deps_.push_back(std::make_unique<DependencyState>(name, &gauge));
  return *deps_.back();
}

HealthRegistry::Report HealthRegistry::readiness() const {
  nlohmann::json deps = nlohmann::json::object();
  bool ready = !draining_.load() && !starting_.load();
  {
    std::lock_guard lock(mu_);
    for (const auto& d : deps_) {
      const bool up = d->up();
      ready = ready && up;
      nlohmann::json entry{{"up", up}};
      if (!up) entry["reason"] = d->reason();
      deps[d->name()] = std::move(entry);
    }
  }
  nlohmann::json body{{"status", ready ? "ready" : "unavailable"},
                      {"starting", starting_.load()},
                      {"draining", draining_.load()},
                      {"dependencies", std::move(deps)}};
  return {ready, body.dump()};
}

DependencyMonitor::DependencyMonitor(std::unique_ptr<DependencyProbe> probe, DependencyState& state, Metrics& metrics,
                                     Options options)
    : probe_(std::move(probe)), state_(state), options_(options) {
  reconnects_ =
      &metrics.counter("earshot_dependency_connect_failures_total", "Failed connection attempts to a dependency.")
           .Add({{"dependency", state_.name()}});
}

DependencyMonitor::~DependencyMonitor() {
  stop();
}

void DependencyMonitor::start() {
  thread_ = std::thread([this] { run(); });
}

void DependencyMonitor::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool DependencyMonitor::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void DependencyMonitor::run() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  bool connected = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (!connected) {
      if (auto st = probe_->connect(); st) {
        connected = true;
        backoff.reset();
        state_.set_up();
        log::info("dependency connected", {{"dependency", state_.name()}});
      } else {
        reconnects_->Increment();
        const bool was_up = state_.up();
        state_.set_down(st.error().to_string());
        if (was_up || backoff.attempts() == 0) {
          log::warn("dependency unavailable", {{"dependency", state_.name()}, {"error", st.error().to_string()}});
        }
        if (!sleep_for(backoff.next())) break;
        continue;
      }
    }
    if (!sleep_for(options_.interval)) break;
    if (auto st = probe_->ping(); !st) {
      log::warn("dependency check failed", {{"dependency", state_.name()}, {"error", st.error().to_string()}});
      state_.set_down(st.error().to_string());
      probe_->close();
      connected = false;
    }
  }
  probe_->close();
}

}  // namespace earshot
