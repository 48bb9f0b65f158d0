// The gateway's public listener on Boost.Beast/Asio (see api_server.hpp).
//
// Threads: `threads` threads run one io_context. A connection's steps (accept, read, parse,
// the route handler, the response bytes, the write) run on whichever of them picks up its
// next event, on the connection's strand, without hand-offs: a handler that waits on MariaDB
// holds the thread it runs on while the others go on serving. Handing each request to a
// separate handler pool and the reply back cost two thread wake-ups per request (docs/api.md).
// Each connection is a HttpConnection on its own strand with one deadline: the phase it
// guards (headers, body, idle keep-alive, a write) sets it, and one sweep timer per server
// (every kSweepInterval) closes the sockets whose deadline passed. Arming a deadline is an
// atomic store, not a timer operation: re-arming a per-connection asio timer four times per
// request cost a timerfd_settime and an epoll_ctl each time (docs/api.md).
// A reply given later (Reply::deferred) holds no thread either: the connection keeps the
// route's deadline and a wait for the client hanging up while a DeferredResponder carries the
// reply, from whatever thread gives it, to the connection's strand.
#include <fmt/format.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <unordered_map>

#include "earshot/api/api_server.hpp"
#include "earshot/api/http_parsing.hpp"
#include "earshot/api/http_request.hpp"
#include "earshot/core/log.hpp"

namespace earshot::api {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Steady = std::chrono::steady_clock;

// How often deadlines are checked: a phase overruns its timeout by at most this much.
constexpr std::chrono::milliseconds kSweepInterval{100};
constexpr std::size_t kPieceBytes = std::size_t{256} * 1024;  // object pieces streamed per write
constexpr std::size_t kGzipMinBytes = 1024;                   // smaller bodies go out as they are
constexpr std::size_t kSinkQueueBytes = 1 << 20;              // an SSE client further behind is dropped

std::string new_request_id() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}", rng());
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string part = s.substr(i, j - i);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    i = j + 1;
  }
  return out;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

// The error body of a response the listener answers itself.
std::string listener_error(int status, const std::string& message) {
  std::string code;
  switch (status) {
    case 405:
      code = "method_not_allowed";
      break;
    case 413:
      code = "payload_too_large";
      break;
    case 414:
      code = "uri_too_long";
      break;
    case 416:
      code = "range_not_satisfiable";
      break;
    case 431:
      code = "headers_too_large";
      break;
    case 503:
      code = std::string(code_name(ErrorCode::kUnavailable));
      break;
    default:
      code = std::string(code_name(ErrorCode::kInvalidArgument));
      break;
  }
  nlohmann::json body{{"error", {{"code", code}, {"message", message}}}};
  return body.dump();
}

bool compressible(std::string_view content_type) {
  return content_type.starts_with("application/json") || content_type.starts_with("application/javascript") ||
         content_type.starts_with("application/xml") ||
         (content_type.starts_with("text/") && !content_type.starts_with("text/event-stream"));
}

bool has_header(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return true;
    }
  }
  return false;
}

// What a request needs to know about itself for its response and its access log line.
struct Exchange {
  std::string method;  // as sent (HEAD stays HEAD here)
  std::string path;
  std::string route = "unmatched";
  std::string bid;
  std::string request_id;
  std::string origin;
  std::string range;
  bool head = false;
  bool gzip = false;
  bool keep_alive = true;
  int status = 0;
  Steady::time_point start;
};

// A response ready to write: `bytes` is the head (and the whole body, unless streamed).
struct Prepared {
  std::string bytes;
  std::string body;  // written after `bytes` in one gather write (not copied behind the head)
  int status = 200;
  bool close = false;
  // Streamed object: pieces of [offset, end) still to send.
  std::function<Result<std::string>(std::uint64_t, std::uint64_t)> read_piece;
  std::uint64_t offset = 0;
  std::uint64_t end = 0;
  // Server-sent events: called with the sink once the head is written.
  std::function<void(std::shared_ptr<EventSink>)> stream;
  // A reply given later (Reply::later): nothing is written until the responder answers.
  std::function<void(std::shared_ptr<Responder>)> later;
  std::chrono::milliseconds later_timeout{0};
};

}  // namespace

class HttpConnection;

struct HttpServer::Impl {
  ApiSettings settings;
  Dispatcher& dispatcher;
  std::vector<std::string> origins;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;
  prometheus::Family<prometheus::Counter>* refused = nullptr;
  prometheus::Gauge* open_gauge = nullptr;

  std::vector<std::thread> threads;
  int port = 0;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;

  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<std::string, std::int64_t> per_address;
  std::int64_t open = 0;
  std::int64_t in_flight = 0;  // requests between their headers and their response's end
  std::map<HttpConnection*, std::weak_ptr<HttpConnection>> sessions;

