// JSON agents: schema subset, rendering and trimming, and the runner against the fakes.
#include "earshot/llm/agent.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <nlohmann/json.hpp>

#include "earshot/http/curl_http_client.hpp"
#include "earshot/llm/json_schema.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/llm/fake_llm.hpp"
#include "fakes/llm/result_cache.hpp"
#include "support/timing.hpp"

namespace earshot::llm {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FailureKind;
using earshot::testing::FailurePlan;
using nlohmann::json;

// --- schema subset ------------------------------------------------------------------------

std::string violation(const std::string& value, const std::string& schema) {
  auto s = validate_json(value, schema);
  return s ? "" : s.error().message;
}

TEST(JsonSchemaTest, Subset) {
  const std::string schema = R"({
    "type": "object",
    "properties": {
      "summary": {"type": "string", "minLength": 3, "maxLength": 20},
      "score": {"type": "integer", "minimum": 0, "maximum": 100},
      "outcome": {"enum": ["resolved", "unresolved"]},
      "tips": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
      "bant": {"type": "object", "properties": {"budget": {"type": ["string", "null"]}},
               "additionalProperties": false}
    },
    "required": ["summary", "score"],
    "additionalProperties": false})";
  EXPECT_EQ(violation(R"({"summary":"fine","score":5})", schema), "");
  EXPECT_EQ(violation(R"({"summary":"fine","score":5.0,"bant":{"budget":null}})", schema), "");
  EXPECT_EQ(violation(R"({"summary":"fine"})", schema), "$: missing required property \"score\"");
  EXPECT_EQ(violation(R"({"summary":1,"score":5})", schema), "$.summary: expected string, got integer");
  EXPECT_EQ(violation(R"({"summary":"ok","score":5})", schema), "$.summary: shorter than minLength 3");
  EXPECT_EQ(violation(R"({"summary":"this is far too long for it","score":5})", schema),
            "$.summary: longer than maxLength 20");
  EXPECT_EQ(violation(R"({"summary":"fine","score":101})", schema), "$.score: 101 is more than the maximum 100");
  EXPECT_EQ(violation(R"({"summary":"fine","score":-1})", schema), "$.score: -1 is less than the minimum 0");
  EXPECT_EQ(violation(R"({"summary":"fine","score":1.5})", schema), "$.score: expected integer, got number");
  EXPECT_EQ(violation(R"({"summary":"fine","score":1,"outcome":"maybe"})", schema),
            R"($.outcome: "maybe" is not one of ["resolved","unresolved"])");
  EXPECT_EQ(violation(R"({"summary":"fine","score":1,"tips":["a",2]})", schema),
            "$.tips[1]: expected string, got integer");
  EXPECT_EQ(violation(R"({"summary":"fine","score":1,"tips":["a","b","c"]})", schema), "$.tips: more than maxItems 2");
  EXPECT_EQ(violation(R"({"summary":"fine","score":1,"extra":true})", schema), "$: property \"extra\" is not allowed");
  EXPECT_EQ(violation(R"({"summary":"fine","score":1,"bant":{"budget":3}})", schema),
            "$.bant.budget: expected string or null, got integer");
  EXPECT_NE(violation("not json", schema).find("not valid JSON"), std::string::npos);
  EXPECT_EQ(violation("{}", "[]"), "schema: not a JSON object");
}

