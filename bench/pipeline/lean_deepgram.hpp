#pragma once
// The end-to-end benchmark's Deepgram: POST /v1/listen answered exactly as the tests' fake
// answers it (testing::deepgram_listen: the same checks, statuses and JSON), served over plain
// sockets, a thread per connection, reading a request body 1 MiB at a time and keeping none
// of it. The tests' fakes run on cpp-httplib, which reads a body 4 KiB at a time with a poll
// before each read: at 16 five-minute calls a second that was most of the fake world's
// 20 ms of CPU per call, which the benchmark counts against the machine's two cores.
// HTTP/1.1 with keep-alive and Content-Length bodies (what libcurl sends); 404 for any
// other route, 411 for a body without a length, 431 for a head over 64 KiB.
// With a `placeholder` word, every occurrence of it in an answer is replaced by a word no
// other request of the run gets (eight letters from a per-run random start and a request
// counter): each call's transcript differs, so nothing downstream (the LLM agents' result
// cache above all) can answer a call from another's work.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fakes/stt/fake_providers.hpp"

namespace earshot::bench {

class LeanDeepgram {
 public:
  LeanDeepgram(std::string api_key, std::vector<testing::FakeUtterance> script, std::chrono::milliseconds latency,
               std::string placeholder = {});
  ~LeanDeepgram() { stop(); }
  LeanDeepgram(const LeanDeepgram&) = delete;
  LeanDeepgram& operator=(const LeanDeepgram&) = delete;

  // Binds 127.0.0.1 on a free port and serves; false if it could not.
  bool start();
  void stop();
  [[nodiscard]] int port() const { return port_; }

 private:
  void accept_loop();
  void serve(int fd);
  const testing::DeepgramAnswer& answer(const testing::DeepgramListen& req);
  // The answer's body with the placeholder replaced by this request's own word.
  [[nodiscard]] std::string unique_body(const std::string& body);

  std::string api_key_;
  std::vector<testing::FakeUtterance> script_;
  std::chrono::milliseconds latency_;
  std::string placeholder_;
  std::uint64_t first_word_ = 0;  // random per run
  std::atomic<std::uint64_t> requests_{0};
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;  // open connections
  std::vector<std::thread> threads_;
  std::map<std::string, testing::DeepgramAnswer> answers_;  // by request, body reduced to present or not
};

}  // namespace earshot::bench
