#pragma once
// What the sync workers keep: per-source watermarks and the CRM leads calls are matched to.
// Contract (tenant scoping, errors): repository_common.hpp.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

class WatermarkRepository {
 public:
  virtual ~WatermarkRepository() = default;
  [[nodiscard]] virtual Result<std::optional<std::string>> get(const TenantId& t, std::string_view source) = 0;
  [[nodiscard]] virtual Status put(const TenantId& t, std::string_view source, std::string_view position) = 0;
};

struct CrmLead {
  Id id = 0;
  std::string phone;  // E.164
  std::string lead_id;
  std::string fields_json = "{}";
  Timestamp modified_at{};
};

class CrmLeadRepository {
 public:
  virtual ~CrmLeadRepository() = default;
  // Idempotent on (bid, lead_id); an older modified_at never overwrites a newer one.
  [[nodiscard]] virtual Status upsert(const TenantId& t, const CrmLead& lead) = 0;
  // The most recently modified lead with this phone.
  [[nodiscard]] virtual Result<std::optional<CrmLead>> find_by_phone(const TenantId& t, std::string_view phone) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, std::string_view lead_id) = 0;
  [[nodiscard]] virtual Result<std::int64_t> count(const TenantId& t) = 0;
  // find_by_phone for many phones at once (one read): phone -> its most recently modified
  // lead; phones without a lead absent.
  [[nodiscard]] virtual Result<std::map<std::string, CrmLead>> find_by_phones(const TenantId& t,
                                                                              std::span<const std::string> phones) = 0;
};

}  // namespace earshot::storage
