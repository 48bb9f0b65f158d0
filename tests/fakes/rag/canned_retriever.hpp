#pragma once
// A rag::Retriever (rag/retriever.hpp) for chat tests: answers each business's searches with
// the passages given to it (add()), best first, without any index or embedder. Honours the
// query's source set, its call ids (RetrievalQuery::calls->call_ids, when any) and document
// ids, and k; renumbers the hits 1.. in order. Another business's passages are never
// returned. similar_calls answers kNotFound. fail_next(error) makes the next search fail.
// Records the queries. Thread-safe.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/rag/retriever.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class CannedRetriever final : public rag::Retriever {
 public:
  // A call passage of `bid`.
  void add_call(const std::string& bid, std::int64_t call_id, std::int64_t start_ms, std::string text) {
    rag::Retrieved r;
    r.source.kind = rag::SourceKind::kCall;
    r.source.call_id = call_id;
    r.source.start_ms = start_ms;
    r.source.end_ms = start_ms + 5'000;
    r.source.speaker = rag::chunk_speaker(text);
    r.source.text = std::move(text);
    add(bid, std::move(r));
  }
  // A knowledge-base passage of `bid`.
  void add_document(const std::string& bid, std::int64_t document_id, std::string title, int chunk_index,
                    std::string text) {
    rag::Retrieved r;
    r.source.kind = rag::SourceKind::kKnowledge;
    r.source.document_id = document_id;
    r.source.document_title = std::move(title);
    r.source.chunk_index = chunk_index;
    r.source.text = std::move(text);
    add(bid, std::move(r));
  }

  Result<std::vector<rag::Retrieved>> search(const storage::TenantId& t, const rag::RetrievalQuery& q,
                                             const rag::QueryEmbedder&) override {
    std::lock_guard lock(mu_);
    queries_.push_back(q);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (q.text.empty() || q.k == 0) return make_error(ErrorCode::kInvalidArgument, "empty query or k 0");
    std::vector<rag::Retrieved> out;
    for (const auto& r : passages_[t.bid()]) {
      const bool call = r.source.kind == rag::SourceKind::kCall;
      if (call && q.sources == rag::SourceSet::kKnowledge) continue;
      if (!call && q.sources == rag::SourceSet::kCalls) continue;
      if (call && q.calls && !q.calls->call_ids.empty() &&
          std::find(q.calls->call_ids.begin(), q.calls->call_ids.end(), r.source.call_id) == q.calls->call_ids.end()) {
        continue;
      }
      if (!call && q.document_ids &&
          std::find(q.document_ids->begin(), q.document_ids->end(), r.source.document_id) == q.document_ids->end()) {
        continue;
      }
      if (out.size() == q.k) break;
      out.push_back(r);
      out.back().source.number = static_cast<int>(out.size());
      out.back().score = 1.0 / static_cast<double>(out.size());
    }
    return out;
  }

  Result<std::vector<rag::SimilarCall>> similar_calls(const storage::TenantId&, std::int64_t call_id, std::size_t,
                                                      const rag::QueryEmbedder&) override {
    return make_error(ErrorCode::kNotFound, "call " + std::to_string(call_id) + " has no whole-call vector");
  }

  // ---- test hooks ----
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }
  [[nodiscard]] std::vector<rag::RetrievalQuery> queries() const {
    std::lock_guard lock(mu_);
    return queries_;
  }

 private:
  void add(const std::string& bid, rag::Retrieved r) {
    std::lock_guard lock(mu_);
    passages_[bid].push_back(std::move(r));
  }

  mutable std::mutex mu_;
  std::map<std::string, std::vector<rag::Retrieved>> passages_;
  std::vector<rag::RetrievalQuery> queries_;
  FailNext failure_;
};

}  // namespace earshot::testing
