#include "earshot/rag/business_index.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "earshot/rag/fusion.hpp"

namespace earshot::rag {

namespace {

constexpr std::size_t kMallocOverhead = 16;
// At most this many candidate chunks (from allowed call or document ids) are scored exactly
// instead of walking the graph under a filter that would reject nearly every node.
constexpr std::size_t kExactCandidateLimit = 4096;

bool includes(SourceSet set, Source source) {
  return set == SourceSet::kBoth || (set == SourceSet::kCalls) == (source == Source::kCall);
}

bool is_knowledge_key(std::uint64_t key) {
  return (key & kKnowledgeKeyBit) != 0;
}

class ExcludeOne final : public KeyFilter {
 public:
  explicit ExcludeOne(std::uint64_t key) : key_(key) {}
  [[nodiscard]] bool allowed(std::uint64_t key) const override { return key != key_; }

 private:
  std::uint64_t key_;
};

}  // namespace

// Sources decide by the key's knowledge bit; owner lists need the metadata.
class BusinessIndex::Filter final : public KeyFilter {
 public:
  Filter(const SearchOptions& options, const std::unordered_map<std::uint64_t, ChunkMeta>& meta)
      : options_(&options), meta_(&meta) {}

  // Nothing to check: the searches run without a filter.
  [[nodiscard]] bool trivial() const {
    return options_->sources == SourceSet::kBoth && !options_->allowed_call_ids && !options_->allowed_document_ids;
  }

  [[nodiscard]] bool allowed(std::uint64_t key) const override {
    const Source source = is_knowledge_key(key) ? Source::kKnowledge : Source::kCall;
    if (!includes(options_->sources, source)) return false;
    const auto& owners = source == Source::kCall ? options_->allowed_call_ids : options_->allowed_document_ids;
    if (!owners) return true;
    const auto it = meta_->find(key);
    return it != meta_->end() && owners->contains(it->second.owner_id);
  }

 private:
  const SearchOptions* options_;
  const std::unordered_map<std::uint64_t, ChunkMeta>* meta_;
};

BusinessIndex::BusinessIndex(VectorIndexSettings settings, unsigned build_threads)
    : settings_(settings), build_threads_(std::max(build_threads, 1U)) {}

Status BusinessIndex::check_rows(std::span<const SourceChunk> rows) const {
  std::size_t dimension = dimension_;
  for (const auto& row : rows) {
    const auto where = [&] { return fmt::format("chunk key {}", row.key); };
    if (row.vector.empty() || (dimension != 0 && row.vector.size() != dimension)) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: vector of dimension {} where the index holds {}",
                                                                 where(), row.vector.size(), dimension));
    }
    dimension = row.vector.size();
    double norm = 0;
    for (const float x : row.vector) norm += static_cast<double>(x) * x;
    if (!(norm > 0) || !std::isfinite(norm)) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: zero or non-finite vector", where()));
    }
    if (is_knowledge_key(row.key) != (row.source == Source::kKnowledge)) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: key and source disagree", where()));
    }
    if (row.source == Source::kKnowledge && row.chunk_index < 0) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: knowledge chunk without index", where()));
    }
  }
  return {};
}

Status BusinessIndex::add_locked(std::span<const SourceChunk> rows) {
  if (rows.empty()) return {};
  if (dimension_ == 0) {
    dimension_ = rows.front().vector.size();
    chunks_ = std::make_unique<VectorIndex>(dimension_, settings_);
    whole_calls_ = std::make_unique<VectorIndex>(dimension_, settings_);
  }
  std::vector<std::uint64_t> keys;
  std::vector<float> flat;
  for (const auto& row : rows) {
    if (row.source == Source::kCall && row.chunk_index < 0) {
      if (auto s = whole_calls_->add(static_cast<std::uint64_t>(row.owner_id), row.vector); !s) return s;
      continue;
    }
    if (const auto old = meta_.find(row.key); old != meta_.end()) {  // a key moving owner: forget the old tie
      auto& owner_keys = old->second.source == Source::kCall ? call_keys_ : document_keys_;
      std::erase(owner_keys[old->second.owner_id], row.key);
    }
    keys.push_back(row.key);
    flat.insert(flat.end(), row.vector.begin(), row.vector.end());
    keywords_.add(row.key, row.text);
    meta_[row.key] = {.source = row.source,
                      .owner_id = row.owner_id,
                      .chunk_index = row.chunk_index,
                      .start_ms = row.start_ms,
                      .end_ms = row.end_ms};
    (row.source == Source::kCall ? call_keys_ : document_keys_)[row.owner_id].push_back(row.key);
  }
  return chunks_->add_batch(keys, flat, build_threads_);
}

