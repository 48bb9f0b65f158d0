#pragma once
// In-memory KnowledgeRepository (storage/rag_repositories.hpp), for unit tests. Honours the
// interface's contract: tenant scoping (another business's document or chunk behaves like
// a missing one), the version rules (content changes bump the version, set the document
// pending and drop its chunks; set_status and replace_chunks only apply to the current
// version), keyset listing newest first, chunk scans in id order with ids ascending as
// AUTO_INCREMENT. Thread-safe. Timestamps come from the clock given, else from a counter.
//
// Test hook (not part of the interface): fail_next(error) makes the next call of any method
// fail with it.

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/storage/rag_repositories.hpp"
#include "fakes/storage/fail_next.hpp"

namespace earshot::testing {

class FakeKnowledgeRepository final : public storage::KnowledgeRepository {
 public:
  explicit FakeKnowledgeRepository(const Clock* clock = nullptr) : clock_(clock) {}

  Result<storage::Id> create(const storage::TenantId& t, const storage::KnowledgeDocumentInput& in) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (auto st = check(in.title, in.content); !st) return std::unexpected(st.error());
    Doc d;
    d.bid = t.bid();
    static_cast<storage::KnowledgeDocumentInput&>(d.doc) = in;
    d.doc.id = ++next_doc_;
    d.doc.created_at = now();
    d.doc.updated_at = d.doc.created_at;
    docs_.emplace(d.doc.id, std::move(d));
    return next_doc_;
  }

  Result<storage::KnowledgeDocument> get(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    const Doc* d = find(t, id);
    if (d == nullptr) return not_found(id);
    return d->doc;
  }

