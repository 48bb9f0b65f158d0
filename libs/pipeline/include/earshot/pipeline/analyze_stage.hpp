#pragma once
// The analyze stage (analyze.{bid} -> notify.{bid}), run by earshot-analyze.
//
// For each message: load the call (tenant-scoped) and skip it when already past this stage
// (an analyzed call re-sends its notify message); move it to analyzing; read the transcript
// and metrics; run the built-in analyzers (sentiment per segment / quarter / call, talk speed
// and question rate, PII redaction, categories, QA scorecards, extractive summary, outcome
// guess, escalation detection); store the metrics, the category matches and, in one
// transaction, the analyses (history kept), the QA score, the escalation and the human
// agent's aggregates; move the call to analyzed and publish notify.{bid}.
// With enable_llm(): the business's enabled LLM agents run concurrently between the built-in
// analyzers and the QA scorecards (whose agent questions read their outputs); each agent's
// result is stored as a versioned analysis, a failed agent with its reason (the call is still
// analysed); agent outputs with "escalate": true open an escalation; the redacted transcript
// is embedded (whole call and chunks). With enable_live_events(): call.status events.
// Redaction (redaction.hpp): the redacted transcript is stored beside the raw one for the
// transcript version analysed; with enable_redacted_audio(), a recording in the object store
// under the business's prefix is decoded and a copy with every PII time range replaced by a
// 1 kHz tone is written to <bid>/redacted/<call id>.wav (its URI stored with the redacted
// transcript). A recording that cannot be read or decoded gets no copy (logged); a store
// that is unavailable retries the message before anything is stored.
//
// Asynchronous (start(), what earshot-analyze runs): a call's reads and built-in analyzers run
// on the stage's work threads, then its agents and embeddings are asked at once on the HTTP
// client's loop with no thread waiting, then its scoring and writes run on the work threads
// again (the oldest call's step first). Hundreds of calls can wait on a slow LLM at once on a
// few threads. The optional language and LLM sentiment passes still block a work thread while
// they wait. handle() runs the same steps on the caller's thread, waiting for the agents.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "earshot/analytics/sentiment.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/pipeline/redaction.hpp"
#include "earshot/pipeline/work_pool.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/repositories.hpp"
#include "earshot/storage/stage_call.hpp"

namespace earshot::pipeline {

// The built-in analyzers, as agent configs of kind builtin (created per business on first use).
inline constexpr std::string_view kBuiltinAgents[] = {"builtin.sentiment", "builtin.pii", "builtin.categories",
                                                      "builtin.qa", "builtin.summary"};

struct AnalyzeStageDeps {
  storage::CallRepository& calls;
  storage::TranscriptRepository& transcripts;
  storage::MetricsRepository& metrics;
  storage::AgentConfigRepository& agents;
  storage::RuleSetRepository& categories;
  storage::RuleSetRepository& scorecards;
  storage::CategoryMatchRepository& category_matches;
  storage::AnalysisRepository& analyses;
  storage::ProcessingEventRepository& events;
  const analytics::SentimentLexicon& lexicon;
  Metrics& prometheus;
  Clock& clock;
  queue::TopologySettings topology;
};

// What the LLM agents and embeddings need (see enable_llm).
struct AnalyzeLlmDeps {
  storage::PipelineConfigRepository& configs;  // llm_chain, embedding_provider, secrets
  BusinessLlmSource& providers;                // LlmProviderFactory in the worker
  LlmAgents& agents;
  storage::EmbeddingRepository* embeddings = nullptr;        // null: no embeddings stored
  storage::CrmLeadRepository* leads = nullptr;               // null: {{lead}} is {}
  std::chrono::milliseconds wait{std::chrono::minutes(10)};  // longest wait for a call's agents
};

struct AnalyzeStageOptions {
  std::size_t work_threads = 8;  // reads, built-in analyzers, scoring and writes (blocking I/O)
};

class AnalyzeStage final : public queue::StageHandler, public queue::AsyncStageHandler {
 public:
  explicit AnalyzeStage(AnalyzeStageDeps deps, AnalyzeStageOptions options = {});
  // Runs the steps already queued on the work threads, then joins them.
  ~AnalyzeStage() override;
  AnalyzeStage(const AnalyzeStage&) = delete;
  AnalyzeStage& operator=(const AnalyzeStage&) = delete;

  // Runs the steps already queued on the work threads, then joins them; steps posted later
  // (answers arriving afterwards) are dropped with their completions. Call it after the stage
  // worker stopped and before the HTTP client and repositories go away.
  void shutdown();
  // Call before the worker starts.
  void enable_llm(AnalyzeLlmDeps deps) { llm_.emplace(deps); }
  void enable_live_events(cache::LiveEvents& events) { live_ = &events; }
  // The recordings' store (not owned), for the redacted copies; decoding within `limits`.
  void enable_redacted_audio(objectstore::ObjectStore& store, audio::DecodeLimits limits = {}) {
    redacted_audio_store_ = &store;
    decode_limits_ = limits;
  }
  void start(const queue::IncomingMessage& message, queue::StageCompletion done) override;
  [[nodiscard]] queue::HandlerResult handle(const queue::IncomingMessage& message) override;

