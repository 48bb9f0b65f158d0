#pragma once
// In-memory AnalysisRepository (storage/repositories.hpp) over the FakeCallRepository and
// FakeEscalationRepository given: record() stores the analyses (an agent config's earlier
// runs stay, no longer latest), sets the call's QA score and opens the escalation if any.
// The human agents' aggregates live in the human-agent fake and are not updated here;
// record() reports what the MySQL one would (true the first time a call with an agent is
// recorded). Like the MySQL one it writes only while the call is analyzing and moves it to
// analyzed last (not atomically: the fakes share no transaction). kNotFound for a call that is
// not the tenant's. Thread-safe.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/escalations_fake.hpp"

namespace earshot::testing {

class FakeAnalysisRepository final : public storage::AnalysisRepository {
 public:
  FakeAnalysisRepository(FakeCallRepository& calls, FakeEscalationRepository& escalations)
      : calls_(calls), escalations_(escalations) {}

  Result<storage::RecordOutcome> record(const storage::TenantId& t, storage::Id call_id,
                                        const storage::CallAnalysisResult& r) override {
    auto call = calls_.get(t, call_id);
    if (!call) return std::unexpected(call.error());
    if (call->status != storage::CallStatus::kAnalyzing) {
      return storage::RecordOutcome{.recorded = false, .aggregated = false, .status = call->status};
    }
    {
      std::lock_guard lock(mu_);
      for (const auto& in : r.analyses) {
        for (auto& [bid, a] : rows_) {
          if (bid == t.bid() && a.call_id == call_id && a.agent_config_id == in.agent_config_id) a.is_latest = false;
        }
        storage::Analysis a;
        static_cast<storage::AnalysisInput&>(a) = in;
        a.id = static_cast<storage::Id>(rows_.size()) + 1;
        a.call_id = call_id;
        a.is_latest = true;
        a.created_at = r.at;
        rows_.emplace_back(t.bid(), std::move(a));
      }
    }
    calls_.set_qa_score(t, call_id, r.qa_score);
    if (r.escalation_reason) {
      auto e = escalations_.create(t, call_id, *r.escalation_reason, r.escalation_severity);
      if (!e) return std::unexpected(e.error());
    }
    bool aggregated = false;
    {
      std::lock_guard lock(mu_);
      aggregated = call->human_agent_id.has_value() && counted_.insert({t.bid(), call_id}).second;
    }
    auto moved = calls_.advance(t, call_id, storage::CallStatus::kAnalyzing, storage::CallStatus::kAnalyzed);
    if (!moved) return std::unexpected(moved.error());
    return storage::RecordOutcome{.recorded = true, .aggregated = aggregated, .status = storage::CallStatus::kAnalyzed};
  }

  Result<std::vector<storage::Analysis>> list_for_call(const storage::TenantId& t, storage::Id call_id,
                                                       bool latest_only) override {
    std::lock_guard lock(mu_);
    std::vector<storage::Analysis> out;
    for (const auto& [bid, a] : rows_) {
      if (bid == t.bid() && a.call_id == call_id && (!latest_only || a.is_latest)) out.push_back(a);
    }
    return out;
  }

 private:
  FakeCallRepository& calls_;
  FakeEscalationRepository& escalations_;
  std::mutex mu_;
  std::vector<std::pair<std::string, storage::Analysis>> rows_;  // by id
  std::set<std::pair<std::string, storage::Id>> counted_;        // calls added to their agent's aggregates
};

}  // namespace earshot::testing
