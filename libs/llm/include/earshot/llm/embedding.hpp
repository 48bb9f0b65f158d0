#pragma once
// Text embeddings: one interface, an offline default and three HTTP adapters (providers.md):
// Bedrock Titan v2 (/model/amazon.titan-embed-text-v2:0/invoke, one text per request),
// Ollama /api/embed (2-D answer; the older /api/embeddings one-text shape is accepted too)
// and OpenAI-compatible /v1/embeddings. Retries and error classification as in chat.hpp.
//
// Thread safety: embed() may be called concurrently; the callback runs once (on the HTTP
// loop thread for the adapters, inline for HashedBowEmbedder) with one vector per input text,
// in input order.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/llm/chat.hpp"

namespace earshot::llm {

using Embedding = std::vector<float>;
using EmbedCallback = std::function<void(Result<std::vector<Embedding>>)>;

class EmbeddingProvider {
 public:
  virtual ~EmbeddingProvider() = default;
  virtual void embed(std::vector<std::string> texts, EmbedCallback done) = 0;
  [[nodiscard]] virtual std::string id() const = 0;  // "hashed-bow:256", "ollama:nomic-embed-text"
};

// Offline default: a deterministic hashed bag of words. Tokens are lower-cased runs of
// letters, digits and apostrophes; each adds ±1 (the sign from the hash, so collisions
// cancel rather than pile up) at FNV-1a(token) mod dimension; the vector is L2-normalised
// (all zeros for a text without tokens). The same text gives the same vector on every
// machine and in every version that keeps the dimension.
class HashedBowEmbedder final : public EmbeddingProvider {
 public:
  explicit HashedBowEmbedder(int dimension = 256);
  void embed(std::vector<std::string> texts, EmbedCallback done) override;
  [[nodiscard]] std::string id() const override;
  [[nodiscard]] Embedding embed_one(std::string_view text) const;
  [[nodiscard]] int dimension() const { return dimension_; }

 private:
  int dimension_;
};

struct TitanConfig {
  ChatEndpoint endpoint;  // model defaults to amazon.titan-embed-text-v2:0; base_url as Bedrock
  std::string region = "us-east-1";
  http::AwsCredentials credentials;
  int dimensions = 1024;  // 1024 | 512 | 256
  bool normalize = true;
};

class TitanEmbedder final : public EmbeddingProvider {
 public:
  TitanEmbedder(TitanConfig config, http::HttpClient& client, const Clock& clock);
  void embed(std::vector<std::string> texts, EmbedCallback done) override;
  [[nodiscard]] std::string id() const override { return "bedrock:" + config_.endpoint.model; }

 private:
  TitanConfig config_;
  http::HttpClient* client_;
  const Clock* clock_;
  http::SigV4Signer signer_;
};

struct OllamaEmbedConfig {
  ChatEndpoint endpoint;
  bool legacy_endpoint = false;  // POST /api/embeddings {"model", "prompt"}, one text per request
};

class OllamaEmbedder final : public EmbeddingProvider {
 public:
  OllamaEmbedder(OllamaEmbedConfig config, http::HttpClient& client, const Clock& clock);
  void embed(std::vector<std::string> texts, EmbedCallback done) override;
  [[nodiscard]] std::string id() const override { return "ollama:" + config_.endpoint.model; }

 private:
  OllamaEmbedConfig config_;
  http::HttpClient* client_;
  const Clock* clock_;
};

class OpenAiEmbedder final : public EmbeddingProvider {
 public:
  OpenAiEmbedder(OpenAiConfig config, http::HttpClient& client, const Clock& clock);
  void embed(std::vector<std::string> texts, EmbedCallback done) override;
  [[nodiscard]] std::string id() const override { return "openai:" + config_.endpoint.model; }

 private:
  OpenAiConfig config_;
  http::HttpClient* client_;
  const Clock* clock_;
};

// Parses an embeddings answer in any of the accepted shapes: {"embeddings": [[..], ..]},
// {"embedding": [..]}, {"data": [{"index", "embedding"}]}. `expected` is the number of texts.
[[nodiscard]] Result<std::vector<Embedding>> parse_embeddings(std::string_view provider, std::string_view body,
                                                              std::size_t expected);

}  // namespace earshot::llm
