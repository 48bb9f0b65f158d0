#include "earshot/pipeline/embed_stage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "earshot/core/log.hpp"

namespace earshot::pipeline {

namespace {

queue::HandlerResult done() {
  return queue::Outcome{queue::Done{}};
}

bool retryable(ErrorCode code) {
  return message_fate(code) == MessageFate::kRetry;
}

// One embedder request, blocking until it answers or `wait` passes (kTimeout).
Result<std::vector<llm::Embedding>> embed_blocking(llm::EmbeddingProvider& embedder, std::vector<std::string> texts,
                                                   std::chrono::milliseconds wait) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<std::vector<llm::Embedding>>> got;
  };
  auto w = std::make_shared<Waiter>();
  embedder.embed(std::move(texts), [w](Result<std::vector<llm::Embedding>> r) {
    std::lock_guard lock(w->mu);
    w->got = std::move(r);
    w->cv.notify_all();
  });
  std::unique_lock lock(w->mu);
  std::optional<Result<std::vector<llm::Embedding>>>& got = w->got;
  w->cv.wait_for(lock, wait, [&] { return got.has_value(); });
  if (!got.has_value()) {
    return make_error(ErrorCode::kTimeout, fmt::format("the embedder took longer than {} ms", wait.count()));
  }
  return std::move(*got);
}

// The chunks of `text` with their vectors. Errors keep the embedder's code; a wrong answer
// shape is kInternal (permanent).
Result<std::vector<storage::KnowledgeChunkInput>> embed_chunks(llm::EmbeddingProvider& embedder,
                                                               const std::vector<rag::DocumentChunk>& chunks,
                                                               std::size_t batch, std::chrono::milliseconds wait) {
  std::vector<storage::KnowledgeChunkInput> rows;
  rows.reserve(chunks.size());
  for (std::size_t from = 0; from < chunks.size(); from += batch) {
    const std::size_t to = std::min(chunks.size(), from + batch);
    std::vector<std::string> texts;
    texts.reserve(to - from);
    for (std::size_t i = from; i < to; ++i) texts.push_back(chunks[i].text);
    auto vecs = embed_blocking(embedder, std::move(texts), wait);
    if (!vecs) return std::unexpected(vecs.error());
    if (vecs->size() != to - from) {
      return make_error(ErrorCode::kInternal,
                        fmt::format("the embedder answered {} vectors for {} texts", vecs->size(), to - from));
    }
    for (std::size_t i = from; i < to; ++i) {
      auto& v = (*vecs)[i - from];
      if (v.empty() || (!rows.empty() && v.size() != rows.front().vector.size())) {
        return make_error(ErrorCode::kInternal, "the embedder answered vectors of different dimensions");
      }
      rows.push_back({.chunk_index = chunks[i].index,
                      .start_offset = static_cast<std::int64_t>(chunks[i].start),
                      .end_offset = static_cast<std::int64_t>(chunks[i].end),
                      .text = chunks[i].text,
                      .vector = std::move(v)});
    }
  }
  return rows;
}

}  // namespace

EmbedStage::EmbedStage(EmbedStageDeps deps) : d_(std::move(deps)) {
  if (d_.embed_batch == 0) d_.embed_batch = 1;
  if (d_.reembed_per_message == 0) d_.reembed_per_message = 1;
  d_.reembed_calls_per_message = std::clamp<std::size_t>(d_.reembed_calls_per_message, 1, 1000);
  auto& m = d_.metrics;
  documents_ = &m.counter("earshot_embed_documents_total", "Knowledge-base documents embedded (set ready).").Add({});
  calls_ = &m.counter("earshot_embed_calls_total", "Calls re-embedded with their business's new embedder.").Add({});
  auto& chunks = m.counter("earshot_embed_chunks_total",
                           "Vectors the embed stage stored, by kind (document chunks; call chunks with each "
                           "call's whole-call vector).");
  document_chunks_ = &chunks.Add({{"kind", "document"}});
  call_chunks_ = &chunks.Add({{"kind", "call"}});
  failures_ = &m.counter("earshot_embed_failures_total",
                         "Failed embedding attempts, by kind (document, call, reembed) and reason (error code).");
  seconds_ = &m.histogram("earshot_embed_message_seconds", "Time to handle one embed message, by kind.");
}

