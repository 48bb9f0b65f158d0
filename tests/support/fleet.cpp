#include "fleet.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_env.hpp"

namespace earshot::testing {

using namespace std::chrono_literals;

Fleet::Fleet(FleetOptions options) : options_(std::move(options)) {
  for (const auto& [binary, n] : options_.instances) {
    for (int i = 0; i < n; ++i) {
      auto m = std::make_unique<FleetMember>();
      m->binary = binary;
      m->index = i;
      m->env = options_.env;
      if (auto it = options_.env_by_binary.find(binary); it != options_.env_by_binary.end()) {
        for (const auto& [k, v] : it->second) m->env[k] = v;
      }
      m->admin_port = free_port();
      m->env["EARSHOT_ADMIN_PORT"] = std::to_string(m->admin_port);
      if (binary == "gateway") {
        m->http_port = free_port();
        m->env["EARSHOT_HTTP_PORT"] = std::to_string(m->http_port);
      }
      members_.push_back(std::move(m));
    }
  }
}

Fleet::~Fleet() {
  std::lock_guard lock(mu_);
  for (auto& m : members_) {
    if (m->process && m->process->running()) m->process->signal(SIGTERM);
  }
  for (auto& m : members_) {
    if (m->process && !m->process->wait_exit(10s)) m->process->signal(SIGKILL);
    m->process.reset();
  }
}

bool Fleet::launch(FleetMember& m) {
  if (m.process) {
    m.earlier_output += m.process->output();
    m.earlier_output += fmt::format("---- earshot-{}[{}]: run {} ended ----\n", m.binary, m.index, m.starts);
  }
  m.process =
      std::make_unique<ChildProcess>(options_.bin_dir + "/earshot-" + m.binary, std::vector<std::string>{}, m.env);
  ++m.starts;
  return m.process->start();
}

bool Fleet::start() {
  {
    std::lock_guard lock(mu_);
    for (auto& m : members_) {
      if (!launch(*m)) {
        error_ = fmt::format("earshot-{}[{}] could not be started", m->binary, m->index);
        return false;
      }
    }
  }
  for (auto& m : members_) {
    if (!wait_ready(m->binary, m->index, options_.ready_deadline)) {
      error_ = fmt::format("earshot-{}[{}] never became ready; its output:\n{}", m->binary, m->index,
                           output(m->binary, m->index));
      return false;
    }
  }
  return true;
}

std::vector<std::string> Fleet::binaries() const {
  std::vector<std::string> out;
  for (const auto& [binary, n] : options_.instances) {
    if (n > 0) out.push_back(binary);
  }
  return out;
}

int Fleet::count(const std::string& binary) const {
  auto it = options_.instances.find(binary);
  return it == options_.instances.end() ? 0 : it->second;
}

FleetMember& Fleet::member(const std::string& binary, int index) {
  for (auto& m : members_) {
    if (m->binary == binary && m->index == index) return *m;
  }
  throw std::out_of_range(fmt::format("no fleet member earshot-{}[{}]", binary, index));
}

const FleetMember& Fleet::member(const std::string& binary, int index) const {
  for (const auto& m : members_) {
    if (m->binary == binary && m->index == index) return *m;
  }
  throw std::out_of_range(fmt::format("no fleet member earshot-{}[{}]", binary, index));
}

void Fleet::kill(const std::string& binary, int index) {
  std::lock_guard lock(mu_);
  auto& m = member(binary, index);
  if (!m.process) return;
  m.process->signal(SIGKILL);
  (void)m.process->wait_exit(10s);
}

bool Fleet::restart(const std::string& binary, int index) {
  std::lock_guard lock(mu_);
  auto& m = member(binary, index);
  if (m.process && m.process->running()) {
    m.process->signal(SIGKILL);
    (void)m.process->wait_exit(10s);
  }
  return launch(m);
}

std::optional<int> Fleet::stop(const std::string& binary, int index, std::chrono::milliseconds deadline) {
  std::lock_guard lock(mu_);
  auto& m = member(binary, index);
  if (!m.process) return std::nullopt;
  m.process->signal(SIGTERM);
  return m.process->wait_exit(deadline);
}

bool Fleet::running(const std::string& binary, int index) {
  std::lock_guard lock(mu_);
  auto& m = member(binary, index);
  return m.process && m.process->running();
}

bool Fleet::ready(const std::string& binary, int index) {
  return http_get("127.0.0.1", admin_port(binary, index), "/readyz", 1s).status == 200;
}

bool Fleet::wait_ready(const std::string& binary, int index, std::chrono::milliseconds deadline) {
  return wait_until([&] { return !running(binary, index) || ready(binary, index); }, deadline, 100ms) &&
         running(binary, index) && ready(binary, index);
}

HttpResult Fleet::metrics(const std::string& binary, int index) {
  return http_get("127.0.0.1", admin_port(binary, index), "/metrics", 2s);
}

std::optional<ProcessStats> Fleet::stats(const std::string& binary, int index) {
  const pid_t p = pid(binary, index);
  if (p <= 0 || !running(binary, index)) return std::nullopt;
  ProcessStats s;
  std::ifstream status(fmt::format("/proc/{}/status", p));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_bytes = std::stoll(line.substr(6)) * 1024;  // "VmRSS:  1234 kB"
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", p), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++s.open_fds;
  }
  return s;
}

int Fleet::admin_port(const std::string& binary, int index) const {
  return member(binary, index).admin_port;
}

int Fleet::api_port(int index) const {
  return member("gateway", index).http_port;
}

pid_t Fleet::pid(const std::string& binary, int index) const {
  std::lock_guard lock(mu_);
  const auto& m = member(binary, index);
  return m.process ? m.process->pid() : -1;
}

std::string Fleet::output(const std::string& binary, int index) const {
  std::lock_guard lock(mu_);
  const auto& m = member(binary, index);
  return m.earlier_output + (m.process ? m.process->output() : std::string());
}

std::string Fleet::tails(int lines) const {
  std::string out;
  for (const auto& m : members_) {
    const std::string all = output(m->binary, m->index);
    std::size_t at = all.size();
    for (int n = 0; n <= lines && at != std::string::npos && at > 0; ++n) at = all.rfind('\n', at - 1);
    out += fmt::format("---- earshot-{}[{}] (started {} times), last {} lines ----\n{}\n", m->binary, m->index,
                       m->starts, lines, at == std::string::npos || all.empty() ? all : all.substr(at + 1));
  }
  return out;
}

std::optional<double> metric_value(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      try {
        return std::stod(line.substr(series.size() + 1));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

}  // namespace earshot::testing
