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
// Memory of a shard (measured by bench/rag with hnswlib M = 16, 100 synthetic words a chunk):
// see docs in the README of bench/rag figures; per 1M chunks about 1.5 GB at 256-d and
// 3.6 GB at 768-d (HNSW base layer 1164 / 3212 bytes a chunk, BM25 postings ~300 bytes, key map
// and metadata ~150 bytes). 100M chunks would not fit one gateway: that is a dedicated engine.
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
  virtual Result<std::vector<SourceChunk>> scan_calls(std::int64_t bid, std::string_view model, std::int64_t after_id,
                                                      std::size_t limit) = 0;
  virtual Result<std::vector<SourceChunk>> scan_knowledge(std::int64_t bid, std::string_view model,
                                                          std::int64_t after_id, std::size_t limit) = 0;
  // Every current row of one call / one document (empty when it has none or is gone).
  virtual Result<std::vector<SourceChunk>> call_rows(std::int64_t bid, std::string_view model,
                                                     std::int64_t call_id) = 0;
  virtual Result<std::vector<SourceChunk>> document_rows(std::int64_t bid, std::string_view model,
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

  [[nodiscard]] Result<std::shared_ptr<BusinessIndex>> get(std::int64_t bid, std::string_view model);

  Status refresh_call(std::int64_t bid, std::int64_t call_id);
  void forget_call(std::int64_t bid, std::int64_t call_id);
  Status refresh_document(std::int64_t bid, std::int64_t document_id);
  void forget_document(std::int64_t bid, std::int64_t document_id);

  [[nodiscard]] bool loaded(std::int64_t bid, std::string_view model) const;
  [[nodiscard]] std::size_t shard_count() const;   // loaded shards
  [[nodiscard]] std::size_t memory_bytes() const;  // of loaded shards, as last measured

 private:
  using ShardKey = std::pair<std::int64_t, std::string>;
  enum class Update : std::uint8_t { kRefreshCall, kForgetCall, kRefreshDocument, kForgetDocument };
  struct Entry;
  struct MetricHandles;

  Result<std::shared_ptr<BusinessIndex>> load(std::int64_t bid, const std::string& model);
  Status apply(BusinessIndex& index, std::int64_t bid, const std::string& model, Update update, std::int64_t id);
  Status update(std::int64_t bid, Update update, std::int64_t id);
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
