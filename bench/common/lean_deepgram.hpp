#pragma once
// The end-to-end benchmark's Deepgram: POST /v1/listen answered exactly as the tests' fake
// answers it (testing::deepgram_listen: the same checks, statuses and JSON) over the lean
// server (lean_server.hpp), the recording counted and dropped as it arrives; 404 for any
// other route. With a `placeholder` word, every occurrence of it in an answer is replaced by
// a word of the same length no other request of the run gets (from a per-run random start and
// a request counter): each call's transcript differs, so nothing downstream (the LLM agents'
// result cache above all) can answer a call from another's work.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fakes/stt/fake_providers.hpp"
#include "lean_server.hpp"

namespace earshot::bench {

class LeanDeepgram {
 public:
  LeanDeepgram(std::string api_key, std::vector<testing::FakeUtterance> script, std::chrono::milliseconds latency,
               std::string placeholder = {});

  bool start() { return server_.start(); }
  void stop() { server_.stop(); }
  [[nodiscard]] int port() const { return server_.port(); }
  [[nodiscard]] const LeanHttpServer& server() const { return server_; }

 private:
  LeanResponse handle(const LeanRequest& req);
  const testing::DeepgramAnswer& answer(const testing::DeepgramListen& req);
  // The answer's body with the placeholder replaced by this request's own word.
  [[nodiscard]] std::string unique_body(const std::string& body);

  std::string api_key_;
  std::vector<testing::FakeUtterance> script_;
  std::chrono::milliseconds latency_;
  std::string placeholder_;
  std::uint64_t first_word_ = 0;  // random per run
  std::atomic<std::uint64_t> requests_{0};
  std::mutex mu_;
  std::map<std::string, testing::DeepgramAnswer> answers_;  // by request, body reduced to present or not
  LeanHttpServer server_;                                   // last: stopped before the rest goes
};

}  // namespace earshot::bench