  // Last: destroyed first, with the handlers (and sessions) it still holds.
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  asio::steady_timer sweep_timer{ioc};
  // Keeps the threads running while no socket operation is pending until stop().
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  Impl(ApiSettings s, Dispatcher& d)
      : settings(std::move(s)), dispatcher(d), ioc(static_cast<int>(std::max<std::int64_t>(settings.threads, 1))) {
    origins = split_csv(settings.cors_origins);
  }

  [[nodiscard]] bool origin_allowed(const std::string& origin) const {
    if (origin.empty()) return false;
    for (const auto& o : origins) {
      if (o == "*" || o == origin) return true;
    }
    return false;
  }

  // Headers every response carries: request id, CORS, security.
  void common_headers(std::string& out, const Exchange& ex, bool set_cache_control) const {
    out += "X-Request-Id: ";
    out += ex.request_id;
    out += "\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n";
    if (set_cache_control) out += "Cache-Control: no-store\r\n";
    if (settings.hsts_max_age > 0)
      out += fmt::format("Strict-Transport-Security: max-age={}\r\n", settings.hsts_max_age);
    if (origin_allowed(ex.origin)) {
      out += "Access-Control-Allow-Origin: " + ex.origin +
             "\r\nVary: Origin\r\nAccess-Control-Expose-Headers: X-Request-Id, Retry-After, Content-Range\r\n";
    }
  }

  // A complete response with a body the listener made itself (errors, preflight).
  std::string simple(const Exchange& ex, int status, const std::string& body, bool close,
                     const std::vector<std::pair<std::string, std::string>>& extra = {}) const {
    std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, reason_phrase(status));
    for (const auto& [k, v] : extra) out.append(k).append(": ").append(v).append("\r\n");
    common_headers(out, ex, !has_header(extra, "Cache-Control"));
    if (!body.empty()) out += "Content-Type: application/json\r\n";
    if (status != 204) out += fmt::format("Content-Length: {}\r\n", body.size());
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    if (!ex.head) out += body;
    return out;
  }

  // On the connection's strand: the route, then the response bytes.
  Prepared prepare(Request& req, Exchange& ex) {
    Reply reply;
    try {
      if (auto split = http_request::take_form_parts(req)) {
        reply = dispatcher.handle(req, ex.route);
      } else {
        reply = error_reply(split.error());
      }
    } catch (const std::exception& e) {
      log::error("unhandled exception in request", {{"error", e.what()}});
      reply = error_reply(Error(ErrorCode::kInternal, "internal error"));
    } catch (...) {
      log::error("unhandled exception in request", {{"error", "unknown"}});
      reply = error_reply(Error(ErrorCode::kInternal, "internal error"));
    }
    ex.bid = req.principal && !req.principal->bid.empty() ? req.principal->bid : std::string();
    if (auto it = req.path_params.find("bid"); ex.bid.empty() && it != req.path_params.end()) ex.bid = it->second;
    if (reply.later) {
      Prepared p;
      p.close = !ex.keep_alive;
      p.later = std::move(reply.later);
      p.later_timeout = reply.later_timeout;
      return p;
    }
    return render(std::move(reply), ex);
  }

  // The response bytes of a reply (on the connection's strand).
  Prepared render(Reply reply, const Exchange& ex) const {
    Prepared p;
    p.close = !ex.keep_alive;
    int status = reply.status;
    std::string body;
    std::string content_type = reply.content_type;
    bool has_body = true;
    std::string extra;
    std::uint64_t length = 0;
    if (reply.later) {
      // A reply given later may not defer again.
      log::error("a deferred reply deferred again", {{"route", ex.route}});
      reply = error_reply(Error(ErrorCode::kInternal, "internal error"));
      status = reply.status;
      content_type = reply.content_type;
    }
    if (reply.stream) {
      p.stream = std::move(reply.stream);
    } else if (reply.read_piece) {
      const auto size = reply.object_size;
      auto range = http_parsing::parse_range(ex.range, size);
      extra += "Accept-Ranges: bytes\r\n";
      if (range.kind == http_parsing::ByteRange::Kind::kUnsatisfiable) {
        status = 416;
        body = listener_error(416, "range not satisfiable");
        content_type = "application/json";
        extra += fmt::format("Content-Range: bytes */{}\r\n", size);
        length = body.size();
      } else {
        if (range.kind == http_parsing::ByteRange::Kind::kPartial) {
          status = 206;
          p.offset = range.first;
          p.end = range.last + 1;
          extra += fmt::format("Content-Range: bytes {}-{}/{}\r\n", range.first, range.last, size);
        } else {
          p.offset = 0;
          p.end = size;
        }
        length = p.end - p.offset;
        if (!ex.head && length > 0) p.read_piece = std::move(reply.read_piece);
      }
    } else if (reply.raw) {
      body = std::move(*reply.raw);
      has_body = !body.empty() || !content_type.empty();
      length = body.size();
    } else if (status != 204) {
      body = reply.json.dump();
      content_type = "application/json";
      length = body.size();
    } else {
      has_body = false;
    }
    if (status == 204 || status == 304) has_body = false;
    if (!p.stream && !p.read_piece && has_body && ex.gzip && body.size() >= kGzipMinBytes &&
        compressible(content_type)) {
      auto zipped = http_parsing::gzip(body);
      if (!zipped.empty()) {
        body = std::move(zipped);
        length = body.size();
        extra += "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n";
      }
    }
    p.status = status;
    std::string& out = p.bytes;
    out.reserve(512);
    out += fmt::format("HTTP/1.1 {} {}\r\n", status, reason_phrase(status));
    for (const auto& [k, v] : reply.headers) {
      out += k;
      out += ": ";
      out += v;
      out += "\r\n";
    }
    out += extra;
    common_headers(out, ex, !has_header(reply.headers, "Cache-Control"));
    if (p.stream) {
      out += "Content-Type: " + content_type + "\r\nTransfer-Encoding: chunked\r\n";
    } else if (has_body) {
      if (!content_type.empty()) out += "Content-Type: " + content_type + "\r\n";
      out += fmt::format("Content-Length: {}\r\n", length);
    } else if (status != 204 && status != 304) {
      out += "Content-Length: 0\r\n";
    }
    if (p.close) out += "Connection: close\r\n";
    out += "\r\n";
    if (!ex.head && !p.stream && !p.read_piece) p.body = std::move(body);
    if (ex.head) p.stream = nullptr;
    return p;
  }

  void log_request(const Exchange& ex, const std::string& remote) {
    const std::string status = std::to_string(ex.status);
    const double secs = std::chrono::duration<double>(Steady::now() - ex.start).count();
    requests->Add({{"method", ex.method}, {"route", ex.route}, {"status", status}}).Increment();
    latency->Add({{"route", ex.route}}, Metrics::latency_buckets()).Observe(secs);
    log::info("request", {{"method", ex.method},
                          {"path", ex.path},
                          {"route", ex.route},
                          {"business", ex.bid},
                          {"status", status},
                          {"duration_ms", fmt::format("{:.1f}", secs * 1000)},
                          {"request_id", ex.request_id},
                          {"remote", remote}});
  }

  void accept();
  void sweep();
  void admit(tcp::socket socket);
  void request_started() {
    std::lock_guard lock(mu);
    ++in_flight;
  }
  void request_finished() {
    {
      std::lock_guard lock(mu);
      --in_flight;
    }
    cv.notify_all();
  }
};

