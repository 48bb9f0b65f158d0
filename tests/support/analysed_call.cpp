#include "analysed_call.hpp"

#include <nlohmann/json.hpp>
#include <utility>

#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/pipeline/redaction.hpp"
#include "earshot/storage/mysql_repositories.hpp"

namespace earshot::testing {

Result<storage::Id> seed_analysed_call(storage::Database& db, const storage::TenantId& tenant,
                                       const AnalysedCallSeed& seed, llm::EmbeddingProvider& embedder) {
  storage::MySqlCallRepository calls(db);
  storage::CallInput in;
  in.external_id = seed.external_id;
  in.human_agent_id = seed.human_agent_id;
  in.issue_category = seed.issue_category;
  in.language = seed.language;
  in.started_at = seed.started_at;
  in.duration_ms = static_cast<std::int64_t>(seed.lines.size()) * 5'000;
  auto up = calls.upsert(tenant, in);
  if (!up) return std::unexpected(up.error());
  const storage::Id id = up->id;
  using S = storage::CallStatus;
  for (auto [from, to] : {std::pair{S::kPending, S::kTranscribing}, std::pair{S::kTranscribing, S::kTranscribed},
                          std::pair{S::kTranscribed, S::kAnalyzing}, std::pair{S::kAnalyzing, S::kAnalyzed}}) {
    auto moved = calls.advance(tenant, id, from, to);
    if (!moved) return std::unexpected(moved.error());
    if (!*moved) return make_error(ErrorCode::kInternal, "the seeded call did not advance");
  }
  std::vector<analytics::TranscriptSegment> segments;
  std::int64_t at = 0;
  for (const auto& line : seed.lines) {
    segments.push_back({line.role, at, at + 4'000, line.text});
    at += 5'000;
  }
  if (seed.transcript) {
    nlohmann::json stored = nlohmann::json::array();
    std::string all;
    for (const auto& s : segments) {
      stored.push_back({{"speaker", analytics::role_name(s.role)},
                        {"start_ms", s.start_ms},
                        {"end_ms", s.end_ms},
                        {"text", s.text},
                        {"confidence", 1.0}});
      all += s.text + "\n";
    }
    storage::Transcript tr;
    tr.call_id = id;
    tr.segments_json = stored.dump();
    tr.full_text = std::move(all);
    tr.provider = "seed";
    tr.language = seed.language;
    storage::MySqlTranscriptRepository transcripts(db);
    if (auto put = transcripts.put(tenant, tr); !put) return std::unexpected(put.error());
    // The redacted form beside it, as the analyze stage stores it (search pinpoints in it).
    auto version = transcripts.get(tenant, id);
    if (!version) return std::unexpected(version.error());
    auto red = pipeline::redact_transcript(tr.segments_json);
    storage::TranscriptRedaction r;
    r.call_id = id;
    r.version = version->version;
    r.segments_json = std::move(red.segments_json);
    r.full_text = std::move(red.full_text);
    if (auto put = transcripts.put_redaction(tenant, r); !put) return std::unexpected(put.error());
  }
  pipeline::BusinessLlm llm;
  llm.embedder = &embedder;
  llm.embedder_id = embedder.id();
  auto rows = pipeline::embed_call_chunks(llm, pipeline::chunk_transcript(segments, seed.chunk_words),
                                          std::chrono::seconds(30));
  if (!rows) return std::unexpected(rows.error());
  if (auto stored = storage::MySqlEmbeddingRepository(db).replace(tenant, id, *rows); !stored) {
    return std::unexpected(stored.error());
  }
  return id;
}

}  // namespace earshot::testing
