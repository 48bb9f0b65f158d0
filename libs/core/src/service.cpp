#include "earshot/core/service.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "earshot/core/log.hpp"
#include "earshot_build_info.hpp"

namespace earshot {

std::string_view build_version() {
  return kBuildVersion;
}
std::string_view build_commit() {
  return kBuildCommit;
}

void RuntimeSettings::declare(ConfigSpec& spec, std::int64_t default_admin_port) {
  spec.add_enum("log_level", &log_level, "info", {"trace", "debug", "info", "warn", "error"}, "Minimum log level.");
  spec.add_enum("log_format", &log_format, "json", {"json", "text"},
                "Log line format (json for production, text for reading by eye).");
  spec.add_string("admin_host", &admin_host, "127.0.0.1",
                  "Address of the admin listener (/metrics, /healthz, /readyz).");
  spec.add_int("admin_port", &admin_port, default_admin_port, 0, 65535,
               "Port of the admin listener; 0 picks a free one.");
  spec.add_duration("shutdown_grace", &shutdown_grace, std::chrono::seconds(3), std::chrono::milliseconds(0),
                    std::chrono::minutes(10), "How long in-flight work may finish after SIGTERM.");
  spec.add_duration("dependency_check_interval", &dependency_check_interval, std::chrono::seconds(1),
                    std::chrono::milliseconds(50), std::chrono::minutes(1), "How often dependencies are pinged.");
  spec.add_string("instance_id", &instance_id, "",
                  "Name of this process in logs and consumer tags (default: hostname-pid).");
}

struct Runtime::Impl {
  std::vector<std::unique_ptr<Component>> components;
  std::size_t started = 0;
  std::vector<std::unique_ptr<DependencyMonitor>> monitors;
  httplib::Server admin;
  std::thread admin_thread;
  int admin_port = 0;
  std::mutex mu;
  std::condition_variable cv;
  bool shutdown_requested = false;
  prometheus::Gauge* ready_gauge = nullptr;
};

Runtime::Runtime(std::string service, RuntimeSettings settings, Clock& clock)
    : service_(std::move(service)),
      settings_(std::move(settings)),
      clock_(clock),
      metrics_(service_, std::string(build_version()), std::string(build_commit())),
      health_(metrics_),
      impl_(std::make_unique<Impl>()) {
  impl_->ready_gauge = &metrics_.gauge("earshot_ready", "1 when /readyz answers 200, else 0.").Add({});
}

Runtime::~Runtime() {
  if (impl_->admin_thread.joinable()) {
    impl_->admin.stop();
    impl_->admin_thread.join();
  }
}

void Runtime::add_component(std::unique_ptr<Component> component) {
  impl_->components.push_back(std::move(component));
}

void Runtime::add_dependency(std::unique_ptr<DependencyProbe> probe) {
  auto& state = health_.add(probe->name());
  DependencyMonitor::Options opts;
  opts.interval = settings_.dependency_check_interval;
  impl_->monitors.push_back(std::make_unique<DependencyMonitor>(std::move(probe), state, metrics_, opts));
}

int Runtime::admin_port() const {
  return impl_->admin_port;
}

Status Runtime::start() {
  health_.set_starting(true);
  auto& srv = impl_->admin;
  srv.new_task_queue = [] { return new httplib::ThreadPool(2); };
  srv.set_read_timeout(5, 0);
  srv.set_write_timeout(5, 0);
  srv.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"alive"})", "application/json");
  });
  srv.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto report = health_.readiness();
    impl_->ready_gauge->Set(report.ready ? 1 : 0);
    res.status = report.ready ? 200 : 503;
    res.set_content(report.json, "application/json");
  });
  srv.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(fmt::format(R"({{"error":{{"code":"{}","message":"no such admin route"}}}})",
                                  res.status == 404 ? "not_found" : "invalid_argument"),
                      "application/json");
    }
  });
  int port = static_cast<int>(settings_.admin_port);
  if (port == 0) {
    port = srv.bind_to_any_port(settings_.admin_host);
  } else if (!srv.bind_to_port(settings_.admin_host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("admin listener cannot bind {}:{}", settings_.admin_host, settings_.admin_port));
  }
  impl_->admin_port = port;
  impl_->admin_thread = std::thread([&srv] { srv.listen_after_bind(); });
  log::info("admin listener started", {{"address", fmt::format("http://{}:{}", settings_.admin_host, port)}});

  for (auto& m : impl_->monitors) m->start();
  for (auto& c : impl_->components) {
    if (auto st = c->start(); !st) {
      return std::unexpected(st.error().with_context(fmt::format("starting {}", c->name())));
    }
    ++impl_->started;
  }
  health_.set_starting(false);
  return {};
}

void Runtime::request_shutdown() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->shutdown_requested = true;
  }
  impl_->cv.notify_all();
}