namespace {
class SseSink;
class DeferredResponder;
}  // namespace

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(HttpServer::Impl& srv, tcp::socket socket, std::string addr)
      : srv_(srv), socket_(std::move(socket)), addr_(std::move(addr)), buffer_(http_request::kReadBufferBytes) {}

  ~HttpConnection() {
    {
      std::lock_guard lock(srv_.mu);
      --srv_.open;
      if (auto it = srv_.per_address.find(addr_); it != srv_.per_address.end() && --it->second <= 0) {
        srv_.per_address.erase(it);
      }
      srv_.sessions.erase(this);
      if (srv_.open_gauge != nullptr) srv_.open_gauge->Set(static_cast<double>(srv_.open));
    }
    if (in_request_) srv_.request_finished();
    srv_.cv.notify_all();
    abandon_deferred();  // the io threads stopped with a reply still awaited
  }

  void start() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  // Shutdown: an idle connection closes now; one inside a request after its response.
  void stop_if_idle() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->in_request_ && !self->streaming_) self->close();
    });
  }
  // Shutdown (and a sink dropping a slow client): closes now; a request whose reply is
  // awaited is answered 503 first.
  void force_close() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->deferred_) {
        return self->answer_deferred_instead(
            Error(ErrorCode::kUnavailable, "the server is shutting down; retry the request"));
      }
      self->close();
    });
  }

  [[nodiscard]] asio::any_io_executor executor() { return socket_.get_executor(); }
  // SSE, on the strand: write what the sink queued; end the response.
  void sse_flush();
  void sse_end();
  // A reply given later, on the strand: written if `who` is still the one awaited.
  void deliver(const DeferredResponder* who, Result<Reply> reply);

 private:
  void arm(std::chrono::milliseconds d) {
    deadline_ns_.store((std::chrono::steady_clock::now() + d).time_since_epoch().count(), std::memory_order_relaxed);
  }
  void disarm() { deadline_ns_.store(0, std::memory_order_relaxed); }

 public:
  // The sweep (any thread, under srv_.mu): whether the deadline has passed.
  [[nodiscard]] bool overdue(std::int64_t now_ns) const {
    const auto d = deadline_ns_.load(std::memory_order_relaxed);
    return d != 0 && d <= now_ns;
  }
  // On the connection's strand: closes the socket if the deadline is still passed (the
  // connection may have moved on since the sweep looked).
  void expire() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->overdue(std::chrono::steady_clock::now().time_since_epoch().count())) return;
      if (self->deferred_) {
        // The awaited reply did not come in time: the client is told so.
        return self->answer_deferred_instead(
            Error(ErrorCode::kTimeout, "no answer within the time this request may take; retry later"));
      }
      self->timed_out_ = true;
      beast::error_code ignored;
      self->socket_.close(ignored);
    });
  }

 private:
  void close() {
    disarm();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  // The parser of the request being read: engaged from read_request() until dispatch() has
  // taken the request; reaching for it at any other time is a bug.
  bhttp::request_parser<bhttp::string_body>& parser() {
    if (!parser_) std::abort();
    return *parser_;
  }

  void read_request() {
    if (srv_.stopping.load()) return close();
    http_request::configure(parser_.emplace());
    if (!first_ && buffer_.size() == 0) {
      // Keep-alive: wait for the next request's first bytes under the idle timeout, then
      // give its headers the header timeout.
      arm(srv_.settings.idle_timeout);
      socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->close();
        self->read_header();
      });
      return;
    }
    first_ = false;
    read_header();
  }

  void read_header() {
    arm(srv_.settings.header_timeout);
    bhttp::async_read_header(socket_, buffer_, parser(),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void begin_exchange() {
    ex_ = Exchange{};
    ex_.start = Steady::now();
    ex_.request_id = new_request_id();
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      if (ec == bhttp::error::end_of_stream || timed_out_ || ec == asio::error::operation_aborted ||
          ec == asio::error::eof || ec == asio::error::connection_reset || ec == bhttp::error::partial_message) {
        return close();
      }
      begin_exchange();
      ex_.method = "-";
      const auto rejection = http_request::head_error(ec);
      return reject(rejection.status, rejection.message);
    }
    auto& incoming = parser();
    auto& msg = incoming.get();
    begin_exchange();
    // The limits apply before a byte of the body is read.
    auto head = http_request::admit_head(incoming, static_cast<std::uint64_t>(srv_.settings.max_body_bytes));
    ex_.method = std::move(head.method);
    ex_.path = std::move(head.path);
    if (!head.request_id.empty()) ex_.request_id = std::move(head.request_id);
    ex_.origin = std::move(head.origin);
    if (head.reject) return reject(head.reject->status, head.reject->message);
    if (ex_.method == "OPTIONS") return preflight();
    srv_.request_started();
    in_request_ = true;
    if (incoming.is_done()) return dispatch();
    if (auto it = msg.find(bhttp::field::expect); it != msg.end() && beast::iequals(it->value(), "100-continue")) {
      write_ = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      arm(srv_.settings.write_timeout);
      asio::async_write(socket_, asio::buffer(*write_),
                        [self = shared_from_this()](beast::error_code wec, std::size_t) {
                          if (wec) return self->abandon();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    arm(srv_.settings.read_timeout);
    bhttp::async_read(socket_, buffer_, parser(), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) return self->dispatch();
      if (ec == bhttp::error::body_limit) {
        return self->reject(
            413, fmt::format("request body too large (at most {} bytes)", self->srv_.settings.max_body_bytes));
      }
      if (self->timed_out_ || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
          ec == asio::error::eof || ec == asio::error::operation_aborted) {
        return self->abandon();
      }
      self->reject(400, "malformed request body: " + ec.message());
    });
  }

  // The client went away (or overran a deadline) inside a request.
  void abandon() {
    if (in_request_) {
      in_request_ = false;
      srv_.request_finished();
    }
    close();
  }

  // An answer from the listener itself; the connection closes after it (the rest of the
  // request is not read).
  void reject(int status, const std::string& message) {
    ex_.status = status;
    ex_.keep_alive = false;
    write_ = std::make_shared<std::string>(srv_.simple(ex_, status, listener_error(status, message), true));
    write_and_finish(false);
  }

  void preflight() {
    ex_.route = "preflight";
    ex_.keep_alive = parser().get().keep_alive() && parser().is_done();
    if (!srv_.origin_allowed(ex_.origin)) {
      ex_.status = 403;
      write_ = std::make_shared<std::string>(srv_.simple(
          ex_, 403, error_body(Error(ErrorCode::kPermissionDenied, "origin not allowed")), !ex_.keep_alive));
    } else {
      ex_.status = 204;
      const std::string o = ex_.origin;
      Exchange bare = ex_;
      bare.origin.clear();  // the preflight headers below say it
      write_ = std::make_shared<std::string>(srv_.simple(
          bare, 204, "", !ex_.keep_alive,
          {{"Access-Control-Allow-Origin", o},
           {"Vary", "Origin"},
           {"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
           {"Access-Control-Allow-Headers",
            "Authorization, Content-Type, X-Api-Key, X-Request-Id, Range, Last-Event-ID, X-Earshot-Business"},
           {"Access-Control-Max-Age", "600"}}));
    }
    write_and_finish(false);
  }

  void dispatch() {
    disarm();
    auto& msg = parser().get();
    ex_.keep_alive = msg.keep_alive();
    auto req = std::make_unique<Request>(http_request::to_request(msg));  // the body moved out
    ex_.head = ex_.method == "HEAD";
    ex_.path = req->path;
    if (auto it = req->headers.find("Accept-Encoding"); it != req->headers.end()) {
      ex_.gzip = http_parsing::accepts_gzip(it->second);
    }
    if (auto it = req->headers.find("Range"); it != req->headers.end()) ex_.range = it->second;
    req->remote_addr = addr_;
    req->request_id = ex_.request_id;
    parser_.reset();  // multipart bodies are split in prepare()
    // Here, on this thread: the handler may block (MariaDB, Redis); the other threads serve
    // the other connections meanwhile.
    auto prepared = srv_.prepare(*req, ex_);
    req.reset();
    respond(std::move(prepared));
  }

  void respond(Prepared p) {
    if (p.later) return await_reply(std::move(p));
    ex_.status = p.status;
    if (p.close) ex_.keep_alive = false;
    write_ = std::make_shared<std::string>(std::move(p.bytes));
    if (!p.body.empty()) body_ = std::make_shared<std::string>(std::move(p.body));
    if (p.stream) {
      stream_fn_ = std::move(p.stream);
      return write_head_then_stream();
    }
    if (p.read_piece) {
      read_piece_ = std::move(p.read_piece);
      offset_ = p.offset;
      end_ = p.end;
      arm(srv_.settings.write_timeout);
      asio::async_write(socket_, asio::buffer(*write_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->abandon_logged();
        self->next_piece();
      });
      return;
    }
    write_and_finish(true);
  }

  void abandon_logged() {
    srv_.log_request(ex_, addr_);
    abandon();
  }

  void next_piece() {
    if (offset_ >= end_) {
      read_piece_ = nullptr;
      return finish();
    }
    const auto want = std::min<std::uint64_t>(kPieceBytes, end_ - offset_);
    auto piece = read_piece_(offset_, want);  // may block (object store): holds this thread only
    if (!piece || piece->empty() || piece->size() > end_ - offset_) {
      if (!piece) log::warn("object stream ended early", {{"error", piece.error().to_string()}});
      return abandon_logged();  // the length promised cannot be kept: close
    }
    offset_ += piece->size();
    write_ = std::make_shared<std::string>(std::move(*piece));
    arm(srv_.settings.write_timeout);
    asio::async_write(socket_, asio::buffer(*write_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->abandon_logged();
      self->next_piece();
    });
  }

  // Writes write_ and ends the exchange (logged, next request or close).
  void write_and_finish(bool dispatched) {
    (void)dispatched;
    arm(srv_.settings.write_timeout);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(*write_),
                                                    body_ ? asio::buffer(*body_) : asio::const_buffer()};
    asio::async_write(socket_, buffers, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->abandon_logged();
      self->finish();
    });
  }

  void finish() {
    disarm();
    srv_.log_request(ex_, addr_);
    write_.reset();
    body_.reset();
    if (in_request_) {
      in_request_ = false;
      srv_.request_finished();
    }
    if (!ex_.keep_alive || srv_.stopping.load()) return close();
    read_request();
  }

  void write_head_then_stream();

  // Waits for a reply given later: the deadline armed, a watch for the client hanging up
  // (a read that completes: with no byte the client has gone), then the route's
  // continuation is handed the responder.
  void await_reply(Prepared p);
  void watch_hangup(const std::shared_ptr<DeferredResponder>& awaited);
  // The awaited reply will not be written: the responder hears of it, and the client gets
  // `instead` (then the connection closes).
  void answer_deferred_instead(const Error& instead);
  // The client hung up while its reply was awaited.
  void deferred_client_gone();
  void abandon_deferred();

  HttpServer::Impl& srv_;
  tcp::socket socket_;
  std::atomic<std::int64_t> deadline_ns_{0};  // steady_clock; 0: none
  bool timed_out_ = false;
  std::string addr_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool first_ = true;
  bool in_request_ = false;
  bool streaming_ = false;
  Exchange ex_;
  std::shared_ptr<std::string> write_;
  std::shared_ptr<std::string> body_;
  std::function<Result<std::string>(std::uint64_t, std::uint64_t)> read_piece_;
  std::uint64_t offset_ = 0;
  std::uint64_t end_ = 0;
  std::function<void(std::shared_ptr<EventSink>)> stream_fn_;
  std::shared_ptr<SseSink> sink_;
  bool sse_writing_ = false;
  std::array<char, 512> drain_{};
  std::shared_ptr<DeferredResponder> deferred_;  // the responder whose reply is awaited
};

