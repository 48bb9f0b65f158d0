#include "smtp_sink.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace earshot::testing {
namespace {

bool send_line(int fd, const std::string& s) {
  const std::string line = s + "\r\n";
  return ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string angle(const std::string& s) {
  const auto a = s.find('<');
  const auto b = s.find('>');
  if (a == std::string::npos || b == std::string::npos || b < a) return s;
  return s.substr(a + 1, b - a - 1);
}

}  // namespace

SmtpSink::~SmtpSink() {
  stop();
}

bool SmtpSink::start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::listen(listen_fd_, 64) != 0) return false;
  thread_ = std::thread([this] {
    while (!stopping_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      serve(fd);  // one session at a time is enough for the tests
      ::close(fd);
    }
  });
  return true;
}

void SmtpSink::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void SmtpSink::refuse_recipient(std::string addr) {
  std::lock_guard lock(mu_);
  refused_.push_back(std::move(addr));
}

std::vector<SmtpMessage> SmtpSink::messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

void SmtpSink::serve(int fd) {
  if (unavailable_.load()) {
    send_line(fd, "421 4.3.2 service not available, try later");
    return;
  }
  send_line(fd, "220 sink.test ESMTP ready");
  std::string buf;
  SmtpMessage cur;
  bool in_data = false;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, 200);
    if (stopping_.load()) return;
    if (r <= 0) continue;
    char chunk[4096];
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return;
    buf.append(chunk, static_cast<std::size_t>(n));
    for (;;) {
      if (in_data) {
        const auto end = buf.find("\r\n.\r\n");
        if (end == std::string::npos && !buf.starts_with(".\r\n")) break;
        std::string data;
        if (buf.starts_with(".\r\n")) {
          buf.erase(0, 3);
        } else {
          data = buf.substr(0, end + 2);
          buf.erase(0, end + 5);
        }
        // Dot-unstuffing.
        std::string out;
        std::size_t pos = 0;
        while (pos < data.size()) {
          auto eol = data.find("\r\n", pos);
          if (eol == std::string::npos) eol = data.size();
          std::string line = data.substr(pos, eol - pos);
          if (line.starts_with("..")) line.erase(0, 1);
          out += line + "\r\n";
          pos = eol + 2;
        }
        cur.data = out;
        {
          std::lock_guard lock(mu_);
          messages_.push_back(cur);
        }
        cur = SmtpMessage{};
        in_data = false;
        send_line(fd, "250 2.0.0 queued");
        continue;
      }
      const auto eol = buf.find("\r\n");
      if (eol == std::string::npos) break;
      const std::string line = buf.substr(0, eol);
      buf.erase(0, eol + 2);
      const std::string cmd = upper(line.substr(0, 4));
      if (cmd == "EHLO") {
        send_line(fd, "250-sink.test");
        send_line(fd, "250 8BITMIME");
      } else if (cmd == "HELO") {
        send_line(fd, "250 sink.test");
      } else if (cmd == "MAIL") {
        cur.from = angle(line);
        send_line(fd, "250 2.1.0 ok");
      } else if (cmd == "RCPT") {
        const auto to = angle(line);
        bool refused = false;
        {
          std::lock_guard lock(mu_);
          refused = std::find(refused_.begin(), refused_.end(), to) != refused_.end();
        }
        if (refused) {
          send_line(fd, "550 5.1.1 no such user");
        } else {
          cur.to.push_back(to);
          send_line(fd, "250 2.1.5 ok");
        }
      } else if (cmd == "DATA") {
        in_data = true;
        send_line(fd, "354 end data with <CR><LF>.<CR><LF>");
      } else if (cmd == "RSET") {
        cur = SmtpMessage{};
        send_line(fd, "250 ok");
      } else if (cmd == "NOOP") {
        send_line(fd, "250 ok");
      } else if (cmd == "QUIT") {
        send_line(fd, "221 bye");
        return;
      } else {
        send_line(fd, "502 5.5.2 command not implemented");
      }
    }
  }
}

}  // namespace earshot::testing
