#pragma once
// LLM agents with JSON contracts: render the agent's prompt template, ask a provider chain,
// validate the answer against the agent's JSON Schema, repair once, cache the result.
//
// Flow of JsonAgentRunner::run():
//   1. render the template ({{transcript}}, {{metadata}}, {{metrics}}, {{lead}}), trimming
//      the transcript to the agent's token budget (trim_transcript below);
//   2. cache key = hex SHA-256 of primary provider id, prompt version, rendered system and
//      user prompt and schema; a hit answers without any provider call;
//   3. ask the chain's providers in order: a provider that fails with a retryable error after
//      its own retries (rate-limited, unavailable, timeout) hands over to the next one; any
//      other failure (auth, quota, invalid input) fails the agent with the reason;
//   4. validate the answer (after extract_json_object); when invalid, ONE repair request to
//      the same provider quotes the validation error; a second invalid answer fails the agent;
//   5. a valid answer is cached (with the cache's TTL) and returned.
// An agent failure is an AgentResult with ok=false and the reason, never an error of the
// call: the caller stores it and carries on with the other agents.
//
// Thread safety: run() may be called concurrently; `done` runs once, on an HTTP loop thread
// (or inline on a cache hit or a synchronous provider).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/llm/chat.hpp"

namespace earshot::llm {

struct TranscriptLine {
  std::string speaker;         // "agent", "customer", ...
  std::int64_t start_ms = -1;  // < 0: no timestamp
  std::int64_t end_ms = -1;
  std::string text;
};

struct AgentConfig {
  std::string name;            // "summary", "bant", ...
  std::string prompt_version;  // bump when the template or schema changes (cache key)
  std::string system;
  std::string prompt_template;  // the user message
  std::string output_schema;    // JSON Schema (JSON text)
  int max_tokens = 1024;
  double temperature = 0.0;
  int transcript_token_budget = 6'000;  // estimated tokens of the rendered transcript
};

struct AgentInput {
  std::vector<TranscriptLine> transcript;
  std::string metadata;  // rendered as given (JSON text or lines)
  std::string metrics;
  std::string lead;
};

struct AgentResult {
  std::string agent;
  bool ok = false;
  std::string output;                     // the validated JSON text (ok)
  std::string failure_reason;             // (!ok)
  std::optional<ErrorCode> failure_code;  // the provider's error code when one ended it
  std::string provider;                   // id of the provider that answered
  bool cache_hit = false;
  bool repaired = false;  // a repair request was made
  bool transcript_trimmed = false;
  int provider_calls = 0;
  int input_tokens = 0;
  int output_tokens = 0;
  std::chrono::milliseconds latency{0};
};

// Cached agent outputs. Implementations must be thread-safe.
class ResultCache {
 public:
  virtual ~ResultCache() = default;
  [[nodiscard]] virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, const std::string& value) = 0;
};

// "[01:05] agent: text" per line ("[1:02:03]" past an hour; no stamp without a time).
[[nodiscard]] std::string render_transcript(const std::vector<TranscriptLine>& lines);

// Estimated tokens of a text: ceil(bytes / 4), the usual rule of thumb for English.
[[nodiscard]] int estimate_tokens(std::string_view text);

struct TrimmedTranscript {
  std::string text;
  bool trimmed = false;
  std::size_t omitted = 0;  // lines left out
};

// Keeps the transcript whole when it fits `budget_tokens`; otherwise keeps the first and the
// last lines (taken alternately from the head and the tail, so both ends are kept about
// equally, while they fit) and replaces the middle with one line
// "[... N segments from mm:ss to mm:ss omitted to fit the token budget ...]".
// Openings (greeting, reason for the call) and closings (outcome, next steps) carry most of
// what agents look for.
[[nodiscard]] TrimmedTranscript trim_transcript(const std::vector<TranscriptLine>& lines, int budget_tokens);

// Replaces {{transcript}}, {{metadata}}, {{metrics}} and {{lead}} (spaces inside the braces
// allowed); unknown variables are left as they are.
[[nodiscard]] std::string render_template(const std::string& tmpl, const std::map<std::string, std::string>& vars);

class JsonAgentRunner {
 public:
  // `chain`: providers in order of preference (not owned, must outlive the runner; at least
  // one). `cache` may be null (no caching).
  JsonAgentRunner(std::vector<ChatProvider*> chain, ResultCache* cache, const Clock& clock);

  void run(const AgentConfig& agent, const AgentInput& input, std::function<void(AgentResult)> done);

  // The cache key of an agent over an input (what run() looks up).
  [[nodiscard]] std::string cache_key(const AgentConfig& agent, const AgentInput& input) const;

 private:
  std::vector<ChatProvider*> chain_;
  ResultCache* cache_;
  const Clock* clock_;
};

}  // namespace earshot::llm
