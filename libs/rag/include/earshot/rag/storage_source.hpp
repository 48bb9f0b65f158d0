#pragma once
// The search index's ChunkSource over MariaDB: call rows from EmbeddingRepository
// (call_embeddings) and knowledge rows from KnowledgeRepository (knowledge_chunks), every
// read scoped to the business (a malformed bid is kInvalidArgument, never another tenant's
// rows).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/rag/registry.hpp"
#include "earshot/storage/analysis_repositories.hpp"
#include "earshot/storage/rag_repositories.hpp"

namespace earshot::rag {

class StorageChunkSource final : public ChunkSource {
 public:
  StorageChunkSource(storage::EmbeddingRepository& calls, storage::KnowledgeRepository& knowledge)
      : calls_(calls), knowledge_(knowledge) {}

  Result<std::vector<SourceChunk>> scan_calls(const std::string& bid, std::string_view model, std::int64_t after_id,
                                              std::size_t limit) override;
  Result<std::vector<SourceChunk>> scan_knowledge(const std::string& bid, std::string_view model, std::int64_t after_id,
                                                  std::size_t limit) override;
  Result<std::vector<SourceChunk>> call_rows(const std::string& bid, std::string_view model,
                                             std::int64_t call_id) override;
  Result<std::vector<SourceChunk>> document_rows(const std::string& bid, std::string_view model,
                                                 std::int64_t document_id) override;

 private:
  storage::EmbeddingRepository& calls_;
  storage::KnowledgeRepository& knowledge_;
};

}  // namespace earshot::rag
