#include "fakes/stt/fake_server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "support/process.hpp"

namespace earshot::testing {

std::vector<FakeUtterance> default_script() {
  return {
      {0, 1, 0.0, 1.2, "Hello?"},
      {1, 0, 1.5, 4.5, "Thank you for calling Acme, how can I help you today?"},
      {0, 1, 5.0, 8.0, "My order has not arrived yet."},
      {1, 0, 8.4, 11.0, "Let me check that for you."},
  };
}

FakeProviderServer::FakeProviderServer(Options options) : options_(std::move(options)), script_(default_script()) {
  const int threads = options_.threads;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server_.set_keep_alive_max_count(100000);
  server_.set_tcp_nodelay(true);
  server_.set_read_timeout(30, 0);
  server_.set_payload_max_length(512ULL << 20);
}

FakeProviderServer::~FakeProviderServer() {
  stop();
}

bool FakeProviderServer::start() {
  routes();
  // Port 0: the kernel picks the port and the socket stays bound (no window for a race).
  const int port = server_.bind_to_any_port("127.0.0.1");
  if (port <= 0) return false;
  port_ = port;
  widen_listen_backlog(port);
  return start_accept_loop(server_, thread_, port);
}

void FakeProviderServer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
}

std::string FakeProviderServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void FakeProviderServer::fail_next(FailurePlan plan) {
  std::lock_guard lock(mu_);
  plan_ = std::move(plan);
}

void FakeProviderServer::set_script(std::vector<FakeUtterance> script) {
  std::lock_guard lock(mu_);
  script_ = std::move(script);
}

std::vector<FakeUtterance> FakeProviderServer::script() const {
  std::lock_guard lock(mu_);
  return script_;
}

std::vector<ReceivedRequest> FakeProviderServer::requests() const {
  std::lock_guard lock(mu_);
  return received_;
}

int FakeProviderServer::count(const std::string& prefix) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& r : received_) n += r.path.starts_with(prefix) ? 1 : 0;
  return n;
}

void FakeProviderServer::hold(bool on) {
  {
    std::lock_guard lock(mu_);
    holding_ = on;
  }
  cv_.notify_all();
}

void FakeProviderServer::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_; });
}

void FakeProviderServer::reply(httplib::Response& res, const Reply& r) {
  res.status = r.status;
  res.set_content(r.body, r.content_type.c_str());
}

bool FakeProviderServer::guard(const httplib::Request& req, httplib::Response& res) {
  struct InFlight {
    std::atomic<int>& n;
    explicit InFlight(std::atomic<int>& c, std::atomic<int>& peak) : n(c) {
      const int now = ++n;
      int prev = peak.load();
      while (now > prev && !peak.compare_exchange_weak(prev, now)) {
      }
    }
    ~InFlight() { --n; }
  } in_flight(concurrent_, max_concurrent_);

  std::optional<FailurePlan> failing;
  {
    std::lock_guard lock(mu_);
    received_.push_back({req.method, req.path, std::chrono::steady_clock::now()});
    if (plan_.count > 0 && req.path.starts_with(plan_.path_prefix)) {
      --plan_.count;
      failing = plan_;
    }
  }
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !holding_ || stopping_; });
  }
  if (never_answer_.load()) {
    pause(std::chrono::minutes(5));
    res.status = 504;
    return true;
  }
  if (const auto latency = latency_ms_.load(); latency > 0) pause(std::chrono::milliseconds(latency));
  if (failing) {
    reply(res, failure_reply(failing->kind));
    if (failing->retry_after_ms) res.set_header("retry-after-ms", std::to_string(*failing->retry_after_ms));
    if (failing->retry_after_s) res.set_header("Retry-After", std::to_string(*failing->retry_after_s));
    if (failing->retry_after_date) res.set_header("Retry-After", *failing->retry_after_date);
    return true;
  }
  return false;
}

void widen_listen_backlog(int port) {
  for (int fd = 0; fd < 65536; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0 || addr.ss_family != AF_INET) {
      continue;
    }
    sockaddr_in in{};
    std::memcpy(&in, &addr, sizeof in);
    if (ntohs(in.sin_port) == port) {
      ::listen(fd, 4096);
      return;
    }
  }
}

std::optional<int> marked_channel(const std::string& wav) {
  if (wav.size() < 44 || wav.compare(0, 4, "RIFF") != 0 || wav.compare(8, 4, "WAVE") != 0) {
    return std::nullopt;
  }
  const auto u16 = [&](std::size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(wav[at])) |
           (static_cast<unsigned>(static_cast<unsigned char>(wav[at + 1])) << 8);
  };
  const auto u32 = [&](std::size_t at) { return u16(at) | (u16(at + 2) << 16); };
  std::size_t pos = 12;
  int channels = 0;
  while (pos + 8 <= wav.size()) {
    const std::string id = wav.substr(pos, 4);
    const std::size_t len = u32(pos + 4);
    if (id == "fmt " && pos + 12 <= wav.size()) channels = static_cast<int>(u16(pos + 10));
    if (id == "data") {
      if (channels != 1 || pos + 10 > wav.size()) return std::nullopt;
      const auto sample = static_cast<std::int16_t>(u16(pos + 8));
      if (sample > 0) return 0;
      if (sample < 0) return 1;
      return std::nullopt;
    }
    pos += 8 + len + (len & 1);
  }
  return std::nullopt;
}

}  // namespace earshot::testing
