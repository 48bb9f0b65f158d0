#pragma once
// VectorIndex: approximate k-nearest-neighbour search by cosine similarity over vectors named
// by 64-bit keys, on an HNSW graph (hnswlib HierarchicalNSW<float>, InnerProductSpace).
//
// Contract:
// - Vectors are L2-normalised on insert and queries are normalised too, so the inner product
//   is the cosine similarity. A zero vector or one of another dimension is refused with
//   kInvalidArgument.
// - add() with a key already present replaces its vector; remove() marks the key deleted and a
//   removed key never comes back from a search (it may be added again). Deleted slots keep
//   their memory until they outnumber the live ones (and number at least
//   `compact_min_deleted`); then the graph is rebuilt from the live vectors inside that
//   remove() call, so the cost is amortised over the removals that caused it (searches of this
//   index wait for the rebuild).
// - Capacity grows by doubling (amortised), never shrinks except by that rebuild.
// - search() takes an optional KeyFilter, checked while walking the graph: only allowed, live
//   keys enter the result, and the walk goes on until it holds max(ef_search, k) of them or
//   the graph is exhausted, so a filter never cuts the result short (a very selective filter
//   makes the walk long; BusinessIndex then uses search_keys()).
//   (The filtered walk is written here over hnswlib's graph: the packaged hnswlib 0.6.2 has no
//   BaseFilterFunctor, and its own searchKnn keeps ef in the index and bumps shared counters.)
// - search_exact() and search_keys() are brute force (tests, tiny or heavily filtered shards).
//
// Thread safety: any number of concurrent searches (shared lock) with one writer at a time
// (add/remove take the lock exclusively, so a search never sees half an update). The lock is a
// std::shared_mutex behind a gate that lets a waiting writer in (rw_lock.hpp).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/rag/key_filter.hpp"
#include "earshot/rag/rw_lock.hpp"

namespace earshot::rag {

struct VectorIndexSettings {
  std::size_t m = 16;                 // graph degree (2*M links on the base layer)
  std::size_t ef_construction = 200;  // candidate list while inserting
  std::size_t ef_search = 128;        // candidate list while searching; max(ef_search, k) is used
                                      // (recall@10 0.88 at 64, 0.99 at 128: 1M 768-d, docs/rag.md)
  std::size_t initial_capacity = 1024;
  std::size_t compact_min_deleted = 1024;
  std::uint64_t seed = 100;  // level generator seed (deterministic graphs in tests)
};

struct VectorHit {
  std::uint64_t key = 0;
  float similarity = 0;  // cosine, in [-1, 1]
  friend bool operator==(const VectorHit&, const VectorHit&) = default;
};

class VectorIndex {
 public:
  explicit VectorIndex(std::size_t dimension, VectorIndexSettings settings = {});
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Adds or replaces the vector of `key`.
  Status add(std::uint64_t key, std::span<const float> vector);
  // Adds many at once: `vectors` holds keys.size() vectors back to back. New keys are inserted
  // by `threads` threads (hnswlib inserts concurrently under its own per-node locks) while this
  // index is held exclusively; keys already present are replaced one by one. Nothing is added
  // when a vector is refused.
  Status add_batch(std::span<const std::uint64_t> keys, std::span<const float> vectors, unsigned threads = 1);
  // True when the key was live.
  bool remove(std::uint64_t key);

  [[nodiscard]] bool contains(std::uint64_t key) const;
  // The stored (normalised) vector of a live key.
  [[nodiscard]] std::optional<std::vector<float>> vector_of(std::uint64_t key) const;

  // Best first; at most k hits.
  [[nodiscard]] Result<std::vector<VectorHit>> search(std::span<const float> query, std::size_t k,
                                                      const KeyFilter* filter = nullptr) const;
  [[nodiscard]] Result<std::vector<VectorHit>> search_exact(std::span<const float> query, std::size_t k,
                                                            const KeyFilter* filter = nullptr) const;
  // Exact search over the listed keys only (unknown or removed keys are skipped).
  [[nodiscard]] Result<std::vector<VectorHit>> search_keys(std::span<const float> query,
                                                           std::span<const std::uint64_t> keys, std::size_t k) const;

  [[nodiscard]] std::size_t dimension() const { return dimension_; }
  [[nodiscard]] std::size_t size() const;      // live keys
  [[nodiscard]] std::size_t capacity() const;  // slots allocated (live + deleted + free)
  // Estimate of the heap held: per slot the base layer (vector + 2*M links + label), level
  // bookkeeping and lock, the upper-layer links of the nodes that have them, the label map
  // and one visited list. Measured against process RSS by bench/rag.
  [[nodiscard]] std::size_t memory_bytes() const;

 private:
  struct Graph;
  [[nodiscard]] Result<std::vector<float>> normalised(std::span<const float> v) const;
  void grow_for(std::size_t extra);
  void rebuild();

  std::size_t dimension_;
  VectorIndexSettings settings_;
  mutable WriterPreferringMutex mu_;
  std::unique_ptr<Graph> graph_;
};

}  // namespace earshot::rag
