#pragma once
// In-memory CrmLeadRepository (storage/repositories.hpp): idempotent on (business, lead id),
// an older modified_at never overwrites a newer one; a phone's lead is its most recently
// modified one (then the highest id). Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::testing {

class FakeCrmLeadRepository final : public storage::CrmLeadRepository {
 public:
  Status upsert(const storage::TenantId& t, const storage::CrmLead& lead) override {
    std::lock_guard lock(mu_);
    for (auto& [bid, l] : leads_) {
      if (bid != t.bid() || l.lead_id != lead.lead_id) continue;
      if (!(lead.modified_at < l.modified_at)) {
        l.phone = lead.phone;
        l.fields_json = lead.fields_json;
        l.modified_at = lead.modified_at;
      }
      return {};
    }
    storage::CrmLead l = lead;
    l.id = ++next_id_;
    leads_.emplace_back(t.bid(), std::move(l));
    return {};
  }

  Result<std::optional<storage::CrmLead>> find_by_phone(const storage::TenantId& t, std::string_view phone) override {
    std::lock_guard lock(mu_);
    return newest(t, phone);
  }

  Result<bool> remove(const storage::TenantId& t, std::string_view lead_id) override {
    std::lock_guard lock(mu_);
    return std::erase_if(leads_, [&](const auto& e) { return e.first == t.bid() && e.second.lead_id == lead_id; }) > 0;
  }

  Result<std::int64_t> count(const storage::TenantId& t) override {
    std::lock_guard lock(mu_);
    std::int64_t n = 0;
    for (const auto& [bid, l] : leads_) n += bid == t.bid() ? 1 : 0;
    return n;
  }

  Result<std::map<std::string, storage::CrmLead>> find_by_phones(const storage::TenantId& t,
                                                                 std::span<const std::string> phones) override {
    std::lock_guard lock(mu_);
    std::map<std::string, storage::CrmLead> out;
    for (const auto& p : phones) {
      if (auto l = newest(t, p)) out.emplace(p, std::move(*l));
    }
    return out;
  }

 private:
  std::optional<storage::CrmLead> newest(const storage::TenantId& t, std::string_view phone) const {
    const storage::CrmLead* best = nullptr;
    for (const auto& [bid, l] : leads_) {
      if (bid != t.bid() || l.phone != phone) continue;
      if (best == nullptr || std::tie(best->modified_at, best->id) < std::tie(l.modified_at, l.id)) best = &l;
    }
    return best ? std::optional(*best) : std::nullopt;
  }

  std::mutex mu_;
  std::vector<std::pair<std::string, storage::CrmLead>> leads_;
  storage::Id next_id_ = 0;
};

}  // namespace earshot::testing