  Result<storage::KnowledgeDocumentPage> list(const storage::TenantId& t,
                                              const storage::KnowledgeListQuery& q) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (q.limit < 1 || q.limit > 500) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..500");
    storage::KnowledgeDocumentPage page;
    for (auto it = docs_.rbegin(); it != docs_.rend(); ++it) {
      const auto& d = it->second;
      if (d.bid != t.bid() || (q.before_id > 0 && d.doc.id >= q.before_id)) continue;
      if (q.status && d.doc.status != *q.status) continue;
      if (page.documents.size() == static_cast<std::size_t>(q.limit)) {
        page.next_before_id = page.documents.back().id;
        break;
      }
      page.documents.push_back(without_text(d.doc));
    }
    return page;
  }

  Result<storage::KnowledgeDocument> update(const storage::TenantId& t, storage::Id id,
                                            const std::optional<std::string>& title,
                                            const std::optional<storage::KnowledgeContent>& content) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    Doc* d = find(t, id);
    if (d == nullptr) return not_found(id);
    if (auto st = check(title.value_or(d->doc.title), content.value_or(d->doc.content)); !st) {
      return std::unexpected(st.error());
    }
    if (title) d->doc.title = *title;
    if (content) {
      d->doc.content = *content;
      d->doc.version += 1;
      d->doc.status = storage::KnowledgeStatus::kPending;
      d->doc.error.clear();
      drop_chunks(id);
      d->doc.chunk_count = 0;
    }
    d->doc.updated_at = now();
    return without_text(d->doc);
  }

  Result<bool> remove(const storage::TenantId& t, storage::Id id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (find(t, id) == nullptr) return false;
    drop_chunks(id);
    docs_.erase(id);
    return true;
  }

  Result<bool> set_status(const storage::TenantId& t, storage::Id id, std::int64_t version,
                          storage::KnowledgeStatus status, std::string_view error) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    Doc* d = find(t, id);
    if (d == nullptr || d->doc.version != version) return false;
    if (status != storage::KnowledgeStatus::kReady) {
      drop_chunks(id);
      d->doc.chunk_count = 0;
    }
    d->doc.status = status;
    d->doc.error = std::string(error.substr(0, 1024));
    d->doc.updated_at = now();
    return true;
  }

  Result<bool> replace_chunks(const storage::TenantId& t, storage::Id id, std::int64_t version, std::string_view model,
                              const std::vector<storage::KnowledgeChunkInput>& rows) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (model.empty()) return make_error(ErrorCode::kInvalidArgument, "model must not be empty");
    std::set<std::int64_t> indexes;
    for (const auto& r : rows) {
      if (r.vector.empty() || r.vector.size() != rows.front().vector.size()) {
        return make_error(ErrorCode::kInvalidArgument, "chunk vectors must be non-empty and of one dimension");
      }
      if (r.chunk_index < 0 || !indexes.insert(r.chunk_index).second) {
        return make_error(ErrorCode::kInvalidArgument, "chunk index repeated or negative");
      }
      if (r.start_offset < 0 || r.end_offset < r.start_offset) {
        return make_error(ErrorCode::kInvalidArgument, "chunk offsets must satisfy 0 <= start <= end");
      }
    }
    Doc* d = find(t, id);
    if (d == nullptr || d->doc.version != version) return false;
    drop_chunks(id);
    for (const auto& r : rows) {
      Chunk c;
      c.bid = t.bid();
      c.model = std::string(model);
      static_cast<storage::KnowledgeChunkInput&>(c.chunk) = r;
      c.chunk.id = ++next_chunk_;
      c.chunk.document_id = id;
      chunks_.emplace(c.chunk.id, std::move(c));
    }
    d->doc.status = storage::KnowledgeStatus::kReady;
    d->doc.error.clear();
    d->doc.model = std::string(model);
    d->doc.chunk_count = static_cast<std::int64_t>(rows.size());
    d->doc.updated_at = now();
    return true;
  }

  Result<std::vector<storage::KnowledgeChunk>> scan_chunks(const storage::TenantId& t, std::string_view model,
                                                           storage::Id after_id, int limit) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (limit < 1 || limit > 10000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
    std::vector<storage::KnowledgeChunk> out;
    for (auto it = chunks_.upper_bound(after_id); it != chunks_.end(); ++it) {
      if (out.size() == static_cast<std::size_t>(limit)) break;
      if (it->second.bid == t.bid() && it->second.model == model) out.push_back(it->second.chunk);
    }
    return out;
  }

  Result<std::vector<storage::KnowledgeChunk>> chunks_of(const storage::TenantId& t, std::string_view model,
                                                         storage::Id document_id) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    std::vector<storage::KnowledgeChunk> out;
    for (const auto& [id, c] : chunks_) {
      if (c.bid == t.bid() && c.model == model && c.chunk.document_id == document_id) out.push_back(c.chunk);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.chunk_index < b.chunk_index; });
    return out;
  }

  Result<std::vector<storage::KnowledgeChunkHit>> chunks_by_ids(const storage::TenantId& t,
                                                                std::span<const storage::Id> ids) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (ids.size() > 1000) return make_error(ErrorCode::kInvalidArgument, "at most 1000 ids");
    std::vector<storage::KnowledgeChunkHit> out;
    for (const storage::Id id : std::set<storage::Id>(ids.begin(), ids.end())) {
      auto it = chunks_.find(id);
      if (it == chunks_.end() || it->second.bid != t.bid()) continue;
      const auto& c = it->second.chunk;
      out.push_back(storage::KnowledgeChunkHit{c.id, c.document_id, c.chunk_index, c.start_offset, c.end_offset, c.text,
                                               docs_.at(c.document_id).doc.title});
    }
    return out;
  }

  Result<std::vector<storage::KnowledgeEmbeddingJob>> documents_needing_embedding(const storage::TenantId& t,
                                                                                  std::string_view model,
                                                                                  int limit) override {
    std::lock_guard lock(mu_);
    if (auto e = failure_.take()) return std::unexpected(*e);
    if (limit < 1 || limit > 10000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
    std::vector<storage::KnowledgeEmbeddingJob> out;
    for (const auto& [id, d] : docs_) {
      if (out.size() == static_cast<std::size_t>(limit)) break;
      if (d.bid != t.bid()) continue;
      const bool pending = d.doc.status == storage::KnowledgeStatus::kPending;
      const bool stale = d.doc.status == storage::KnowledgeStatus::kReady && d.doc.model != model;
      if (pending || stale) out.push_back(storage::KnowledgeEmbeddingJob{id, d.doc.version, d.doc.status, d.doc.model});
    }
    return out;
  }

  // ---- test hooks ----
  void fail_next(Error e) {
    std::lock_guard lock(mu_);
    failure_.arm(std::move(e));
  }

 private:
  struct Doc {
    std::string bid;
    storage::KnowledgeDocument doc;
  };
  struct Chunk {
    std::string bid;
    std::string model;
    storage::KnowledgeChunk chunk;
  };

  static std::unexpected<Error> not_found(storage::Id id) {
    return std::unexpected(Error(ErrorCode::kNotFound, "knowledge document " + std::to_string(id) + " not found"));
  }

  static Status check(const std::string& title, const storage::KnowledgeContent& c) {
    if (title.empty() || title.size() > 512)
      return make_error(ErrorCode::kInvalidArgument, "title must be 1..512 bytes");
    if (!storage::is_knowledge_content_type(c.content_type)) {
      return make_error(ErrorCode::kInvalidArgument, "unsupported content type '" + c.content_type + "'");
    }
    if (c.size_bytes < 0) return make_error(ErrorCode::kInvalidArgument, "size_bytes must not be negative");
    return {};
  }

  static storage::KnowledgeDocument without_text(storage::KnowledgeDocument d) {
    d.content.text.clear();
    return d;
  }

  storage::Timestamp now() {
    if (clock_ != nullptr) return storage::to_timestamp(clock_->now());
    ticks_ += 1;
    return storage::Timestamp(std::chrono::milliseconds(1'800'000'000'000 + ticks_));
  }

  Doc* find(const storage::TenantId& t, storage::Id id) {
    auto it = docs_.find(id);
    return it != docs_.end() && it->second.bid == t.bid() ? &it->second : nullptr;
  }

  void drop_chunks(storage::Id document_id) {
    std::erase_if(chunks_, [&](const auto& kv) { return kv.second.chunk.document_id == document_id; });
  }

  const Clock* clock_;
  std::mutex mu_;
  std::map<storage::Id, Doc> docs_;
  std::map<storage::Id, Chunk> chunks_;
  storage::Id next_doc_ = 0;
  storage::Id next_chunk_ = 0;
  std::int64_t ticks_ = 0;
  FailNext failure_;
};

}  // namespace earshot::testing
