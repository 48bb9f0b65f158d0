// Seeds an analysed call into the real database the way the analyze stage leaves it: the call
// (pending -> analyzed through every status step), optionally its transcript, and its vectors
// (chunk_transcript, then embed_call_chunks with the given embedder: the whole call as chunk
// -1, then each chunk). Used by the search, chat and re-embed tests and by chat_bench; it has
// no test framework in it, so a benchmark links it too.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "earshot/analytics/conversation.hpp"
#include "earshot/core/error.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/storage/call_repository.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::testing {

struct SeedLine {
  analytics::Role role = analytics::Role::kCustomer;
  std::string text;
};

struct AnalysedCallSeed {
  std::string external_id;      // required: unique within the business
  std::vector<SeedLine> lines;  // each spoken for 4 s, one every 5 s from 0
  std::optional<storage::Id> human_agent_id;
  std::string issue_category = "billing";
  std::string language = "en";
  storage::Timestamp started_at{std::chrono::milliseconds(1'790'000'000'000LL)};
  bool transcript = false;         // also store the transcript (one segment per line)
  std::int64_t chunk_words = 120;  // chunk_transcript's chunk size
};

// The call's id. Any failing step is returned as its error (the call may then exist half-made).
[[nodiscard]] Result<storage::Id> seed_analysed_call(storage::Database& db, const storage::TenantId& tenant,
                                                     const AnalysedCallSeed& seed, llm::EmbeddingProvider& embedder);

}  // namespace earshot::testing
