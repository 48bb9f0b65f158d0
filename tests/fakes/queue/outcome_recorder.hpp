#pragma once
// An OutcomeRecorder that keeps every event in memory, for tests and benchmarks.
// Thread-safe.

#include <cstddef>
#include <mutex>
#include <vector>

#include "earshot/queue/worker.hpp"

namespace earshot::queue {

class InMemoryOutcomeRecorder final : public OutcomeRecorder {
 public:
  [[nodiscard]] Status record(const OutcomeEvent& event) override {
    std::lock_guard l(mu_);
    events_.push_back(event);
    return {};
  }
  [[nodiscard]] std::vector<OutcomeEvent> events() const {
    std::lock_guard l(mu_);
    return events_;
  }
  [[nodiscard]] std::size_t count(OutcomeKind kind) const {
    std::lock_guard l(mu_);
    std::size_t n = 0;
    for (const auto& e : events_) n += e.kind == kind ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<OutcomeEvent> events_;
};

}  // namespace earshot::queue
