#pragma once
// A pipeline::BusinessLlmSource (pipeline/llm_agents.hpp) for unit tests: every business
// gets the same chain (the chat provider given; none when null) and embedder (may be null),
// whatever its pipeline config says. fail_next(error) makes the next answer that error (a
// bad llm_chain: kInvalidArgument). Records the businesses asked for. Thread-safe.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/pipeline/llm_agents.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeBusinessLlmSource final : public pipeline::BusinessLlmSource {
 public:
  FakeBusinessLlmSource(llm::ChatProvider* chat, llm::EmbeddingProvider* embedder) : chat_(chat), embedder_(embedder) {}

  Result<std::shared_ptr<const pipeline::BusinessLlm>> for_business(const std::string& bid,
                                                                    const storage::PipelineConfig&) override {
    std::lock_guard lock(mu_);
    asked_.push_back(bid);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto b = std::make_shared<pipeline::BusinessLlm>();
    b->bid = bid;
    if (chat_ != nullptr) b->chain.push_back(chat_);
    b->embedder = embedder_;
    if (embedder_ != nullptr) b->embedder_id = embedder_->id();
    return std::shared_ptr<const pipeline::BusinessLlm>(std::move(b));
  }

  // ---- test hooks ----
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }
  [[nodiscard]] std::vector<std::string> asked() const {
    std::lock_guard lock(mu_);
    return asked_;
  }

 private:
  llm::ChatProvider* chat_;
  llm::EmbeddingProvider* embedder_;
  mutable std::mutex mu_;
  std::vector<std::string> asked_;
  FailNext failure_;
};

}  // namespace earshot::testing
