#pragma once
// Analysts' notes on a call. Contract (tenant scoping, errors): repository_common.hpp.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

struct CallNote {
  Id id = 0;
  Id call_id = 0;
  std::optional<Id> author_user_id;
  std::string body;
  Timestamp created_at{};
};

class NoteRepository {
 public:
  virtual ~NoteRepository() = default;
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, Id call_id, std::optional<Id> author_user_id,
                                          std::string_view body) = 0;
  [[nodiscard]] virtual Result<std::vector<CallNote>> list_for_call(const TenantId& t, Id call_id) = 0;
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;
};

}  // namespace earshot::storage
