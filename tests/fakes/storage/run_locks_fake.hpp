#pragma once
// In-memory RunLocks (storage/run_locks.hpp): one lock per (business, job) in this process;
// try_acquire answers nullptr while the lock is held. Thread-safe; the fake must outlive
// the locks it hands out. Test hook: fail_next(error).

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "earshot/storage/run_locks.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeRunLocks final : public storage::RunLocks {
 public:
  Result<std::unique_ptr<storage::RunLock>> try_acquire(const storage::TenantId& t, std::string_view job) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    auto key = std::make_pair(t.bid(), std::string(job));
    if (!held_.insert(key).second) return std::unique_ptr<storage::RunLock>();
    return std::unique_ptr<storage::RunLock>(std::make_unique<Held>(*this, std::move(key)));
  }

  [[nodiscard]] bool held(const storage::TenantId& t, std::string_view job) const {
    std::lock_guard lock(mu_);
    return held_.contains({t.bid(), std::string(job)});
  }
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }

 private:
  using Key = std::pair<std::string, std::string>;
  class Held final : public storage::RunLock {
   public:
    Held(FakeRunLocks& owner, Key key) : owner_(owner), key_(std::move(key)) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() override {
      std::lock_guard lock(owner_.mu_);
      owner_.held_.erase(key_);
    }

   private:
    FakeRunLocks& owner_;
    Key key_;
  };

  mutable std::mutex mu_;
  std::set<Key> held_;
  FailNext failure_;
};

}  // namespace earshot::testing
