#pragma once
// Chat and embedding providers built from a business's configuration: the `llm_chain` of
// business_pipeline_config (an ordered JSON list) and its `embedding_provider`, with the
// keys taken from the business's decrypted secrets.
//
// llm_chain entry: {"provider": "bedrock"|"ollama"|"openai", "model": "...",
//                   "base_url"?: "scheme://host[:port]", "region"?: "us-east-1",
//                   "timeout_ms"?: per attempt, "max_in_flight"?: per business (default 32),
//                   "requests_per_minute"?: per business, across processes (default 0: none)}
// Secrets: openai -> "openai_api_key" (or "llm_api_key"); bedrock -> "aws_access_key_id",
// "aws_secret_access_key" [, "aws_session_token"].
// embedding_provider: "hashed-bow" (dimension 256) | "hashed-bow:N" | "ollama:MODEL" |
// "openai:MODEL" | "bedrock:amazon.titan-embed-text-v2:0" (parse_embedding_provider); an HTTP
// embedder uses the base_url of the first chain entry of the same provider, else the
// provider's default. The model never chooses where a request goes: it is a field of the
// request body (Ollama, OpenAI) or one percent-encoded path segment (Bedrock).
// make_embedding_provider's `on_request` (optional) is told the outcome of every request of
// the embedder it builds (see http::RequestOutcome).

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/llm/chat.hpp"
#include "earshot/llm/embedding.hpp"

namespace earshot::llm {

struct ProviderSpec {
  std::string provider;  // bedrock | ollama | openai
  std::string model;
  std::string base_url;  // empty: the provider's default
  std::string region = "us-east-1";
  std::chrono::milliseconds request_timeout{60'000};
  int max_in_flight = 32;
  double requests_per_minute = 0;
};

// Default base URLs when an entry has none.
struct ProviderDefaults {
  std::string ollama_url = "http://127.0.0.1:11434";
  std::string openai_url = "https://api.openai.com";
  std::string bedrock_url;                      // empty: https://bedrock-runtime.{region}.amazonaws.com
  std::chrono::milliseconds deadline{180'000};  // all attempts of one request
};

// kInvalidArgument naming the entry and field ("llm_chain[1].provider: ...").
[[nodiscard]] Result<std::vector<ProviderSpec>> parse_llm_chain(std::string_view json);

// A fingerprint of what makes two providers the same (kind, model, URL, region and a hash of
// the credentials): businesses with equal fingerprints can share one provider and its limits.
[[nodiscard]] std::string provider_fingerprint(const ProviderSpec& spec,
                                               const std::map<std::string, std::string>& secrets);

[[nodiscard]] Result<std::unique_ptr<ChatProvider>> make_chat_provider(
    const ProviderSpec& spec, const std::map<std::string, std::string>& secrets, const ProviderDefaults& defaults,
    http::HttpClient& client, const Clock& clock);

// An embedding_provider value, as make_embedding_provider reads it.
struct EmbeddingSpec {
  std::string provider;  // hashed-bow | ollama | openai | bedrock | titan (bedrock's Titan models)
  std::string model;     // empty for hashed-bow
  int dimension = 256;   // hashed-bow only
};

// The valid forms, as errors name them.
inline constexpr std::string_view kEmbeddingProviderForms =
    "hashed-bow, hashed-bow:N (N from 8 to 4096), ollama:MODEL, openai:MODEL or bedrock:MODEL";
// The longest MODEL (an embedder id, "bedrock:" + MODEL, fits the 128 characters stored
// with each vector).
inline constexpr std::size_t kMaxEmbeddingModel = 120;

// "" and "hashed-bow" (256 dimensions), "hashed-bow:N" (N 8..4096, digits only), or
// "ollama:MODEL", "openai:MODEL", "bedrock:MODEL", "titan:MODEL" where MODEL is 1-120
// characters of letters, digits and . _ - : / @ (Ollama names hold tags and namespaces,
// "nomic-embed-text:latest", "hf.co/org/model:Q4"; Bedrock ids hold colons), starting with a
// letter or digit, without ".." or "//". Anything else is kInvalidArgument naming the
// valid forms.
[[nodiscard]] Result<EmbeddingSpec> parse_embedding_provider(std::string_view spec);

[[nodiscard]] Result<std::unique_ptr<EmbeddingProvider>> make_embedding_provider(
    std::string_view spec, const std::vector<ProviderSpec>& chain, const std::map<std::string, std::string>& secrets,
    const ProviderDefaults& defaults, http::HttpClient& client, const Clock& clock,
    http::RequestObserver on_request = {});

}  // namespace earshot::llm
