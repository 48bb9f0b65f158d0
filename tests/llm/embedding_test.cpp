// Embedding providers: the offline default, and each HTTP adapter against its fake.
#include "earshot/llm/embedding.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <nlohmann/json.hpp>

#include "earshot/http/curl_http_client.hpp"
#include "fakes/llm/fake_llm.hpp"

namespace earshot::llm {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FailureKind;
using earshot::testing::FailurePlan;
using earshot::testing::FakeChatServer;
using nlohmann::json;

Result<std::vector<Embedding>> run(EmbeddingProvider& p, std::vector<std::string> texts) {
  std::promise<Result<std::vector<Embedding>>> done;
  p.embed(std::move(texts), [&](Result<std::vector<Embedding>> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

double dot(const Embedding& a, const Embedding& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

ChatEndpoint endpoint(const testing::FakeProviderServer& fake, std::string model) {
  ChatEndpoint ep;
  ep.base_url = fake.base_url();
  ep.model = std::move(model);
  ep.deadline = 20s;
  ep.retry.initial_backoff = 10ms;
  ep.retry.max_backoff = 50ms;
  return ep;
}

TEST(HashedBowTest, DeterministicNormalisedAndSimilarForSimilarTexts) {
  HashedBowEmbedder e(128);
  const auto a = e.embed_one("I want a refund for my order");
  const auto b = e.embed_one("i WANT a refund, for my order!");
  const auto c = e.embed_one("the weather in Pune is sunny");
  ASSERT_EQ(a.size(), 128U);
  EXPECT_NEAR(dot(a, a), 1.0, 1e-5);
  EXPECT_NEAR(dot(a, b), 1.0, 1e-5);  // case and punctuation do not matter
  EXPECT_LT(dot(a, c), 0.5);
  EXPECT_EQ(e.embed_one("I want a refund for my order"), a);
  const auto empty = e.embed_one("  ,, ");
  EXPECT_EQ(dot(empty, empty), 0.0);
  EXPECT_EQ(e.id(), "hashed-bow:128");
  auto r = run(e, {"one", "two", "three"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 3U);
}

TEST(ParseEmbeddingsTest, EveryShape) {
  auto two_d = parse_embeddings("x", R"({"embeddings": [[1, 2], [3, 4]]})", 2);
  ASSERT_TRUE(two_d);
  EXPECT_EQ((*two_d)[1], (Embedding{3, 4}));
  auto one = parse_embeddings("x", R"({"embedding": [0.5, 0.25]})", 1);
  ASSERT_TRUE(one);
  EXPECT_EQ((*one)[0], (Embedding{0.5, 0.25}));
  auto data = parse_embeddings("x", R"({"data": [{"index": 1, "embedding": [2]}, {"index": 0, "embedding": [1]}]})", 2);
  ASSERT_TRUE(data);
  EXPECT_EQ((*data)[0], (Embedding{1}));
  EXPECT_FALSE(parse_embeddings("x", R"({"embeddings": [[1]]})", 2));
  EXPECT_FALSE(
      parse_embeddings("x", R"({"data": [{"index": 0, "embedding": [1]}, {"index": 0, "embedding": [1]}]})", 2));
  EXPECT_FALSE(parse_embeddings("x", "not json", 1));
}

class EmbeddingHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(bedrock.start());
    ASSERT_TRUE(ollama.start());
    ASSERT_TRUE(openai.start());
  }
  testing::FakeBedrock bedrock;
  testing::FakeOllama ollama;
  testing::FakeOpenAiChat openai;
  http::CurlHttpClient client;
};

TEST_F(EmbeddingHttpTest, TitanOneSignedRequestPerText) {
  TitanConfig c;
  c.endpoint = endpoint(bedrock, "");
  c.credentials = bedrock.credentials();
  c.dimensions = 256;
  TitanEmbedder e(c, client, SystemClock::instance());
  auto r = run(e, {"first text", "second text"});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2U);
  EXPECT_EQ((*r)[0], FakeChatServer::embedding_of("first text", 256));
  EXPECT_EQ((*r)[1], FakeChatServer::embedding_of("second text", 256));
  EXPECT_EQ(bedrock.count("/model/amazon.titan-embed-text-v2:0/invoke"), 2);
  EXPECT_EQ(bedrock.bad_signatures(), 0);
  EXPECT_EQ(json::parse(bedrock.last_body())["normalize"], true);
}

TEST_F(EmbeddingHttpTest, TitanThrottlingRetried) {
  bedrock.fail_next(FailurePlan::of(1, FailureKind::kRateLimit).after_ms(10));
  TitanConfig c;
  c.endpoint = endpoint(bedrock, "");
  c.credentials = bedrock.credentials();
  TitanEmbedder e(c, client, SystemClock::instance());
  auto r = run(e, {"only"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)[0].size(), 1024U);
  EXPECT_EQ(bedrock.count("/model/"), 2);
}

TEST_F(EmbeddingHttpTest, OllamaEmbedTwoDimensional) {
  OllamaEmbedder e({endpoint(ollama, "nomic-embed-text"), false}, client, SystemClock::instance());
  auto r = run(e, {"a b", "c d", "e f"});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 3U);
  EXPECT_EQ((*r)[2], FakeChatServer::embedding_of("e f", 8));
  EXPECT_EQ(ollama.count("/api/embed"), 1);
  EXPECT_EQ(json::parse(ollama.last_body())["input"].size(), 3U);
}

TEST_F(EmbeddingHttpTest, OllamaLegacyEmbeddings) {
  OllamaEmbedder e({endpoint(ollama, "nomic-embed-text"), true}, client, SystemClock::instance());
  auto r = run(e, {"x", "y"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)[1], FakeChatServer::embedding_of("y", 8));
  EXPECT_EQ(ollama.count("/api/embeddings"), 2);
}

TEST_F(EmbeddingHttpTest, OpenAiPlacesVectorsByIndex) {
  OpenAiEmbedder e({endpoint(openai, "text-embedding-3-small"), "test-key"}, client, SystemClock::instance());
  auto r = run(e, {"first", "second"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)[0], FakeChatServer::embedding_of("first", 6));
  EXPECT_EQ((*r)[1], FakeChatServer::embedding_of("second", 6));
}

TEST_F(EmbeddingHttpTest, OpenAiAuthFailureNotRetried) {
  openai.fail_next(FailurePlan::of(1, FailureKind::kAuth));
  OpenAiEmbedder e({endpoint(openai, "text-embedding-3-small"), "test-key"}, client, SystemClock::instance());
  auto r = run(e, {"first"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(openai.count("/v1/embeddings"), 1);
}

}  // namespace
}  // namespace earshot::llm