namespace {

// The sink of one SSE response: frames queue here (any thread) and the session writes them
// as chunks on its strand.
class SseSink : public EventSink, public std::enable_shared_from_this<SseSink> {
 public:
  explicit SseSink(std::weak_ptr<HttpConnection> session) : session_(std::move(session)) {}

  bool push(std::string bytes) override {
    std::shared_ptr<HttpConnection> s;
    {
      std::lock_guard lock(mu_);
      if (!open_ || ending_) return false;
      if (queued_ + bytes.size() > kSinkQueueBytes) {
        // Too far behind: dropped.
        open_ = false;
        s = session_.lock();
      } else {
        queued_ += bytes.size();
        queue_.push_back(std::move(bytes));
        if (!scheduled_) {
          scheduled_ = true;
          s = session_.lock();
        }
      }
    }
    if (!open()) {
      fire();
      if (s) s->force_close();
      return false;
    }
    if (s) asio::post(s->executor(), [s] { s->sse_flush(); });
    return true;
  }

  [[nodiscard]] bool open() const override {
    std::lock_guard lock(mu_);
    return open_;
  }

  void close() override {
    std::shared_ptr<HttpConnection> s;
    {
      std::lock_guard lock(mu_);
      if (!open_ || ending_) return;
      ending_ = true;
      s = session_.lock();
    }
    if (s) asio::post(s->executor(), [s] { s->sse_end(); });
  }

