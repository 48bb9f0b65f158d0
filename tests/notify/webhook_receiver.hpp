#pragma once
// A webhook receiver on 127.0.0.1 for notify tests and the benchmark: verifies every
// request's X-Earshot-Signature against the secret, de-duplicates on the event id the way a
// real receiver should, and can misbehave on purpose: fail the first N requests with a
// status, answer 429 with Retry-After, hold a request past the sender's deadline, or fail
// forever.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace earshot::testing {

struct ReceivedWebhook {
  std::string event_id;
  std::string event_type;
  std::string body;
  std::string signature;
  bool signature_ok = false;
  int answered = 0;  // status we answered (0: held and abandoned)
  std::chrono::steady_clock::time_point at;
};

class WebhookReceiver {
 public:
  explicit WebhookReceiver(std::string secret, int threads = 32);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  bool start();
  void stop();
  [[nodiscard]] std::string url(const std::string& path = "/hook") const;
  [[nodiscard]] int port() const { return port_; }

  // --- behaviour (applies to the next requests) ---
  void fail_next(int n, int status);                   // answer `status` n times
  void rate_limit_next(int n, int retry_after_s);      // 429 + Retry-After n times
  void hold_next(int n, std::chrono::milliseconds d);  // wait d before answering 200
  void fail_always(int status);                        // 0: stop failing
  void set_secret(std::string secret);
  // Record only, no verification (the benchmark checks a sample).
  void set_verify(bool on) { verify_ = on; }

  // --- what arrived ---
  [[nodiscard]] std::vector<ReceivedWebhook> requests() const;
  [[nodiscard]] int request_count() const { return requests_seen_.load(); }
  [[nodiscard]] int bad_signatures() const { return bad_signatures_.load(); }
  // Events acknowledged with 2xx, each once (the de-duplicated view a receiver keeps).
  [[nodiscard]] std::vector<ReceivedWebhook> accepted() const;
  [[nodiscard]] int accepted_count() const;
  // 2xx answers to an event id that had already been accepted.
  [[nodiscard]] int duplicates() const { return duplicates_.load(); }

 private:
  void handle(const httplib::Request& req, httplib::Response& res);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> verify_{true};
  std::atomic<int> requests_seen_{0};
  std::atomic<int> bad_signatures_{0};
  std::atomic<int> duplicates_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string secret_;
  int fail_n_ = 0;
  int fail_status_ = 500;
  int limit_n_ = 0;
  int retry_after_s_ = 1;
  int hold_n_ = 0;
  std::chrono::milliseconds hold_{0};
  int fail_always_ = 0;
  std::vector<ReceivedWebhook> requests_;
  std::map<std::string, ReceivedWebhook> accepted_;
};

}  // namespace earshot::testing
