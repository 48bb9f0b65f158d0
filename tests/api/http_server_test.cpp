// The gateway's HTTP listener (HttpServer) on real loopback sockets, with a router of test
// routes behind the real Dispatcher: slow and idle connections cost no thread and are closed
// at the header deadline, connection caps, the body limit checked before the body is read,
// security headers, ranges, HEAD, gzip, keep-alive, query and multipart parsing, server-sent
// event sinks that hold no thread, and a graceful stop.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "earshot/api/api_server.hpp"
#include "earshot/api/dispatcher.hpp"
#include "earshot/core/clock.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class NoAuth final : public api::Authenticator {
 public:
  Result<api::Principal> bearer(std::string_view) override { return make_error(ErrorCode::kUnauthenticated, "no"); }
  Result<api::Principal> api_key(std::string_view) override { return make_error(ErrorCode::kUnauthenticated, "no"); }
  Status business_for_admin(std::string_view) override { return make_error(ErrorCode::kNotFound, "no"); }
};

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Bytes read past the end of a response (pipelined replies), by descriptor; client threads
// of one test use it at once, hence the lock (a race ThreadSanitizer found).
std::mutex& pending_mu() {
  static std::mutex mu;
  return mu;
}
std::map<int, std::string>& pending_bytes() {
  static std::map<int, std::string> bytes;
  return bytes;
}
std::string take_pending(int fd) {
  std::lock_guard lock(pending_mu());
  auto it = pending_bytes().find(fd);
  if (it == pending_bytes().end()) return {};
  std::string out = std::move(it->second);
  pending_bytes().erase(it);
  return out;
}
void keep_pending(int fd, std::string bytes) {
  std::lock_guard lock(pending_mu());
  pending_bytes()[fd] = std::move(bytes);
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  (void)take_pending(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool complete = false;
  [[nodiscard]] std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Reads one response from `fd` (Content-Length, chunked, or until close); gives up at `deadline`.
Response read_response(int fd, std::chrono::milliseconds deadline, bool head = false) {
  Response r;
  std::string buf = take_pending(fd);
  const auto until = std::chrono::steady_clock::now() + deadline;
  auto fill = [&]() {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    auto n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return r;
  }
  std::string headers = buf.substr(0, head_end);
  buf.erase(0, head_end + 4);
  std::size_t line_end = headers.find("\r\n");
  r.status = std::atoi(headers.substr(9, 3).c_str());
  std::size_t pos = line_end == std::string::npos ? headers.size() : line_end + 2;
  while (pos < headers.size()) {
    auto eol = headers.find("\r\n", pos);
    if (eol == std::string::npos) eol = headers.size();
    auto line = headers.substr(pos, eol - pos);
    auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(value.begin());
    r.headers[name] = value;
    pos = eol + 2;
  }
  if (head || r.status == 204 || r.status == 304) {
    keep_pending(fd, buf);
    r.complete = true;
    return r;
  }
  if (!r.header("content-length").empty()) {
    const auto len = std::stoull(r.header("content-length"));
    while (buf.size() < len) {
      if (!fill()) return r;
    }
    r.body = buf.substr(0, len);
    keep_pending(fd, buf.substr(len));
    r.complete = true;
    return r;
  }
  if (r.header("transfer-encoding") == "chunked") {
    while (true) {
      std::size_t eol;
      while ((eol = buf.find("\r\n")) == std::string::npos) {
        if (!fill()) return r;
      }
      const auto size = std::stoull(buf.substr(0, eol), nullptr, 16);
      while (buf.size() < eol + 2 + size + 2) {
        if (!fill()) return r;
      }
      r.body += buf.substr(eol + 2, size);
      buf.erase(0, eol + 2 + size + 2);
      if (size == 0) {
        keep_pending(fd, buf);
        r.complete = true;
        return r;
      }
    }
  }
  while (fill()) {
  }
  r.body = buf;
  r.complete = true;
  return r;
}

Response roundtrip(int port, const std::string& request, std::chrono::milliseconds deadline = 5s, bool head = false) {
  int fd = connect_to(port);
  if (fd < 0) return {};
  send_all(fd, request);
  auto r = read_response(fd, deadline, head);
  ::close(fd);
  return r;
}

Response get(int port, const std::string& target, const std::string& extra_headers = "") {
  return roundtrip(port, "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + extra_headers + "\r\n");
}

// True once the server closed `fd` (a read sees end of stream or an error), within `deadline`.
bool closed_by_server(int fd, std::chrono::milliseconds deadline) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(deadline.count())) <= 0) return false;
  char c;
  auto n = ::recv(fd, &c, 1, MSG_DONTWAIT);
  return n <= 0;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(in.size() * 50 + 4096, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

char object_byte(std::uint64_t i) {
  return static_cast<char>('a' + (i * 7 + i / 251) % 26);
}

// A listener with test routes behind the real Dispatcher.
class Server {
 public:
  explicit Server(api::ApiSettings settings) {
    api::Policy open;
    open.public_route = true;
    router_.add("GET", "/healthz", open, [](const api::Request&) -> Result<api::Reply> {
      return api::Reply::ok({{"status", "ok"}});
    });
    router_.add("GET", "/echo", open, [](const api::Request& req) -> Result<api::Reply> {
      json q = json::object();
      for (const auto& [k, v] : req.query) q[k].push_back(v);
      return api::Reply::ok(
          {{"path", req.path}, {"query", q}, {"remote", req.remote_addr}, {"request_id", req.request_id}});
    });
    router_.add("GET", "/items/{name}", open, [](const api::Request& req) -> Result<api::Reply> {
      return api::Reply::ok({{"name", req.path_params.at("name")}});
    });
    router_.add("POST", "/echo", open, [](const api::Request& req) -> Result<api::Reply> {
      json parts = json::array();
      for (const auto& p : req.parts) {
        parts.push_back({{"name", p.name},
                         {"filename", p.filename},
                         {"type", p.content_type},
                         {"size", p.content.size()},
                         {"content", p.content.size() < 100 ? p.content : std::string()}});
      }
      return api::Reply::ok({{"body_size", req.body.size()}, {"parts", parts}});
    });
    router_.add("GET", "/big", open, [](const api::Request&) -> Result<api::Reply> {
      json items = json::array();
      for (int i = 0; i < 2000; ++i) items.push_back({{"id", i}, {"city", "Springfield"}});
      return api::Reply::ok({{"items", items}});
    });
    router_.add("GET", "/cached", open, [](const api::Request&) -> Result<api::Reply> {
      auto r = api::Reply::text("public text", "text/plain");
      r.headers.emplace_back("Cache-Control", "max-age=60");
      return r;
    });
    router_.add("GET", "/slow", open, [this](const api::Request&) -> Result<api::Reply> {
      slow_started = true;
      std::this_thread::sleep_for(700ms);  // a handler busy with its database
      return api::Reply::ok({{"slow", true}});
    });
    router_.add("GET", "/object", open, [this](const api::Request& req) -> Result<api::Reply> {
      api::Reply r;
      r.content_type = "application/octet-stream";
      r.raw = std::string();
      r.object_size = std::stoull(req.query_param("size").value_or("1000"));
      r.read_piece = [this](std::uint64_t offset, std::uint64_t length) -> Result<std::string> {
        std::uint64_t prev = largest_piece.load();
        while (length > prev && !largest_piece.compare_exchange_weak(prev, length)) {
        }
        std::string out(length, '\0');
        for (std::uint64_t i = 0; i < length; ++i) out[i] = object_byte(offset + i);
        return out;
      };
      return r;
    });
    router_.add("GET", "/stream", open, [this](const api::Request&) -> Result<api::Reply> {
      api::Reply r;
      r.raw = std::string();
      r.content_type = "text/event-stream";
      r.stream = [this](std::shared_ptr<api::EventSink> sink) {
        sink->push(": connected\n\n");
        std::lock_guard lock(mu_);
        sinks.push_back(std::move(sink));
      };
      return r;
    });
    // Answered later, by the test, through the responder (waits `ms`, default 5 s).
    router_.add("GET", "/later", open, [this](const api::Request& req) -> Result<api::Reply> {
      const auto ms = std::chrono::milliseconds(std::stoll(req.query_param("ms").value_or("5000")));
      return api::Reply::deferred(ms, [this](std::shared_ptr<api::Responder> responder) {
        std::lock_guard lock(mu_);
        responders.push_back(std::move(responder));
      });
    });
    dispatcher_ = std::make_unique<api::Dispatcher>(router_, auth_, nullptr, api::RateLimitOptions{},
                                                    SystemClock::instance(), metrics_);
    settings.host = "127.0.0.1";
    settings.port = 0;
    http_ = std::make_unique<api::HttpServer>(settings, *dispatcher_, metrics_);
    auto st = http_->start();
    if (!st) throw std::runtime_error(st.error().to_string());
    port = http_->bound_port();
  }
  void stop() { http_->stop(); }

  std::vector<std::shared_ptr<api::EventSink>> streams() {
    std::lock_guard lock(mu_);
    return sinks;
  }
  std::vector<std::shared_ptr<api::Responder>> awaiting() {
    std::lock_guard lock(mu_);
    return responders;
  }

  int port = 0;
  std::atomic<std::uint64_t> largest_piece{0};
  std::atomic<bool> slow_started{false};

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<api::EventSink>> sinks;
  std::vector<std::shared_ptr<api::Responder>> responders;
  Metrics metrics_{"http-server-test", "0", "0"};
  NoAuth auth_;
  api::Router router_;
  std::unique_ptr<api::Dispatcher> dispatcher_;
  std::unique_ptr<api::HttpServer> http_;
};

api::ApiSettings settings(int handler_threads = 4) {
  api::ApiSettings s;
  s.threads = handler_threads;
  s.max_body_bytes = std::int64_t{64} * 1024;
  s.header_timeout = 2s;
  s.read_timeout = 60s;
  s.write_timeout = 5s;
  s.idle_timeout = 2s;
  s.max_connections = 10'000;
  s.max_connections_per_address = 5'000;
  s.cors_origins = "https://dash.example";
  return s;
}

TEST(HttpServer, SlowAndIdleConnectionsNeitherStallHealthzNorOutliveTheHeaderDeadline) {
  raise_fd_limit();
  Server server(settings(2));  // two handler threads only
  std::vector<int> slow;
  std::vector<int> idle;
  for (int i = 0; i < 250; ++i) {
    int fd = connect_to(server.port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "GET /hea"));  // half a request line, never finished
    slow.push_back(fd);
  }
  for (int i = 0; i < 50; ++i) {
    int fd = connect_to(server.port);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);  // sends nothing
  }
  // Every connection above is open and none holds a thread: /healthz answers at once (the
  // deadline is generous; the old thread-per-connection listener could not answer at all
  // before the slow connections timed out).
  auto r = roundtrip(server.port, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["status"], "ok");
  // The header deadline (2 s) closes every one of them.
  std::size_t closed = 0;
  for (int fd : slow) closed += closed_by_server(fd, 10s) ? 1 : 0;
  for (int fd : idle) closed += closed_by_server(fd, 10s) ? 1 : 0;
  EXPECT_EQ(closed, slow.size() + idle.size());
  for (int fd : slow) ::close(fd);
  for (int fd : idle) ::close(fd);
}

