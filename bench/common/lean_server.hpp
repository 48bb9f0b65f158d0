#pragma once
// The end-to-end benchmark's fake providers serve over this small HTTP/1.1 server: plain
// sockets, a thread per connection, a request body read 1 MiB at a time (kept, or counted and
// dropped). The tests' fakes run on cpp-httplib, which reads a body 4 KiB at a time with a poll
// before each read and keeps each idle keep-alive connection's thread polling in a loop: at
// 28 five-minute calls a second (hundreds of connections held open by a 2 s latency) that was
// most of a core, which the benchmark counts against the machine's two. HTTP/1.1 with
// keep-alive and Content-Length bodies (what libcurl sends); 411 for a body without a length,
// 431 for a head over 64 KiB. Errors are JSON in the shape `error_body` gives.

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace earshot::bench {

struct LeanRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;   // the query, percent-decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::size_t body_bytes = 0;
  std::string body;  // empty unless the server keeps bodies

  [[nodiscard]] std::string header(const std::string& name) const;
  [[nodiscard]] std::string param(const std::string& name) const;
};

struct LeanResponse {
  int status = 200;
  std::string body;
};

class LeanHttpServer {
 public:
  using Handler = std::function<LeanResponse(const LeanRequest&)>;
  // `error_body(status, message)`: the provider's error JSON for the server's own refusals.
  LeanHttpServer(bool keep_bodies, Handler handler, std::function<std::string(int, const std::string&)> error_body);
  ~LeanHttpServer() { stop(); }
  LeanHttpServer(const LeanHttpServer&) = delete;
  LeanHttpServer& operator=(const LeanHttpServer&) = delete;

  // Binds 127.0.0.1 on a free port and serves; false if it could not.
  bool start();
  void stop();
  [[nodiscard]] int port() const { return port_; }
  // Requests answered, and the most handled at once (the handler's latency included).
  [[nodiscard]] long requests() const { return requests_.load(); }
  [[nodiscard]] int max_concurrent() const { return max_concurrent_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  bool keep_bodies_;
  Handler handler_;
  std::function<std::string(int, const std::string&)> error_body_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<long> requests_{0};
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;  // open connections
  std::vector<std::thread> threads_;
};

}  // namespace earshot::bench
