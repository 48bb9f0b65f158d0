#pragma once
// The call detail view (GET /api/v1/calls/{id}): a call with its transcript, metrics,
// latest analyses, category matches, escalations and notes (CallDetail, repositories.hpp).

#include "earshot/storage/repositories.hpp"

namespace earshot::storage {

class CallDetailRepository {
 public:
  virtual ~CallDetailRepository() = default;
  // kNotFound when the call is not the tenant's. MySQL: two statements on one connection.
  [[nodiscard]] virtual Result<CallDetail> detail(const TenantId& t, Id id) = 0;
};

}  // namespace earshot::storage
