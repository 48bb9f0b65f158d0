#include "earshot/rag/index_retriever.hpp"

#include <algorithm>
#include <future>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "earshot/core/log.hpp"
#include "earshot/rag/utterances.hpp"

namespace earshot::rag {

namespace {

// Hits asked of the shard beyond k, so rows deleted since it loaded do not shorten the answer.
std::size_t with_slack(std::size_t k) {
  return k + std::min<std::size_t>(k, 20);
}

bool all_zero(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0F; });
}

}  // namespace

IndexRetriever::IndexRetriever(IndexRegistry& index, storage::CallRepository& calls,
                               storage::EmbeddingRepository& embeddings, storage::KnowledgeRepository& knowledge,
                               storage::TranscriptRepository* transcripts, IndexRetrieverSettings settings,
                               Metrics* metrics)
    : index_(index),
      calls_(calls),
      embeddings_(embeddings),
      knowledge_(knowledge),
      transcripts_(transcripts),
      settings_(settings) {
  if (metrics != nullptr) {
    fallbacks_ = &metrics
                      ->counter("earshot_rag_keyword_fallbacks_total",
                                "Searches run on keywords alone because the query could not be embedded.")
                      .Add({});
  }
}

std::vector<float> IndexRetriever::embed_query(const std::string& text, const QueryEmbedder& embedder,
                                               std::size_t dimension, std::string& why) const {
  if (embedder.provider == nullptr) {
    why = "no embedder";
    return {};
  }
  // The callback may run after the deadline (on the HTTP loop): it owns its promise.
  auto promise = std::make_shared<std::promise<Result<std::vector<llm::Embedding>>>>();
  auto future = promise->get_future();
  embedder.provider->embed({text},
                           [promise](Result<std::vector<llm::Embedding>> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(settings_.embed_timeout) != std::future_status::ready) {
    why = "embedding timed out";
    return {};
  }
  auto got = future.get();
  if (!got) {
    why = got.error().to_string();
    return {};
  }
  if (got->size() != 1) {
    why = "the embedder answered no vector";
    return {};
  }
  auto v = std::move(got->front());
  if (v.size() != dimension) {
    why = "the embedder's vectors do not have the index's dimension";
    return {};
  }
  return v;
}

Result<std::vector<Retrieved>> IndexRetriever::search(const storage::TenantId& t, const RetrievalQuery& q,
                                                      const QueryEmbedder& embedder) {
  if (q.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument, "the query is empty");
  }
  if (q.k == 0 || q.k > settings_.max_k) {
    return make_error(ErrorCode::kInvalidArgument, "k must be 1.." + std::to_string(settings_.max_k));
  }
  SearchOptions options;
  options.k = with_slack(q.k);
  options.sources = q.sources;
  options.min_similarity = q.min_similarity;
  if (q.calls && q.sources != SourceSet::kKnowledge) {
    auto ids = calls_.ids_matching(t, *q.calls, settings_.max_filtered_calls);
    if (!ids) return std::unexpected(ids.error());
    options.allowed_call_ids.emplace(ids->begin(), ids->end());
  }
  if (q.document_ids) options.allowed_document_ids.emplace(q.document_ids->begin(), q.document_ids->end());

  auto shard = index_.get(t.bid(), embedder.model);
  if (!shard) return std::unexpected(shard.error());
  std::vector<float> vector;
  bool keyword_only = false;
  if (const std::size_t dim = (*shard)->dimension(); dim > 0) {
    std::string why;
    vector = embed_query(q.text, embedder, dim, why);
    if (vector.empty()) {
      keyword_only = true;
      if (fallbacks_ != nullptr) fallbacks_->Increment();
      log::warn("search on keywords alone: the query could not be embedded",
                {{"bid", t.bid()}, {"model", embedder.model}, {"reason", why}});
    } else if (all_zero(vector)) {
      vector.clear();  // a query without a word the embedder knows: nothing to compare
    }
  }
  auto hits = (*shard)->search(q.text, vector, options);
  if (!hits) return std::unexpected(hits.error());
  auto found = reread(t, *hits, q.k, keyword_only);
  if (found) pinpoint(t, q.text, *found);
  return found;
}

