// Providers built from a business's configuration: llm_chain parsing with errors that name
// the entry and field, secrets per provider, embedding_provider specs, fingerprints.
#include "earshot/llm/providers.hpp"

#include <gtest/gtest.h>

#include "earshot/http/curl_http_client.hpp"

namespace earshot::llm {
namespace {

ProviderSpec spec(std::string provider, std::string model) {
  ProviderSpec s;
  s.provider = std::move(provider);
  s.model = std::move(model);
  return s;
}

TEST(LlmChain, ParsesEntriesWithDefaults) {
  auto c = parse_llm_chain(R"([{"provider":"ollama","model":"llama3.1:8b"},
      {"provider":"openai","model":"gpt-4o-mini","base_url":"http://127.0.0.1:9/","timeout_ms":5000,
       "max_in_flight":8,"requests_per_minute":120}])");
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].provider, "ollama");
  EXPECT_EQ((*c)[0].max_in_flight, 32);
  EXPECT_EQ((*c)[0].requests_per_minute, 0);
  EXPECT_EQ((*c)[1].base_url, "http://127.0.0.1:9");  // trailing slash dropped
  EXPECT_EQ((*c)[1].request_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ((*c)[1].max_in_flight, 8);
  EXPECT_EQ((*c)[1].requests_per_minute, 120);
  EXPECT_TRUE(parse_llm_chain("")->empty());
}

TEST(LlmChain, ErrorsNameTheEntryAndField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"provider":"ollama"})", "must be a JSON list"},
      {R"([{"model":"m"}])", "llm_chain[0].provider: is required"},
      {R"([{"provider":"ollama","model":"m"},{"provider":"gemini","model":"m"}])", "llm_chain[1].provider: must be"},
      {R"([{"provider":"ollama"}])", "llm_chain[0].model: is required"},
      {R"([{"provider":"ollama","model":"m","base_url":"ftp://x"}])", "llm_chain[0].base_url"},
      {R"([{"provider":"ollama","model":"m","timeout_ms":5}])", "llm_chain[0].timeout_ms"},
      {R"([{"provider":"ollama","model":"m","max_in_flight":0}])", "llm_chain[0].max_in_flight"},
      {R"([{"provider":"ollama","model":"m","requests_per_minute":-1}])", "llm_chain[0].requests_per_minute"},
      // 1e300 reached the limiter's conversion to whole tokens (undefined for a double that large).
      {R"([{"provider":"ollama","model":"m","requests_per_minute":1e300}])",
       "requests_per_minute: must be a number from 0 to 1000000"},
      {R"([{"provider":"ollama","model":"m","requests_per_minute":1000001}])", "llm_chain[0].requests_per_minute"},
  };
  for (const auto& [json, want] : cases) {
    auto c = parse_llm_chain(json);
    ASSERT_FALSE(c) << json;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().message.find(want), std::string::npos) << json << " -> " << c.error().message;
  }
}

TEST(LlmChain, ProvidersTakeTheirSecrets) {
  http::CurlHttpClient client;
  const ProviderDefaults defaults;
  const auto bedrock = spec("bedrock", "anthropic.claude-3-haiku-20240307-v1:0");
  auto none = make_chat_provider(bedrock, {}, defaults, client, SystemClock::instance());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(none.error().message.find("aws_secret_access_key"), std::string::npos);
  auto with = make_chat_provider(bedrock, {{"aws_access_key_id", "AKID"}, {"aws_secret_access_key", "s"}}, defaults,
                                 client, SystemClock::instance());
  ASSERT_TRUE(with);
  EXPECT_EQ((*with)->id(), "bedrock:anthropic.claude-3-haiku-20240307-v1:0");
  auto ollama = make_chat_provider(spec("ollama", "m"), {}, defaults, client, SystemClock::instance());
  ASSERT_TRUE(ollama);
  EXPECT_EQ((*ollama)->id(), "ollama:m");
  // Same provider and model with other credentials: not the same provider (limits apart).
  const auto openai = spec("openai", "gpt");
  EXPECT_NE(provider_fingerprint(openai, {{"openai_api_key", "a"}}),
            provider_fingerprint(openai, {{"openai_api_key", "b"}}));
  EXPECT_EQ(provider_fingerprint(openai, {{"openai_api_key", "a"}}),
            provider_fingerprint(openai, {{"llm_api_key", "a"}}));
  EXPECT_EQ(provider_fingerprint(openai, {{"openai_api_key", "secret-value"}}).find("secret-value"), std::string::npos);
  client.shutdown();
}