TEST(JsonSchemaTest, ExtractsJsonFromFencesAndProse) {
  EXPECT_EQ(extract_json_object("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
  EXPECT_EQ(extract_json_object("Here you go: {\"a\": {\"b\": 2}} hope it helps"), "{\"a\": {\"b\": 2}}");
  EXPECT_EQ(extract_json_object("[1,2]"), "[1,2]");
}

// --- rendering and trimming ---------------------------------------------------------------

std::vector<TranscriptLine> long_call(int n) {
  std::vector<TranscriptLine> lines;
  for (int i = 0; i < n; ++i) {
    lines.push_back({i % 2 == 0 ? "agent" : "customer", std::int64_t{i} * 10000, std::int64_t{i} * 10000 + 9000,
                     fmt::format("utterance number {} with a few more words in it", i)});
  }
  return lines;
}

TEST(AgentRenderTest, TranscriptTemplateAndTrimming) {
  EXPECT_EQ(render_transcript(
                {{"agent", 65'000, 70'000, "Hello"}, {"customer", 3'723'000, -1, "Hi"}, {"agent", -1, -1, "Bye"}}),
            "[01:05] agent: Hello\n[1:02:03] customer: Hi\nagent: Bye\n");
  EXPECT_EQ(render_template("T:{{transcript}} M:{{ metadata }} L:{{lead}} X:{{unknown}}",
                            {{"transcript", "t"}, {"metadata", "m"}, {"lead", "l"}}),
            "T:t M:m L:l X:{{unknown}}");
  const auto lines = long_call(100);
  const auto whole = trim_transcript(lines, 100'000);
  EXPECT_FALSE(whole.trimmed);
  const auto t = trim_transcript(lines, 300);
  EXPECT_TRUE(t.trimmed);
  EXPECT_LE(estimate_tokens(t.text), 300);
  EXPECT_GT(t.omitted, 50U);
  EXPECT_NE(t.text.find("utterance number 0 "), std::string::npos);   // head kept
  EXPECT_NE(t.text.find("utterance number 99 "), std::string::npos);  // tail kept
  EXPECT_EQ(t.text.find("utterance number 50 "), std::string::npos);  // middle dropped
  EXPECT_NE(t.text.find(fmt::format("[... {} segments from", t.omitted)), std::string::npos) << t.text;
}

TEST(AgentCacheTest, TtlExpiry) {
  testing::FakeClock clock;
  InMemoryResultCache cache(clock, 60s);
  cache.put("k", "v");
  EXPECT_EQ(cache.get("k"), "v");
  clock.advance(61s);
  EXPECT_EQ(cache.get("k"), std::nullopt);
}

// --- runner against the fakes -------------------------------------------------------------

ChatEndpoint endpoint(const testing::FakeProviderServer& fake, std::string model) {
  ChatEndpoint ep;
  ep.base_url = fake.base_url();
  ep.model = std::move(model);
  ep.deadline = 20s;
  ep.retry.max_attempts = 2;
  ep.retry.initial_backoff = 10ms;
  ep.retry.max_backoff = 20ms;
  return ep;
}

AgentConfig summary_agent() {
  AgentConfig a;
  a.name = "summary";
  a.prompt_version = "v1";
  a.system = "You are a QA analyst for a call centre.";
  a.prompt_template = "Call metadata: {{metadata}}\nMetrics: {{metrics}}\nLead: {{lead}}\nTranscript:\n{{transcript}}";
  a.output_schema = R"({"type":"object","properties":{"summary":{"type":"string","minLength":1},
    "outcome":{"enum":["resolved","unresolved"]}},"required":["summary","outcome"],"additionalProperties":false})";
  return a;
}

