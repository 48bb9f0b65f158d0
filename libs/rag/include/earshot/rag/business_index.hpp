#pragma once
// BusinessIndex: the search index of one business for one embedder model (a shard): its call
// transcript chunks and knowledge-base chunks in a VectorIndex and a KeywordIndex, searched
// together and fused by reciprocal rank fusion, and its whole-call vectors (chunk_index -1)
// in a separate VectorIndex keyed by call id, for similar calls.
//
// Keys: call_embeddings.id for a call chunk, knowledge_chunks.id | kKnowledgeKeyBit for a
// knowledge chunk. The index holds no tenant: the registry keeps one per (bid, model), and
// callers re-read hits from MySQL by key, tenant-scoped, so a stale index never shows a
// deleted row.
//
// Updates are whole owners: replace_call() swaps all rows of a call at once (re-analysis
// writes new row ids), replace_document() all chunks of a document.
//
// Thread safety: concurrent searches with one writer at a time (a std::shared_mutex that lets a
// waiting writer in, rw_lock.hpp); a search
// sees a call either entirely before or entirely after a replace_call().

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/rag/keyword_index.hpp"
#include "earshot/rag/rw_lock.hpp"
#include "earshot/rag/vector_index.hpp"

namespace earshot::rag {

enum class Source : std::uint8_t { kCall, kKnowledge };

inline constexpr std::uint64_t kKnowledgeKeyBit = 1ULL << 63;
[[nodiscard]] constexpr std::uint64_t call_chunk_key(std::int64_t call_embedding_id) {
  return static_cast<std::uint64_t>(call_embedding_id);
}
[[nodiscard]] constexpr std::uint64_t knowledge_chunk_key(std::int64_t knowledge_chunk_id) {
  return static_cast<std::uint64_t>(knowledge_chunk_id) | kKnowledgeKeyBit;
}
// The table row id behind a key (either kind).
[[nodiscard]] constexpr std::int64_t key_row_id(std::uint64_t key) {
  return static_cast<std::int64_t>(key & ~kKnowledgeKeyBit);
}

// One indexed row, as MySQL gives it (ChunkSource) and as the index stores its metadata.
struct SourceChunk {
  std::uint64_t key = 0;
  Source source = Source::kCall;
  std::int64_t owner_id = 0;     // call id or knowledge document id
  std::int64_t chunk_index = 0;  // -1: the whole-call vector (calls only; no text)
  std::int64_t start_ms = 0, end_ms = 0;
  std::string text;           // redacted chunk text
  std::vector<float> vector;  // any scale; normalised on insert
};

struct ChunkMeta {
  Source source = Source::kCall;
  std::int64_t owner_id = 0;
  std::int64_t chunk_index = 0;
  std::int64_t start_ms = 0, end_ms = 0;
  friend bool operator==(const ChunkMeta&, const ChunkMeta&) = default;
};

enum class SourceSet : std::uint8_t { kCalls, kKnowledge, kBoth };

struct SearchOptions {
  std::size_t k = 10;
  SourceSet sources = SourceSet::kBoth;
  // When set, only chunks of these calls / documents (an empty set allows none of that source).
  std::optional<std::unordered_set<std::int64_t>> allowed_call_ids;
  std::optional<std::unordered_set<std::int64_t>> allowed_document_ids;
  // A vector hit below this cosine is no candidate (keyword hits are not affected).
  std::optional<float> min_similarity;
  // How deep each retriever's list goes before fusion; 0: max(3k, 30).
  std::size_t depth = 0;
};

struct SearchHit {
  std::uint64_t key = 0;
  ChunkMeta meta;
  double score = 0;                 // fused (reciprocal rank fusion)
  std::optional<float> similarity;  // cosine, when the vector retriever found it
  std::optional<double> bm25;       // when the keyword retriever found it
};

struct SimilarCall {
  std::int64_t call_id = 0;
  float similarity = 0;
  friend bool operator==(const SimilarCall&, const SimilarCall&) = default;
};

class BusinessIndex {
 public:
  // The dimension is taken from the first vector added; rows of another dimension are
  // refused. `build_threads` is used by bulk loads (add_rows).
  explicit BusinessIndex(VectorIndexSettings settings = {}, unsigned build_threads = 1);

  // Bulk load (the registry's first fill): adds rows of any calls and documents; rows of an
  // owner already present are added to it, not swapped. Nothing of a refused row is added.
  Status add_rows(std::span<const SourceChunk> rows);
  // Drops every key of the call (chunks and whole-call vector), then adds `rows` (all of
  // them must belong to `call_id`). Empty rows: the call is removed.
  Status replace_call(std::int64_t call_id, std::span<const SourceChunk> rows);
  void remove_call(std::int64_t call_id);
  Status replace_document(std::int64_t document_id, std::span<const SourceChunk> rows);
  void remove_document(std::int64_t document_id);

  // Hybrid search: the vector list (query_vector; empty: keyword only) and the keyword list
  // (query_text; empty: vector only), each options.depth deep under the same filter, fused by
  // reciprocal_rank_fusion; at most options.k hits. kInvalidArgument for a query vector of
  // the wrong dimension or zero.
  [[nodiscard]] Result<std::vector<SearchHit>> search(std::string_view query_text, std::span<const float> query_vector,
                                                      const SearchOptions& options) const;
  // Nearest calls by whole-call vector, the call itself excluded. kNotFound when the call has
  // no whole-call vector here.
  [[nodiscard]] Result<std::vector<SimilarCall>> similar_calls(std::int64_t call_id, std::size_t k) const;

  [[nodiscard]] std::optional<ChunkMeta> meta(std::uint64_t key) const;
  [[nodiscard]] std::size_t chunk_count() const;  // call + knowledge chunks (no whole-call vectors)
  [[nodiscard]] std::size_t call_vector_count() const;
  [[nodiscard]] std::size_t dimension() const;
  [[nodiscard]] std::size_t memory_bytes() const;

 private:
  class Filter;
  Status check_rows(std::span<const SourceChunk> rows) const;
  Status add_locked(std::span<const SourceChunk> rows);
  void remove_owner_locked(Source source, std::int64_t owner_id);
  // Keys of the allowed owners when the filter names few enough of them to search exactly.
  [[nodiscard]] std::optional<std::vector<std::uint64_t>> small_candidate_set(const SearchOptions& options) const;

  VectorIndexSettings settings_;
  unsigned build_threads_;
  mutable WriterPreferringMutex mu_;
  std::size_t dimension_ = 0;
  std::unique_ptr<VectorIndex> chunks_;       // created with the first vector
  std::unique_ptr<VectorIndex> whole_calls_;  // key: call id
  KeywordIndex keywords_;
  std::unordered_map<std::uint64_t, ChunkMeta> meta_;
  std::unordered_map<std::int64_t, std::vector<std::uint64_t>> call_keys_;      // call id -> chunk keys
  std::unordered_map<std::int64_t, std::vector<std::uint64_t>> document_keys_;  // document id -> keys
};

}  // namespace earshot::rag
