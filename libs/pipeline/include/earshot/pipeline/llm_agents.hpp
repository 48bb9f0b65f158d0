#pragma once
// LLM agents and embeddings in the analyze stage.
//
// - RedisResultCache: the agents' result cache in Redis (key "earshot:llm:{sha256 of model,
//   prompt version, prompts and schema}", SET ... EX ttl). A Redis failure is a miss, never an
//   agent failure.
// - LlmProviderFactory (a BusinessLlmSource): a business's provider chain and embedder from its pipeline config
//   (llm_chain, embedding_provider, decrypted secrets; see earshot/llm/providers.hpp), built
//   once per (business, config version). Limits, outermost first: the business's fleet-wide
//   token bucket in Redis (requests_per_minute of the entry), the business's in-process cap
//   (max_in_flight of the entry), then the provider's process-wide cap and token bucket
//   (shared by every business using the same provider, model and credentials).
// - LlmAgents: runs a call's LLM agents concurrently (async, on the HTTP client's loop) and
//   embeds its transcript (one vector per call, one per chunk).
//
// Thread safety: every method may be called concurrently.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "earshot/analytics/transcript.hpp"
#include "earshot/cache/rate_limiter.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/llm/agent.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/llm/limits.hpp"
#include "earshot/llm/providers.hpp"
#include "earshot/pipeline/provider_errors.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::pipeline {

class RedisResultCache final : public llm::ResultCache {
 public:
  RedisResultCache(cache::RedisClient& redis, std::chrono::milliseconds ttl, std::string prefix = "earshot:llm:");
  [[nodiscard]] std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, const std::string& value) override;

 private:
  cache::RedisClient& redis_;
  std::chrono::milliseconds ttl_;
  std::string prefix_;
};

// A token bucket shared by every process through Redis in front of a chat provider: a
// request that finds the bucket empty waits (on the HTTP client's timers) for the time Redis
// says and asks again. A Redis failure lets the request through (logged): the in-process
// limits still hold.
class SharedRateLimitedChatProvider final : public llm::ChatProvider {
 public:
  SharedRateLimitedChatProvider(llm::ChatProvider& inner, cache::RateLimiter& limiter, std::string key,
                                double requests_per_minute, http::HttpClient& timers, const Clock& clock);
  void complete(llm::ChatRequest request, llm::ChatCallback done) override;
  // Waits for the bucket like complete(), then streams from the inner provider.
  void stream(llm::ChatRequest request, llm::TokenCallback on_token, llm::ChatCallback done) override;
  [[nodiscard]] std::string id() const override { return inner_->id(); }

 private:
  struct Pending {
    llm::ChatRequest request;
    llm::TokenCallback on_token;  // empty: complete()
    llm::ChatCallback done;
  };
  void attempt(const std::shared_ptr<Pending>& req);
  llm::ChatProvider* inner_;
  cache::RateLimiter* limiter_;
  std::string key_;
  std::int64_t capacity_;
  std::chrono::milliseconds period_;
  http::HttpClient* timers_;
  const Clock* clock_;
};

struct LlmSettings {
  std::int64_t provider_max_in_flight = 256;      // per provider, per process
  std::int64_t provider_requests_per_second = 0;  // per provider, per process (0: none)
  std::int64_t max_tokens = 1024;                 // of one agent answer
  std::int64_t transcript_token_budget = 6'000;   // see llm::trim_transcript
  // About 270 bytes of Redis per agent result for this long (docs/operations.md, Redis).
  std::chrono::milliseconds cache_ttl{std::chrono::hours(24)};
  std::int64_t embedding_chunk_words = 120;  // transcript chunk size for embeddings
  llm::ProviderDefaults defaults;

  // llm_provider_max_in_flight, llm_provider_requests_per_second, llm_max_tokens,
  // llm_transcript_token_budget, llm_cache_ttl, llm_deadline, embedding_chunk_words,
  // ollama_url, openai_url, bedrock_url.
  void declare(ConfigSpec& spec);
};

// What a business's agents run on.
struct BusinessLlm {
  std::string bid;                        // the business (label of earshot_llm_tokens_total)
  std::vector<llm::ChatProvider*> chain;  // empty: no LLM configured
  llm::EmbeddingProvider* embedder = nullptr;
  std::string embedder_id;
  std::vector<std::unique_ptr<llm::ChatProvider>> owned;  // the business's limit wrappers
  std::unique_ptr<llm::EmbeddingProvider> owned_embedder;
};

// Where the analyze stage gets a business's chain and embedder from (LlmProviderFactory;
// tests give an in-process one). Thread-safe; the BusinessLlm returned stays usable while
// the caller holds it.
class BusinessLlmSource {
 public:
  virtual ~BusinessLlmSource() = default;
  // kInvalidArgument for a bad llm_chain.
  [[nodiscard]] virtual Result<std::shared_ptr<const BusinessLlm>> for_business(
      const std::string& bid, const storage::PipelineConfig& config) = 0;
};

