#pragma once
// The queue fabric's source of truth for which businesses to consume: the businesses table.

#include "earshot/queue/control.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::pipeline {

class StorageBusinessDirectory final : public queue::BusinessDirectory {
 public:
  explicit StorageBusinessDirectory(storage::BusinessRepository& businesses)
      : businesses_(businesses) {}
  [[nodiscard]] Result<std::vector<std::string>> enabled_businesses() override;

 private:
  storage::BusinessRepository& businesses_;
};

}  // namespace earshot::pipeline
