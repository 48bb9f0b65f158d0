#pragma once
// An in-process llm::ChatProvider (llm/chat.hpp) for unit tests: answers each request at
// once, on the calling thread, with the reply of the first marker found in its prompt
// (system and messages), else the default reply; a marker armed with fail_for() fails the
// requests containing it with that error instead. Records every request. No HTTP, no
// clock. Thread-safe. stream() passes the reply on word by word (each piece a word with the
// spaces before it), so the pieces concatenate to the reply.

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "earshot/llm/chat.hpp"

namespace earshot::testing {

class FakeChatProvider final : public llm::ChatProvider {
 public:
  explicit FakeChatProvider(std::string id = "fake:chat-model") : id_(std::move(id)) {}

  void set_reply(std::string text) {
    std::lock_guard lock(mu_);
    reply_ = std::move(text);
  }
  void set_reply_for(std::string marker, std::string text) {
    std::lock_guard lock(mu_);
    rules_.push_back({std::move(marker), std::move(text)});
  }
  void fail_for(std::string marker, Error e) {
    std::lock_guard lock(mu_);
    rules_.push_back({std::move(marker), std::unexpected(std::move(e))});
  }

  void complete(llm::ChatRequest request, llm::ChatCallback done) override {
    Result<llm::ChatResponse> answer = answer_to(request);
    done(std::move(answer));
  }
  void stream(llm::ChatRequest request, llm::TokenCallback on_token, llm::ChatCallback done) override {
    Result<llm::ChatResponse> answer = answer_to(request);
    if (answer) {
      for (const auto& piece : pieces_of(answer->text)) on_token(piece);
    }
    done(std::move(answer));
  }
  [[nodiscard]] std::string id() const override { return id_; }

  // "a bc  d" -> {"a", " bc", "  d"}.
  [[nodiscard]] static std::vector<std::string> pieces_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
      const auto word = text.find_first_not_of(' ', start);
      const auto end = word == std::string::npos ? text.size() : std::min(text.find(' ', word), text.size());
      out.push_back(text.substr(start, end - start));
      start = end;
    }
    return out;
  }

  // ---- inspection ----
  [[nodiscard]] std::vector<llm::ChatRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Every request's system prompt and messages, one text per request.
  [[nodiscard]] static std::string prompt_of(const llm::ChatRequest& r) {
    std::string text = r.system;
    for (const auto& m : r.messages) text += "\n" + m.content;
    return text;
  }

 private:
  struct Rule {
    std::string marker;
    Result<std::string> reply;
  };

  Result<llm::ChatResponse> answer_to(const llm::ChatRequest& request) {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    const auto prompt = prompt_of(request);
    Result<std::string> text = reply_;
    for (const auto& rule : rules_) {
      if (prompt.find(rule.marker) != std::string::npos) {
        text = rule.reply;
        break;
      }
    }
    if (!text) return std::unexpected(text.error());
    llm::ChatResponse r;
    r.text = *text;
    r.model = id_;
    r.input_tokens = static_cast<int>(prompt.size() / 4);
    r.output_tokens = static_cast<int>(r.text.size() / 4);
    r.stop_reason = "stop";
    return r;
  }

  std::string id_;
  mutable std::mutex mu_;
  std::string reply_ = "{}";
  std::vector<Rule> rules_;
  std::vector<llm::ChatRequest> requests_;
};

}  // namespace earshot::testing
