#pragma once
// IndexRetriever: the Retriever over the gateway's search shards (IndexRegistry) and MariaDB.
//
// search():
// - The call filter (RetrievalQuery::calls) is resolved to call ids with
//   CallRepository::ids_matching, bounded by `max_filtered_calls` (default 50,000): when more
//   calls match, the newest that many are searched (ids_matching orders newest first).
// - The query is embedded by the business's embedder (async EmbeddingProvider::embed, waited
//   for `embed_timeout`). When the embedder fails, times out, is absent or answers a vector of
//   another dimension than the shard's, the search runs on keywords alone (BM25) and every
//   result says so (Retrieved::keyword_only); a warning is logged and
//   earshot_rag_keyword_fallbacks_total counted. So search never fails for the embedder alone.
// - Every hit is re-read from MariaDB by key, scoped to the tenant (EmbeddingRepository::by_ids,
//   KnowledgeRepository::chunks_by_ids with the document title): a row deleted or replaced
//   since the shard loaded is dropped. The shard is asked for a few more hits than k so that
//   dropped rows do not shorten the answer; the kept hits are numbered 1..n in rank order.
// - A call hit cites the moment that answers: the call's redacted transcript (what the
//   analyze stage stored for its current version; scoped to the tenant, once per call among
//   the hits) is read and the utterance inside the chunk's range that
//   best matches the query (best_utterance, utterances.hpp) gives the hit's start_ms, end_ms
//   and speaker; the chunk's own range stays in chunk_start_ms / chunk_end_ms. Without a
//   transcript (none given, none stored, unreadable) or a matching utterance, the hit cites
//   the chunk: its range, its first line's speaker.
// similar_calls(): the shard's whole-call neighbours, each checked to still be a call of the
// tenant (CallRepository::ids_matching on the hit ids).
//
// Thread safety: every member may be called from any thread (the registry and repositories
// are thread-safe; the retriever holds no mutable state but its metric handles).

#include <chrono>
#include <cstddef>
#include <memory>

#include "earshot/core/metrics.hpp"
#include "earshot/rag/registry.hpp"
#include "earshot/rag/retriever.hpp"
#include "earshot/storage/analysis_repositories.hpp"
#include "earshot/storage/call_repository.hpp"
#include "earshot/storage/rag_repositories.hpp"
#include "earshot/storage/transcript_repository.hpp"

namespace earshot::rag {

struct IndexRetrieverSettings {
  std::chrono::milliseconds embed_timeout{5'000};  // deadline of the query's embedding
  int max_filtered_calls = 50'000;                 // calls a filter may allow (newest first)
  std::size_t max_k = 200;                         // larger k is kInvalidArgument
};

class IndexRetriever final : public Retriever {
 public:
  // `metrics` may be null. Registers earshot_rag_keyword_fallbacks_total.
  // `transcripts` may be null (hits cite their chunk's start).
  IndexRetriever(IndexRegistry& index, storage::CallRepository& calls, storage::EmbeddingRepository& embeddings,
                 storage::KnowledgeRepository& knowledge, storage::TranscriptRepository* transcripts,
                 IndexRetrieverSettings settings = {}, Metrics* metrics = nullptr);

  [[nodiscard]] Result<std::vector<Retrieved>> search(const storage::TenantId& t, const RetrievalQuery& q,
                                                      const QueryEmbedder& embedder) override;
  [[nodiscard]] Result<std::vector<SimilarCall>> similar_calls(const storage::TenantId& t, std::int64_t call_id,
                                                               std::size_t k, const QueryEmbedder& embedder) override;

 private:
  // The query's vector, or empty (keywords only) with the reason in `why`.
  [[nodiscard]] std::vector<float> embed_query(const std::string& text, const QueryEmbedder& embedder,
                                               std::size_t dimension, std::string& why) const;
  [[nodiscard]] Result<std::vector<Retrieved>> reread(const storage::TenantId& t, const std::vector<SearchHit>& hits,
                                                      std::size_t k, bool keyword_only) const;
  // Points each call hit at its best-matching utterance (see the head comment).
  void pinpoint(const storage::TenantId& t, const std::string& query, std::vector<Retrieved>& hits) const;

  IndexRegistry& index_;
  storage::CallRepository& calls_;
  storage::EmbeddingRepository& embeddings_;
  storage::KnowledgeRepository& knowledge_;
  storage::TranscriptRepository* transcripts_;
  IndexRetrieverSettings settings_;
  prometheus::Counter* fallbacks_ = nullptr;
};

}  // namespace earshot::rag
