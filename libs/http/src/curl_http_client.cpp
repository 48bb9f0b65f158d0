#include "earshot/http/curl_http_client.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace earshot::http {

namespace {

using Steady = std::chrono::steady_clock;

// scheme://host[:port] of a URL, for error messages: paths and queries may carry
// signatures (pre-signed upload URLs) and never go into messages.
std::string url_origin(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "(invalid url)";
  auto host_start = scheme_end + 3;
  auto host_end = url.find_first_of("/?#", host_start);
  std::string authority =
      url.substr(host_start, host_end == std::string::npos ? std::string::npos : host_end - host_start);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  return url.substr(0, scheme_end) + "://" + authority;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void ensure_curl_global() {
  static CurlGlobal once;
  (void)once;
}

}  // namespace

struct Transfer {
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpRequest request;
  ResponseCallback done;
  HttpResponse response;
  std::string policy_refusal;
  bool too_large = false;
  Steady::time_point started;
  char error_buffer[CURL_ERROR_SIZE] = {};
  std::uint64_t serial = 0;       // names the transfer to its cancel hook
  std::uint64_t cancel_hook = 0;  // the subscription on request.cancel (0: none)
  // request.file_body: the open file and how much of the whole body was sent.
  int body_fd = -1;
  std::uint64_t body_at = 0;
  std::string body_error;