queue::HandlerResult EmbedStage::handle(const queue::IncomingMessage& message) {
  const auto t0 = d_.clock.steady_now();
  auto req = queue::EmbedRequest::parse(message.body);
  if (!req) return queue::Outcome{queue::Fail{req.error().message, ErrorCode::kInvalidArgument}};
  auto t = storage::TenantId::make(req->bid);
  if (!t) return queue::Outcome{queue::Fail{t.error().message, ErrorCode::kInvalidArgument}};
  auto r = run(*t, *req, message.envelope.attempt);
  seconds_->Add({{"kind", std::string(queue::embed_kind_name(req->kind))}}, Metrics::latency_buckets())
      .Observe(std::chrono::duration<double>(d_.clock.steady_now() - t0).count());
  return r;
}

queue::HandlerResult EmbedStage::run(const storage::TenantId& t, const queue::EmbedRequest& req, int attempt) {
  if (req.kind == queue::EmbedKind::kReembed) return reembed(t, req, attempt);
  storage::Id id = 0;
  const auto* end = req.id.data() + req.id.size();
  if (auto [p, ec] = std::from_chars(req.id.data(), end, id); ec != std::errc() || p != end || id <= 0) {
    return queue::Outcome{queue::Fail{"id must be a document id", ErrorCode::kInvalidArgument}};
  }
  const std::optional<std::int64_t>& version = req.version;
  if (!version) return queue::Outcome{queue::Fail{"version is required", ErrorCode::kInvalidArgument}};
  return embed_document(t, id, *version, attempt);
}

queue::HandlerResult EmbedStage::embed_document(const storage::TenantId& t, storage::Id id, std::int64_t version,
                                                int attempt) {
  auto doc = d_.knowledge.get(t, id);
  if (!doc && doc.error().code == ErrorCode::kNotFound) return done();  // deleted since: nothing to do
  if (!doc) return std::unexpected(doc.error());
  if (version < doc->version) return done();  // edited since: the newer version has its own message
  if (version > doc->version) {
    return queue::Outcome{queue::Fail{fmt::format("version {} is newer than the stored {}", version, doc->version),
                                      ErrorCode::kInvalidArgument}};
  }
  if (doc->status == storage::KnowledgeStatus::kFailed) return done();  // a redelivery of a final failure

  auto config = d_.configs.get(t);
  if (!config && config.error().code != ErrorCode::kNotFound) return std::unexpected(config.error());
  const storage::PipelineConfig cfg = config ? *config : storage::PipelineConfig{};
  auto business = d_.providers.for_business(t.bid(), cfg);
  if (!business && retryable(business.error().code)) return std::unexpected(business.error());
  if (!business)
    return fail(t, id, version, "the embedder is not usable: " + business.error().message, business.error().code);
  const BusinessLlm& llm = **business;
  if (llm.embedder == nullptr) return fail(t, id, version, "no embedder is configured", ErrorCode::kFailedPrecondition);
  if (doc->status == storage::KnowledgeStatus::kReady && doc->model == llm.embedder_id) return done();  // redelivery

  const auto chunks = rag::chunk_document(doc->content.text, d_.chunking);
  if (chunks.empty()) return fail(t, id, version, "the document has no words to index", ErrorCode::kFailedPrecondition);
  auto rows = embed_chunks(*llm.embedder, chunks, d_.embed_batch, d_.wait);
  if (!rows) {
    const auto& e = rows.error();
    if (retryable(e.code) && attempt < static_cast<int>(d_.topology.max_attempts)) {
      count_failure("document", e.code);
      log::warn("document embedding failed; retrying", {{"bid", t.bid()},
                                                        {"document_id", std::to_string(id)},
                                                        {"attempt", std::to_string(attempt)},
                                                        {"error", e.to_string()}});
      return queue::Outcome{queue::Retry{"embedding failed: " + e.message, std::nullopt}};
    }
    const std::string reason = retryable(e.code)
                                   ? fmt::format("embedding failed after {} attempts: {}", attempt, e.message)
                                   : "embedding failed: " + e.message;
    return fail(t, id, version, reason, e.code);
  }
  auto stored = d_.knowledge.replace_chunks(t, id, version, llm.embedder_id, *rows);
  if (!stored && stored.error().code == ErrorCode::kInvalidArgument) {
    return fail(t, id, version, "the chunks could not be stored: " + stored.error().message,
                ErrorCode::kInvalidArgument);
  }
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return done();  // edited or deleted while embedding: the newer version has its own message
  documents_->Increment();
  document_chunks_->Increment(static_cast<double>(rows->size()));
  log::info("document embedded", {{"bid", t.bid()},
                                  {"document_id", std::to_string(id)},
                                  {"version", std::to_string(version)},
                                  {"chunks", std::to_string(rows->size())}});
  announce(t, id, version, "ready", {});
  return done();
}

