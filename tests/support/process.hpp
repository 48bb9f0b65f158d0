#pragma once
// Runs a real binary as a child process for end-to-end tests: explicit environment,
// stdout+stderr captured to a file, signals, and waiting for exit with a deadline.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace earshot::testing {

class ChildProcess {
 public:
  // `env` is the child's whole environment (PATH is added if absent).
  ChildProcess(std::string path, std::vector<std::string> args, std::map<std::string, std::string> env);
  ~ChildProcess();  // SIGKILLs the child if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] bool start();
  void signal(int sig);
  // Exit status (code, or 128+signal) if the child ended before the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);
  [[nodiscard]] bool running();
  [[nodiscard]] std::string output() const;  // everything the child printed so far
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  std::string path_;
  std::vector<std::string> args_;
  std::map<std::string, std::string> env_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Runs a command to completion; returns its exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::string& shell_command, std::optional<std::string> stdin_text = std::nullopt);

struct HttpResult {
  int status = 0;  // 0 when the connection failed
  std::string body;
};
HttpResult http_get(const std::string& host, int port, const std::string& path,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2));

// A loopback port for a CHILD binary to listen on (EARSHOT_HTTP_PORT, EARSHOT_ADMIN_PORT):
// picked from 21000-22999 (clear of the ephemeral range and of every port the project's
// services use) and checked to bind, then released for the child, which cannot inherit
// the socket. In-process listeners must not use it: they bind port 0 and keep the socket
// (httplib's bind_to_any_port, or bind + getsockname), which leaves no window for a race.
int free_port();

// Starts the accept loop of a test HTTP server already bound to `port` on `thread` and waits
// at most `deadline` until it runs (until then server.stop() is a no-op, so a stop() right
// after start would leave the loop blocked in accept()). On timeout prints why to stderr,
// makes sure the loop never starts, joins the thread and returns false: the fake's start()
// fails and the test with it, instead of hanging.
[[nodiscard]] bool start_accept_loop(httplib::Server& server, std::thread& thread, int port,
                                     std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace earshot::testing
