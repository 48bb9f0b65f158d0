#pragma once
#include <span>

namespace earshot::cli {
// `earshot sync --bid B --once [--source db|crm|feed]`: one sync pass of a business, now.
int sync(std::span<char*> args);
}  // namespace earshot::cli
