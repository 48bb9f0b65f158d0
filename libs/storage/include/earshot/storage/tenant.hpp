#pragma once
// TenantId: the business a tenant-owned row belongs to. Every repository method that reads
// or writes tenant-owned rows takes one, and every such statement filters on `bid = ?`:
// a caller cannot reach another business's rows by passing just a row id.

#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::storage {

class TenantId {
 public:
  // A bid is 1-64 characters of [a-z0-9_-]. kInvalidArgument otherwise.
  [[nodiscard]] static Result<TenantId> make(std::string_view bid);

  [[nodiscard]] const std::string& bid() const { return bid_; }
  friend bool operator==(const TenantId&, const TenantId&) = default;

 private:
  explicit TenantId(std::string bid) : bid_(std::move(bid)) {}
  std::string bid_;
};

}  // namespace earshot::storage