  ~Transfer() {
    if (body_fd >= 0) ::close(body_fd);
    // First: once unsubscribed, the hook (which names this transfer) never runs again.
    if (request.cancel) request.cancel->unsubscribe(cancel_hook);
    if (header_list != nullptr) curl_slist_free_all(header_list);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

struct CurlHttpClient::Impl {
  CurlHttpClientOptions options;
  CURLM* multi = nullptr;
  std::thread loop_thread;

  mutable std::mutex mu;
  std::vector<std::unique_ptr<Transfer>> incoming;                  // guarded by mu
  std::multimap<Steady::time_point, std::function<void()>> timers;  // guarded by mu
  std::vector<std::uint64_t> cancels;                               // guarded by mu: serials to abort
  bool exited = false;                                              // guarded by mu
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::uint64_t> next_serial{0};
  std::once_flag shutdown_once;

  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active;  // loop thread only
  std::unordered_map<std::uint64_t, CURL*> cancellable;         // loop thread only: active ones with a signal

  // Readiness comes from epoll and curl is driven with curl_multi_socket_action, so the
  // cost of an event does not grow with the number of transfers in flight.
  int epoll_fd = -1;
  int wake_fd = -1;                                 // eventfd: send/post_after/shutdown
  std::unordered_set<curl_socket_t> watched;        // loop thread only
  std::optional<Steady::time_point> curl_deadline;  // loop thread only (timer callback)

  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  // A request's cancel hook (any thread, under the signal's lock): the loop aborts it.
  void cancel_requested(std::uint64_t serial) {
    {
      std::lock_guard lock(mu);
      cancels.push_back(serial);
    }
    wake();
  }

  static std::unexpected<Error> cancelled_error() {
    return std::unexpected(Error(ErrorCode::kUnavailable, "cancelled"));
  }

  static int on_socket(CURL*, curl_socket_t s, int what, void* user, void*) {
    auto* self = static_cast<Impl*>(user);
    if (what == CURL_POLL_REMOVE) {
      if (self->watched.erase(s) > 0) epoll_ctl(self->epoll_fd, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = s;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev.events |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev.events |= EPOLLOUT;
    const bool known = self->watched.contains(s);
    if (epoll_ctl(self->epoll_fd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0) {
      // Our bookkeeping and the kernel's disagree (a closed descriptor leaves the epoll set
      // on its own; a reused number may still be in it): the other operation is right.
      epoll_ctl(self->epoll_fd, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev);
    }
    self->watched.insert(s);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (timeout_ms < 0) {
      self->curl_deadline.reset();
    } else {
      self->curl_deadline = Steady::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  static size_t on_write(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t bytes = size * n;
    if (t->response.body.size() + bytes > t->request.max_response_bytes) {
      t->too_large = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    t->response.body.append(data, bytes);
    if (t->request.on_body && bytes > 0) {
      long status = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
      t->request.on_body(static_cast<int>(status), std::string_view(data, bytes));
    }
    return bytes;
  }

  static size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t bytes = size * n;
    std::string_view line(data, bytes);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
      t->response.headers.clear();  // a new response (after 100-continue or a redirect)
      return bytes;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bytes;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    auto [it, inserted] = t->response.headers.try_emplace(name, std::string(value));
    if (!inserted) {
      it->second += ", ";
      it->second += value;
    }
    return bytes;
  }

  static curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(user);
    if (purpose == CURLSOCKTYPE_IPCXN && t->request.address_policy) {
      auto reason = t->request.address_policy->check(&address->addr);
      if (!reason.empty()) {
        t->policy_refusal = std::move(reason);
        return CURL_SOCKET_BAD;
      }
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }

  // Before each request goes out on a connection, new or reused: the connected peer must
  // pass the request's address policy.
  static int on_prereq(void* user, char* conn_primary_ip, char* /*conn_local_ip*/, int primary_port,
                       int /*local_port*/) {
    auto* t = static_cast<Transfer*>(user);
    if (!t->request.address_policy) return CURL_PREREQFUNC_OK;
    auto reason = t->request.address_policy->check(std::string_view(conn_primary_ip == nullptr ? "" : conn_primary_ip),
                                                   primary_port);
    if (reason.empty()) return CURL_PREREQFUNC_OK;
    t->policy_refusal = std::move(reason);
    return CURL_PREREQFUNC_ABORT;
  }

  // Configures the easy handle; an error message when the request cannot be sent at all.
  std::string setup(Transfer& t) {
    t.easy = curl_easy_init();
    if (t.easy == nullptr) return "curl_easy_init failed";
    CURL* e = t.easy;
    const auto& r = t.request;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error_buffer);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &t);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<std::int64_t>(1, r.connect_timeout.count())));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<std::int64_t>(1, r.timeout.count())));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_response_bytes));
    // gzip only: brotli costs servers far more CPU per response for little gain on JSON.
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    if (r.follow_redirects) {
      curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    }
    if (r.address_policy) {
      // New connections are checked when their socket opens (on_open_socket). A pooled
      // connection may have been opened for an earlier request under another policy (or
      // none): its peer is checked again before every request that would reuse it
      // (on_prereq), so keep-alive stays safe. Proxy settings from the environment are
      // ignored (the peer must be the target itself).
      curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, &Impl::on_prereq);
      curl_easy_setopt(e, CURLOPT_PREREQDATA, &t);
      curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    }
    const std::string& payload = r.shared_body ? *r.shared_body : r.body;
    if (r.file_body) {
      t.body_fd = ::open(r.file_body->path.c_str(), O_RDONLY | O_CLOEXEC);
      if (t.body_fd < 0) {
        t.body_error = fmt::format("cannot open the body's file: {}", std::strerror(errno));
        return {};  // start() fails the attempt with kUnavailable
      }
      t.body_at = 0;
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.file_body->size()));
      curl_easy_setopt(e, CURLOPT_READFUNCTION, &Impl::on_read_body);
      curl_easy_setopt(e, CURLOPT_READDATA, &t);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &Impl::on_seek_body);
      curl_easy_setopt(e, CURLOPT_SEEKDATA, &t);
      // Bigger pieces than curl's 64 KB default: a recording of megabytes in fewer reads.
      curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024L);
      if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else if (r.method == "GET" && payload.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload.data());
      if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    bool has_expect = false;
    bool has_content_type = false;
    for (const auto& [name, value] : r.headers) {
      if (name.find_first_of("\r\n:") != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
        return "invalid header " + name;
      }
      const auto lower = [](std::string s) {
        std::transform(s.begin(), s.end(), s.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return s;
      }(name);
      has_expect = has_expect || lower == "expect";
      has_content_type = has_content_type || lower == "content-type";
      std::string line = name;
      if (value.empty()) {
        line += ';';
      } else {
        line.append(": ").append(value);
      }
      t.header_list = curl_slist_append(t.header_list, line.c_str());
    }
    // No "Expect: 100-continue" round trip for large bodies; no form content type invented
    // for a body the caller did not type.
    if (!has_expect) t.header_list = curl_slist_append(t.header_list, "Expect:");
    if (!has_content_type && r.method != "GET" && r.method != "HEAD") {
      t.header_list = curl_slist_append(t.header_list, "Content-Type:");
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list);
    return {};
  }

  // The body of a request with a file_body, piece by piece: head, the file's range, tail.
  static std::size_t on_read_body(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const auto& fb = *t.request.file_body;
    const std::size_t cap = size * count;
    std::size_t filled = 0;
    while (filled < cap && t.body_at < fb.size()) {
      const std::uint64_t at = t.body_at;
      std::size_t n = 0;
      if (at < fb.head.size()) {
        n = std::min<std::uint64_t>(cap - filled, fb.head.size() - at);
        std::memcpy(buffer + filled, fb.head.data() + at, n);
      } else if (at < fb.head.size() + fb.length) {
        const std::uint64_t in_file = at - fb.head.size();
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(cap - filled, fb.length - in_file));
        const ssize_t got = ::pread(t.body_fd, buffer + filled, want, static_cast<off_t>(fb.offset + in_file));
        if (got <= 0) {
          t.body_error = got == 0 ? "the body's file ended before its length"
                                  : fmt::format("cannot read the body's file: {}", std::strerror(errno));
          return CURL_READFUNC_ABORT;
        }
        n = static_cast<std::size_t>(got);
      } else {
        const std::uint64_t in_tail = at - fb.head.size() - fb.length;
        n = std::min<std::uint64_t>(cap - filled, fb.tail.size() - in_tail);
        std::memcpy(buffer + filled, fb.tail.data() + in_tail, n);
      }
      filled += n;
      t.body_at += n;
    }
    return filled;
  }

  // Rewinds a file_body (a connection that died before the body was sent is retried on a
  // new one).
  static int on_seek_body(void* user, curl_off_t offset, int origin) {
    auto& t = *static_cast<Transfer*>(user);
    if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > t.request.file_body->size()) {
      return CURL_SEEKFUNC_CANTSEEK;
    }
    t.body_at = static_cast<std::uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
  }

  Result<HttpResponse> outcome(Transfer& t, CURLcode code) {
    const auto origin = url_origin(t.request.url);
    const auto detail = t.error_buffer[0] != 0 ? std::string(t.error_buffer) : std::string(curl_easy_strerror(code));
    switch (code) {
      case CURLE_OK: {
        long status = 0;
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
        t.response.status = static_cast<int>(status);
        t.response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t.started);
        return std::move(t.response);
      }
      case CURLE_OPERATION_TIMEDOUT:
        return make_error(ErrorCode::kTimeout,
                          fmt::format("{}: no complete response within {} ms", origin, t.request.timeout.count()));
      case CURLE_FILESIZE_EXCEEDED:
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("{}: response larger than {} bytes", origin, t.request.max_response_bytes));
      case CURLE_WRITE_ERROR:
        if (t.too_large) {
          return make_error(ErrorCode::kInvalidArgument,
                            fmt::format("{}: response larger than {} bytes", origin, t.request.max_response_bytes));
        }
        break;
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_TOO_MANY_REDIRECTS:
        return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: {}", origin, detail));
      default:
        break;
    }
    if (!t.body_error.empty()) return make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", origin, t.body_error));
    if (!t.policy_refusal.empty()) {
      return make_error(ErrorCode::kPermissionDenied,
                        fmt::format("{}: {} by the address policy", origin, t.policy_refusal));
    }
    return make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", origin, detail));
  }

  void complete(std::unique_ptr<Transfer> t, Result<HttpResponse> result) {
    auto done = std::move(t->done);
    t.reset();  // free the handle before the callback, which may start the next request
    in_flight.fetch_sub(1);
    done(std::move(result));
  }

  void start_incoming(std::vector<std::unique_ptr<Transfer>>& batch) {
    for (auto& t : batch) {
      t->started = Steady::now();
      if (t->request.cancel && t->request.cancel->cancelled()) {
        complete(std::move(t), cancelled_error());
        continue;
      }
      if (auto err = setup(*t); !err.empty()) {
        complete(std::move(t), make_error(ErrorCode::kInvalidArgument, err));
        continue;
      }
      if (!t->body_error.empty()) {
        auto e = make_error(ErrorCode::kUnavailable, fmt::format("{}: {}", url_origin(t->request.url), t->body_error));
        complete(std::move(t), std::move(e));
        continue;
      }
      if (curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
        complete(std::move(t), make_error(ErrorCode::kInternal, "curl_multi_add_handle failed"));
        continue;
      }
      CURL* key = t->easy;
      if (t->request.cancel) cancellable.emplace(t->serial, key);
      active.emplace(key, std::move(t));
    }
    batch.clear();
  }

  // Aborts the transfers whose signal fired: removed from the multi handle (which closes
  // their connection: a transfer cut short leaves nothing reusable) and completed.
  void abort_cancelled(std::vector<std::uint64_t>& serials) {
    for (const auto serial : serials) {
      auto c = cancellable.find(serial);
      if (c == cancellable.end()) continue;  // finished already, or not started yet (start_incoming checks)
      CURL* easy = c->second;
      cancellable.erase(c);
      curl_multi_remove_handle(multi, easy);
      auto it = active.find(easy);
      if (it == active.end()) continue;
      auto t = std::move(it->second);
      active.erase(it);
      complete(std::move(t), cancelled_error());
    }
    serials.clear();
  }

  void collect_done() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi, easy);
      auto it = active.find(easy);
      if (it == active.end()) continue;
      auto t = std::move(it->second);
      active.erase(it);
      if (t->request.cancel) cancellable.erase(t->serial);
      auto result = outcome(*t, code);
      complete(std::move(t), std::move(result));
    }
  }

  void run() {
    std::vector<std::unique_ptr<Transfer>> batch;
    std::vector<std::function<void()>> due;
    std::vector<std::uint64_t> to_cancel;
    std::vector<epoll_event> events(512);
    for (;;) {
      Steady::time_point next_timer = Steady::time_point::max();
      {
        std::lock_guard lock(mu);
        if (stopping.load()) break;
        batch.swap(incoming);
        to_cancel.swap(cancels);
        const auto now = Steady::now();
        while (!timers.empty() && timers.begin()->first <= now) {
          due.push_back(std::move(timers.begin()->second));
          timers.erase(timers.begin());
        }
      }
      start_incoming(batch);
      abort_cancelled(to_cancel);
      for (auto& fn : due) fn();
      due.clear();
      drive_timeout();
      collect_done();

      int wait_ms = 1000;
      {
        std::lock_guard lock(mu);
        if (!incoming.empty() || !cancels.empty() || stopping.load()) wait_ms = 0;
        if (!timers.empty()) next_timer = timers.begin()->first;
      }
      if (curl_deadline) next_timer = std::min(next_timer, *curl_deadline);
      if (wait_ms > 0 && next_timer != Steady::time_point::max()) {
        const auto until = std::chrono::ceil<std::chrono::milliseconds>(next_timer - Steady::now());
        wait_ms = static_cast<int>(std::clamp<std::int64_t>(until.count(), 0, 1000));
      }
      const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), wait_ms);
      int running = 0;
      for (int i = 0; i < n; ++i) {
        const auto& ev = events[static_cast<std::size_t>(i)];
        if (ev.data.fd == wake_fd) {
          std::uint64_t count = 0;
          [[maybe_unused]] auto r = ::read(wake_fd, &count, sizeof count);
          continue;
        }
        int flags = 0;
        if ((ev.events & EPOLLIN) != 0) flags |= CURL_CSELECT_IN;
        if ((ev.events & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
        if ((ev.events & (EPOLLERR | EPOLLHUP)) != 0) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi, ev.data.fd, flags, &running);
      }
      drive_timeout();
      collect_done();
    }
    drain();
  }

  // Lets curl act on its own timeouts (deadlines, connect retries, newly added transfers).
  void drive_timeout() {
    if (curl_deadline && *curl_deadline <= Steady::now()) {
      curl_deadline.reset();
      int running = 0;
      curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
  }

  // Shutdown: every accepted transfer completes with kUnavailable and every timer runs, until
  // nothing new arrives; then later sends complete inline (see send()).
  void drain() {
    for (auto& [easy, t] : active) curl_multi_remove_handle(multi, easy);
    auto leftover = std::move(active);
    active.clear();
    cancellable.clear();
    for (auto& [easy, t] : leftover) {
      complete(std::move(t), make_error(ErrorCode::kUnavailable, "shutting down"));
    }
    for (;;) {
      std::vector<std::unique_ptr<Transfer>> batch;
      std::vector<std::function<void()>> due;
      {
        std::lock_guard lock(mu);
        batch.swap(incoming);
        for (auto& [when, fn] : timers) due.push_back(std::move(fn));
        timers.clear();
        if (batch.empty() && due.empty()) {
          exited = true;
          return;
        }
      }
      for (auto& t : batch) complete(std::move(t), make_error(ErrorCode::kUnavailable, "shutting down"));
      for (auto& fn : due) fn();
    }
  }
};

