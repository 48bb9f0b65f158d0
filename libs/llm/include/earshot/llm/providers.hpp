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
// "openai:MODEL" | "bedrock:amazon.titan-embed-text-v2:0"; an HTTP embedder uses the
// base_url of the first chain entry of the same provider, else the provider's default.

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

[[nodiscard]] Result<std::unique_ptr<EmbeddingProvider>> make_embedding_provider(
    std::string_view spec, const std::vector<ProviderSpec>& chain, const std::map<std::string, std::string>& secrets,
    const ProviderDefaults& defaults, http::HttpClient& client, const Clock& clock);

}  // namespace earshot::llm
