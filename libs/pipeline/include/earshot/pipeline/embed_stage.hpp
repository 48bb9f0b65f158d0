#pragma once
// The embed stage (embed.{bid}), run by earshot-analyze beside the analyze stage: knowledge-base
// documents chunked and embedded with the business's current embedder (docs/rag.md).
//
// kind "document" (id = document id, version = the content version to embed):
//   - the document is read tenant-scoped; a deleted one, or a message for an older version
//     than the stored one (the document was edited since), is acked with nothing written;
//     one already ready with the current embedder, or failed, at that version is a
//     redelivery and is acked too;
//   - the text is cut by rag::chunk_document and embedded in batches; the chunks replace the
//     document's (KnowledgeRepository::replace_chunks, only while the document is still at
//     that version) and it becomes ready with the embedder's id;
//   - a retryable embedder failure (unavailable, rate limited, timeout) goes back to the
//     queue's retry tiers; on the last attempt, and for any permanent failure (a bad
//     embedder config, a document without words, an embedder that answers the wrong shape),
//     the document is set failed with the reason and the message is dead-lettered with it;
//   - every status change is announced as the live event knowledge.status
//     {document_id, status, version, reason (failed only)}.
// kind "reembed" (the business changed its embedder; `id` names the embedder the change
//   selected): the pipeline-config route queues it before it saves the change, so until the
//   business's config names that embedder the message is retried, and on its last attempt
//   acked with nothing done (the save failed, or a later change replaced it: that change has
//   its own message). Then, with the business's current embedder:
//   - every document it has not embedded (KnowledgeRepository::documents_needing_embedding)
//     is embedded as above, at most `reembed_per_message` per message; when that many were
//     done the same message is sent again as the next message (Done{next});
//   - then the analysed calls whose vectors another embedder made
//     (EmbeddingRepository::calls_needing_embedding, in call id order from `after`), at most
//     `reembed_calls_per_message`: each call's stored chunk texts (redacted when the call was
//     analysed) are embedded again with embed_call_chunks, the analyze stage's own code (the
//     whole call as chunk -1, then each chunk), and replace the call's vectors in one
//     transaction, only while its rows are still the ones read (a call analysed meanwhile
//     keeps the analysis's vectors); each re-embedded call is announced as the live event
//     call.reindexed {call_id}. When that many were taken the message is sent again with
//     `after` = the last call id. A call's retryable failure (embedder unavailable, rate
//     limited, timed out; MariaDB unavailable) retries the message, and on its last attempt
//     dead-letters it with the reason (`earshot dlq replay` re-drives it, `after` and all); a
//     permanent one (the embedder refuses that call's text) skips the call, logged and
//     counted: it keeps the old vectors until it is reprocessed.
//     With `call` the message re-embeds that one call only (if it is analysed and holds
//     another model's vectors), no documents and no next step: the analyze stage sends it
//     when the business's embedder changed while it analysed the call, whose vectors may
//     then come from the old embedder after the re-embedding pass went past it.
//   No handler runs unbounded: one message embeds at most `reembed_per_message` documents
//   and `reembed_calls_per_message` calls, one call's rows in memory at a time.
//
// Metrics: earshot_embed_documents_total, earshot_embed_calls_total,
// earshot_embed_chunks_total{kind=document|call} (vectors stored; a call's count includes its
// whole-call vector), earshot_embed_failures_total{kind=document|call|reembed,reason} (each
// failed attempt, by error code: unavailable, timeout, invalid_argument, ...),
// earshot_embed_message_seconds{kind=document|reembed}.
//
// Thread safety: handle() may run concurrently (for different messages); the stage keeps no
// mutable state of its own (the metrics are thread-safe).

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/rag/documents.hpp"
#include "earshot/storage/analysis_repositories.hpp"
#include "earshot/storage/config_repositories.hpp"
#include "earshot/storage/rag_repositories.hpp"

namespace earshot::pipeline {

// Publishes one live event of a business (cache::LiveEvents::publish in the worker). It must
// not fail the caller.
using LiveEventPublisher = std::function<void(const std::string& bid, std::string_view type, nlohmann::json data)>;

struct EmbedStageDeps {
  storage::KnowledgeRepository& knowledge;
  storage::EmbeddingRepository& embeddings;    // the calls' vectors (re-embedded by reembed)
  storage::PipelineConfigRepository& configs;  // which embedder the business uses
  BusinessLlmSource& providers;                // LlmProviderFactory in the worker
  Metrics& metrics;
  const Clock& clock;                  // times each message
  queue::TopologySettings topology;    // max_attempts, and where a continued reembed goes
  LiveEventPublisher publish_event{};  // empty: no live events
  rag::ChunkSettings chunking{};
  std::size_t embed_batch = 64;                             // texts per embedder request (documents)
  std::chrono::milliseconds wait{std::chrono::minutes(2)};  // longest wait for one embedder request
  std::size_t reembed_per_message = 200;                    // documents one reembed message embeds
  std::size_t reembed_calls_per_message = 100;              // calls one reembed message re-embeds
};

class EmbedStage final : public queue::StageHandler {
 public:
  explicit EmbedStage(EmbedStageDeps deps);
  [[nodiscard]] queue::HandlerResult handle(const queue::IncomingMessage& message) override;

 private:
  [[nodiscard]] queue::HandlerResult run(const storage::TenantId& t, const queue::EmbedRequest& req, int attempt);
  [[nodiscard]] queue::HandlerResult embed_document(const storage::TenantId& t, storage::Id id, std::int64_t version,
                                                    int attempt);
  [[nodiscard]] queue::HandlerResult reembed(const storage::TenantId& t, const queue::EmbedRequest& req, int attempt);
  [[nodiscard]] queue::HandlerResult reembed_calls(const storage::TenantId& t, const BusinessLlm& llm,
                                                   const queue::EmbedRequest& req, int attempt);
  // One call re-embedded from its stored chunks: false when there was nothing to do (the
  // call is gone, or was analysed again since it was listed).
  [[nodiscard]] Result<bool> reembed_call(const storage::TenantId& t, const BusinessLlm& llm,
                                          const storage::StaleCallEmbeddings& call);
  // Sets the document failed at `version` (when still at it), announces it, and dead-letters.
  [[nodiscard]] queue::HandlerResult fail(const storage::TenantId& t, storage::Id id, std::int64_t version,
                                          const std::string& reason, ErrorCode code);
  void announce(const storage::TenantId& t, storage::Id id, std::int64_t version, std::string_view status,
                const std::string& reason);
  void count_failure(std::string_view kind, ErrorCode code);

  EmbedStageDeps d_;
  prometheus::Counter* documents_;
  prometheus::Counter* calls_;
  prometheus::Counter* document_chunks_;
  prometheus::Counter* call_chunks_;
  prometheus::Family<prometheus::Counter>* failures_;
  prometheus::Family<prometheus::Histogram>* seconds_;
};

}  // namespace earshot::pipeline