TEST(HttpServer, KeepAliveConnectionsServeSeveralRequestsThenCloseWhenIdle) {
  Server server(settings());
  int fd = connect_to(server.port);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto r = read_response(fd, 5s);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
  }
  // Two pipelined requests in one write.
  ASSERT_TRUE(send_all(fd, "GET /items/a HTTP/1.1\r\nHost: t\r\n\r\nGET /items/b HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(json::parse(read_response(fd, 5s).body, nullptr, false)["name"], "a");
  EXPECT_EQ(json::parse(read_response(fd, 5s).body, nullptr, false)["name"], "b");
  EXPECT_TRUE(closed_by_server(fd, 10s)) << "idle keep-alive connection not closed";
  ::close(fd);
}

TEST(HttpServer, ConnectionsPerAddressAreCapped) {
  auto s = settings();
  s.max_connections_per_address = 4;
  Server server(s);
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) {
    int fd = connect_to(server.port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_EQ(read_response(fd, 5s).status, 200);  // admitted and kept alive
    fds.push_back(fd);
  }
  auto over = get(server.port, "/healthz");
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(json::parse(over.body, nullptr, false)["error"]["message"], "too many open connections from this address");
  EXPECT_EQ(over.header("retry-after"), "1");
  ::close(fds.back());
  fds.pop_back();
  EXPECT_TRUE(wait_until([&] { return get(server.port, "/healthz").status == 200; }, 5s));
  for (int fd : fds) ::close(fd);
}

TEST(HttpServer, GlobalConnectionCap) {
  auto s = settings();
  s.max_connections = 3;
  Server server(s);
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    int fd = connect_to(server.port);
    ASSERT_TRUE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_EQ(read_response(fd, 5s).status, 200);
    fds.push_back(fd);
  }
  auto over = get(server.port, "/healthz");
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(json::parse(over.body, nullptr, false)["error"]["message"], "too many open connections");
  for (int fd : fds) ::close(fd);
}

