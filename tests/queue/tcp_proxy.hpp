#pragma once
// A loopback TCP proxy for fault tests: clients connect to port(), bytes are relayed to the
// upstream address, and cut() closes every relayed connection at once (both sides), as a
// network failure or broker restart would. New connections are accepted after a cut.

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace earshot::queue::testing {

class TcpProxy {
 public:
  TcpProxy(std::string upstream_host, int upstream_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  [[nodiscard]] int port() const { return port_; }
  void cut();
  // Stops relaying on every open connection without closing it, like a peer that hung or a
  // network that drops packets: only heartbeats can tell. New connections relay normally.
  void freeze();
  [[nodiscard]] int accepted() const { return accepted_.load(); }

 private:
  void accept_loop();
  void relay(int client, int upstream);

  std::string host_;
  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::set<int> open_fds_;
  std::set<int> frozen_fds_;
  std::vector<std::thread> relays_;
};

}  // namespace earshot::queue::testing