void IndexRetriever::pinpoint(const storage::TenantId& t, const std::string& query,
                              std::vector<Retrieved>& hits) const {
  if (transcripts_ == nullptr) return;
  // Every hit call's transcript in one query.
  std::vector<storage::Id> ids;
  for (const auto& hit : hits) {
    if (hit.source.kind == SourceKind::kCall) ids.push_back(hit.source.call_id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty()) return;
  // The redacted transcripts (migration 0014): the hits' texts are redacted chunks, and a
  // query term must never pick its utterance by a word only the raw text holds. A call
  // without a current redaction cites its chunk's start.
  auto segments = transcripts_->redacted_segments_of(t, ids);
  if (!segments) {
    // The hits still cite their chunks' starts; the search itself does not fail for this.
    log::warn("transcripts unreadable: the hits cite their chunks' starts",
              {{"bid", t.bid()}, {"error", segments.error().message}});
    return;
  }
  std::unordered_map<storage::Id, std::vector<Utterance>> by_call;
  for (const auto& [id, json] : *segments) by_call.emplace(id, parse_utterances(json));
  for (auto& hit : hits) {
    ChatSource& s = hit.source;
    if (s.kind != SourceKind::kCall) continue;
    const auto it = by_call.find(s.call_id);
    if (it == by_call.end()) continue;  // no transcript: the hit cites its chunk's start
    const auto best = best_utterance(query, it->second, s.chunk_start_ms, s.chunk_end_ms);
    if (!best) continue;
    const Utterance& u = it->second[*best];
    s.start_ms = u.start_ms;
    s.end_ms = u.end_ms;
    s.speaker = u.speaker;
  }
}

Result<std::vector<Retrieved>> IndexRetriever::reread(const storage::TenantId& t, const std::vector<SearchHit>& hits,
                                                      std::size_t k, bool keyword_only) const {
  std::vector<storage::Id> call_rows;
  std::vector<storage::Id> knowledge_rows;
  for (const auto& h : hits) {
    (h.meta.source == Source::kCall ? call_rows : knowledge_rows).push_back(key_row_id(h.key));
  }
  std::unordered_map<storage::Id, storage::EmbeddingRow> calls;
  std::unordered_map<storage::Id, storage::KnowledgeChunkHit> chunks;
  if (!call_rows.empty()) {
    auto rows = embeddings_.by_ids(t, call_rows);
    if (!rows) return std::unexpected(rows.error());
    for (auto& r : *rows) calls.emplace(r.id, std::move(r));
  }
  if (!knowledge_rows.empty()) {
    auto rows = knowledge_.chunks_by_ids(t, knowledge_rows);
    if (!rows) return std::unexpected(rows.error());
    for (auto& r : *rows) chunks.emplace(r.id, std::move(r));
  }
  std::vector<Retrieved> out;
  for (const auto& h : hits) {
    if (out.size() == k) break;
    Retrieved r;
    r.score = h.score;
    r.similarity = h.similarity;
    r.bm25 = h.bm25;
    r.keyword_only = keyword_only;
    ChatSource& s = r.source;
    if (h.meta.source == Source::kCall) {
      auto it = calls.find(key_row_id(h.key));
      // Gone, or no longer the row the shard knew (a whole-call vector never is a hit).
      if (it == calls.end() || it->second.call_id != h.meta.owner_id || it->second.chunk_index < 0) continue;
      const auto& row = it->second;
      s.kind = SourceKind::kCall;
      s.call_id = row.call_id;
      s.start_ms = row.start_ms;
      s.end_ms = row.end_ms;
      s.chunk_start_ms = row.start_ms;
      s.chunk_end_ms = row.end_ms;
      s.speaker = chunk_speaker(row.text);
      s.text = row.text;
    } else {
      auto it = chunks.find(key_row_id(h.key));
      if (it == chunks.end() || it->second.document_id != h.meta.owner_id) continue;
      const auto& row = it->second;
      s.kind = SourceKind::kKnowledge;
      s.document_id = row.document_id;
      s.document_title = row.title;
      s.chunk_index = static_cast<int>(row.chunk_index);
      s.text = row.text;
    }
    s.number = static_cast<int>(out.size()) + 1;
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<SimilarCall>> IndexRetriever::similar_calls(const storage::TenantId& t, std::int64_t call_id,
                                                               std::size_t k, const QueryEmbedder& embedder) {
  if (k == 0 || k > settings_.max_k) {
    return make_error(ErrorCode::kInvalidArgument, "k must be 1.." + std::to_string(settings_.max_k));
  }
  auto shard = index_.get(t.bid(), embedder.model);
  if (!shard) return std::unexpected(shard.error());
  auto near = (*shard)->similar_calls(call_id, with_slack(k));
  if (!near) return std::unexpected(near.error());
  if (near->empty()) return std::move(*near);
  // Only calls that still exist in the tenant (the shard may not have heard of a deletion yet).
  storage::CallFilter f;
  for (const auto& c : *near) f.call_ids.push_back(c.call_id);
  auto live = calls_.ids_matching(t, f, static_cast<int>(f.call_ids.size()));
  if (!live) return std::unexpected(live.error());
  const std::unordered_set<storage::Id> exists(live->begin(), live->end());
  std::vector<SimilarCall> out;
  for (const auto& c : *near) {
    if (out.size() == k) break;
    if (exists.contains(c.call_id)) out.push_back(c);
  }
  return out;
}

}  // namespace earshot::rag