void BusinessIndex::remove_owner_locked(Source source, std::int64_t owner_id) {
  auto& owners = source == Source::kCall ? call_keys_ : document_keys_;
  if (const auto it = owners.find(owner_id); it != owners.end()) {
    for (const std::uint64_t key : it->second) {
      if (chunks_) chunks_->remove(key);
      keywords_.remove(key);
      meta_.erase(key);
    }
    owners.erase(it);
  }
  if (source == Source::kCall && whole_calls_) whole_calls_->remove(static_cast<std::uint64_t>(owner_id));
}

Status BusinessIndex::add_rows(std::span<const SourceChunk> rows) {
  std::unique_lock lock(mu_);
  if (auto s = check_rows(rows); !s) return s;
  return add_locked(rows);
}

Status BusinessIndex::replace_call(std::int64_t call_id, std::span<const SourceChunk> rows) {
  for (const auto& row : rows) {
    if (row.source != Source::kCall || row.owner_id != call_id) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("chunk key {} does not belong to call {}", row.key, call_id));
    }
  }
  std::unique_lock lock(mu_);
  if (auto s = check_rows(rows); !s) return s;
  remove_owner_locked(Source::kCall, call_id);
  return add_locked(rows);
}

void BusinessIndex::remove_call(std::int64_t call_id) {
  std::unique_lock lock(mu_);
  remove_owner_locked(Source::kCall, call_id);
}

Status BusinessIndex::replace_document(std::int64_t document_id, std::span<const SourceChunk> rows) {
  for (const auto& row : rows) {
    if (row.source != Source::kKnowledge || row.owner_id != document_id) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("chunk key {} does not belong to document {}", row.key, document_id));
    }
  }
  std::unique_lock lock(mu_);
  if (auto s = check_rows(rows); !s) return s;
  remove_owner_locked(Source::kKnowledge, document_id);
  return add_locked(rows);
}

void BusinessIndex::remove_document(std::int64_t document_id) {
  std::unique_lock lock(mu_);
  remove_owner_locked(Source::kKnowledge, document_id);
}

std::optional<std::vector<std::uint64_t>> BusinessIndex::small_candidate_set(const SearchOptions& options) const {
  const bool calls = includes(options.sources, Source::kCall);
  const bool knowledge = includes(options.sources, Source::kKnowledge);
  if ((calls && !options.allowed_call_ids) || (knowledge && !options.allowed_document_ids)) return std::nullopt;
  std::vector<std::uint64_t> keys;
  const auto collect = [&](const std::unordered_set<std::int64_t>& ids,
                           const std::unordered_map<std::int64_t, std::vector<std::uint64_t>>& owners) {
    for (const std::int64_t id : ids) {
      if (const auto it = owners.find(id); it != owners.end()) {
        keys.insert(keys.end(), it->second.begin(), it->second.end());
        if (keys.size() > kExactCandidateLimit) return false;
      }
    }
    return true;
  };
  if (calls && !collect(*options.allowed_call_ids, call_keys_)) return std::nullopt;
  if (knowledge && !collect(*options.allowed_document_ids, document_keys_)) return std::nullopt;
  return keys;
}

