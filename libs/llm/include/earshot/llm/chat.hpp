#pragma once
// Chat (LLM) providers: one asynchronous interface, one adapter per wire format
// (providers.md): Bedrock Converse (SigV4), Ollama /api/chat, OpenAI-compatible
// /v1/chat/completions.
//
// Every adapter retries retryable failures (transport errors, timeouts, 429 throttling, 5xx)
// with exponential backoff and jitter, honouring retry-after-ms / Retry-After, within the
// request's overall deadline; auth (kUnauthenticated / kPermissionDenied), quota
// (kFailedPrecondition) and input errors (kInvalidArgument, kNotFound) fail at once with the
// provider's reason. API keys, signatures and auth headers never appear in error messages.
//
// Streaming (stream()): the answer's text is passed on piece by piece as the provider sends
// it (Ollama NDJSON, OpenAI server-sent events). Retries are as in complete() but only until
// the first piece has been passed on; after that a failure (connection lost, timeout, an
// error inside the stream) ends the stream with that error and is never retried, so no text
// is ever passed on twice. Bedrock does not stream yet (ConverseStream's binary event-stream
// framing is not implemented): it keeps the default, the whole text as one piece at the end.
//
// Cancelling (ChatRequest::cancel): the HTTP adapters abort the request in flight (its
// connection is closed, so the provider stops generating) and retry no more.
//
// Thread safety: complete() and stream() may be called from any thread, concurrently; the
// callbacks run on the HTTP client's loop thread and must be short. A provider (and the
// client and clock it was given) must outlive every request it has in flight.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/http/retry.hpp"
#include "earshot/http/sigv4.hpp"

