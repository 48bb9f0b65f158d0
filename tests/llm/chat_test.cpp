// Chat adapters against loopback fakes speaking each provider's wire format.
#include "earshot/llm/chat.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <initializer_list>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "earshot/http/curl_http_client.hpp"
#include "fakes/llm/fake_llm.hpp"
#include "support/test_env.hpp"

namespace earshot::llm {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FailureKind;
using earshot::testing::FailurePlan;
using nlohmann::json;

ChatEndpoint endpoint(const testing::FakeProviderServer& fake, std::string model) {
  ChatEndpoint ep;
  ep.base_url = fake.base_url();
  ep.model = std::move(model);
  ep.request_timeout = 5s;
  ep.deadline = 20s;
  ep.retry.initial_backoff = 10ms;
  ep.retry.max_backoff = 50ms;
  return ep;
}

ChatRequest summary_request() {
  ChatRequest r;
  r.system = "You summarise calls.";
  r.messages = {{"user", "agent: hello\ncustomer: I want a refund"}};
  r.json_schema = R"({"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"]})";
  r.max_tokens = 300;
  return r;
}

Result<ChatResponse> run(ChatProvider& p, ChatRequest r) {
  std::promise<Result<ChatResponse>> done;
  p.complete(std::move(r), [&](Result<ChatResponse> x) { done.set_value(std::move(x)); });
  return done.get_future().get();
}

class ChatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(bedrock.start());
    ASSERT_TRUE(ollama.start());
    ASSERT_TRUE(openai.start());
  }
  BedrockChatProvider bedrock_provider(http::AwsCredentials creds) {
    BedrockConfig c;
    c.endpoint = endpoint(bedrock, "anthropic.claude-3-haiku-20240307-v1:0");
    c.region = bedrock.region();
    c.credentials = std::move(creds);
    return BedrockChatProvider(std::move(c), client, SystemClock::instance());
  }
  OllamaChatProvider ollama_provider() {
    return OllamaChatProvider({endpoint(ollama, "llama3.1:8b"), 8192}, client, SystemClock::instance());
  }
  OpenAiChatProvider openai_provider(std::string key = "test-key") {
    return OpenAiChatProvider({endpoint(openai, "gpt-4o-mini"), std::move(key)}, client, SystemClock::instance());
  }

  testing::FakeBedrock bedrock;
  testing::FakeOllama ollama;
  testing::FakeOpenAiChat openai;
  http::CurlHttpClient client;
};