  void on_close(std::function<void()> callback) override {
    {
      std::lock_guard lock(mu_);
      if (open_) {
        callback_ = std::move(callback);
        return;
      }
    }
    if (callback) callback();  // already closed: called at once, outside the lock
  }

  // The connection is gone (or ended): not open any more.
  void gone() {
    {
      std::lock_guard lock(mu_);
      open_ = false;
    }
    fire();
  }

  // Takes what is queued, as one chunk; empty when nothing is.
  std::string take(bool& ending) {
    std::lock_guard lock(mu_);
    scheduled_ = false;
    ending = ending_;
    if (queue_.empty()) return {};
    std::string body;
    body.reserve(queued_);
    for (auto& q : queue_) body += q;
    queue_.clear();
    queued_ = 0;
    std::string out = fmt::format("{:x}\r\n", body.size());
    out += body;
    out += "\r\n";
    return out;
  }

 private:
  void fire() {
    std::function<void()> cb;
    {
      std::lock_guard lock(mu_);
      cb = std::move(callback_);
      callback_ = nullptr;
    }
    if (cb) cb();
  }

  std::weak_ptr<HttpConnection> session_;
  mutable std::mutex mu_;
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;
  bool open_ = true;
  bool ending_ = false;
  bool scheduled_ = false;
  std::function<void()> callback_;
};

// The responder of a reply given later: reply() hands the reply to the connection's strand;
// abandon() (on the strand) tells the route that no reply will be written.
class DeferredResponder : public Responder, public std::enable_shared_from_this<DeferredResponder> {
 public:
  explicit DeferredResponder(std::weak_ptr<HttpConnection> session) : session_(std::move(session)) {}