TEST(LlmChain, EmbeddingProviderSpecs) {
  http::CurlHttpClient client;
  const ProviderDefaults d;
  auto& clock = SystemClock::instance();
  EXPECT_EQ((*make_embedding_provider("hashed-bow", {}, {}, d, client, clock))->id(), "hashed-bow:256");
  EXPECT_EQ((*make_embedding_provider("", {}, {}, d, client, clock))->id(), "hashed-bow:256");
  EXPECT_EQ((*make_embedding_provider("hashed-bow:64", {}, {}, d, client, clock))->id(), "hashed-bow:64");
  EXPECT_FALSE(make_embedding_provider("hashed-bow:3", {}, {}, d, client, clock));
  EXPECT_EQ((*make_embedding_provider("ollama:nomic-embed-text", {}, {}, d, client, clock))->id(),
            "ollama:nomic-embed-text");
  EXPECT_FALSE(make_embedding_provider("ollama", {}, {}, d, client, clock));                                // no model
  EXPECT_FALSE(make_embedding_provider("bedrock:amazon.titan-embed-text-v2:0", {}, {}, d, client, clock));  // no keys
  EXPECT_FALSE(make_embedding_provider("word2vec:x", {}, {}, d, client, clock));
  client.shutdown();
}

// The forms make_embedding_provider builds from, as parse_embedding_provider reads them (the
// pipeline-config route refuses everything else with the same message).
TEST(LlmChain, EmbeddingProviderForms) {
  auto hashed = parse_embedding_provider("hashed-bow:512");
  ASSERT_TRUE(hashed);
  EXPECT_EQ(hashed->provider, "hashed-bow");
  EXPECT_EQ(hashed->dimension, 512);
  EXPECT_EQ(parse_embedding_provider("")->dimension, 256);
  EXPECT_EQ(parse_embedding_provider("hashed-bow")->dimension, 256);
  auto ollama = parse_embedding_provider("ollama:hf.co/org/nomic-embed-text:Q4_K_M");
  ASSERT_TRUE(ollama);
  EXPECT_EQ(ollama->provider, "ollama");
  EXPECT_EQ(ollama->model, "hf.co/org/nomic-embed-text:Q4_K_M");
  EXPECT_EQ(parse_embedding_provider("bedrock:amazon.titan-embed-text-v2:0")->model, "amazon.titan-embed-text-v2:0");
  EXPECT_EQ(parse_embedding_provider("titan:amazon.titan-embed-text-v1")->provider, "titan");
  EXPECT_TRUE(parse_embedding_provider("openai:" + std::string(kMaxEmbeddingModel, 'm')));

  for (const std::string& bad :
       {std::string("openai:") + std::string(kMaxEmbeddingModel + 1, 'm'), std::string("hashed-bow:4097"),
        std::string("hashed-bow:-8"), std::string("hashed-bow:0x10"), std::string("ollama:-rf"),
        std::string("ollama:.hidden"), std::string("ollama:a//b"), std::string("ollama:a\tb"),
        std::string("ollama:\xc3\xa9"), std::string("word2vec:x"), std::string("ollama:https://evil.example/")}) {
    auto r = parse_embedding_provider(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(r.error().message.ends_with(std::string("; it must be ") + std::string(kEmbeddingProviderForms)))
        << r.error().message;
  }
  // A model is never where a request goes: the Bedrock path segment is percent-encoded.
  EXPECT_EQ(encode_model_id("a/../b:0"), "a%2F..%2Fb%3A0");
}

}  // namespace
}  // namespace earshot::llm
