#pragma once
// HttpClient on libcurl's multi interface: ONE event-loop thread drives every transfer
// (thousands can be in flight without a thread each), reusing connections per host.
//
// Thread safety: send()/post_after() from any thread. Callbacks run on the loop thread.
// Lifetime: shutdown() (or the destructor) stops the loop; transfers still queued or in
// flight complete with kUnavailable "shutting down", pending timers run at once, and
// shutdown() returns after the loop thread has exited. Must not be called from a callback.

#include <cstddef>
#include <memory>
#include <string>

#include "earshot/http/http_client.hpp"

namespace earshot::http {

struct CurlHttpClientOptions {
  // Caps on open connections; transfers beyond them wait in curl's queue (their timeout
  // keeps running). For HTTP/1.1 a connection carries one transfer at a time, so these
  // are the concurrency caps.
  std::size_t max_total_connections = 1024;
  std::size_t max_connections_per_host = 256;
  std::string user_agent = "earshot/1";
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options = {});
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  void send(HttpRequest request, ResponseCallback done) override;
  void post_after(std::chrono::milliseconds delay, std::function<void()> fn) override;
  [[nodiscard]] bool shutting_down() const override;
  void shutdown();

  // Transfers accepted and not yet completed (for metrics and tests).
  [[nodiscard]] std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::http