TEST_F(ChatTest, BedrockConverseSignedAndParsed) {
  auto p = bedrock_provider(bedrock.credentials());
  auto r = run(p, summary_request());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(json::parse(r->text)["outcome"], "resolved");
  EXPECT_EQ(r->input_tokens, 120);
  EXPECT_EQ(r->output_tokens, 30);
  EXPECT_EQ(r->stop_reason, "end_turn");
  EXPECT_EQ(r->model, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(bedrock.last_model(), "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(bedrock.bad_signatures(), 0);
  const auto sent = json::parse(bedrock.last_body());
  EXPECT_EQ(sent["messages"][0]["role"], "user");
  EXPECT_EQ(sent["messages"][0]["content"][0]["text"], "agent: hello\ncustomer: I want a refund");
  EXPECT_EQ(sent["inferenceConfig"]["maxTokens"], 300);
  // Converse has no schema parameter: the schema is stated in the system prompt.
  const std::string system = sent["system"][0]["text"];
  EXPECT_NE(system.find("You summarise calls."), std::string::npos);
  EXPECT_NE(system.find(R"("required":["summary"])"), std::string::npos);
}

TEST_F(ChatTest, BedrockSessionTokenIsSigned) {
  auto creds = bedrock.credentials();
  creds.session_token = "FwoGZXIvYXdzEXAMPLE";
  auto p = bedrock_provider(creds);
  auto r = run(p, summary_request());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(bedrock.bad_signatures(), 0);
}

TEST_F(ChatTest, BedrockWrongSecretIsAnAuthFailureNotRetried) {
  auto creds = bedrock.credentials();
  creds.secret_access_key = "wrong";
  auto p = bedrock_provider(creds);
  auto r = run(p, summary_request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(r.error().message.find("InvalidSignatureException"), std::string::npos);
  EXPECT_EQ(bedrock.bad_signatures(), 1);
  EXPECT_EQ(r.error().message.find("wrong"), std::string::npos);  // no secret in messages
}

TEST_F(ChatTest, BedrockThrottlingIsRetriedWithRetryAfter) {
  bedrock.fail_next(FailurePlan::of(2, FailureKind::kRateLimit).after_ms(30));
  auto p = bedrock_provider(bedrock.credentials());
  auto r = run(p, summary_request());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(bedrock.count("/model/"), 3);
  const auto reqs = bedrock.requests();
  EXPECT_GE(reqs[1].at - reqs[0].at, 25ms);
}

TEST_F(ChatTest, BedrockValidationIsNotRetried) {
  bedrock.fail_next(FailurePlan::of(1, FailureKind::kInvalidInput));
  auto p = bedrock_provider(bedrock.credentials());
  auto r = run(p, summary_request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("ValidationException"), std::string::npos);
  EXPECT_EQ(bedrock.count("/model/"), 1);
}

TEST_F(ChatTest, BedrockErrorTypeHeaderIsCutAtTheColon) {
  http::HttpResponse resp;
  resp.status = 429;
  resp.headers["x-amzn-errortype"] = "ModelNotReadyException:http://internal.amazon.com/coral/";
  resp.body = R"({"message":"Model is not ready"})";
  const auto e = bedrock_error(resp);
  EXPECT_EQ(e.code, ErrorCode::kRateLimited);
  EXPECT_NE(e.message.find("ModelNotReadyException: Model is not ready"), std::string::npos) << e.message;
  resp.status = 408;
  resp.headers["x-amzn-errortype"] = "ModelTimeoutException";
  EXPECT_EQ(bedrock_error(resp).code, ErrorCode::kTimeout);
  resp.status = 403;
  resp.headers["x-amzn-errortype"] = "AccessDeniedException";
  EXPECT_EQ(bedrock_error(resp).code, ErrorCode::kPermissionDenied);
}

TEST_F(ChatTest, OllamaChatSendsSchemaAsFormatAndNoStreaming) {
  auto p = ollama_provider();
  auto r = run(p, summary_request());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(json::parse(r->text)["summary"], "The customer asked for a refund.");
  EXPECT_EQ(r->input_tokens, 100);
  EXPECT_EQ(r->output_tokens, 25);
  const auto sent = json::parse(ollama.last_body());
  EXPECT_EQ(sent["stream"], false);
  EXPECT_EQ(sent["format"]["required"][0], "summary");
  EXPECT_EQ(sent["messages"][0]["role"], "system");
  EXPECT_EQ(sent["messages"][1]["role"], "user");
  EXPECT_EQ(sent["options"]["num_ctx"], 8192);
}

TEST_F(ChatTest, OllamaMidStreamErrorIsAFailure) {
  ollama.set_stream_error(true);
  auto p = ollama_provider();
  auto r = run(p, summary_request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("error was encountered"), std::string::npos);
}

TEST_F(ChatTest, OllamaModelNotFoundIsNotRetried) {
  ollama.fail_next(FailurePlan::of(1, FailureKind::kInvalidInput));
  auto p = ollama_provider();
  auto r = run(p, summary_request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("model 'nope' not found"), std::string::npos);
  EXPECT_EQ(ollama.count("/api/chat"), 1);
}

TEST_F(ChatTest, OllamaServerErrorIsRetried) {
  ollama.fail_next(FailurePlan::of(1, FailureKind::kServerError));
  auto p = ollama_provider();
  auto r = run(p, summary_request());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(ollama.count("/api/chat"), 2);
}

TEST_F(ChatTest, OpenAiSendsResponseFormatJsonSchema) {
  auto p = openai_provider();
  auto r = run(p, summary_request());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->input_tokens, 90);
  EXPECT_EQ(r->stop_reason, "stop");
  const auto sent = json::parse(openai.last_body());
  EXPECT_EQ(sent["response_format"]["type"], "json_schema");
  EXPECT_EQ(sent["response_format"]["json_schema"]["strict"], true);
  EXPECT_EQ(sent["response_format"]["json_schema"]["schema"]["required"][0], "summary");
  EXPECT_EQ(sent["max_tokens"], 300);
}

TEST_F(ChatTest, OpenAiQuotaIsNotRetriedButRateLimitIs) {
  openai.fail_next(FailurePlan::of(1, FailureKind::kQuota));
  auto p = openai_provider();
  auto r = run(p, summary_request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(openai.count("/v1/"), 1);
  openai.fail_next(FailurePlan::of(1, FailureKind::kRateLimit).after_ms(10));
  ASSERT_TRUE(run(p, summary_request()));
  EXPECT_EQ(openai.count("/v1/"), 3);
}

TEST_F(ChatTest, OpenAiBadKeyIsUnauthenticated) {
  auto p = openai_provider("nope");
  auto r = run(p, summary_request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().message.find("nope"), std::string::npos);
}

TEST_F(ChatTest, OpenAiFlatErrorShape) {
  http::HttpResponse resp;
  resp.status = 400;
  resp.body = R"({"object":"error","message":"max_tokens too large","code":400})";
  const auto e = openai_error("vllm", resp);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(e.message.find("max_tokens too large"), std::string::npos);
}

// ---- streaming ----------------------------------------------------------------------------

struct Streamed {
  std::vector<std::string> pieces;  // in the order on_token saw them
  Result<ChatResponse> result = std::unexpected(Error(ErrorCode::kInternal, "not done"));
  int pieces_after_done = 0;  // on_token calls after done: must stay 0
  [[nodiscard]] std::string joined() const {
    std::string s;
    for (const auto& p : pieces) s += p;
    return s;
  }
};

Streamed run_stream(ChatProvider& p, ChatRequest r) {
  auto out = std::make_shared<Streamed>();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  std::promise<void> done;
  p.stream(
      std::move(r),
      [out, finished](std::string_view piece) {
        if (finished->load()) ++out->pieces_after_done;
        out->pieces.emplace_back(piece);
      },
      [&, out, finished](Result<ChatResponse> x) {
        out->result = std::move(x);
        finished->store(true);
        done.set_value();
      });
  done.get_future().get();
  return *out;
}

ChatRequest question() {
  ChatRequest r;
  r.system = "Answer from the sources.";
  r.messages = {{"user", "Why did the customer call?"}};
  r.max_tokens = 200;
  return r;
}

constexpr const char* kAnswer = "The customer asked for a refund [1] and was told to wait  five days [2].";

TEST_F(ChatTest, OllamaStreamsPiecesInOrderThatConcatenateToTheText) {
  ollama.set_reply(kAnswer);
  ollama.set_stream_delay(30ms);
  auto p = ollama_provider();
  const auto s = run_stream(p, question());
  ASSERT_TRUE(s.result) << s.result.error().to_string();
  EXPECT_EQ(s.pieces, testing::FakeChatServer::pieces_of(kAnswer));
  EXPECT_GT(s.pieces.size(), 10U);
  EXPECT_EQ(s.joined(), kAnswer);
  EXPECT_EQ(s.result->text, kAnswer);
  EXPECT_EQ(s.pieces_after_done, 0);
  EXPECT_EQ(s.result->input_tokens, 100);
  EXPECT_EQ(s.result->output_tokens, 25);
  EXPECT_EQ(s.result->stop_reason, "stop");
  EXPECT_EQ(s.result->model, "llama3.1:8b");
  // The fake pauses 30 ms before each of its 15 pieces but the first: the first was passed on
  // as it arrived, not with the rest at the end.
  EXPECT_GE(s.result->latency - s.result->first_token_latency, 300ms)
      << s.result->first_token_latency.count() << " / " << s.result->latency.count();
  EXPECT_EQ(json::parse(ollama.last_body())["stream"], true);
  EXPECT_EQ(ollama.streamed_count(), 1);
}

TEST_F(ChatTest, OpenAiStreamsServerSentEventsWithUsage) {
  openai.set_reply(kAnswer);
  openai.set_stream_delay(30ms);
  auto p = openai_provider();
  const auto s = run_stream(p, question());
  ASSERT_TRUE(s.result) << s.result.error().to_string();
  EXPECT_EQ(s.pieces, testing::FakeChatServer::pieces_of(kAnswer));
  EXPECT_EQ(s.result->text, kAnswer);
  EXPECT_EQ(s.pieces_after_done, 0);
  EXPECT_EQ(s.result->input_tokens, 90);
  EXPECT_EQ(s.result->output_tokens, 20);
  EXPECT_EQ(s.result->stop_reason, "stop");
  EXPECT_EQ(s.result->model, "gpt-4o-mini");
  EXPECT_GE(s.result->latency - s.result->first_token_latency, 300ms)
      << s.result->first_token_latency.count() << " / " << s.result->latency.count();
  const auto sent = json::parse(openai.last_body());
  EXPECT_EQ(sent["stream"], true);
  EXPECT_EQ(sent["stream_options"]["include_usage"], true);
  EXPECT_EQ(openai.streamed_count(), 1);
}

TEST_F(ChatTest, StreamCutBeforeTheFirstPieceIsRetried) {
  ollama.set_reply(kAnswer);
  openai.set_reply(kAnswer);
  ollama.cut_next_streams(1, 0);
  openai.cut_next_streams(1, 0);
  auto o = ollama_provider();
  auto a = openai_provider();
  for (auto* p : std::initializer_list<ChatProvider*>{&o, &a}) {
    const auto s = run_stream(*p, question());
    ASSERT_TRUE(s.result) << p->id() << ": " << s.result.error().to_string();
    EXPECT_EQ(s.joined(), kAnswer) << p->id();  // nothing passed on twice
    EXPECT_EQ(s.result->text, kAnswer) << p->id();
  }
  EXPECT_EQ(ollama.streamed_count(), 2);
  EXPECT_EQ(openai.streamed_count(), 2);
}

TEST_F(ChatTest, StreamCutAfterTheFirstPieceEndsWithTheErrorAndIsNotRetried) {
  ollama.set_reply(kAnswer);
  openai.set_reply(kAnswer);
  ollama.cut_next_streams(1, 2);
  openai.cut_next_streams(1, 2);
  auto o = ollama_provider();
  auto a = openai_provider();
  auto first_two = testing::FakeChatServer::pieces_of(kAnswer);
  first_two.resize(2);
  for (auto* p : std::initializer_list<ChatProvider*>{&o, &a}) {
    const auto s = run_stream(*p, question());
    ASSERT_FALSE(s.result) << p->id();
    EXPECT_EQ(s.result.error().code, ErrorCode::kUnavailable) << s.result.error().to_string();
    EXPECT_NE(s.result.error().message.find("partial answer passed on"), std::string::npos)
        << s.result.error().to_string();
    EXPECT_EQ(s.pieces, first_two) << p->id();
    EXPECT_EQ(s.pieces_after_done, 0);
  }
  EXPECT_EQ(ollama.streamed_count(), 1);
  EXPECT_EQ(openai.streamed_count(), 1);
}

TEST_F(ChatTest, CancellingAStreamAbortsTheProvidersRequestAndRetriesNothing) {
  // 60 words 100 ms apart: six seconds to the end.
  std::string long_answer;
  for (int i = 0; i < 60; ++i) long_answer += (i == 0 ? "" : " ") + std::string("word");
  ollama.set_reply(long_answer);
  openai.set_reply(long_answer);
  ollama.set_stream_delay(100ms);
  openai.set_stream_delay(100ms);
  auto o = ollama_provider();
  auto a = openai_provider();
  for (auto* p : std::initializer_list<ChatProvider*>{&o, &a}) {
    auto& fake =
        p == &o ? static_cast<testing::FakeChatServer&>(ollama) : static_cast<testing::FakeChatServer&>(openai);
    auto req = question();
    req.cancel = std::make_shared<http::CancelSignal>();
    auto cancel = req.cancel;
    auto pieces = std::make_shared<std::atomic<int>>(0);
    std::promise<Result<ChatResponse>> done;
    p->stream(
        std::move(req),
        [pieces, cancel](std::string_view) {
          if (++*pieces == 2) cancel->cancel();  // on the loop thread, as a client going away may
        },
        [&](Result<ChatResponse> r) { done.set_value(std::move(r)); });
    auto fut = done.get_future();
    ASSERT_EQ(fut.wait_for(3s), std::future_status::ready) << p->id();  // well before the six seconds
    auto r = fut.get();
    ASSERT_FALSE(r) << p->id();
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
    EXPECT_NE(r.error().message.find("cancelled"), std::string::npos) << r.error().to_string();
    EXPECT_EQ(pieces->load(), 2) << p->id();
    // The provider sees its client go: its next write fails, long before its last word.
    EXPECT_TRUE(testing::wait_until([&] { return fake.abandoned_streams() == 1; }, 3s, 10ms)) << p->id();
    EXPECT_EQ(fake.streamed_count(), 1) << p->id();  // not retried
  }
}

TEST_F(ChatTest, StreamRateLimitedBeforeItStartsWaitsForRetryAfter) {
  openai.set_reply(kAnswer);
  openai.fail_next(FailurePlan::of(1, FailureKind::kRateLimit).after_ms(150));
  auto p = openai_provider();
  const auto s = run_stream(p, question());
  ASSERT_TRUE(s.result) << s.result.error().to_string();
  EXPECT_EQ(s.result->text, kAnswer);
  const auto reqs = openai.requests();
  ASSERT_EQ(reqs.size(), 2U);
  EXPECT_GE(reqs[1].at - reqs[0].at, 140ms);
  EXPECT_EQ(openai.streamed_count(), 1);  // the 429 was answered before any stream
}

TEST_F(ChatTest, StreamErrorsBeforeTheFirstPieceAreAsInComplete) {
  auto bad_key = openai_provider("nope");
  auto s = run_stream(bad_key, question());
  ASSERT_FALSE(s.result);
  EXPECT_EQ(s.result.error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(s.pieces.empty());
  EXPECT_EQ(openai.count("/v1/"), 1);

  ollama.fail_next(FailurePlan::of(1, FailureKind::kInvalidInput));
  auto o = ollama_provider();
  s = run_stream(o, question());
  ASSERT_FALSE(s.result);
  EXPECT_EQ(s.result.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(s.pieces.empty());
  EXPECT_EQ(ollama.count("/api/chat"), 1);

  ollama.fail_next(FailurePlan::of(2, FailureKind::kServerError));
  ollama.set_reply(kAnswer);
  s = run_stream(o, question());
  ASSERT_TRUE(s.result) << s.result.error().to_string();
  EXPECT_EQ(s.joined(), kAnswer);
  EXPECT_EQ(ollama.count("/api/chat"), 1 + 3);
}

TEST_F(ChatTest, ErrorInsideTheStreamEndsIt) {
  ollama.set_stream_error(true);
  openai.set_stream_error(true);
  openai.set_reply(kAnswer);
  auto o = ollama_provider();
  auto a = openai_provider();
  auto s = run_stream(o, question());
  ASSERT_FALSE(s.result);
  EXPECT_EQ(s.result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s.result.error().message.find("error was encountered"), std::string::npos);
  EXPECT_EQ(s.pieces, std::vector<std::string>{"{"});
  s = run_stream(a, question());
  ASSERT_FALSE(s.result);
  EXPECT_EQ(s.result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s.result.error().message.find("error in the stream"), std::string::npos) << s.result.error().message;
  EXPECT_EQ(s.pieces, std::vector<std::string>{"The"});
  EXPECT_EQ(ollama.count("/api/chat"), 1);
  EXPECT_EQ(openai.count("/v1/"), 1);
}

TEST_F(ChatTest, BedrockStreamsTheWholeAnswerAsOnePiece) {
  bedrock.set_reply(kAnswer);
  auto p = bedrock_provider(bedrock.credentials());
  const auto s = run_stream(p, question());
  ASSERT_TRUE(s.result) << s.result.error().to_string();
  EXPECT_EQ(s.pieces, std::vector<std::string>{kAnswer});
  EXPECT_EQ(s.result->text, kAnswer);
  EXPECT_EQ(s.result->first_token_latency, s.result->latency);
}

// A Bedrock model id travels as one path segment: ':' (and any reserved byte) percent-encoded.
// Answers every request with one canned response on the calling thread: what the provider
// makes of a body, without a server.
class CannedClient final : public http::HttpClient {
 public:
  explicit CannedClient(std::string body) : body_(std::move(body)) {}
  void send(http::HttpRequest request, http::ResponseCallback done) override {
    if (request.on_body) request.on_body(200, body_);
    http::HttpResponse r;
    r.status = 200;
    r.body = body_;
    done(std::move(r));
  }
  void post_after(std::chrono::milliseconds /*delay*/, std::function<void()> fn) override { fn(); }
  [[nodiscard]] bool shutting_down() const override { return false; }

 private:
  std::string body_;
};

ChatEndpoint canned_endpoint() {
  ChatEndpoint ep;
  ep.base_url = "http://llm.test";
  ep.model = "m";
  return ep;
}

ChatRequest hello() {
  ChatRequest r;
  r.messages = {{"user", "hello"}};
  return r;
}

TEST(ChatUsage, TokenCountsBeyondIntAreClampedAndNegativeOnesAreZero) {
  // Found by fuzzing (tests/fuzz/llm_response.cpp): get<int>() of a usage count out of int's
  // range wrapped (an integer) or was undefined (a float).
  CannedClient ollama_client(R"({"model":"m","message":{"role":"assistant","content":"hi"},"done":true,)"
                             R"("prompt_eval_count":1e300,"eval_count":99999999999})");
  OllamaChatProvider ollama({canned_endpoint(), 0}, ollama_client, SystemClock::instance());
  auto r = run(ollama, hello());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->input_tokens, std::numeric_limits<int>::max());
  EXPECT_EQ(r->output_tokens, std::numeric_limits<int>::max());

  CannedClient openai_client(R"({"model":"m","choices":[{"message":{"role":"assistant","content":"hi"},)"
                             R"("finish_reason":"stop"}],"usage":{"prompt_tokens":-5,"completion_tokens":3.7}})");
  OpenAiChatProvider openai({canned_endpoint(), "k"}, openai_client, SystemClock::instance());
  r = run(openai, hello());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->input_tokens, 0);
  EXPECT_EQ(r->output_tokens, 3);
}

TEST(ChatOllama, ANonBooleanDoneInAStreamedAnswerReadWholeIsNotTheEnd) {
  // Found by fuzzing (tests/fuzz/llm_response.cpp): json::value("done", false) threw
  // type_error out of the HTTP callback.
  CannedClient client(
      "{\"message\":{\"content\":\"a\"},\"done\":\"yes\",\"eval_count\":9}\n"
      "{\"message\":{\"content\":\"b\"},\"done\":true,\"eval_count\":2}\n");
  OllamaChatProvider p({canned_endpoint(), 0}, client, SystemClock::instance());
  auto r = run(p, hello());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->text, "ab");
  EXPECT_EQ(r->output_tokens, 2);
}

TEST(BedrockModelId, IsPercentEncodedAsOnePathSegment) {
  EXPECT_EQ(encode_model_id("amazon.titan-embed-text-v2:0"), "amazon.titan-embed-text-v2%3A0");
  EXPECT_EQ(encode_model_id("a/b c"), "a%2Fb%20c");
}

}  // namespace
}  // namespace earshot::llm
