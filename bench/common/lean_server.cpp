#include "lean_server.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>
#include <string_view>

namespace earshot::bench {
namespace {

constexpr std::size_t kHeadLimit = 64 * 1024;
constexpr std::size_t kReadChunk = 1 << 20;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2])) != 0) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 411:
      return "Length Required";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Error";
  }
}

bool respond(int fd, int status, std::string_view body, bool close) {
  const auto head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                                status, reason(status), body.size(), close ? "Connection: close\r\n" : "");
  return send_all(fd, head) && send_all(fd, body);
}

}  // namespace

std::string LeanRequest::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string LeanRequest::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

LeanHttpServer::LeanHttpServer(bool keep_bodies, Handler handler,
                               std::function<std::string(int, const std::string&)> error_body)
    : keep_bodies_(keep_bodies), handler_(std::move(handler)), error_body_(std::move(error_body)) {}

bool LeanHttpServer::start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return false;
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 4096) != 0) {
    return false;
  }
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
  return true;
}

void LeanHttpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard l(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void LeanHttpServer::accept_loop() {
  while (!stopping_.load()) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.load()) return;
      continue;
    }
    std::lock_guard l(mu_);
    fds_.push_back(fd);
    threads_.emplace_back([this, fd] {
      serve(fd);
      {
        std::lock_guard inner(mu_);
        fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
      }
      ::close(fd);
    });
  }
}

void LeanHttpServer::serve(int fd) {
  std::string buf;
  std::vector<char> chunk(kReadChunk);
  auto fill = [&]() -> bool {
    const auto n = ::recv(fd, chunk.data(), chunk.size(), 0);
    if (n <= 0) return false;
    buf.append(chunk.data(), static_cast<std::size_t>(n));
    return true;
  };
  while (!stopping_.load()) {
    std::size_t head_end = 0;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (buf.size() > kHeadLimit) {
        respond(fd, 431, error_body_(431, "request headers too large"), true);
        return;
      }
      if (!fill()) return;
    }
    // Request line and headers.
    LeanRequest req;
    const std::string_view head(buf.data(), head_end);
    const auto line_end = head.find("\r\n");
    const auto request_line = head.substr(0, line_end);
    const auto sp1 = request_line.find(' ');
    const auto sp2 = request_line.rfind(' ');
    req.method = std::string(request_line.substr(0, sp1));
    const std::string target(sp1 == sp2 ? std::string_view() : request_line.substr(sp1 + 1, sp2 - sp1 - 1));
    for (std::size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2; at < head.size();) {
      auto end = head.find("\r\n", at);
      if (end == std::string_view::npos) end = head.size();
      const auto line = head.substr(at, end - at);
      if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        auto value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        req.headers[lower(std::string(line.substr(0, colon)))] = std::string(value);
      }
      at = end + 2;
    }
    const bool close = lower(req.header("connection")) == "close";
    std::optional<std::size_t> length;
    if (const auto cl = req.header("content-length"); !cl.empty()) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), n);
      if (ec != std::errc() || end != cl.data() + cl.size()) {
        respond(fd, 400, error_body_(400, "Content-Length is not a number"), true);
        return;
      }
      length = n;
    }
    if (!length && !req.header("transfer-encoding").empty()) {
      respond(fd, 411, error_body_(411, "Content-Length required"), true);
      return;
    }
    // The body: kept, or counted and dropped as it arrives.
    req.body_bytes = length.value_or(0);
    std::size_t remaining = req.body_bytes;
    buf.erase(0, head_end + 4);
    const auto have = std::min(remaining, buf.size());
    if (keep_bodies_) {
      req.body.reserve(remaining);
      req.body.append(buf, 0, have);
    }
    buf.erase(0, have);
    remaining -= have;
    while (remaining > 0) {
      const auto n = ::recv(fd, chunk.data(), std::min(chunk.size(), remaining), 0);
      if (n <= 0) return;
      if (keep_bodies_) req.body.append(chunk.data(), static_cast<std::size_t>(n));
      remaining -= static_cast<std::size_t>(n);
    }

    const auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      std::string_view query(target);
      query.remove_prefix(q + 1);
      while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        req.params[percent_decode(pair.substr(0, eq))] =
            eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
      }
    }
    const int now = ++concurrent_;
    for (int peak = max_concurrent_.load(); now > peak && !max_concurrent_.compare_exchange_weak(peak, now);) {
    }
    const auto res = handler_(req);
    --concurrent_;
    ++requests_;
    if (!respond(fd, res.status, res.body, close) || close) return;
  }
}

}  // namespace earshot::bench
