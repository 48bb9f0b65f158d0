#include "earshot/llm/limits.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace earshot::llm {

LimitedChatProvider::LimitedChatProvider(ChatProvider& inner, ProviderLimits limits, http::HttpClient& timers,
                                         const Clock& clock)
    : inner_(&inner),
      limits_(limits),
      timers_(&timers),
      clock_(&clock),
      tokens_(std::max(1.0, limits.burst)),
      refilled_(clock.steady_now()) {
  limits_.max_in_flight = std::max(1, limits_.max_in_flight);
  limits_.burst = std::max(1.0, limits_.burst);
}

int LimitedChatProvider::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

std::size_t LimitedChatProvider::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void LimitedChatProvider::complete(ChatRequest request, ChatCallback done) {
  enqueue({std::move(request), nullptr, std::move(done)});
}

void LimitedChatProvider::stream(ChatRequest request, TokenCallback on_token, ChatCallback done) {
  enqueue({std::move(request), std::move(on_token), std::move(done)});
}

void LimitedChatProvider::enqueue(Pending p) {
  {
    std::unique_lock lock(mu_);
    if (queue_.size() < limits_.max_queued) {
      queue_.push_back(std::move(p));
      lock.unlock();
      pump();
      return;
    }
  }
  Error e(ErrorCode::kRateLimited, id() + ": too many requests queued");
  e.retry_after = std::chrono::seconds(1);
  p.done(std::unexpected(std::move(e)));
}

void LimitedChatProvider::refill_locked(std::chrono::steady_clock::time_point now) {
  if (limits_.requests_per_second <= 0) return;
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  tokens_ = std::min(limits_.burst, tokens_ + elapsed * limits_.requests_per_second);
  refilled_ = now;
}

void LimitedChatProvider::pump() {
  std::vector<Pending> ready;
  std::chrono::milliseconds wait{0};
  {
    std::lock_guard lock(mu_);
    refill_locked(clock_->steady_now());
    while (!queue_.empty() && in_flight_ < limits_.max_in_flight) {
      if (limits_.requests_per_second > 0) {
        if (tokens_ < 1.0) {
          if (!timer_armed_) {
            timer_armed_ = true;
            const double seconds = (1.0 - tokens_) / limits_.requests_per_second;
            wait = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
          }
          break;
        }
        tokens_ -= 1.0;
      }
      ++in_flight_;
      ready.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  if (wait.count() > 0) {
    timers_->post_after(wait, [this] {
      {
        std::lock_guard lock(mu_);
        timer_armed_ = false;
      }
      pump();
    });
  }
  for (auto& p : ready) {
    auto finished = [this, done = std::move(p.done)](Result<ChatResponse> r) {
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      pump();
      // Last: once every callback has run, the owner may destroy this limiter.
      done(std::move(r));
    };
    if (p.on_token) {
      inner_->stream(std::move(p.request), std::move(p.on_token), std::move(finished));
    } else {
      inner_->complete(std::move(p.request), std::move(finished));
    }
  }
}

}  // namespace earshot::llm
