#pragma once
// Fake provider servers for tests and benchmarks: real HTTP on 127.0.0.1 (a free port from
// 21000-22999), speaking each provider's wire format exactly (including error bodies), with
// switches for latency, failures (429 with Retry-After, 500, 503), a server that never
// answers, requests held until released, malformed bodies, auth failures and exhausted quota; and a log of every
// request received so tests can count attempts and measure the gaps between them on the server side.
//
// Thread safety: every setter and getter may be called while requests are being served.

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace earshot::testing {

// One utterance of the scripted conversation every fake returns (in its own format).
struct FakeUtterance {
  int speaker = 0;  // diarization index; providers render it their way (SPEAKER_00, 0, "0")
  int channel = 0;  // the channel it was recorded on
  double start_s = 0;
  double end_s = 0;
  std::string text;
  std::string english{};  // the utterance in English (translating fakes); empty: `text` is English
};

// Customer (speaker 0, right channel) speaks first; the agent (speaker 1, left channel)
// greets: the greeting rule makes speaker 1 the agent although speaker 0 spoke first.
[[nodiscard]] std::vector<FakeUtterance> default_script();

enum class FailureKind {
  kRateLimit,     // 429, retryable
  kServerError,   // 500
  kUnavailable,   // 503
  kAuth,          // provider's auth failure (401 / 403)
  kQuota,         // provider's quota-exhausted answer
  kInvalidInput,  // provider's 4xx input error
};

struct FailurePlan {
  int count = 0;  // the next `count` matching requests fail
  FailureKind kind = FailureKind::kRateLimit;
  std::optional<int> retry_after_s;             // Retry-After: <seconds>
  std::optional<int> retry_after_ms;            // retry-after-ms: <ms>
  std::optional<std::string> retry_after_date;  // Retry-After: <HTTP-date>
  std::string path_prefix;                      // only paths starting with this; empty: all

  static FailurePlan of(int n, FailureKind k) {
    FailurePlan p;
    p.count = n;
    p.kind = k;
    return p;
  }
  FailurePlan& after_s(int s) {
    retry_after_s = s;
    return *this;
  }
  FailurePlan& after_ms(int ms) {
    retry_after_ms = ms;
    return *this;
  }
  FailurePlan& after_date(std::string d) {
    retry_after_date = std::move(d);
    return *this;
  }
  FailurePlan& only(std::string prefix) {
    path_prefix = std::move(prefix);
    return *this;
  }
};

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::chrono::steady_clock::time_point at;
};

class FakeProviderServer {
 public:
  struct Options {
    int threads = 64;  // concurrent requests held open (latency, never-answer)
    std::string api_key = "test-key";
  };
  explicit FakeProviderServer(Options options);
  // Stops the server too, but by then a derived fake is already gone: every final fake
  // calls stop() in its own destructor (handler threads call its overrides until then; a
  // race ThreadSanitizer found).
  virtual ~FakeProviderServer();
  FakeProviderServer(const FakeProviderServer&) = delete;
  FakeProviderServer& operator=(const FakeProviderServer&) = delete;

  // Binds and serves; false if no port could be bound. Call once after construction.
  bool start();
  void stop();
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string base_url() const;
  [[nodiscard]] const std::string& api_key() const { return options_.api_key; }

  // --- switches ---
  void set_latency(std::chrono::milliseconds latency) { latency_ms_ = latency.count(); }
  void set_never_answer(bool on) { never_answer_ = on; }
  // While on, every request is logged, then waits (before any other switch applies) until
  // it is turned off or the server stops: requests held in flight for as long as a test needs.
  void hold(bool on);
  void set_malformed(bool on) { malformed_ = on; }
  void fail_next(FailurePlan plan);
  void set_script(std::vector<FakeUtterance> script);

  // --- what arrived ---
  [[nodiscard]] std::vector<ReceivedRequest> requests() const;
  // Requests whose path starts with `prefix`.
  [[nodiscard]] int count(const std::string& prefix = "") const;
  [[nodiscard]] int max_concurrent() const { return max_concurrent_.load(); }

 protected:
  // Provider-specific body of a failure: status, body and content type.
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  [[nodiscard]] virtual Reply failure_reply(FailureKind kind) const = 0;
  // Registers the provider's routes on server(); handlers call guard() first.
  virtual void routes() = 0;

  httplib::Server& server() { return server_; }
  [[nodiscard]] std::vector<FakeUtterance> script() const;
  [[nodiscard]] bool malformed() const { return malformed_.load(); }

  // Logs the request, applies latency / never-answer / planned failures. True when the
  // response has been produced here and the handler must return at once.
  bool guard(const httplib::Request& req, httplib::Response& res);
  // Sleeps up to `d`, returning early when the server stops.
  void pause(std::chrono::milliseconds d);
  static void reply(httplib::Response& res, const Reply& r);

  Options options_;

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<std::int64_t> latency_ms_{0};
  std::atomic<bool> never_answer_{false};
  std::atomic<bool> malformed_{false};
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool holding_ = false;
  FailurePlan plan_;
  std::vector<FakeUtterance> script_;
  std::vector<ReceivedRequest> received_;
};

// cpp-httplib (as packaged) listens with a backlog of 5, which drops connections when
// hundreds arrive at once; this re-listens the loopback socket bound to `port` with a
// backlog of 4096. Call after bind_to_any_port().
void widen_listen_backlog(int port);

// The channel a mono WAV request carries, read from its first sample (tests mark channel 0
// with positive and channel 1 with negative samples); nullopt for anything else.
[[nodiscard]] std::optional<int> marked_channel(const std::string& wav);

}  // namespace earshot::testing
