#include "earshot/rag/storage_source.hpp"

#include <algorithm>
#include <utility>

namespace earshot::rag {

namespace {

// The repositories page at most 10,000 rows.
int page_limit(std::size_t limit) {
  return static_cast<int>(std::clamp<std::size_t>(limit, 1, 10'000));
}

std::vector<SourceChunk> from_calls(std::vector<storage::EmbeddingRow> rows) {
  std::vector<SourceChunk> out;
  out.reserve(rows.size());
  for (auto& r : rows) {
    out.push_back(SourceChunk{.key = call_chunk_key(r.id),
                              .source = Source::kCall,
                              .owner_id = r.call_id,
                              .chunk_index = r.chunk_index,
                              .start_ms = r.start_ms,
                              .end_ms = r.end_ms,
                              .text = std::move(r.text),
                              .vector = std::move(r.vector)});
  }
  return out;
}

std::vector<SourceChunk> from_knowledge(std::vector<storage::KnowledgeChunk> rows) {
  std::vector<SourceChunk> out;
  out.reserve(rows.size());
  for (auto& r : rows) {
    out.push_back(SourceChunk{.key = knowledge_chunk_key(r.id),
                              .source = Source::kKnowledge,
                              .owner_id = r.document_id,
                              .chunk_index = r.chunk_index,
                              .start_ms = 0,
                              .end_ms = 0,
                              .text = std::move(r.text),
                              .vector = std::move(r.vector)});
  }
  return out;
}

// The business's rows `fetch` reads, as chunks (`convert`); a bad business id is an error.
template <class Fetch, class Convert>
Result<std::vector<SourceChunk>> read_rows(const std::string& bid, Fetch fetch, Convert convert) {
  auto t = storage::TenantId::make(bid);
  if (!t) return std::unexpected(t.error());
  auto rows = fetch(*t);
  if (!rows) return std::unexpected(rows.error());
  return convert(std::move(*rows));
}

}  // namespace

Result<std::vector<SourceChunk>> StorageChunkSource::scan_calls(const std::string& bid, std::string_view model,
                                                                std::int64_t after_id, std::size_t limit) {
  return read_rows(
      bid, [&](const storage::TenantId& t) { return calls_.scan(t, model, after_id, page_limit(limit)); }, from_calls);
}

Result<std::vector<SourceChunk>> StorageChunkSource::scan_knowledge(const std::string& bid, std::string_view model,
                                                                    std::int64_t after_id, std::size_t limit) {
  return read_rows(
      bid, [&](const storage::TenantId& t) { return knowledge_.scan_chunks(t, model, after_id, page_limit(limit)); },
      from_knowledge);
}

Result<std::vector<SourceChunk>> StorageChunkSource::call_rows(const std::string& bid, std::string_view model,
                                                               std::int64_t call_id) {
  return read_rows(
      bid, [&](const storage::TenantId& t) { return calls_.rows_of_call(t, model, call_id); }, from_calls);
}

Result<std::vector<SourceChunk>> StorageChunkSource::document_rows(const std::string& bid, std::string_view model,
                                                                   std::int64_t document_id) {
  return read_rows(
      bid, [&](const storage::TenantId& t) { return knowledge_.chunks_of(t, model, document_id); }, from_knowledge);
}

}  // namespace earshot::rag