  // The call's language and what the English analyzers read (docs/analyze.md "Language"):
  // the original when it is English, else its English rendering (stored, or made now by the
  // business's LLM chain and stored); with neither, `reason` ("not analyzed: language hi").
  struct LanguagePlan {
    std::string tag;     // BCP-47
    std::string source;  // provider | detected | configured
    std::vector<analytics::TranscriptSegment> english;
    std::string english_source;  // original | sarvam | llm; "" with no English text
    std::string reason;          // set when no English text exists
    std::string translation_error;
    [[nodiscard]] bool analyzable() const { return reason.empty(); }
  };

 private:
  struct Job;
  // What the agents and embeddings of a call need, read before they are asked.
  struct LlmPlan {
    std::vector<storage::AgentConfig> jobs;  // the enabled LLM agents
    std::vector<llm::AgentConfig> agents;    // as the runner needs them
    std::vector<std::string> hashes;         // their cache keys (prompt hashes)
    std::optional<llm::AgentInput> input;
    storage::PipelineConfig config;
    std::string config_error;  // a config or chain that cannot be used: the agents fail with it
    std::shared_ptr<const BusinessLlm> business;
    bool have_chain = false;
    bool run_agents = false;  // ask the agents
    bool embed = false;       // make the call's vectors
  };
  struct LlmOutcome {
    std::vector<storage::AnalysisInput> analyses;
    std::map<std::string, std::string> outputs;  // agent name -> output JSON (ok only)
    std::vector<std::string> escalations;        // reasons given by agents
    std::vector<storage::CallEmbedding> embeddings;
    std::string embeddings_error;
    std::string embedding_provider;  // the config's value the embeddings were made under
  };
  [[nodiscard]] std::optional<queue::OutgoingMessage> reembed_if_embedder_changed(const storage::TenantId& t,
                                                                                  storage::Id call_id,
                                                                                  const LlmOutcome& llm_out) const;
  // Everything up to the agents (reads, language, built-in analyzers, categories, the LLM
  // plan): a result when the message is finished already (skipped, retried, failed).
  [[nodiscard]] std::optional<queue::HandlerResult> prepare(Job& job);
  // Asks the plan's agents and embeddings at once; `then` runs (on whichever thread answered
  // last) once job.llm_out is filled.
  void run_llm_async(const std::shared_ptr<Job>& job, std::function<void()> then);
  // QA scorecards, the summary, the redaction and every write; the step to analyzed.
  [[nodiscard]] queue::HandlerResult finish(Job& job);
  [[nodiscard]] queue::Outcome analyzed_notice(const storage::StageCall& sc, const std::string& trace_id) const;
  [[nodiscard]] queue::HandlerResult fail_call(const storage::StageCall& sc, const Error& e);
  [[nodiscard]] Result<LlmPlan> plan_llm(const AnalyzeLlmDeps& llm, const storage::TenantId& t,
                                         const storage::CallRecord& call,
                                         const std::vector<analytics::TranscriptSegment>& redacted,
                                         const std::map<std::string, double>& metric_values);
  // The analyses, QA outputs, escalations and vectors from what the agents and the embedder
  // answered (`embeddings` empty when none were asked).
  [[nodiscard]] static LlmOutcome collect_llm(const LlmPlan& plan, std::vector<llm::AgentResult> results,
                                              std::optional<Result<std::vector<storage::CallEmbedding>>> embeddings);
  // The call's redacted transcript (`red`, made from `transcript` by redact_transcript) to
  // store and, with a store, the recording's redacted copy written (analyze_redaction.cpp).
  // An error only when the store is unavailable (retry).
  [[nodiscard]] Result<storage::TranscriptRedaction> redact_call(const storage::TenantId& t,
                                                                 const storage::CallRecord& call,
                                                                 const storage::Transcript& transcript,
                                                                 RedactedTranscript red);
  [[nodiscard]] Result<LanguagePlan> prepare_language(const storage::TenantId& t, storage::CallRecord& call,
                                                      const storage::Transcript& transcript,
                                                      const std::vector<analytics::TranscriptSegment>& segments);
  // The optional LLM sentiment pass over the English turns (sent PII-redacted): replaces
  // `timeline`'s scores when the business enables it and the answer is valid; what happened,
  // for the sentiment analysis (null when the pass is off).
  [[nodiscard]] nlohmann::json llm_sentiment_pass(const storage::TenantId& t,
                                                  const std::vector<analytics::TranscriptSegment>& segments,
                                                  std::int64_t duration_ms, analytics::SentimentTimeline& timeline);
  // The business's pipeline config and LLM chain: null with `why` when it has none usable
  // (no config, no chain, a chain that cannot be built); an error when the database fails.
  [[nodiscard]] Result<std::shared_ptr<const BusinessLlm>> business_chain(const storage::TenantId& t,
                                                                          storage::PipelineConfig& config,
                                                                          std::string& why);
  void publish_status(const storage::TenantId& t, storage::Id call_id, storage::CallStatus status,
                      storage::CallStatus previous, const std::string& reason = {});

  AnalyzeStageDeps d_;
  std::optional<AnalyzeLlmDeps> llm_;
  cache::LiveEvents* live_ = nullptr;
  objectstore::ObjectStore* redacted_audio_store_ = nullptr;
  audio::DecodeLimits decode_limits_;
  analytics::SentimentAnalyzer analyzer_;
  prometheus::Family<prometheus::Counter>* analyzed_;
  prometheus::Family<prometheus::Counter>* failed_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Family<prometheus::Counter>* escalations_;
  std::shared_ptr<WorkPool> pool_;  // shared with the answers' callbacks, which may outlive a step
  std::atomic<std::uint64_t> started_{0};
};

}  // namespace earshot::pipeline
