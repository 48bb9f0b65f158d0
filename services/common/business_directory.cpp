#include "business_directory.hpp"

namespace earshot::fleet {

Result<std::vector<std::string>> StorageBusinessDirectory::enabled_businesses() {
  auto all = businesses_.list_all();
  if (!all) return std::unexpected(all.error());
  std::vector<std::string> out;
  for (const auto& b : *all) {
    if (b.status == storage::BusinessStatus::kActive) out.push_back(b.bid);
  }
  return out;
}

}  // namespace earshot::fleet