  void reply(Result<Reply> reply) override {
    {
      std::lock_guard lock(mu_);
      if (replied_ || abandoned_) return;
      replied_ = true;
      callback_ = nullptr;
    }
    auto s = session_.lock();
    if (!s) return;
    asio::post(s->executor(), [s, self = shared_from_this(), r = std::move(reply)]() mutable {
      s->deliver(self.get(), std::move(r));
    });
  }

  void on_abandon(std::function<void()> callback) override {
    {
      std::lock_guard lock(mu_);
      if (!abandoned_) {
        if (!replied_) callback_ = std::move(callback);
        return;
      }
    }
    if (callback) callback();  // abandoned already: called at once, outside the lock
  }

  void abandon() {
    std::function<void()> cb;
    {
      std::lock_guard lock(mu_);
      if (abandoned_) return;
      abandoned_ = true;
      cb = std::move(callback_);
      callback_ = nullptr;
    }
    if (cb) cb();
  }

 private:
  std::weak_ptr<HttpConnection> session_;
  std::mutex mu_;
  bool replied_ = false;
  bool abandoned_ = false;
  std::function<void()> callback_;
};

}  // namespace

void HttpConnection::await_reply(Prepared p) {
  if (p.close) ex_.keep_alive = false;
  arm(p.later_timeout.count() > 0 ? p.later_timeout : srv_.settings.write_timeout);
  deferred_ = std::make_shared<DeferredResponder>(weak_from_this());
  watch_hangup(deferred_);
  auto fn = std::move(p.later);
  fn(deferred_);
}

