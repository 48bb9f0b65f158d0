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
// kind "reembed" (the business changed its embedder): every document the current embedder
//   has not embedded (KnowledgeRepository::documents_needing_embedding) is embedded as
//   above, at most `reembed_per_message` per message; when more remain the same message is
//   sent again as the next message (Done{next}), so no handler runs unbounded.
// Call chunks (call_embeddings) are not touched: they are embedded by the analyze stage and
// re-embedded with the current embedder when the call is reprocessed.
//
// Thread safety: handle() may run concurrently (for different messages); the stage keeps no
// mutable state of its own.

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/rag/documents.hpp"
#include "earshot/storage/config_repositories.hpp"
#include "earshot/storage/rag_repositories.hpp"

namespace earshot::pipeline {

// Publishes one live event of a business (cache::LiveEvents::publish in the worker). It must
// not fail the caller.
using LiveEventPublisher = std::function<void(const std::string& bid, std::string_view type, nlohmann::json data)>;

struct EmbedStageDeps {
  storage::KnowledgeRepository& knowledge;
  storage::PipelineConfigRepository& configs;  // which embedder the business uses
  BusinessLlmSource& providers;                // LlmProviderFactory in the worker
  queue::TopologySettings topology;            // max_attempts, and where a continued reembed goes
  LiveEventPublisher publish_event{};          // empty: no live events
  rag::ChunkSettings chunking{};
  std::size_t embed_batch = 64;                             // texts per embedder request
  std::chrono::milliseconds wait{std::chrono::minutes(2)};  // longest wait for one embedder request
  std::size_t reembed_per_message = 200;                    // documents one reembed message embeds
};

class EmbedStage final : public queue::StageHandler {
 public:
  explicit EmbedStage(EmbedStageDeps deps);
  [[nodiscard]] queue::HandlerResult handle(const queue::IncomingMessage& message) override;

 private:
  [[nodiscard]] queue::HandlerResult embed_document(const storage::TenantId& t, storage::Id id, std::int64_t version,
                                                    int attempt);
  [[nodiscard]] queue::HandlerResult reembed(const storage::TenantId& t, const std::string& embedder, int attempt);
  // Sets the document failed at `version` (when still at it), announces it, and dead-letters.
  [[nodiscard]] queue::HandlerResult fail(const storage::TenantId& t, storage::Id id, std::int64_t version,
                                          const std::string& reason, ErrorCode code);
  void announce(const storage::TenantId& t, storage::Id id, std::int64_t version, std::string_view status,
                const std::string& reason);

  EmbedStageDeps d_;
};

}  // namespace earshot::pipeline
