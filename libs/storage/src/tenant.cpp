#include "earshot/storage/tenant.hpp"

#include <fmt/format.h>

namespace earshot::storage {

Result<TenantId> TenantId::make(std::string_view bid) {
  bool ok = !bid.empty() && bid.size() <= 64;
  for (char c : bid) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("invalid business id '{}' (1-64 of [a-z0-9_-])", bid.substr(0, 80)));
  }
  return TenantId(std::string(bid));
}

}  // namespace earshot::storage
