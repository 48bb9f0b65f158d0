#pragma once
// A small fixed pool of threads for the CPU and database steps of asynchronous stages
// (decoding, voice activity, the offline speech engine, repository calls). A task may carry
// an order key: the queued task with the lowest key runs first, tasks with the same key in
// the order posted, and tasks posted without a key after every keyed one (in the order
// posted). A stage that keys each step by its job's start makes the oldest job's next step
// run first, so jobs finish in the order they started instead of every job's first step
// running before any job's second. shutdown() runs every task already queued (and those
// they post), then joins; a task posted after the threads have exited is dropped.
// Thread-safe.

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
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

  // The key of tasks posted without one: after every keyed task.
  static constexpr std::uint64_t kUnordered = std::numeric_limits<std::uint64_t>::max();

  // False when the pool has shut down (the task was dropped).
  bool post(std::function<void()> task) { return post(std::move(task), kUnordered); }
  // Lowest `order` first; the same order in the order posted.
  bool post(std::function<void()> task, std::uint64_t order) {
    {
      std::lock_guard l(mu_);
      if (exited_) return false;
      tasks_.emplace(std::pair{order, next_seq_++}, std::move(task));
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
        auto first = tasks_.begin();
        task = std::move(first->second);
        tasks_.erase(first);
      }
      task();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::function<void()>> tasks_;  // by (order, seq)
  std::uint64_t next_seq_ = 0;
  bool closing_ = false;
  bool exited_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace earshot::pipeline