namespace earshot::llm {

struct ChatMessage {
  std::string role;  // "user" | "assistant"
  std::string content;
};

struct ChatRequest {
  std::string system;
  std::vector<ChatMessage> messages;
  // JSON Schema (JSON text) the answer must follow; empty: free text.
  std::string json_schema;
  int max_tokens = 1024;
  double temperature = 0.0;
  // When set: firing it aborts the provider's request in flight and starts no other; `done`
  // then gets kUnavailable "cancelled" (after whatever pieces had arrived).
  std::shared_ptr<http::CancelSignal> cancel;
  // When set: told the outcome of every attempt (HTTP status or transport error, and the
  // failure's reason), instead of the endpoint's on_request. Lets the caller whose request
  // this is (a business) see its failures on a provider shared with others.
  http::RequestObserver on_request;
};

struct ChatResponse {
  std::string text;
  int input_tokens = 0;
  int output_tokens = 0;
  std::string model;
  std::string stop_reason;               // the provider's own words ("end_turn", "stop", "length", ...)
  std::chrono::milliseconds latency{0};  // our measure: first attempt to answer, retries included
  // stream() only: from the first attempt to the first piece of text passed on (for the
  // default stream(), the same as latency). 0 for complete() and for an empty answer.
  std::chrono::milliseconds first_token_latency{0};
};

using ChatCallback = std::function<void(Result<ChatResponse>)>;
// One piece of a streamed answer, never empty.
using TokenCallback = std::function<void(std::string_view piece)>;

class ChatProvider {
 public:
  virtual ~ChatProvider() = default;
  virtual void complete(ChatRequest request, ChatCallback done) = 0;
  // Streams the answer: `on_token` for each piece in order, then `done` exactly once (after
  // the last piece). On success the pieces concatenate to the response's text. On failure
  // `done` gets the error; pieces passed before it are a partial answer the caller discards
  // or marks. The default runs complete() and passes the whole text as one piece.
  virtual void stream(ChatRequest request, TokenCallback on_token, ChatCallback done);
  // "bedrock:anthropic.claude-3-haiku-20240307-v1:0": provider and model, for cache keys,
  // logs and metrics.
  [[nodiscard]] virtual std::string id() const = 0;
};

// What every HTTP adapter shares.
struct ChatEndpoint {
  std::string base_url;  // scheme://host[:port], overridable for tests
  std::string model;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{60'000};  // one attempt
  std::chrono::milliseconds deadline{180'000};        // all attempts of one complete()
  http::RetryPolicy retry;
  // Optional: told the outcome of every attempt (chat requests without their own, embeddings).
  http::RequestObserver on_request;
};

// The path segment for a Bedrock model id (':' and any other reserved byte percent-encoded).
[[nodiscard]] inline std::string encode_model_id(std::string_view model_id) {
  return http::sigv4_uri_encode(model_id, false);
}

struct BedrockConfig {
  ChatEndpoint endpoint;  // base_url empty: https://bedrock-runtime.{region}.amazonaws.com
  std::string region = "us-east-1";
  http::AwsCredentials credentials;
};

struct OllamaConfig {
  ChatEndpoint endpoint;  // base_url e.g. http://127.0.0.1:11434
  int num_ctx = 0;        // 0: the server's default
};

struct OpenAiConfig {
  ChatEndpoint endpoint;  // base_url e.g. https://api.openai.com (the /v1 is added)
  std::string api_key;    // empty: no Authorization header (self-hosted servers)
};

class BedrockChatProvider final : public ChatProvider {
 public:
  BedrockChatProvider(BedrockConfig config, http::HttpClient& client, const Clock& clock);
  void complete(ChatRequest request, ChatCallback done) override;
  [[nodiscard]] std::string id() const override { return "bedrock:" + config_.endpoint.model; }

 private:
  BedrockConfig config_;
  http::HttpClient* client_;
  const Clock* clock_;
  http::SigV4Signer signer_;
};

// stream(): "stream": true; NDJSON lines with message.content, the last with done=true,
// done_reason and the eval counts; an {"error"} line (status 200) ends the stream with
// kUnavailable.
class OllamaChatProvider final : public ChatProvider {
 public:
  OllamaChatProvider(OllamaConfig config, http::HttpClient& client, const Clock& clock);
  void complete(ChatRequest request, ChatCallback done) override;
  void stream(ChatRequest request, TokenCallback on_token, ChatCallback done) override;
  [[nodiscard]] std::string id() const override { return "ollama:" + config_.endpoint.model; }

 private:
  [[nodiscard]] Result<std::string> payload(const ChatRequest& request, bool stream) const;
  [[nodiscard]] std::function<http::HttpRequest()> builder(std::string payload) const;
  OllamaConfig config_;
  http::HttpClient* client_;
  const Clock* clock_;
};

// stream(): "stream": true with stream_options.include_usage; server-sent events whose
// `data:` is a chunk (choices[0].delta.content, finish_reason; usage in the last chunk) or
// [DONE]; a `data:` carrying {"error"} ends the stream with the error its code names.
class OpenAiChatProvider final : public ChatProvider {
 public:
  OpenAiChatProvider(OpenAiConfig config, http::HttpClient& client, const Clock& clock);
  void complete(ChatRequest request, ChatCallback done) override;
  void stream(ChatRequest request, TokenCallback on_token, ChatCallback done) override;
  [[nodiscard]] std::string id() const override { return "openai:" + config_.endpoint.model; }

 private:
  [[nodiscard]] Result<std::string> payload(const ChatRequest& request, bool stream) const;
  [[nodiscard]] std::function<http::HttpRequest()> builder(std::string payload) const;
  OpenAiConfig config_;
  http::HttpClient* client_;
  const Clock* clock_;
};

// Bedrock's error: `x-amzn-ErrorType` (cut at ':') and body {"message"}.
[[nodiscard]] Error bedrock_error(const http::HttpResponse& r);
// {"error": {"message", "type", "code"}}, the flat {"object": "error", ...} and {"error": "text"}.
[[nodiscard]] Error openai_error(std::string_view provider, const http::HttpResponse& r);
// Ollama's {"error": "..."}.
[[nodiscard]] Error ollama_error(const http::HttpResponse& r);

}  // namespace earshot::llm
