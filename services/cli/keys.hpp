#pragma once
#include <span>

namespace earshot::cli {

// earshot keys status | reseal: the values sealed under the master keys (pipeline secrets,
// webhook signing secrets), counted per key id, and re-encrypted under the primary key.
int keys(std::span<char*> args);

}  // namespace earshot::cli
