#include "handler_pool.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace earshot::queue::detail {

HandlerPool::HandlerPool(HandlerPoolOptions options, Run run)
    : opt_(options), run_(std::move(run)), queue_(options.per_business_in_flight) {}

HandlerPool::~HandlerPool() {
  stop();
}

void HandlerPool::start() {
  {
    std::lock_guard l(mu_);
    if (!threads_.empty()) return;
    stopping_ = false;
  }
  for (std::size_t n = 0; n < std::max<std::size_t>(1, opt_.threads); ++n) {
    threads_.emplace_back([this] { loop(); });
  }
}

void HandlerPool::stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard l(mu_);
    dropped.swap(follow_ups_);
  }
}

void HandlerPool::stop_intake() {
  {
    std::lock_guard l(mu_);
    intake_stopped_ = true;
  }
  cv_.notify_all();
}

void HandlerPool::submit(Delivery delivery) {
  {
    std::lock_guard l(mu_);
    const std::string bid = delivery.bid;
    queue_.push(bid, std::move(delivery));
  }
  cv_.notify_all();
}

std::vector<Delivery> HandlerPool::take_pending(std::uint64_t session) {
  std::lock_guard l(mu_);
  return queue_.remove_if([&](const std::string&, const Delivery& d) { return d.session == session; });
}

void HandlerPool::post(std::function<void()> task) {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    follow_ups_.push_back(std::move(task));
  }
  cv_.notify_all();
}

void HandlerPool::release(const std::string& bid) {
  end(bid);
}

void HandlerPool::adopted() {
  std::lock_guard l(mu_);
  ++unsettled_;
}

void HandlerPool::settled() {
  {
    std::lock_guard l(mu_);
    if (unsettled_ > 0) --unsettled_;
  }
  cv_.notify_all();
}

bool HandlerPool::drain(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock l(mu_);
  return cv_.wait_until(l, deadline, [&] { return unsettled_ == 0; });
}

bool HandlerPool::pause(std::chrono::milliseconds d) {
  std::unique_lock l(mu_);
  return cv_.wait_for(l, d, [&] { return stopping_; });
}

std::size_t HandlerPool::pending(const std::string& bid) const {
  std::lock_guard l(mu_);
  return queue_.pending(bid);
}

std::size_t HandlerPool::in_flight(const std::string& bid) const {
  std::lock_guard l(mu_);
  return queue_.in_flight(bid);
}

void HandlerPool::end(const std::string& bid) {
  {
    std::lock_guard l(mu_);
    queue_.done(bid);
    if (in_flight_ > 0) --in_flight_;
  }
  cv_.notify_all();
}

void HandlerPool::loop() {
  while (true) {
    std::function<void()> task;
    std::optional<std::pair<std::string, Delivery>> next;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] {
        if (stopping_ || !follow_ups_.empty()) return true;
        if (intake_stopped_) return false;
        if (opt_.max_in_flight > 0 && in_flight_ >= opt_.max_in_flight) return false;
        next = queue_.pop();
        return next.has_value();
      });
      if (stopping_) return;
      if (!follow_ups_.empty()) {
        task = std::move(follow_ups_.front());
        follow_ups_.pop_front();
      } else {  // the predicate popped `next` (it pops only when no follow-up waits)
        ++unsettled_;
        ++in_flight_;
      }
    }
    if (task) {
      task();
      continue;
    }
    // Not reached without one: no follow-up waited, so the predicate popped `next`.
    if (!next) continue;
    if (run_(next->second)) continue;  // continues elsewhere; release() ends it
    end(next->first);
  }
}

}  // namespace earshot::queue::detail
