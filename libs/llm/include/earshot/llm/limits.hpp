#pragma once
// Concurrency and rate limits in front of a ChatProvider: at most `max_in_flight` requests
// at once and at most `requests_per_second` started (token bucket of `burst` tokens); the
// rest wait in a FIFO queue of at most `max_queued` (beyond that: kRateLimited at once).
// Wrap one provider once per scope to limit: one per provider for the process, and one per
// (provider, business) on top of it for fairness between tenants.
//
// stream() goes through the same queue and limits as complete() (a stream holds its slot
// until its last callback) and is forwarded to the inner provider's stream().
//
// Thread safety: complete() and stream() may be called from any thread. The wrapped provider, the client
// (used for its timers) and the clock must outlive every request in flight or queued.

#include <chrono>
#include <deque>
#include <mutex>

#include "earshot/llm/chat.hpp"

namespace earshot::llm {

struct ProviderLimits {
  int max_in_flight = 16;
  double requests_per_second = 0;  // 0: no rate limit
  double burst = 1;                // bucket size (tokens)
  std::size_t max_queued = 10'000;
};

class LimitedChatProvider final : public ChatProvider {
 public:
  LimitedChatProvider(ChatProvider& inner, ProviderLimits limits, http::HttpClient& timers, const Clock& clock);
  void complete(ChatRequest request, ChatCallback done) override;
  void stream(ChatRequest request, TokenCallback on_token, ChatCallback done) override;
  [[nodiscard]] std::string id() const override { return inner_->id(); }
  [[nodiscard]] int in_flight() const;
  [[nodiscard]] std::size_t queued() const;

 private:
  struct Pending {
    ChatRequest request;
    TokenCallback on_token;  // empty: complete()
    ChatCallback done;
  };
  void enqueue(Pending p);
  void pump();
  void refill_locked(std::chrono::steady_clock::time_point now);

  ChatProvider* inner_;
  ProviderLimits limits_;
  http::HttpClient* timers_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::deque<Pending> queue_;
  int in_flight_ = 0;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  bool timer_armed_ = false;
};

}  // namespace earshot::llm
