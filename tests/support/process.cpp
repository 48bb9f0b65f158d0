#include "process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "test_env.hpp"

extern char** environ;  // NOLINT

namespace earshot::testing {

ChildProcess::ChildProcess(std::string path, std::vector<std::string> args, std::map<std::string, std::string> env)
    : path_(std::move(path)), args_(std::move(args)), env_(std::move(env)) {
  if (!env_.contains("PATH")) {
    const char* p = std::getenv("PATH");
    env_["PATH"] = p != nullptr ? p : "/usr/bin:/bin";
  }
  static std::mt19937_64 rng(std::random_device{}());
  log_path_ = fmt::format("/tmp/earshot-test-child-{}-{:x}.log", getpid(), rng());
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  std::remove(log_path_.c_str());
}

bool ChildProcess::start() {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> argv_s{path_};
  argv_s.insert(argv_s.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env_) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  // The child must not inherit a blocked signal mask from a test's threads.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const int rc = posix_spawn(&pid_, path_.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0;
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds deadline) {
  if (status_) return status_;
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool ChildProcess::running() {
  return !wait_exit(std::chrono::milliseconds(0)).has_value();
}

std::string ChildProcess::output() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run_command(const std::string& shell_command, std::optional<std::string> stdin_text) {
  CommandResult result;
  std::string cmd = shell_command + " 2>&1";
  std::string in_path;
  if (stdin_text) {
    in_path = fmt::format("/tmp/earshot-test-stdin-{}-{}", getpid(),
                          std::hash<std::thread::id>{}(std::this_thread::get_id()));
    std::ofstream(in_path) << *stdin_text;
    cmd = "(" + shell_command + ") < " + in_path + " 2>&1";
  }
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return result;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) result.output.append(buf.data(), n);
  const int st = pclose(p);
  result.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (!in_path.empty()) std::remove(in_path.c_str());
  return result;
}

HttpResult http_get(const std::string& host, int port, const std::string& path, std::chrono::milliseconds timeout) {
  httplib::Client cli(host, port);
  const auto ms = timeout.count();
  cli.set_connection_timeout(ms / 1000, (ms % 1000) * 1000);
  cli.set_read_timeout(ms / 1000, (ms % 1000) * 1000);
  auto res = cli.Get(path);
  if (!res) return {};
  return {res->status, res->body};
}

int free_port() {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> dist(21000, 22999);
  for (int i = 0; i < 200; ++i) {
    const int port = dist(rng);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok) return port;
  }
  return 0;
}

bool start_accept_loop(httplib::Server& server, std::thread& thread, int port, std::chrono::milliseconds deadline) {
  // 0: not started; 1: the loop was entered; 2: given up (the loop must never start);
  // 3: the loop returned.
  auto state = std::make_shared<std::atomic<int>>(0);
  thread = std::thread([&server, state] {
    int expected = 0;
    if (state->compare_exchange_strong(expected, 1)) {
      server.listen_after_bind();
      state->store(3);
    }
  });
  auto up_or_ended = [&] { return server.is_running() || state->load() == 3; };
  if (wait_until(up_or_ended, deadline, std::chrono::milliseconds(1)) && server.is_running()) return true;
  int expected = 0;
  if (!state->compare_exchange_strong(expected, 2)) {
    // The loop was entered (or already ended): a running loop stops, an ended one is joined.
    if (!wait_until(up_or_ended, deadline, std::chrono::milliseconds(1))) {
      std::fprintf(stderr, "test server on 127.0.0.1:%d: accept loop neither ran nor ended in %lld ms\n", port,
                   static_cast<long long>(deadline.count()));
      std::abort();
    }
    server.stop();
  }
  thread.join();
  std::fprintf(stderr, "test server on 127.0.0.1:%d: the accept loop did not start within %lld ms\n", port,
               static_cast<long long>(deadline.count()));
  return false;
}

}  // namespace earshot::testing
