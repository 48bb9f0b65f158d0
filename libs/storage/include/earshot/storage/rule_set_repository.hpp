#pragma once
// Categories and scorecards: named rule sets, one repository per kind.
// Contract (tenant scoping, errors): repository_common.hpp.

#include <cstdint>
#include <string>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

// A named rule set: a category (rules_json = its rules) or a scorecard (its questions).
struct RuleSet {
  Id id = 0;
  std::string name;
  std::string rules_json = "[]";
  bool enabled = true;
  std::int64_t version = 1;  // read-only: bumped on every update
};

class RuleSetRepository {
 public:
  virtual ~RuleSetRepository() = default;
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, const RuleSet& r) = 0;
  [[nodiscard]] virtual Result<RuleSet> get(const TenantId& t, Id id) = 0;
  [[nodiscard]] virtual Result<std::vector<RuleSet>> list(const TenantId& t) = 0;
  [[nodiscard]] virtual Result<bool> update(const TenantId& t, const RuleSet& r) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;
};

}  // namespace earshot::storage