AgentInput call_input() {
  AgentInput in;
  in.transcript = {{"agent", 0, 3'000, "Thank you for calling Acme."}, {"customer", 3'500, 8'000, "I want a refund."}};
  in.metadata = R"({"direction":"inbound"})";
  in.metrics = R"({"talk_ratio":0.4})";
  in.lead = R"({"FirstName":"Asha"})";
  return in;
}

class AgentRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ollama.start());
    ASSERT_TRUE(openai.start());
    ASSERT_TRUE(bedrock.start());
    // After start(): the fakes' ports are known only then.
    ollama_p = std::make_unique<OllamaChatProvider>(OllamaConfig{endpoint(ollama, "llama3.1:8b"), 0}, client,
                                                    SystemClock::instance());
    openai_p = std::make_unique<OpenAiChatProvider>(OpenAiConfig{endpoint(openai, "gpt-4o-mini"), "test-key"}, client,
                                                    SystemClock::instance());
  }
  AgentResult run(JsonAgentRunner& runner, const AgentConfig& a = summary_agent(),
                  const AgentInput& in = call_input()) {
    std::promise<AgentResult> done;
    runner.run(a, in, [&](AgentResult r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  testing::FakeOllama ollama;
  testing::FakeOpenAiChat openai;
  testing::FakeBedrock bedrock;
  http::CurlHttpClient client;  // declared after the fakes: destroyed first, closing its connections
  std::unique_ptr<OllamaChatProvider> ollama_p;
  std::unique_ptr<OpenAiChatProvider> openai_p;
  InMemoryResultCache cache{SystemClock::instance(), 3600s};
};

TEST_F(AgentRunnerTest, ValidJsonFirstTime) {
  JsonAgentRunner runner({ollama_p.get()}, &cache, SystemClock::instance());
  const auto r = run(runner);
  ASSERT_TRUE(r.ok) << r.failure_reason;
  EXPECT_EQ(json::parse(r.output)["outcome"], "resolved");
  EXPECT_EQ(r.provider, "ollama:llama3.1:8b");
  EXPECT_EQ(r.provider_calls, 1);
  EXPECT_FALSE(r.repaired);
  EXPECT_EQ(r.input_tokens, 100);
  const auto sent = json::parse(ollama.last_body());
  const std::string user = sent["messages"][1]["content"];
  EXPECT_NE(user.find("[00:03] customer: I want a refund."), std::string::npos) << user;
  EXPECT_NE(user.find(R"(Lead: {"FirstName":"Asha"})"), std::string::npos);
  EXPECT_NE(user.find(R"(Metrics: {"talk_ratio":0.4})"), std::string::npos);
  EXPECT_EQ(sent["format"]["required"][1], "outcome");
}

TEST_F(AgentRunnerTest, InvalidThenRepaired) {
  ollama.set_invalid_output_next(1);
  JsonAgentRunner runner({ollama_p.get()}, &cache, SystemClock::instance());
  const auto r = run(runner);
  ASSERT_TRUE(r.ok) << r.failure_reason;
  EXPECT_TRUE(r.repaired);
  EXPECT_EQ(r.provider_calls, 2);
  EXPECT_EQ(ollama.chat_count(), 2);
  // The repair request carries the bad answer and quotes the validation error.
  const auto sent = json::parse(ollama.last_body());
  const auto& msgs = sent["messages"];
  ASSERT_EQ(msgs.size(), 4U);
  EXPECT_EQ(msgs[2]["role"], "assistant");
  EXPECT_NE(msgs[3]["content"].get<std::string>().find("not valid JSON"), std::string::npos);
}

TEST_F(AgentRunnerTest, SchemaViolationQuotedInRepair) {
  ollama.set_invalid_output(R"({"summary":"x","outcome":"maybe"})");
  ollama.set_invalid_output_next(1);
  JsonAgentRunner runner({ollama_p.get()}, nullptr, SystemClock::instance());
  const auto r = run(runner);
  ASSERT_TRUE(r.ok) << r.failure_reason;
  const auto sent = json::parse(ollama.last_body());
  EXPECT_NE(sent["messages"][3]["content"].get<std::string>().find(R"($.outcome: "maybe" is not one of)"),
            std::string::npos);
}

TEST_F(AgentRunnerTest, InvalidTwiceFailsTheAgentWithTheReason) {
  ollama.set_invalid_output_always(true);
  JsonAgentRunner runner({ollama_p.get()}, &cache, SystemClock::instance());
  const auto r = run(runner);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.failure_reason.find("output failed schema validation after one repair: not valid JSON"),
            std::string::npos)
      << r.failure_reason;
  EXPECT_EQ(ollama.chat_count(), 2);
  EXPECT_EQ(cache.size(), 0U);  // failures are not cached
}

TEST_F(AgentRunnerTest, ThrottlingRetried) {
  openai.fail_next(FailurePlan::of(1, FailureKind::kRateLimit).after_ms(20));
  JsonAgentRunner runner({openai_p.get()}, &cache, SystemClock::instance());
  const auto r = run(runner);
  ASSERT_TRUE(r.ok) << r.failure_reason;
  EXPECT_EQ(openai.count("/v1/chat/completions"), 2);
  EXPECT_EQ(r.provider_calls, 1);  // the retry is the adapter's, not a second agent call
}

TEST_F(AgentRunnerTest, CacheHitMakesNoProviderCall) {
  JsonAgentRunner runner({ollama_p.get()}, &cache, SystemClock::instance());
  ASSERT_TRUE(run(runner).ok);
  EXPECT_EQ(ollama.chat_count(), 1);
  const auto again = run(runner);
  ASSERT_TRUE(again.ok);
  EXPECT_TRUE(again.cache_hit);
  EXPECT_EQ(again.provider_calls, 0);
  EXPECT_EQ(ollama.chat_count(), 1);
  // A new prompt version is a different key.
  auto v2 = summary_agent();
  v2.prompt_version = "v2";
  EXPECT_NE(runner.cache_key(v2, call_input()), runner.cache_key(summary_agent(), call_input()));
  EXPECT_FALSE(run(runner, v2).cache_hit);
  EXPECT_EQ(ollama.chat_count(), 2);
}

TEST_F(AgentRunnerTest, FallsBackToTheNextProviderWhenRetriesAreExhausted) {
  ollama.fail_next(FailurePlan::of(10, FailureKind::kServerError));
  JsonAgentRunner runner({ollama_p.get(), openai_p.get()}, &cache, SystemClock::instance());
  const auto r = run(runner);
  ASSERT_TRUE(r.ok) << r.failure_reason;
  EXPECT_EQ(r.provider, "openai:gpt-4o-mini");
  EXPECT_EQ(ollama.count("/api/chat"), 2);  // max_attempts
  EXPECT_EQ(openai.count("/v1/chat/completions"), 1);
}

TEST_F(AgentRunnerTest, NoFallbackOnAuthFailure) {
  ollama.fail_next(FailurePlan::of(1, FailureKind::kAuth));
  JsonAgentRunner runner({ollama_p.get(), openai_p.get()}, &cache, SystemClock::instance());
  const auto r = run(runner);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure_code, ErrorCode::kUnauthenticated);
  EXPECT_NE(r.failure_reason.find("ollama:llama3.1:8b"), std::string::npos);
  EXPECT_EQ(openai.count("/v1/"), 0);
}

