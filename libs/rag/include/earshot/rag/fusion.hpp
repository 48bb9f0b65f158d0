#pragma once
// Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): merges ranked lists of the same
// items (chunks, named by a 64-bit key) from different retrievers. An item's fused score is
// the sum over the lists that hold it of 1 / (k + rank), ranks counted from 1; it does not
// look at the retrievers' own scores, so cosine similarities and BM25 scores need no common
// scale. Ties keep the order of first appearance (list by list, rank by rank).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace earshot::rag {

struct FusedItem {
  std::uint64_t key = 0;
  double score = 0;        // sum of 1 / (k + rank)
  std::vector<int> ranks;  // 1-based rank in each input list, 0 where absent
  friend bool operator==(const FusedItem&, const FusedItem&) = default;
};

inline constexpr double kRrfK = 60.0;

// `lists[i]` is retriever i's result, best first (a key repeated within one list counts at its
// first rank). Returns the union, best fused score first, at most `limit` items (0: all).
[[nodiscard]] std::vector<FusedItem> reciprocal_rank_fusion(std::span<const std::vector<std::uint64_t>> lists,
                                                            std::size_t limit = 0, double k = kRrfK);

}  // namespace earshot::rag
