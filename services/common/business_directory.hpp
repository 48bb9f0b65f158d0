#pragma once
// The queue fabric's source of truth for which businesses to consume: the businesses table.
// Wiring shared by the worker mains (an adapter of storage to queue), so it lives with them
// and neither library depends on the other.

#include "earshot/queue/control.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::fleet {

class StorageBusinessDirectory final : public queue::BusinessDirectory {
 public:
  explicit StorageBusinessDirectory(storage::BusinessRepository& businesses) : businesses_(businesses) {}
  [[nodiscard]] Result<std::vector<std::string>> enabled_businesses() override;

 private:
  storage::BusinessRepository& businesses_;
};

}  // namespace earshot::fleet