CurlHttpClient::CurlHttpClient(CurlHttpClientOptions options) : impl_(std::make_unique<Impl>()) {
  ensure_curl_global();
  impl_->options = std::move(options);
  impl_->multi = curl_multi_init();
  const auto total = static_cast<long>(impl_->options.max_total_connections);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(impl_->options.max_connections_per_host));
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, total);
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETDATA, impl_.get());
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERDATA, impl_.get());
  impl_->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  impl_->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = impl_->wake_fd;
  epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, impl_->wake_fd, &ev);
  impl_->loop_thread = std::thread([impl = impl_.get()] { impl->run(); });
}

CurlHttpClient::~CurlHttpClient() {
  shutdown();
  curl_multi_cleanup(impl_->multi);
  ::close(impl_->epoll_fd);
  ::close(impl_->wake_fd);
}

void CurlHttpClient::shutdown() {
  std::call_once(impl_->shutdown_once, [this] {
    {
      std::lock_guard lock(impl_->mu);
      impl_->stopping.store(true);
    }
    impl_->wake();
    if (impl_->loop_thread.joinable()) impl_->loop_thread.join();
  });
}

bool CurlHttpClient::shutting_down() const {
  return impl_->stopping.load();
}

std::size_t CurlHttpClient::in_flight() const {
  return impl_->in_flight.load();
}

void CurlHttpClient::send(HttpRequest request, ResponseCallback done) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  t->serial = impl_->next_serial.fetch_add(1) + 1;
  if (t->request.cancel) {
    t->cancel_hook =
        t->request.cancel->subscribe([impl = impl_.get(), serial = t->serial] { impl->cancel_requested(serial); });
  }
  impl_->in_flight.fetch_add(1);
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->exited) {
      impl_->incoming.push_back(std::move(t));
    }
  }
  if (t) {  // the loop has exited: complete here, on the caller's thread
    impl_->complete(std::move(t), make_error(ErrorCode::kUnavailable, "shutting down"));
    return;
  }
  impl_->wake();
}

void CurlHttpClient::post_after(std::chrono::milliseconds delay, std::function<void()> fn) {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->exited) {
      impl_->timers.emplace(Steady::now() + delay, std::move(fn));
      fn = nullptr;
    }
  }
  if (fn) {
    fn();
    return;
  }
  impl_->wake();
}

}  // namespace earshot::http