class LlmProviderFactory final : public BusinessLlmSource {
 public:
  // `limiter` may be null (no fleet-wide per-business bucket); `errors` may be null (failed
  // requests are not recorded per business; else as kind "llm" or "embedding").
  LlmProviderFactory(http::HttpClient& client, const Clock& clock, LlmSettings settings,
                     cache::RateLimiter* limiter = nullptr, cache::ProviderErrorRecorder* errors = nullptr);
  ~LlmProviderFactory() override;
  LlmProviderFactory(const LlmProviderFactory&) = delete;
  LlmProviderFactory& operator=(const LlmProviderFactory&) = delete;
  // The business's chain and embedder; cached until the config's version changes (earlier
  // ones are kept alive for requests still in flight). kInvalidArgument for a bad llm_chain.
  [[nodiscard]] Result<std::shared_ptr<const BusinessLlm>> for_business(const std::string& bid,
                                                                        const storage::PipelineConfig& config) override;
  [[nodiscard]] const LlmSettings& settings() const { return settings_; }
  [[nodiscard]] http::HttpClient& client() { return client_; }

 private:
  struct Shared {
    std::unique_ptr<llm::ChatProvider> raw;
    std::unique_ptr<llm::LimitedChatProvider> limited;
  };
  http::HttpClient& client_;
  const Clock& clock_;
  LlmSettings settings_;
  cache::RateLimiter* limiter_;
  cache::ProviderErrorRecorder* errors_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Shared>> shared_;  // by provider fingerprint
  std::map<std::string, std::pair<std::int64_t, std::shared_ptr<const BusinessLlm>>> businesses_;
  std::vector<std::shared_ptr<const BusinessLlm>> retired_;
};

// One agent to run: the stored config, as the runner needs it.
struct AgentJob {
  storage::AgentConfig config;
  llm::AgentConfig agent;
};

// The input variables of a call (see docs/analyze.md: speaker-labelled transcript with
// timestamps, call metadata, metrics, CRM lead fields).
[[nodiscard]] llm::AgentInput agent_input(const std::vector<analytics::TranscriptSegment>& segments,
                                          const storage::CallRecord& call, const nlohmann::json& metrics,
                                          const std::string& lead_fields_json);

// A chunk of the transcript for embeddings: consecutive segments up to about `words` words,
// rendered "speaker: text" per line.
struct TranscriptChunk {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string text;
};
[[nodiscard]] std::vector<TranscriptChunk> chunk_transcript(const std::vector<analytics::TranscriptSegment>& segments,
                                                            std::int64_t words);

// A call's vectors from its chunks, in one request to the business's embedder: the whole
// call (the chunks' texts joined by newlines) as chunk -1, then each chunk (0, 1, ...), all
// with the embedder's id as model. What LlmAgents::embed_async stores after chunk_transcript,
// and what the embed stage re-embeds a call with from its stored chunks when the business
// changes its embedder. No embedder: no vectors. `done` runs once, on the embedder's thread
// (the HTTP client's loop for a remote one, the caller's for the offline one).
using EmbeddingsCallback = std::function<void(Result<std::vector<storage::CallEmbedding>>)>;
void embed_call_chunks_async(const BusinessLlm& llm, const std::vector<TranscriptChunk>& chunks,
                             EmbeddingsCallback done);
// The same, waiting up to `wait` (kTimeout after).
[[nodiscard]] Result<std::vector<storage::CallEmbedding>> embed_call_chunks(const BusinessLlm& llm,
                                                                            const std::vector<TranscriptChunk>& chunks,
                                                                            std::chrono::milliseconds wait);

class LlmAgents {
 public:
  // `cache` may be null. Metrics: earshot_llm_duration_seconds{provider},
  // earshot_llm_cache_total{result=hit|miss}, earshot_agent_failures_total{agent,reason},
  // earshot_llm_tokens_total{bid,provider,kind=input|output} (provider answers, not cache hits).
  LlmAgents(llm::ResultCache* cache, Metrics& metrics, const Clock& clock, const LlmSettings& settings);

  // The runner's config of a stored agent (prompt version = "name@version").
  [[nodiscard]] llm::AgentConfig to_agent(const storage::AgentConfig& c) const;

  // Runs every agent at once; `done` gets the results in `agents` order.
  void run_async(const BusinessLlm& llm, const std::vector<llm::AgentConfig>& agents, const llm::AgentInput& input,
                 std::function<void(std::vector<llm::AgentResult>)> done);
  // The same, blocking until every agent has answered (or `wait` passed: the missing ones
  // fail with "timed out").
  [[nodiscard]] std::vector<llm::AgentResult> run(const BusinessLlm& llm, const std::vector<llm::AgentConfig>& agents,
                                                  const llm::AgentInput& input, std::chrono::milliseconds wait);

  // The call's vectors: the whole (redacted) transcript as chunk -1, then each chunk
  // (chunk_transcript, then embed_call_chunks_async); `done` as there.
  void embed_async(const BusinessLlm& llm, const std::vector<analytics::TranscriptSegment>& redacted,
                   EmbeddingsCallback done);

  // "invalid_output" (schema failed after repair), or the provider error's code name.
  [[nodiscard]] static std::string failure_reason_label(const llm::AgentResult& r);

 private:
  llm::ResultCache* cache_;
  const Clock& clock_;
  LlmSettings settings_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Family<prometheus::Counter>* cache_results_;
  prometheus::Family<prometheus::Counter>* failures_;
  prometheus::Family<prometheus::Counter>* tokens_;
};

}  // namespace earshot::pipeline
