#pragma once
// A hash for unordered containers keyed by std::string that finds a key from a
// std::string_view (or a literal) without building a string for the lookup:
//   std::unordered_map<std::string, V, StringHash, std::equal_to<>> m;  m.find(view);

#include <cstddef>
#include <functional>
#include <string_view>

namespace earshot {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace earshot