int Runtime::wait_and_shutdown() {
  {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait(lock, [this] { return impl_->shutdown_requested; });
  }
  const auto t0 = clock_.steady_now();
  const auto deadline = t0 + settings_.shutdown_grace;
  health_.set_draining();
  impl_->ready_gauge->Set(0);
  log::info("shutting down", {{"grace_ms", std::to_string(settings_.shutdown_grace.count())}});

  auto& comps = impl_->components;
  const std::size_t n = impl_->started;
  for (std::size_t i = n; i-- > 0;) comps[i]->stop_intake();
  for (std::size_t i = n; i-- > 0;) comps[i]->drain(deadline);
  for (std::size_t i = n; i-- > 0;) comps[i]->stop();
  for (auto& m : impl_->monitors) m->stop();
  impl_->admin.stop();
  if (impl_->admin_thread.joinable()) impl_->admin_thread.join();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - t0);
  log::info("stopped", {{"shutdown_ms", std::to_string(took.count())}});
  return 0;
}

namespace {

void print_help(const ServiceDefinition& def, const ConfigSpec& spec) {
  std::cout << fmt::format(
      "earshot-{} {} - {}\n\n"
      "Usage: earshot-{} [--config FILE] [--check-config] [--help] [--version]\n\n"
      "Options:\n"
      "  --config FILE    read settings from a JSON object of key: value (env wins)\n"
      "  --check-config   validate the configuration, print it (secrets masked), exit\n"
      "  --help           this text\n"
      "  --version        version and commit\n\n"
      "Configuration (environment variables; the same keys, lower-case without EARSHOT_,\n"
      "in the config file; an unknown EARSHOT_* variable is an error):\n{}\n"
      "Signals: SIGTERM/SIGINT stop intake, drain in-flight work for EARSHOT_SHUTDOWN_GRACE,\n"
      "then exit 0.\n",
      def.name, build_version(), def.summary, def.name, spec.help_text());
}

}  // namespace

void tune_allocator() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

int run_service(int argc, char** argv, const ServiceDefinition& def) {
  tune_allocator();
  const std::string binary = "earshot-" + def.name;
  std::string config_file;
  bool check_only = false;
  bool want_help = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a(argv[i]);
    if (a == "--help" || a == "-h") {
      want_help = true;
    } else if (a == "--version") {
      std::cout << fmt::format("{} {} (commit {})\n", binary, build_version(), build_commit());
      return 0;
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--config" && i + 1 < argc) {
      config_file = argv[++i];
    } else if (a.starts_with("--config=")) {
      config_file = std::string(a.substr(9));
    } else {
      std::cerr << fmt::format("{}: unknown argument '{}' (see --help)\n", binary, a);
      return 2;
    }
  }

  RuntimeSettings settings;
  ConfigSpec spec;
  settings.declare(spec, def.default_admin_port);
  if (def.declare) def.declare(spec);
  if (want_help) {
    print_help(def, spec);
    return 0;
  }
  if (auto st = spec.load(current_environment(), config_file); !st) {
    std::cerr << fmt::format("{}: configuration error: {}\n", binary, st.error().message);
    return 2;
  }
  if (check_only) {
    for (const auto& [k, v] : spec.effective_values()) {
      std::cout << fmt::format("{}={}\n", env_name_for(k), v);
    }
    return 0;
  }
  if (settings.instance_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    settings.instance_id = fmt::format("{}-{}", host, getpid());
  }

  // Signals are taken by one thread with sigwait; block them before any thread starts so
  // every thread inherits the mask. SIGPIPE is ignored: broken sockets surface as errors.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);  // internal: wakes the signal thread at exit
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  log::init(def.name, settings.log_level, settings.log_format == "json" ? log::Format::kJson : log::Format::kText);
  {
    std::string dump;
    for (const auto& [k, v] : spec.effective_values()) dump += fmt::format("{}={} ", k, v);
    log::info("starting", {{"version", build_version()},
                           {"commit", build_commit()},
                           {"instance", settings.instance_id},
                           {"config", dump}});
  }

  Runtime runtime(def.name, settings, SystemClock::instance());
  std::atomic<int> signals_seen{0};
  std::thread signal_thread([&] {
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR1) return;
      if (signals_seen.fetch_add(1) == 0) {
        log::info("signal received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        runtime.request_shutdown();
      } else {
        log::warn("second signal: exiting without finishing the drain");
        std::fflush(nullptr);
        _exit(1);
      }
    }
  });
  int code = 0;
  Status wired = def.wire ? def.wire(runtime) : Status{};
  if (wired) wired = runtime.start();
  if (!wired) {
    log::error("start failed", {{"error", wired.error().to_string()}});
    runtime.request_shutdown();
    runtime.wait_and_shutdown();
    code = 1;
  } else {
    log::info("started", {{"admin_port", std::to_string(runtime.admin_port())}});
    code = runtime.wait_and_shutdown();
  }
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  return code;
}

}  // namespace earshot
