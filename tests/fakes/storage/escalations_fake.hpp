#pragma once
// In-memory EscalationRepository (storage/repositories.hpp): kNotFound when creating for a
// call that is not the tenant's (checked against the FakeCallRepository given); created_at
// is the creation order (1 ms apart) unless a clock is given. Thread-safe.

#include <algorithm>
#include <mutex>
#include <tuple>
#include <vector>

#include "fakes/storage/calls_fake.hpp"

namespace earshot::testing {

class FakeEscalationRepository final : public storage::EscalationRepository {
 public:
  explicit FakeEscalationRepository(const FakeCallRepository& calls, const Clock* clock = nullptr)
      : calls_(calls), clock_(clock) {}

  Result<storage::Id> create(const storage::TenantId& t, storage::Id call_id, std::string_view reason,
                             storage::EscalationSeverity severity) override {
    if (!calls_.exists(t, call_id)) return make_error(ErrorCode::kNotFound, "call not found");
    std::lock_guard lock(mu_);
    storage::Escalation e;
    e.id = static_cast<storage::Id>(rows_.size()) + 1;
    e.call_id = call_id;
    e.reason = std::string(reason.substr(0, 1024));
    e.severity = severity;
    e.created_at = clock_ != nullptr ? storage::to_timestamp(clock_->now())
                                     : storage::Timestamp(std::chrono::milliseconds(1'800'000'000'000 + e.id));
    rows_.emplace_back(t.bid(), e);
    return e.id;
  }

  // created_at descending, then id descending.
  Result<std::vector<storage::Escalation>> list(const storage::TenantId& t,
                                                std::optional<storage::EscalationStatus> status, int limit) override {
    std::lock_guard lock(mu_);
    std::vector<storage::Escalation> out;
    for (const auto& [bid, e] : rows_) {
      if (bid == t.bid() && (!status || e.status == *status)) out.push_back(e);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return std::tie(b.created_at, b.id) < std::tie(a.created_at, a.id); });
    if (out.size() > static_cast<std::size_t>(std::max(limit, 0))) out.resize(static_cast<std::size_t>(limit));
    return out;
  }

  Result<bool> set_status(const storage::TenantId& t, storage::Id id, storage::EscalationStatus s,
                          storage::Timestamp at) override {
    std::lock_guard lock(mu_);
    for (auto& [bid, e] : rows_) {
      if (bid != t.bid() || e.id != id) continue;
      e.status = s;
      e.resolved_at = s == storage::EscalationStatus::kResolved ? std::optional(at) : std::nullopt;
      return true;
    }
    return false;
  }

  Result<std::vector<storage::Escalation>> list_for_call(const storage::TenantId& t, storage::Id call_id) override {
    std::lock_guard lock(mu_);
    std::vector<storage::Escalation> out;
    for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
      if (it->first == t.bid() && it->second.call_id == call_id) out.push_back(it->second);
    }
    return out;
  }

 private:
  const FakeCallRepository& calls_;
  const Clock* clock_;
  std::mutex mu_;
  std::vector<std::pair<std::string, storage::Escalation>> rows_;  // by id
};

}  // namespace earshot::testing
