#pragma once
// The admin CLI runs in the fleet's environment, which carries settings of every binary.
// A command reads only the EARSHOT_* variables of the groups it uses (each group still
// parsed strictly by its ConfigSpec); the rest belong to other binaries.

#include <initializer_list>
#include <string_view>

#include "earshot/core/config.hpp"

namespace earshot::cli {

// EARSHOT_<PREFIX>... variables for the given prefixes (e.g. "MYSQL_", "OBJECT_STORE_DIR").
inline EnvMap scoped_env(std::initializer_list<std::string_view> prefixes) {
  EnvMap out;
  for (const auto& [k, v] : current_environment()) {
    if (!k.starts_with(kEnvPrefix)) continue;
    const std::string_view key = std::string_view(k).substr(kEnvPrefix.size());
    for (auto p : prefixes) {
      if (key.starts_with(p)) {
        out[k] = v;
        break;
      }
    }
  }
  return out;
}

}  // namespace earshot::cli