queue::HandlerResult EmbedStage::reembed(const storage::TenantId& t, const queue::EmbedRequest& req, int attempt) {
  auto config = d_.configs.get(t);
  if (!config && config.error().code != ErrorCode::kNotFound) return std::unexpected(config.error());
  const storage::PipelineConfig cfg = config ? *config : storage::PipelineConfig{};
  // The route queues this message before it saves the change: until the config names the
  // embedder the save may still be under way. If it never does, the save failed or a later
  // change replaced it (and queued its own message): nothing to do.
  if (cfg.embedding_provider != req.id) {
    if (attempt < static_cast<int>(d_.topology.max_attempts)) {
      return queue::Outcome{queue::Retry{
          fmt::format("the business's embedding_provider is not '{}' (yet): '{}'", req.id, cfg.embedding_provider),
          std::nullopt}};
    }
    log::info("re-embedding not needed: the business's config never named its embedder",
              {{"bid", t.bid()}, {"selected", req.id}, {"configured", cfg.embedding_provider}});
    return done();
  }
  auto business = d_.providers.for_business(t.bid(), cfg);
  if (!business && retryable(business.error().code)) return std::unexpected(business.error());
  if (!business) {
    count_failure("reembed", business.error().code);
    return queue::Outcome{
        queue::Fail{"the embedder is not usable: " + business.error().message, business.error().code}};
  }
  const BusinessLlm& llm = **business;
  if (llm.embedder == nullptr || llm.embedder_id.empty()) {
    count_failure("reembed", ErrorCode::kFailedPrecondition);
    return queue::Outcome{queue::Fail{"no embedder is configured", ErrorCode::kFailedPrecondition}};
  }
  const std::string& model = llm.embedder_id;
  if (req.call) return reembed_calls(t, llm, req, attempt);  // that one call, no documents
  // Documents first: each becomes ready (or failed) with the current embedder, so a step
  // never takes the same one twice.
  auto jobs = d_.knowledge.documents_needing_embedding(t, model, static_cast<int>(d_.reembed_per_message));
  if (!jobs) return std::unexpected(jobs.error());
  if (!jobs->empty()) {
    log::info("re-embedding knowledge documents",
              {{"bid", t.bid()}, {"embedder", model}, {"documents", std::to_string(jobs->size())}});
  }
  for (const auto& job : *jobs) {
    auto r = embed_document(t, job.document_id, job.version, attempt);
    if (!r) return r;
    if (std::holds_alternative<queue::Retry>(*r)) return r;  // the whole message again, later
    // Done, or Fail: the document is failed with its reason; go on with the others.
  }
  if (jobs->size() >= d_.reembed_per_message) {
    queue::Done out;
    out.next.push_back(queue::make_stage_message(d_.topology, req));  // more documents may remain
    return queue::Outcome{std::move(out)};
  }
  return reembed_calls(t, llm, req, attempt);
}

