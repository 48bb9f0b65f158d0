#pragma once
// Retriever: what the gateway's search, chat and similar-calls routes ask of retrieval. One
// business at a time: the business's shard (IndexRegistry) for its embedder, the query
// embedded by that embedder, hybrid search, then every hit re-read from MariaDB by key and
// scoped to the tenant (a chunk deleted or replaced since the shard loaded is dropped, never
// returned), numbered in rank order as the chat cites them.
//
// Thread safety: every member may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/rag/business_index.hpp"
#include "earshot/rag/chat_prompt.hpp"
#include "earshot/storage/call_repository.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::rag {

struct RetrievalQuery {
  std::string text;  // the question or search text (the routes bound its length)
  SourceSet sources = SourceSet::kBoth;
  std::size_t k = 8;
  std::optional<float> min_similarity;  // cosine floor for vector hits
  // Restricts call chunks to the calls matching this filter (date range, agent, category,
  // status, call ids); unset: every call of the business.
  std::optional<storage::CallFilter> calls;
  // Restricts knowledge chunks to these documents; unset: every document.
  std::optional<std::vector<std::int64_t>> document_ids;
};

struct Retrieved {
  ChatSource source;  // numbered from 1 in rank order; text as stored (call chunks redacted)
  double score = 0;   // fused score
  std::optional<float> similarity;
  std::optional<double> bm25;
  // The embedder failed or timed out and keywords alone ranked this hit (IndexRetriever).
  bool keyword_only = false;
};

// The business's embedder as BusinessLlm names it: the provider and its id (the `model`
// column of call_embeddings and knowledge_chunks, and the shard's model).
struct QueryEmbedder {
  llm::EmbeddingProvider* provider = nullptr;
  std::string model;
};

class Retriever {
 public:
  virtual ~Retriever() = default;
  // Best first. kInvalidArgument for an empty query or k of 0; kUnavailable when the
  // embedder fails or times out (callers may fall back to keywords only: see the
  // implementation's contract).
  [[nodiscard]] virtual Result<std::vector<Retrieved>> search(const storage::TenantId& t, const RetrievalQuery& q,
                                                              const QueryEmbedder& embedder) = 0;
  // The calls nearest to `call_id` by the whole-call vector (the call itself excluded);
  // kNotFound when the call has no whole-call vector of this model in the tenant.
  [[nodiscard]] virtual Result<std::vector<SimilarCall>> similar_calls(const storage::TenantId& t, std::int64_t call_id,
                                                                       std::size_t k,
                                                                       const QueryEmbedder& embedder) = 0;
};

}  // namespace earshot::rag
