#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace earshot::queue::testing {

TcpProxy::TcpProxy(std::string upstream_host, int upstream_port)
    : host_(std::move(upstream_host)), upstream_port_(upstream_port) {
  // Port 0: the kernel picks the port and the socket stays bound (no window for a race).
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && ::listen(fd, 64) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    listen_fd_ = fd;
    port_ = ntohs(addr.sin_port);
  } else if (fd >= 0) {
    ::close(fd);
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  cut();
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> relays;
  {
    std::lock_guard l(mu_);
    relays.swap(relays_);
  }
  for (auto& t : relays) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void TcpProxy::cut() {
  std::lock_guard l(mu_);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
}

void TcpProxy::freeze() {
  std::lock_guard l(mu_);
  frozen_fds_.insert(open_fds_.begin(), open_fds_.end());
}

void TcpProxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    ::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(client);
      ::close(upstream);
      continue;
    }
    ++accepted_;
    std::lock_guard l(mu_);
    open_fds_.insert(client);
    open_fds_.insert(upstream);
    relays_.emplace_back([this, client, upstream] { relay(client, upstream); });
  }
}

void TcpProxy::relay(int client, int upstream) {
  char buf[16384];
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  bool open = true;
  while (open && !stopping_) {
    bool frozen = false;
    {
      std::lock_guard l(mu_);
      frozen = frozen_fds_.contains(client);
      // A cut still ends a frozen connection.
      if (!open_fds_.contains(client)) break;
    }
    if (frozen) {
      pollfd idle{client, 0, 0};
      ::poll(&idle, 1, 50);
      if ((idle.revents & (POLLHUP | POLLERR)) != 0) break;
      continue;
    }
    if (::poll(fds, 2, 50) <= 0) continue;
    {
      std::lock_guard l(mu_);
      if (frozen_fds_.contains(client)) continue;  // frozen while polling: relay nothing
    }
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        open = false;
        break;
      }
      const int to = fds[1 - i].fd;
      ssize_t sent = 0;
      while (sent < n) {
        const ssize_t w = ::send(to, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
        if (w <= 0) {
          open = false;
          break;
        }
        sent += w;
      }
    }
  }
  std::lock_guard l(mu_);
  open_fds_.erase(client);
  open_fds_.erase(upstream);
  frozen_fds_.erase(client);
  frozen_fds_.erase(upstream);
  ::shutdown(client, SHUT_RDWR);
  ::shutdown(upstream, SHUT_RDWR);
  ::close(client);
  ::close(upstream);
}

}  // namespace earshot::queue::testing
