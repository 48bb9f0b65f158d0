#include "lean_deepgram.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <random>

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

bool respond(int fd, int status, const std::string& body, bool close) {
  const auto head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                                status, reason(status), body.size(), close ? "Connection: close\r\n" : "");
  return send_all(fd, head) && send_all(fd, body);
}

constexpr std::uint64_t kWords = 208827064576ULL;  // 26^8 eight-letter words

}  // namespace

LeanDeepgram::LeanDeepgram(std::string api_key, std::vector<testing::FakeUtterance> script,
                           std::chrono::milliseconds latency, std::string placeholder)
    : api_key_(std::move(api_key)),
      script_(std::move(script)),
      latency_(latency),
      placeholder_(std::move(placeholder)) {
  std::random_device rd;
  first_word_ = ((static_cast<std::uint64_t>(rd()) << 32U) | rd()) % kWords;
}

std::string LeanDeepgram::unique_body(const std::string& body) {
  std::uint64_t n = (first_word_ + requests_.fetch_add(1)) % kWords;
  std::string word(placeholder_.size(), 'a');
  for (auto it = word.rbegin(); it != word.rend() && n > 0; ++it, n /= 26) *it = static_cast<char>('a' + n % 26);
  std::string out = body;
  for (auto at = out.find(placeholder_); at != std::string::npos; at = out.find(placeholder_, at + word.size())) {
    out.replace(at, placeholder_.size(), word);
  }
  return out;
}

bool LeanDeepgram::start() {
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

void LeanDeepgram::stop() {
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

void LeanDeepgram::accept_loop() {
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

const testing::DeepgramAnswer& LeanDeepgram::answer(const testing::DeepgramListen& req) {
  const auto key = fmt::format("{}\n{}\n{}\n{}\n{}{}{}", req.authorization, req.content_type, req.model, req.utterances,
                               req.multichannel ? 1 : 0, req.diarize ? 1 : 0, req.body_bytes > 0);
  std::lock_guard l(mu_);
  auto it = answers_.find(key);
  if (it == answers_.end()) {
    auto reduced = req;
    reduced.body_bytes = req.body_bytes > 0 ? 1 : 0;
    it = answers_.emplace(key, testing::deepgram_listen(reduced, api_key_, script_)).first;
  }
  return it->second;
}

void LeanDeepgram::serve(int fd) {
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
        respond(fd, 431, R"({"err_code":"Bad Request","err_msg":"request headers too large"})", true);
        return;
      }
      if (!fill()) return;
    }
    // Request line and headers.
    const std::string_view head(buf.data(), head_end);
    const auto line_end = head.find("\r\n");
    const auto request_line = head.substr(0, line_end);
    const auto sp1 = request_line.find(' ');
    const auto sp2 = request_line.rfind(' ');
    const std::string method(request_line.substr(0, sp1));
    const std::string target(sp1 == sp2 ? std::string_view() : request_line.substr(sp1 + 1, sp2 - sp1 - 1));
    std::map<std::string, std::string> headers;
    for (std::size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2; at < head.size();) {
      auto end = head.find("\r\n", at);
      if (end == std::string_view::npos) end = head.size();
      const auto line = head.substr(at, end - at);
      if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        auto value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        headers[lower(std::string(line.substr(0, colon)))] = std::string(value);
      }
      at = end + 2;
    }
    const auto header = [&](const char* name) {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    };
    const bool close = lower(header("connection")) == "close";
    std::optional<std::size_t> length;
    if (const auto cl = header("content-length"); !cl.empty()) length = std::stoull(cl);
    if (!length && !header("transfer-encoding").empty()) {
      respond(fd, 411, R"({"err_code":"Bad Request","err_msg":"Content-Length required"})", true);
      return;
    }
    // The body: counted and dropped as it arrives.
    std::size_t remaining = length.value_or(0);
    buf.erase(0, head_end + 4);
    const auto have = std::min(remaining, buf.size());
    buf.erase(0, have);
    remaining -= have;
    while (remaining > 0) {
      const auto n = ::recv(fd, chunk.data(), std::min(chunk.size(), remaining), 0);
      if (n <= 0) return;
      remaining -= static_cast<std::size_t>(n);
    }

    const auto q = target.find('?');
    const auto path = target.substr(0, q);
    std::map<std::string, std::string> params;
    if (q != std::string::npos) {
      std::string_view query(target);
      query.remove_prefix(q + 1);
      while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        params[percent_decode(pair.substr(0, eq))] =
            eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
      }
    }
    const auto param = [&](const char* name) {
      auto it = params.find(name);
      return it == params.end() ? std::string() : it->second;
    };
    if (method != "POST" || path != "/v1/listen") {
      if (!respond(fd, 404, R"({"err_code":"Not Found","err_msg":"no such route"})", close) || close) return;
      continue;
    }
    if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
    const auto& a = answer({.authorization = header("authorization"),
                            .content_type = header("content-type"),
                            .model = param("model"),
                            .utterances = param("utterances"),
                            .multichannel = param("multichannel") == "true",
                            .diarize = param("diarize") == "true",
                            .body_bytes = length.value_or(0)});
    const bool unique = !placeholder_.empty() && a.status == 200;
    if (!respond(fd, a.status, unique ? unique_body(a.body) : a.body, close) || close) return;
  }
}

}  // namespace earshot::bench
