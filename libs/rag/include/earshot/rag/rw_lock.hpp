#pragma once
// A readers-writer lock that lets a waiting writer in: std::shared_mutex on glibc prefers
// readers, so a steady stream of overlapping searches would keep an index update (a call
// re-analysed, a document deleted) waiting indefinitely. A writer first takes `gate_`, which
// new readers pass through, then waits for the readers already inside to leave.
// Meets SharedMutex requirements for std::shared_lock / std::unique_lock.

#include <mutex>
#include <shared_mutex>

namespace earshot::rag {

class WriterPreferringMutex {
 public:
  void lock() {
    gate_.lock();
    inner_.lock();
  }
  void unlock() {
    inner_.unlock();
    gate_.unlock();
  }
  void lock_shared() {
    std::lock_guard pass(gate_);
    inner_.lock_shared();
  }
  void unlock_shared() { inner_.unlock_shared(); }

 private:
  std::mutex gate_;
  std::shared_mutex inner_;
};

}  // namespace earshot::rag
