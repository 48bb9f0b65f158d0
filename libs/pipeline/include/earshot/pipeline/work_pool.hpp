#pragma once
// A small fixed pool of threads for the CPU and database steps of asynchronous stages
// (decoding, voice activity, the offline speech engine, repository calls). Tasks run in the
// order posted. shutdown() runs every task already queued (and those they post), then joins;
// a task posted after the threads have exited is dropped. Thread-safe.

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace earshot::pipeline {

class WorkPool {
 public:
  explicit WorkPool(std::size_t threads) {
    for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) {
      threads_.emplace_back([this] { run(); });
    }
  }
  ~WorkPool() { shutdown(); }
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False when the pool has shut down (the task was dropped).
  bool post(std::function<void()> task) {
    {
      std::lock_guard l(mu_);
      if (exited_) return false;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  void shutdown() {
    {
      std::lock_guard l(mu_);
      if (closing_) return;
      closing_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    }
    std::lock_guard l(mu_);
    exited_ = true;
    tasks_.clear();
  }

  [[nodiscard]] std::size_t queued() const {
    std::lock_guard l(mu_);
    return tasks_.size();
  }
  [[nodiscard]] std::size_t size() const { return threads_.size(); }

 private:
  void run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return closing_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // closing and nothing left
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool closing_ = false;
  bool exited_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace earshot::pipeline
