#pragma once
// KeywordIndex: in-memory BM25 (Robertson/Sparck Jones; k1 = 1.2, b = 0.75) over chunk text,
// chunks named by 64-bit keys. Tokens are those of tokenize() minus the stop words.
//
// Scoring: for each distinct query term t present in chunk d,
//   idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl)),
//   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))   (never negative),
// with N and avgdl over the live chunks. A removed chunk is gone from results at once, but
// its postings stay as tombstones (df counts them) until they number a quarter of the chunks
// (and at least `compact_min_removed`); then the postings are rewritten without them inside
// that remove() call (amortised over the removals).
// The filter is applied to every matching chunk before the top k is taken, so it never cuts
// the result short.
//
// Each searching thread keeps a score buffer of 4 bytes per chunk of the largest shard it has
// searched (thread_local, reused: no allocation per search).
//
// Thread safety: concurrent searches (shared lock) with one writer (a std::shared_mutex that
// lets a waiting writer in, rw_lock.hpp).

#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "earshot/rag/key_filter.hpp"
#include "earshot/rag/rw_lock.hpp"

namespace earshot::rag {

struct KeywordHit {
  std::uint64_t key = 0;
  double score = 0;  // BM25
};

class KeywordIndex {
 public:
  static constexpr double kK1 = 1.2;
  static constexpr double kB = 0.75;

  explicit KeywordIndex(std::size_t compact_min_removed = 1024) : compact_min_removed_(compact_min_removed) {}

  // Adds or replaces the text of `key`. A text without indexable tokens is still a chunk
  // (it counts in N) but no query finds it.
  void add(std::uint64_t key, std::string_view text);
  // True when the key was present.
  bool remove(std::uint64_t key);

  // Best first, at most k hits, only chunks holding at least one query term.
  [[nodiscard]] std::vector<KeywordHit> search(std::string_view query, std::size_t k,
                                               const KeyFilter* filter = nullptr) const;

  [[nodiscard]] bool contains(std::uint64_t key) const;
  [[nodiscard]] std::size_t size() const;  // live chunks
  [[nodiscard]] std::size_t memory_bytes() const;

 private:
  struct Posting {
    std::uint32_t doc;
    std::uint32_t tf;
  };
  struct Doc {
    std::uint64_t key;
    std::uint32_t length;  // indexable tokens
    bool live;
  };
  void remove_locked(std::uint64_t key);
  void compact();

  std::size_t compact_min_removed_;
  mutable WriterPreferringMutex mu_;
  std::vector<Doc> docs_;                                    // by internal id
  std::unordered_map<std::uint64_t, std::uint32_t> by_key_;  // live keys only
  std::unordered_map<std::string, std::uint32_t> term_ids_;
  std::vector<std::vector<Posting>> postings_;  // by term id, ascending doc
  std::size_t removed_ = 0;
  std::uint64_t live_length_ = 0;
  std::size_t term_bytes_ = 0;
};

}  // namespace earshot::rag