TEST(HttpServer, ATerabyteContentLengthIs413BeforeAnyBodyIsRead) {
  Server server(settings());  // read timeout 60 s: an answer inside 10 s came before it
  int fd = connect_to(server.port);
  ASSERT_TRUE(send_all(fd,
                       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                       "Content-Length: 1000000000000\r\n\r\n{\"a\":"));
  auto r = read_response(fd, 10s);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "payload_too_large");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(closed_by_server(fd, 5s));
  ::close(fd);
}

TEST(HttpServer, ChunkedBodiesAreCutAtTheLimit) {
  Server server(settings());
  int fd = connect_to(server.port);
  ASSERT_TRUE(send_all(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk(std::size_t{40} * 1024, 'x');
  ASSERT_TRUE(send_all(fd, fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk)));
  send_all(fd, fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk));  // passes 64 KiB
  auto r = read_response(fd, 10s);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "payload_too_large");
  ::close(fd);
  // Under the limit, a chunked body arrives whole.
  auto ok = roundtrip(server.port,
                      "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(json::parse(ok.body, nullptr, false)["body_size"], 11);
}

TEST(HttpServer, MalformedOversizedAndUnknownRequestsGetJsonErrors) {
  Server server(settings());
  auto bad = roundtrip(server.port, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body, nullptr, false)["error"]["code"], "invalid_argument");
  auto long_uri = get(server.port, "/echo?q=" + std::string(9000, 'a'));
  EXPECT_EQ(long_uri.status, 414);
  EXPECT_EQ(json::parse(long_uri.body, nullptr, false)["error"]["code"], "uri_too_long");
  auto big_headers = get(server.port, "/healthz", "X-Big: " + std::string(std::size_t{70} * 1024, 'h') + "\r\n");
  EXPECT_EQ(big_headers.status, 431);
  EXPECT_EQ(json::parse(big_headers.body, nullptr, false)["error"]["code"], "headers_too_large");
  auto missing = get(server.port, "/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body, nullptr, false)["error"]["code"], "not_found");
  auto wrong = roundtrip(server.port, "DELETE /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_TRUE(json::parse(wrong.body, nullptr, false).contains("error"));
  auto bad_multipart =
      roundtrip(server.port,
                "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                "Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 9\r\n\r\nnot parts");
  EXPECT_EQ(bad_multipart.status, 400);
  EXPECT_NE(json::parse(bad_multipart.body, nullptr, false)["error"]["message"].get<std::string>().find("multipart"),
            std::string::npos);
}

TEST(HttpServer, SecurityHeadersOnEveryResponse) {
  auto s = settings();
  s.hsts_max_age = 31536000;
  Server server(s);
  for (const auto* target : {"/healthz", "/nowhere", "/object?size=10"}) {
    auto r = get(server.port, target);
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << target;
    EXPECT_EQ(r.header("referrer-policy"), "no-referrer") << target;
    EXPECT_EQ(r.header("x-frame-options"), "DENY") << target;
    EXPECT_EQ(r.header("cache-control"), "no-store") << target;
    EXPECT_EQ(r.header("strict-transport-security"), "max-age=31536000") << target;
    EXPECT_EQ(r.header("x-request-id").size(), 16U) << target;
  }
  // A route's own Cache-Control stands.
  EXPECT_EQ(get(server.port, "/cached").header("cache-control"), "max-age=60");
  // Listener-made answers carry them too.
  auto too_big = roundtrip(server.port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n");
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(too_big.header("x-content-type-options"), "nosniff");
  // HSTS is off unless configured.
  Server plain(settings());
  EXPECT_EQ(get(plain.port, "/healthz").header("strict-transport-security"), "");
}

TEST(HttpServer, QueryAndPathAreDecodedAndRequestIdsEchoed) {
  Server server(settings());
  auto r = get(server.port, "/echo?city=New%20York&tag=a&tag=b+c&empty", "X-Request-Id: abc-123\r\n");
  ASSERT_EQ(r.status, 200);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["query"]["city"][0], "New York");
  EXPECT_EQ(j["query"]["tag"], json({"a", "b c"}));
  EXPECT_EQ(j["query"]["empty"][0], "");
  EXPECT_EQ(j["remote"], "127.0.0.1");
  EXPECT_EQ(j["request_id"], "abc-123");
  EXPECT_EQ(r.header("x-request-id"), "abc-123");
  EXPECT_EQ(json::parse(get(server.port, "/items/caf%C3%A9").body)["name"], "caf\xC3\xA9");
  EXPECT_EQ(get(server.port, "/healthz", "X-Request-Id: bad id\r\n").header("x-request-id").size(), 16U);
}

TEST(HttpServer, MultipartUploadsReachTheRouteAsParts) {
  Server server(settings());
  const std::string audio(3000, '\x01');
  const std::string body =
      "--BOUND\r\nContent-Disposition: form-data; name=\"external_id\"\r\n\r\ncall-7\r\n"
      "--BOUND\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"x.wav\"\r\n"
      "Content-Type: audio/wav\r\n\r\n" +
      audio + "\r\n--BOUND--\r\n";
  auto r = roundtrip(server.port, fmt::format("POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                              "Content-Type: multipart/form-data; boundary=BOUND\r\n"
                                              "Content-Length: {}\r\nExpect: 100-continue\r\n\r\n{}",
                                              body.size(), body));
  ASSERT_EQ(r.status, 100);  // Expect: 100-continue is answered first
  int fd = connect_to(server.port);
  ASSERT_TRUE(send_all(fd, fmt::format("POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                       "Content-Type: multipart/form-data; boundary=BOUND\r\n"
                                       "Content-Length: {}\r\n\r\n{}",
                                       body.size(), body)));
  auto ok = read_response(fd, 5s);
  ::close(fd);
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto j = json::parse(ok.body);
  ASSERT_EQ(j["parts"].size(), 2U);
  EXPECT_EQ(j["parts"][0]["name"], "external_id");
  EXPECT_EQ(j["parts"][0]["content"], "call-7");
  EXPECT_EQ(j["parts"][1]["filename"], "x.wav");
  EXPECT_EQ(j["parts"][1]["type"], "audio/wav");
  EXPECT_EQ(j["parts"][1]["size"], 3000);
  EXPECT_EQ(j["body_size"], 0);
}

TEST(HttpServer, RangesHeadAndGzip) {
  Server server(settings());
  auto expect_bytes = [](const std::string& body, std::uint64_t from) {
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] != object_byte(from + i)) return false;
    }
    return true;
  };
  auto whole = get(server.port, "/object?size=1000");
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.header("accept-ranges"), "bytes");
  EXPECT_EQ(whole.body.size(), 1000U);
  EXPECT_TRUE(expect_bytes(whole.body, 0));
  auto part = get(server.port, "/object?size=1000", "Range: bytes=100-199\r\n");
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.header("content-range"), "bytes 100-199/1000");
  EXPECT_EQ(part.body.size(), 100U);
  EXPECT_TRUE(expect_bytes(part.body, 100));
  auto tail = get(server.port, "/object?size=1000", "Range: bytes=-10\r\n");
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.header("content-range"), "bytes 990-999/1000");
  auto past = get(server.port, "/object?size=1000", "Range: bytes=5000-6000\r\n");
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.header("content-range"), "bytes */1000");
  EXPECT_EQ(json::parse(past.body, nullptr, false)["error"]["code"], "range_not_satisfiable");
  // A large object goes out in pieces, never whole.
  server.largest_piece = 0;
  const std::uint64_t big = 5'000'000;
  auto large = roundtrip(server.port,
                         fmt::format("GET /object?size={} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", big), 20s);
  EXPECT_EQ(large.body.size(), big);
  EXPECT_TRUE(expect_bytes(large.body, 0));
  EXPECT_LE(server.largest_piece.load(), 256U * 1024U);
  // HEAD: the headers of GET, no body; the connection stays usable.
  int fd = connect_to(server.port);
  ASSERT_TRUE(send_all(fd, "HEAD /object?size=1000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = read_response(fd, 5s, true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "1000");
  ASSERT_TRUE(send_all(fd, "HEAD /big HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head_json = read_response(fd, 5s, true);
  EXPECT_EQ(head_json.status, 200);
  ASSERT_TRUE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto after = read_response(fd, 5s);
  EXPECT_EQ(after.status, 200) << "a HEAD response carried a body";
  EXPECT_EQ(json::parse(after.body, nullptr, false)["status"], "ok");
  ::close(fd);
  // gzip when accepted, for JSON large enough to gain.
  auto plain = get(server.port, "/big");
  EXPECT_EQ(plain.header("content-encoding"), "");
  auto zipped = get(server.port, "/big", "Accept-Encoding: gzip, deflate\r\n");
  EXPECT_EQ(zipped.header("content-encoding"), "gzip");
  EXPECT_LT(zipped.body.size(), plain.body.size() / 4);
  EXPECT_EQ(gunzip(zipped.body), plain.body);
  EXPECT_EQ(get(server.port, "/big", "Accept-Encoding: gzip;q=0\r\n").header("content-encoding"), "");
}

TEST(HttpServer, CorsPreflightAndHeaders) {
  Server server(settings());
  auto pre = roundtrip(server.port,
                       "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                       "Origin: https://dash.example\r\nAccess-Control-Request-Method: GET\r\n\r\n");
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "https://dash.example");
  EXPECT_NE(pre.header("access-control-allow-headers").find("Authorization"), std::string::npos);
  auto evil = roundtrip(
      server.port, "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nOrigin: https://evil.example\r\n\r\n");
  EXPECT_EQ(evil.status, 403);
  EXPECT_EQ(get(server.port, "/healthz", "Origin: https://dash.example\r\n").header("access-control-allow-origin"),
            "https://dash.example");
  EXPECT_EQ(get(server.port, "/healthz", "Origin: https://evil.example\r\n").header("access-control-allow-origin"), "");
}

TEST(HttpServer, EventStreamsHoldNoThreadAndSlowReadersAreDropped) {
  Server server(settings(1));  // one handler thread
  std::vector<int> fds;
  for (std::size_t i = 0; i < 20; ++i) {
    int fd = connect_to(server.port);
    ASSERT_TRUE(send_all(fd, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"));
    fds.push_back(fd);
    // One at a time, so sink i is connection i.
    ASSERT_TRUE(wait_until([&] { return server.streams().size() == i + 1; }, 5s, 1ms));
  }
  EXPECT_EQ(get(server.port, "/healthz").status, 200);  // the one handler thread is free
  // Frames pushed from any thread arrive as chunks.
  auto sinks = server.streams();
  EXPECT_TRUE(sinks[0]->push("data: one\n\n"));
  std::string got;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (got.find("data: one") == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buf[4096];
      auto n = ::recv(fds[0], buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
  }
  EXPECT_NE(got.find("text/event-stream"), std::string::npos);
  EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(got.find("data: one"), std::string::npos);
  // A client that reads nothing falls behind and is dropped, with its close callback.
  std::atomic<bool> called{false};
  sinks[1]->on_close([&] { called = true; });
  const std::string block(std::size_t{64} * 1024, 'x');
  bool dropped = false;
  for (int i = 0; i < 4096 && !dropped; ++i) dropped = !sinks[1]->push(block);
  EXPECT_TRUE(dropped);
  EXPECT_TRUE(wait_until([&] { return called.load(); }, 5s));
  EXPECT_FALSE(sinks[1]->open());
  // A client that hangs up closes its sink.
  std::atomic<bool> gone{false};
  sinks[2]->on_close([&] { gone = true; });
  ::close(fds[2]);
  EXPECT_TRUE(wait_until([&] { return gone.load(); }, 5s));
  // The server ending a stream ends the chunked body.
  sinks[3]->close();
  std::string rest;
  while (rest.find("0\r\n\r\n") == std::string::npos) {
    pollfd p{fds[3], POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    char buf[4096];
    auto n = ::recv(fds[3], buf, sizeof buf, 0);
    if (n <= 0) break;
    rest.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_NE(rest.find("0\r\n\r\n"), std::string::npos);
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (i != 2) ::close(fds[i]);
  }
}

TEST(HttpServer, DeferredRepliesHoldNoThreadAndAreWrittenWhenTheyComeFromAnyThread) {
  Server server(settings(1));  // one listener thread
  std::vector<int> fds;
  for (std::size_t i = 0; i < 5; ++i) {
    int fd = connect_to(server.port);
    ASSERT_TRUE(send_all(fd, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n"));
    fds.push_back(fd);
    ASSERT_TRUE(wait_until([&] { return server.awaiting().size() == i + 1; }, 5s, 1ms));  // in order
  }
  // Five replies awaited; the one thread still serves everyone else.
  EXPECT_EQ(get(server.port, "/healthz").status, 200);
  auto responders = server.awaiting();
  std::thread other([&] {
    for (std::size_t i = 0; i < 4; ++i) responders[i]->reply(api::Reply::ok({{"n", i}}));
    responders[4]->reply(make_error(ErrorCode::kNotFound, "no such thing"));
    responders[0]->reply(api::Reply::ok({{"n", 99}}));  // a second reply: ignored
  });
  other.join();
  for (std::size_t i = 0; i < 4; ++i) {
    auto r = read_response(fds[i], 5s);
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(json::parse(r.body)["n"], i);
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");  // written like any reply
  }
  auto missing = read_response(fds[4], 5s);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "not_found");
  // The connection goes on (keep-alive) after a deferred reply.
  ASSERT_TRUE(send_all(fds[0], "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(read_response(fds[0], 5s).status, 200);
  for (int fd : fds) ::close(fd);
}

TEST(HttpServer, ADeferredReplyIsAbandonedWhenItsClientHangsUpOrItsDeadlinePasses) {
  Server server(settings(1));
  int fd = connect_to(server.port);
  ASSERT_TRUE(send_all(fd, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] { return server.awaiting().size() == 1; }, 5s, 1ms));
  std::atomic<bool> abandoned{false};
  auto responder = server.awaiting()[0];
  responder->on_abandon([&] { abandoned = true; });
  ::close(fd);  // the client hangs up
  EXPECT_TRUE(wait_until([&] { return abandoned.load(); }, 5s, 5ms));
  responder->reply(api::Reply::ok({{"late", true}}));  // nobody to write to: nothing happens
  // Past its deadline: 504, and the route hears of it.
  fd = connect_to(server.port);
  ASSERT_TRUE(send_all(fd, "GET /later?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] { return server.awaiting().size() == 2; }, 5s, 1ms));
  std::atomic<bool> timed_out{false};
  server.awaiting()[1]->on_abandon([&] { timed_out = true; });
  auto r = read_response(fd, 5s);
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "timeout");
  EXPECT_TRUE(timed_out.load());
  EXPECT_TRUE(closed_by_server(fd, 5s));
  ::close(fd);
  // A callback set after the abandonment runs at once.
  bool at_once = false;
  server.awaiting()[1]->on_abandon([&] { at_once = true; });
  EXPECT_TRUE(at_once);
}

TEST(HttpServer, StopWritesDeferredRepliesThatComeInTimeAndAnswersTheRest503) {
  auto s = settings(2);
  s.write_timeout = 1s;  // how long stop() waits for requests in flight
  Server server(s);
  int answered = connect_to(server.port);
  int left = connect_to(server.port);
  ASSERT_TRUE(send_all(answered, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] { return server.awaiting().size() == 1; }, 5s, 1ms));
  ASSERT_TRUE(send_all(left, "GET /later?ms=60000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] { return server.awaiting().size() == 2; }, 5s, 1ms));
  std::atomic<bool> abandoned{false};
  server.awaiting()[1]->on_abandon([&] { abandoned = true; });
  auto stopping = std::async(std::launch::async, [&] { server.stop(); });
  // Once the listener refuses new connections it is stopping: a reply that comes now is written.
  ASSERT_TRUE(wait_until(
      [&] {
        int fd = connect_to(server.port);
        if (fd >= 0) ::close(fd);
        return fd < 0;
      },
      5s, 5ms));
  server.awaiting()[0]->reply(api::Reply::ok({{"in", "time"}}));
  auto r = read_response(answered, 5s);
  EXPECT_EQ(r.status, 200);
  // The other is still awaited when the wait ends: 503, and the route hears of it.
  auto refused = read_response(left, 10s);
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "unavailable");
  stopping.get();
  EXPECT_TRUE(abandoned.load());
  ::close(answered);
  ::close(left);
}

TEST(HttpServer, StopFinishesRequestsInFlightAndRefusesNewOnes) {
  Server server(settings());
  auto slow = std::async(std::launch::async, [&] { return get(server.port, "/slow"); });
  ASSERT_TRUE(wait_until([&] { return server.slow_started.load(); }, 5s));
  int idle = connect_to(server.port);
  server.stop();
  auto r = slow.get();
  EXPECT_EQ(r.status, 200) << "the request in flight was cut";
  EXPECT_TRUE(closed_by_server(idle, 5s));
  ::close(idle);
  EXPECT_EQ(connect_to(server.port), -1);
}

}  // namespace
}  // namespace earshot::testing