void HttpConnection::watch_hangup(const std::shared_ptr<DeferredResponder>& awaited) {
  socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this(), awaited](beast::error_code ec) {
    if (self->deferred_ != awaited) return;  // answered (the wait was cancelled) or abandoned
    if (!ec) {
      char byte = 0;
      const auto n = ::recv(self->socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;  // the client's next request, pipelined: it stays; the reply goes out when it comes
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->watch_hangup(awaited);
    }
    self->deferred_client_gone();  // end of stream or a socket error
  });
}

void HttpConnection::deliver(const DeferredResponder* who, Result<Reply> reply) {
  if (!deferred_ || deferred_.get() != who) return;  // abandoned meanwhile
  deferred_.reset();
  beast::error_code ignored;
  socket_.cancel(ignored);  // ends the hang-up watch
  respond(srv_.render(reply_of(std::move(reply), ex_.route), ex_));
}

void HttpConnection::answer_deferred_instead(const Error& instead) {
  auto d = std::move(deferred_);
  deferred_.reset();
  beast::error_code ignored;
  socket_.cancel(ignored);
  if (d) d->abandon();
  ex_.keep_alive = false;
  respond(srv_.render(error_reply(instead), ex_));
}

void HttpConnection::deferred_client_gone() {
  auto d = std::move(deferred_);
  deferred_.reset();
  if (d) d->abandon();
  ex_.status = 499;  // the client closed the request (nginx's code; logged and counted only)
  abandon_logged();
}

void HttpConnection::abandon_deferred() {
  auto d = std::move(deferred_);
  deferred_.reset();
  if (d) d->abandon();
}

void HttpConnection::write_head_then_stream() {
  streaming_ = true;
  arm(srv_.settings.write_timeout);
  asio::async_write(socket_, asio::buffer(*write_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->disarm();
    self->srv_.log_request(self->ex_, self->addr_);
    if (self->in_request_) {
      self->in_request_ = false;
      self->srv_.request_finished();  // a stream is not a request in flight: shutdown closes it
    }
    if (ec) {
      self->stream_fn_ = nullptr;  // releases the stream's place
      return self->close();
    }
    self->sink_ = std::make_shared<SseSink>(self->weak_from_this());
    // The client sends nothing more; a read completes when it hangs up.
    self->socket_.async_read_some(asio::buffer(self->drain_), [self](beast::error_code, std::size_t) {
      self->sink_->gone();
      self->close();
    });
    auto fn = std::move(self->stream_fn_);
    self->stream_fn_ = nullptr;
    fn(self->sink_);
  });
}

void HttpConnection::sse_flush() {
  if (sse_writing_ || !sink_) return;
  bool ending = false;
  std::string chunk = sink_->take(ending);
  if (chunk.empty()) {
    if (ending) {
      chunk = "0\r\n\r\n";
      sink_->gone();
    } else {
      return;
    }
  }
  sse_writing_ = true;
  write_ = std::make_shared<std::string>(std::move(chunk));
  arm(srv_.settings.write_timeout);
  asio::async_write(socket_, asio::buffer(*write_),
                    [self = shared_from_this(), ending](beast::error_code ec, std::size_t) {
                      self->sse_writing_ = false;
                      self->disarm();
                      if (ec) {
                        self->sink_->gone();
                        return self->close();
                      }
                      if (ending && !self->sink_->open()) return self->close();
                      self->sse_flush();
                    });
}

void HttpConnection::sse_end() {
  sse_flush();
}

// Closes the connections whose deadline passed, then runs again kSweepInterval later. Only
// the overdue are locked (under `mu`; the references are dropped after it is released, as a
// connection's destructor takes `mu`).
void HttpServer::Impl::sweep() {
  sweep_timer.expires_after(kSweepInterval);
  sweep_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;  // runs until the io_context stops (stop() still needs the deadlines)
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::vector<std::shared_ptr<HttpConnection>> overdue;
    {
      std::lock_guard lock(mu);
      for (auto& [p, w] : sessions) {
        if (p->overdue(now)) {
          if (auto c = w.lock()) overdue.push_back(std::move(c));
        }
      }
    }
    for (auto& c : overdue) c->expire();
    overdue.clear();
    sweep();
  });
}

void HttpServer::Impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping.load() || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or similar: try again shortly instead of spinning.
      log::warn("API listener cannot accept", {{"error", ec.message()}});
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](beast::error_code) { accept(); });
      return;
    }
    admit(std::move(socket));
    accept();
  });
}

