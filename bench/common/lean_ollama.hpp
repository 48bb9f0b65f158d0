#pragma once
// The end-to-end benchmark's Ollama: POST /api/chat with "stream": false answered after a set
// latency in Ollama's wire format (testing::ollama_chat_answer, what the tests' FakeOllama
// answers), the message picked by the first marker found in the request (as the tests' fake's
// set_reply_for), over the lean server (lean_server.hpp): hundreds of requests held open by
// the latency cost a sleeping thread each and no polling. Errors in Ollama's {"error": ...}
// shape: 404 for another route, 400 for a body that is not a JSON object or asks to stream.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "lean_server.hpp"

namespace earshot::bench {

class LeanOllama {
 public:
  explicit LeanOllama(std::chrono::milliseconds latency);
  // Before start(): requests containing `marker` are answered with `text`.
  void set_reply_for(std::string marker, std::string text) {
    replies_.emplace_back(std::move(marker), std::move(text));
  }

  bool start() { return server_.start(); }
  void stop() { server_.stop(); }
  [[nodiscard]] int port() const { return server_.port(); }

 private:
  LeanResponse handle(const LeanRequest& req) const;

  std::chrono::milliseconds latency_;
  std::vector<std::pair<std::string, std::string>> replies_;
  LeanHttpServer server_;  // last: stopped before the rest goes
};

}  // namespace earshot::bench