Result<std::vector<SearchHit>> BusinessIndex::search(std::string_view query_text, std::span<const float> query_vector,
                                                     const SearchOptions& options) const {
  std::shared_lock lock(mu_);
  if (!query_vector.empty() && dimension_ != 0 && query_vector.size() != dimension_) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("query vector of dimension {} where the index holds {}",
                                                               query_vector.size(), dimension_));
  }
  const std::size_t k = options.k;
  const std::size_t depth = options.depth != 0 ? std::max(options.depth, k) : std::max<std::size_t>(3 * k, 30);
  const Filter filter(options, meta_);
  const KeyFilter* active = filter.trivial() ? nullptr : &filter;

  std::vector<VectorHit> vector_hits;
  if (!query_vector.empty() && chunks_) {
    const auto exact = small_candidate_set(options);
    auto found =
        exact ? chunks_->search_keys(query_vector, *exact, depth) : chunks_->search(query_vector, depth, active);
    if (!found) return std::unexpected(found.error());
    vector_hits = std::move(*found);
    if (options.min_similarity) {
      std::erase_if(vector_hits, [&](const VectorHit& h) { return h.similarity < *options.min_similarity; });
    }
  }
  std::vector<KeywordHit> keyword_hits;
  if (!query_text.empty()) keyword_hits = keywords_.search(query_text, depth, active);

  std::vector<std::vector<std::uint64_t>> lists(2);
  std::unordered_map<std::uint64_t, float> similarity;
  std::unordered_map<std::uint64_t, double> bm25;
  for (const auto& h : vector_hits) {
    lists[0].push_back(h.key);
    similarity.emplace(h.key, h.similarity);
  }
  for (const auto& h : keyword_hits) {
    lists[1].push_back(h.key);
    bm25.emplace(h.key, h.score);
  }
  std::vector<SearchHit> hits;
  for (const auto& fused : reciprocal_rank_fusion(lists, k)) {
    const auto m = meta_.find(fused.key);
    if (m == meta_.end()) continue;
    SearchHit hit{.key = fused.key, .meta = m->second, .score = fused.score, .similarity = {}, .bm25 = {}};
    if (const auto s = similarity.find(fused.key); s != similarity.end()) hit.similarity = s->second;
    if (const auto b = bm25.find(fused.key); b != bm25.end()) hit.bm25 = b->second;
    hits.push_back(hit);
  }
  return hits;
}

Result<std::vector<SimilarCall>> BusinessIndex::similar_calls(std::int64_t call_id, std::size_t k) const {
  std::shared_lock lock(mu_);
  const auto key = static_cast<std::uint64_t>(call_id);
  const auto vector = whole_calls_ ? whole_calls_->vector_of(key) : std::nullopt;
  if (!vector) return make_error(ErrorCode::kNotFound, fmt::format("call {} has no whole-call vector", call_id));
  const ExcludeOne not_itself(key);
  auto found = whole_calls_->search(*vector, k, &not_itself);
  if (!found) return std::unexpected(found.error());
  std::vector<SimilarCall> calls;
  calls.reserve(found->size());
  for (const auto& h : *found)
    calls.push_back({.call_id = static_cast<std::int64_t>(h.key), .similarity = h.similarity});
  return calls;
}

std::optional<ChunkMeta> BusinessIndex::meta(std::uint64_t key) const {
  std::shared_lock lock(mu_);
  const auto it = meta_.find(key);
  if (it == meta_.end()) return std::nullopt;
  return it->second;
}

std::size_t BusinessIndex::chunk_count() const {
  std::shared_lock lock(mu_);
  return meta_.size();
}

std::size_t BusinessIndex::call_vector_count() const {
  std::shared_lock lock(mu_);
  return whole_calls_ ? whole_calls_->size() : 0;
}

std::size_t BusinessIndex::dimension() const {
  std::shared_lock lock(mu_);
  return dimension_;
}

std::size_t BusinessIndex::memory_bytes() const {
  std::shared_lock lock(mu_);
  std::size_t bytes = sizeof(*this) + keywords_.memory_bytes();
  if (chunks_) bytes += chunks_->memory_bytes() + whole_calls_->memory_bytes();
  bytes += meta_.size() * (sizeof(void*) + sizeof(std::uint64_t) + sizeof(ChunkMeta) + kMallocOverhead) +
           meta_.bucket_count() * sizeof(void*);
  for (const auto* owners : {&call_keys_, &document_keys_}) {
    bytes += owners->bucket_count() * sizeof(void*);
    for (const auto& [id, keys] : *owners) {
      bytes += sizeof(void*) + sizeof(id) + sizeof(std::vector<std::uint64_t>) + 2 * kMallocOverhead +
               keys.capacity() * sizeof(std::uint64_t);
    }
  }
  return bytes;
}

}  // namespace earshot::rag