void HttpServer::Impl::admit(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  std::string addr = remote.address().to_string();
  const char* over = nullptr;
  const char* cap = "";
  {
    std::lock_guard lock(mu);
    auto& mine = per_address[addr];
    if (open >= settings.max_connections) {
      over = "too many open connections";
      cap = "total";
    } else if (mine >= settings.max_connections_per_address) {
      over = "too many open connections from this address";
      cap = "per_address";
    } else {
      ++mine;
      ++open;
      if (open_gauge != nullptr) open_gauge->Set(static_cast<double>(open));
    }
    if (over != nullptr && mine == 0) per_address.erase(addr);
  }
  if (over != nullptr) {
    // Answered and closed at once, without reading the request.
    refused->Add({{"cap", cap}}).Increment();
    Exchange ex;
    ex.request_id = new_request_id();
    auto bytes =
        std::make_shared<std::string>(simple(ex, 503, listener_error(503, over), true, {{"Retry-After", "1"}}));
    auto sock = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*sock, asio::buffer(*bytes), [sock, bytes](beast::error_code, std::size_t) {
      beast::error_code ignored;
      sock->shutdown(tcp::socket::shutdown_both, ignored);
      sock->close(ignored);
    });
    return;
  }
  auto session = std::make_shared<HttpConnection>(*this, std::move(socket), std::move(addr));
  {
    std::lock_guard lock(mu);
    sessions.emplace(session.get(), session);
  }
  session->start();
}

HttpServer::HttpServer(ApiSettings settings, Dispatcher& dispatcher, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(settings), dispatcher)) {
  impl_->requests = &metrics.counter("earshot_http_requests_total", "API requests by method, route and status.");
  impl_->latency = &metrics.histogram("earshot_http_request_duration_seconds", "API request latency by route.");
  impl_->refused = &metrics.counter("earshot_http_connections_refused_total",
                                    "Connections answered 503 and closed at once, by the cap they met.");
  impl_->open_gauge = &metrics.gauge("earshot_http_connections", "Open connections to the API listener.").Add({});
}

HttpServer::~HttpServer() {
  stop();
}

int HttpServer::bound_port() const {
  return impl_->port;
}

Status HttpServer::start() {
  auto& m = *impl_;
  beast::error_code ec;
  auto address = asio::ip::make_address(m.settings.host, ec);
  if (ec) {
    // A host name: resolve it.
    tcp::resolver resolver(m.ioc);
    auto results = resolver.resolve(m.settings.host, std::to_string(m.settings.port), ec);
    if (ec || results.empty()) {
      return make_error(ErrorCode::kUnavailable, fmt::format("API listener cannot resolve {}", m.settings.host));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(m.settings.port));
  m.acceptor.open(endpoint.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(endpoint, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::kUnavailable, fmt::format("API listener cannot bind {}:{}: {}", m.settings.host,
                                                           m.settings.port, ec.message()));
  }
  m.port = m.acceptor.local_endpoint().port();
  m.work.emplace(m.ioc.get_executor());
  m.accept();
  m.sweep();
  for (std::int64_t i = 0; i < std::max<std::int64_t>(m.settings.threads, 1); ++i) {
    m.threads.emplace_back([&m] { m.ioc.run(); });
  }
  m.started = true;
  log::info("API listener started", {{"address", fmt::format("http://{}:{}", m.settings.host, m.port)},
                                     {"threads", std::to_string(m.settings.threads)}});
  return {};
}

void HttpServer::stop() {
  auto& m = *impl_;
  if (!m.started || m.stopped) return;
  m.stopped = true;
  m.stopping.store(true);
  // No new connections; idle ones close now.
  asio::post(m.ioc, [&m] {
    beast::error_code ec;
    m.acceptor.close(ec);
    m.accept_retry.cancel();
  });
  auto each_session = [&m](auto fn) {
    std::vector<std::shared_ptr<HttpConnection>> live;
    {
      std::lock_guard lock(m.mu);
      for (auto& [p, w] : m.sessions) {
        if (auto s = w.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) fn(*s);
  };
  each_session([](HttpConnection& s) { s.stop_if_idle(); });
  // Requests in flight finish (their responses are written), within the write timeout.
  {
    std::unique_lock lock(m.mu);
    m.cv.wait_for(lock, m.settings.write_timeout + std::chrono::seconds(1), [&m] { return m.in_flight == 0; });
  }
  each_session([](HttpConnection& s) { s.force_close(); });
  {
    std::unique_lock lock(m.mu);
    m.cv.wait_for(lock, std::chrono::seconds(2), [&m] { return m.open == 0; });
  }
  m.work.reset();
  m.ioc.stop();
  for (auto& t : m.threads) {
    if (t.joinable()) t.join();
  }
}

}  // namespace earshot::api