queue::HandlerResult EmbedStage::reembed_calls(const storage::TenantId& t, const BusinessLlm& llm,
                                               const queue::EmbedRequest& req, int attempt) {
  // One call (`call`): the first stale call from just before it, if it is that one.
  const storage::Id after = req.call ? *req.call - 1 : req.after.value_or(0);
  const int limit = req.call ? 1 : static_cast<int>(d_.reembed_calls_per_message);
  auto stale = d_.embeddings.calls_needing_embedding(t, llm.embedder_id, after, limit);
  if (!stale) return std::unexpected(stale.error());
  if (req.call && !stale->empty() && stale->front().call_id != *req.call) stale->clear();
  if (stale->empty()) return done();
  log::info("re-embedding calls", {{"bid", t.bid()},
                                   {"embedder", llm.embedder_id},
                                   {"after", std::to_string(after)},
                                   {"calls", std::to_string(stale->size())}});
  storage::Id last = after;
  for (const auto& call : *stale) {
    auto r = reembed_call(t, llm, call);
    if (!r) {
      const Error& e = r.error();
      count_failure("call", e.code);
      if (retryable(e.code)) {
        // Calls done so far are not taken again: they have the current embedder's vectors.
        if (attempt < static_cast<int>(d_.topology.max_attempts)) {
          return queue::Outcome{
              queue::Retry{fmt::format("re-embedding call {} failed: {}", call.call_id, e.message), std::nullopt}};
        }
        return queue::Outcome{queue::Fail{
            fmt::format("re-embedding call {} failed after {} attempts: {}", call.call_id, attempt, e.message),
            e.code}};
      }
      // Its text is refused for good: the call keeps the old vectors until it is reprocessed.
      log::warn("call not re-embedded", {{"bid", t.bid()},
                                         {"call_id", std::to_string(call.call_id)},
                                         {"embedder", llm.embedder_id},
                                         {"error", e.to_string()}});
    }
    last = call.call_id;
  }
  queue::Done out;
  if (!req.call && stale->size() >= d_.reembed_calls_per_message) {
    queue::EmbedRequest next = req;
    next.after = last;
    out.next.push_back(queue::make_stage_message(d_.topology, next));
  }
  return queue::Outcome{std::move(out)};
}

Result<bool> EmbedStage::reembed_call(const storage::TenantId& t, const BusinessLlm& llm,
                                      const storage::StaleCallEmbeddings& call) {
  auto rows = d_.embeddings.rows_of_call(t, call.model, call.call_id);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return false;  // replaced since it was listed
  std::vector<storage::Id> ids;
  ids.reserve(rows->size());
  std::vector<TranscriptChunk> chunks;
  for (auto& row : *rows) {
    ids.push_back(row.id);
    if (row.chunk_index >= 0) chunks.push_back({row.start_ms, row.end_ms, std::move(row.text)});
  }
  auto vectors = embed_call_chunks(llm, chunks, d_.wait);
  if (!vectors) return std::unexpected(vectors.error());
  auto stored = d_.embeddings.replace_if_unchanged(t, call.call_id, ids, *vectors);
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return false;  // analysed (or deleted) meanwhile: its own vectors stand
  calls_->Increment();
  call_chunks_->Increment(static_cast<double>(vectors->size()));
  // Every gateway's loaded shards of the business re-read the call (the old model's lose it).
  if (d_.publish_event) d_.publish_event(t.bid(), "call.reindexed", nlohmann::json{{"call_id", call.call_id}});
  return true;
}

queue::HandlerResult EmbedStage::fail(const storage::TenantId& t, storage::Id id, std::int64_t version,
                                      const std::string& reason, ErrorCode code) {
  auto set = d_.knowledge.set_status(t, id, version, storage::KnowledgeStatus::kFailed, reason);
  if (!set) return std::unexpected(set.error());  // the reason is not recorded yet: retry
  count_failure("document", code);
  log::warn("document embedding failed", {{"bid", t.bid()}, {"document_id", std::to_string(id)}, {"reason", reason}});
  if (*set) announce(t, id, version, "failed", reason);
  return queue::Outcome{queue::Fail{reason, code}};
}

void EmbedStage::announce(const storage::TenantId& t, storage::Id id, std::int64_t version, std::string_view status,
                          const std::string& reason) {
  if (!d_.publish_event) return;
  nlohmann::json data{{"document_id", id}, {"status", status}, {"version", version}};
  if (!reason.empty()) data["reason"] = reason;
  d_.publish_event(t.bid(), "knowledge.status", std::move(data));
}

void EmbedStage::count_failure(std::string_view kind, ErrorCode code) {
  failures_->Add({{"kind", std::string(kind)}, {"reason", std::string(code_name(code))}}).Increment();
}

}  // namespace earshot::pipeline