TEST_F(AgentRunnerTest, LongTranscriptIsTrimmedToTheBudget) {
  auto a = summary_agent();
  a.transcript_token_budget = 200;
  AgentInput in = call_input();
  in.transcript = long_call(200);
  JsonAgentRunner runner({ollama_p.get()}, nullptr, SystemClock::instance());
  const auto r = run(runner, a, in);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.transcript_trimmed);
  const std::string user = json::parse(ollama.last_body())["messages"][1]["content"];
  EXPECT_NE(user.find("omitted to fit the token budget"), std::string::npos);
}

TEST_F(AgentRunnerTest, BedrockThroughTheRunnerIsSignedAndValidated) {
  BedrockConfig c;
  c.endpoint = endpoint(bedrock, "anthropic.claude-3-haiku-20240307-v1:0");
  c.credentials = bedrock.credentials();
  BedrockChatProvider provider(c, client, SystemClock::instance());
  bedrock.set_reply("```json\n{\"summary\":\"Refund requested.\",\"outcome\":\"unresolved\"}\n```");
  JsonAgentRunner runner({&provider}, nullptr, SystemClock::instance());
  const auto r = run(runner);
  ASSERT_TRUE(r.ok) << r.failure_reason;
  EXPECT_EQ(json::parse(r.output)["outcome"], "unresolved");
  EXPECT_EQ(bedrock.bad_signatures(), 0);
}

TEST_F(AgentRunnerTest, ASlowProviderTimesOutAndTheNextAnswers) {
  ollama.set_latency(2s);
  ChatEndpoint ep = endpoint(ollama, "llama3.1:8b");
  ep.request_timeout = 100ms;
  ep.retry.max_attempts = 1;
  OllamaChatProvider slow({ep, 0}, client, SystemClock::instance());
  JsonAgentRunner runner({&slow, openai_p.get()}, nullptr, SystemClock::instance());
  const auto r = run(runner);
  ASSERT_TRUE(r.ok) << r.failure_reason;
  EXPECT_EQ(r.provider, "openai:gpt-4o-mini");
}

TEST_F(AgentRunnerTest, ManyAgentsInFlightAtOnce) {
  openai.set_latency(200ms);
  JsonAgentRunner runner({openai_p.get()}, nullptr, SystemClock::instance());
  constexpr int kAgents = 40;
  std::vector<std::promise<AgentResult>> done(kAgents);
  for (int i = 0; i < kAgents; ++i) {
    AgentInput in = call_input();
    in.metadata = fmt::format(R"({{"call":{}}})", i);
    runner.run(summary_agent(), in,
               [&done, i](AgentResult r) { done[static_cast<std::size_t>(i)].set_value(std::move(r)); });
  }
  const auto started = std::chrono::steady_clock::now();
  for (auto& d : done) EXPECT_TRUE(d.get_future().get().ok);
  // Concurrent, not 40 x 200 ms.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s * earshot::testing::kTimingSlack);
  EXPECT_GE(openai.max_concurrent(), 10);
}

}  // namespace
}  // namespace earshot::llm
