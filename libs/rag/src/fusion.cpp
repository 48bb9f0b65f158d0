#include "earshot/rag/fusion.hpp"

#include <algorithm>
#include <unordered_map>

namespace earshot::rag {

std::vector<FusedItem> reciprocal_rank_fusion(std::span<const std::vector<std::uint64_t>> lists, std::size_t limit,
                                              double k) {
  std::vector<FusedItem> items;
  std::unordered_map<std::uint64_t, std::size_t> at;  // key -> index in items
  for (std::size_t l = 0; l < lists.size(); ++l) {
    const auto& list = lists[l];
    for (std::size_t r = 0; r < list.size(); ++r) {
      auto [it, fresh] = at.try_emplace(list[r], items.size());
      if (fresh) items.push_back({.key = list[r], .score = 0, .ranks = std::vector<int>(lists.size(), 0)});
      auto& item = items[it->second];
      if (item.ranks[l] != 0) continue;  // repeated within one list: its first rank counts
      item.ranks[l] = static_cast<int>(r) + 1;
      item.score += 1.0 / (k + static_cast<double>(r + 1));
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const FusedItem& a, const FusedItem& b) { return a.score > b.score; });
  if (limit != 0 && items.size() > limit) items.resize(limit);
  return items;
}

}  // namespace earshot::rag
