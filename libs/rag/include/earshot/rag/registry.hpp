#pragma once
// IndexRegistry: the gateway's search shards, one BusinessIndex per (bid, embedder model),
// loaded from the database on first use and evicted when cold.
//
// Contract:
// - get(bid, model) returns the loaded shard, or loads it through ChunkSource (keyset pages
//   of call rows, then of knowledge rows). Concurrent first uses of one shard wait for one
//   load; a failed load is returned to every caller waiting on it and is not cached (the next
//   get() tries again).
// - Memory: after each load the registry evicts the least recently used shards (LRU by the
//   injected clock) while the sum of memory_bytes() exceeds `memory_budget_bytes`. A shard
//   somebody still holds (its shared_ptr is out) is never evicted; so a single shard larger
//   than the budget stays while in use.
// - refresh_call / forget_call / refresh_document / forget_document update the loaded shards
//   of that business (every model) and do nothing for shards not loaded (they read the
//   database when they load). An update that arrives while a shard is loading is applied to
//   it after the load, before any caller sees it.
// - The shard holds no tenant data beyond its bid: callers re-read hits from MySQL by key,
//   tenant-scoped.
//
// Memory of a shard (BusinessIndex::memory_bytes; bench/rag, chunks of 100 Zipf-drawn words):
// - HNSW (M 16): 4 * d + 218 bytes per slot (vector, 32 base-layer links, label, level, lock,
//   visited mark) plus ~45 bytes of label map per key; slots grow by doubling, so up to twice
//   the live chunks are allocated (untouched slack does not show in RSS);
// - BM25 postings, key maps and metadata: ~1.5 kB per chunk at 100 words;
// - fixed: ~5 MB per shard (hnswlib 0.6.2 allocates 65,536 update locks per graph, two graphs).
// Measured at 100k chunks, 256-d: 3,317 B/chunk (RSS 2,663 B/chunk); 50 shards of 2k chunks:
// 7,256 B/chunk (the fixed part). So 1M chunks in one shard cost about 2.9 GB at 256-d and
// about 5 GB at 768-d (+2 kB per chunk), whole-call vectors (1 per 20 chunks) included. At
// 100M chunks (~290 GB at 256-d) the index does not fit a gateway: that needs a dedicated
// engine in front, not this registry.
//
// Thread safety: every member may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/rag/business_index.hpp"

namespace earshot::rag {

// What the database provides (implemented over the call_embeddings and knowledge_chunks
// repositories). Every method is scoped to `bid`; rows of another business never come back.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // Keyset pages by row id: rows with id > after_id, ascending, at most `limit`. Call rows
  // include the whole-call vectors (chunk_index -1); knowledge rows carry knowledge_chunk_key.
  virtual Result<std::vector<SourceChunk>> scan_calls(const std::string& bid, std::string_view model,
                                                      std::int64_t after_id, std::size_t limit) = 0;
  virtual Result<std::vector<SourceChunk>> scan_knowledge(const std::string& bid, std::string_view model,
                                                          std::int64_t after_id, std::size_t limit) = 0;
  // Every current row of one call / one document (empty when it has none or is gone).
  virtual Result<std::vector<SourceChunk>> call_rows(const std::string& bid, std::string_view model,
                                                     std::int64_t call_id) = 0;
  virtual Result<std::vector<SourceChunk>> document_rows(const std::string& bid, std::string_view model,
                                                         std::int64_t document_id) = 0;
};

struct RegistrySettings {
  std::size_t memory_budget_bytes = std::size_t{2} << 30;  // 2 GiB
  std::size_t page_size = 2000;
  unsigned build_threads = 1;
  VectorIndexSettings vector;
};

class IndexRegistry {
 public:
  // `metrics` may be null. Registers earshot_rag_index_shards, earshot_rag_index_bytes,
  // earshot_rag_index_loads_total{outcome}, earshot_rag_index_load_seconds and
  // earshot_rag_index_evictions_total.
  IndexRegistry(ChunkSource& source, const Clock& clock, RegistrySettings settings, Metrics* metrics = nullptr);
  ~IndexRegistry();
  IndexRegistry(const IndexRegistry&) = delete;
  IndexRegistry& operator=(const IndexRegistry&) = delete;

  [[nodiscard]] Result<std::shared_ptr<BusinessIndex>> get(const std::string& bid, std::string_view model);

  Status refresh_call(const std::string& bid, std::int64_t call_id);
  void forget_call(const std::string& bid, std::int64_t call_id);
  Status refresh_document(const std::string& bid, std::int64_t document_id);
  void forget_document(const std::string& bid, std::int64_t document_id);
  // Drops every loaded (or failed) shard, so that the next get() of each reads the database
  // again: for when updates may have been missed (the live-event subscription was down). A
  // caller still holding a shard keeps it until it lets go; shards being loaded stay (their
  // load reads the database now).
  void forget_all();

  [[nodiscard]] bool loaded(const std::string& bid, std::string_view model) const;
  [[nodiscard]] std::size_t shard_count() const;   // loaded shards
  [[nodiscard]] std::size_t memory_bytes() const;  // of loaded shards, as last measured

 private:
  using ShardKey = std::pair<std::string, std::string>;
  enum class Update : std::uint8_t { kRefreshCall, kForgetCall, kRefreshDocument, kForgetDocument };
  struct Entry;
  struct MetricHandles;

  Result<std::shared_ptr<BusinessIndex>> load(const std::string& bid, const std::string& model);
  Status apply(BusinessIndex& index, const std::string& bid, const std::string& model, Update update, std::int64_t id);
  Status update(const std::string& bid, Update update, std::int64_t id);
  void evict_locked(const ShardKey& keep);
  void publish_gauges_locked();

  ChunkSource* source_;
  const Clock* clock_;
  RegistrySettings settings_;
  std::unique_ptr<MetricHandles> metrics_;
  mutable std::mutex mu_;
  std::condition_variable loaded_cv_;
  std::map<ShardKey, std::shared_ptr<Entry>, std::less<>> shards_;
  std::uint64_t use_sequence_ = 0;
};

}  // namespace earshot::rag
