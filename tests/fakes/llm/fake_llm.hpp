#pragma once
// Fake LLM and embedding providers on loopback HTTP (built on the STT fakes' server base:
// latency, 429 + Retry-After, 500/503, auth, quota and input failures, request log).
//
// Chat fakes answer with `reply()` as the model's text; switches make the next N answers (or
// every answer) an invalid output instead (text that is not the requested JSON).
// A request asking to stream ("stream": true; for Ollama also no "stream" at all, its
// default) is answered in the provider's streaming format (Ollama NDJSON, OpenAI server-sent
// events with the usage chunk when stream_options.include_usage asks for it): the text in
// pieces (each word with the spaces before it), each piece one write of a chunked body,
// `stream_delay` apart. Switches cut the connection after N pieces (0: before the first) or
// end the stream with the provider's in-stream error after the first piece; a client hanging
// up mid-stream is counted (abandoned_streams). Failure plans
// (429 + Retry-After, 5xx, ...) apply before streaming starts, as for any request.
// FakeBedrock checks each request's SigV4 Authorization header against its own signer
// (its own keys; the date is the request's x-amz-date, which must be within 5 minutes of the
// fake's clock) and answers 403 InvalidSignatureException otherwise.
//
// Thread safety: every setter and getter may be called while requests are being served.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/http/sigv4.hpp"
#include "fakes/stt/fake_server.hpp"

namespace earshot::testing {

class FakeChatServer : public FakeProviderServer {
 public:
  explicit FakeChatServer(Options options = {}) : FakeProviderServer(std::move(options)) {}
  void set_reply(std::string text);
  // Requests whose body contains `marker` are answered with `text` instead of the reply
  // (first matching marker wins); lets one fake answer several agents with their schemas.
  void set_reply_for(std::string marker, std::string text);
  // The next `n` chat answers carry an invalid output.
  void set_invalid_output_next(int n) { invalid_next_ = n; }
  void set_invalid_output_always(bool on) { invalid_always_ = on; }
  void set_invalid_output(std::string text);
  [[nodiscard]] std::string last_body() const;
  [[nodiscard]] int chat_count() const { return chats_.load(); }
  // Streaming switches (see the head comment).
  void set_stream_delay(std::chrono::milliseconds d) { stream_delay_ms_ = d.count(); }
  // The next `requests` streamed answers lose their connection after `pieces` pieces.
  void cut_next_streams(int requests, int pieces);
  // Every streamed answer sends its first piece, then the provider's in-stream error (Ollama
  // also sends it to a request that did not ask to stream).
  void set_stream_error(bool on) { stream_error_ = on; }
  [[nodiscard]] int streamed_count() const { return streams_.load(); }
  // Streamed answers whose client hung up before the end (a piece could not be written).
  [[nodiscard]] int abandoned_streams() const { return streams_abandoned_.load(); }
  // "a bc  d" -> {"a", " bc", "  d"}: the pieces a streamed answer is sent in.
  [[nodiscard]] static std::vector<std::string> pieces_of(const std::string& text);
  // Deterministic embedding of `text` with `dim` components (what the fake answers).
  [[nodiscard]] static std::vector<float> embedding_of(const std::string& text, int dim);

 protected:
  // The model's text for this chat request (records the body, applies the switches).
  std::string next_output(const std::string& body);
  void record(const std::string& body);
  // Sends `frames` as a chunked body of `content_type`, one write per frame, stream_delay
  // apart; frames from `cut_at` on are not sent and the connection is dropped instead (no end
  // of body) when `cut_at` >= 0.
  void serve_stream(httplib::Response& res, std::vector<std::string> frames, const std::string& content_type,
                    int cut_at);
  // Where this streamed answer is cut, in pieces of text (-1: not cut); counts the stream.
  int next_stream_cut();
  [[nodiscard]] bool stream_error() const { return stream_error_.load(); }

 private:
  mutable std::mutex chat_mu_;
  std::string reply_ = R"({"summary":"The customer asked for a refund.","outcome":"resolved"})";
  std::string invalid_ = "Sure! Here is the JSON you asked for: {\"summary\": ";
  std::string last_body_;
  std::vector<std::pair<std::string, std::string>> replies_for_;
  std::atomic<int> invalid_next_{0};
  std::atomic<bool> invalid_always_{false};
  std::atomic<int> chats_{0};
  std::atomic<std::int64_t> stream_delay_ms_{0};
  std::atomic<bool> stream_error_{false};
  std::atomic<int> streams_{0};
  std::atomic<int> streams_abandoned_{0};
  int cut_requests_ = 0;  // guarded by chat_mu_
  int cut_pieces_ = 0;    // guarded by chat_mu_
};

class FakeBedrock final : public FakeChatServer {
 public:
  // Stops serving before this object goes: handler threads call its overrides.
  ~FakeBedrock() override { stop(); }
  explicit FakeBedrock(Options options = {}, const Clock& clock = SystemClock::instance());
  [[nodiscard]] const http::AwsCredentials& credentials() const { return credentials_; }
  [[nodiscard]] std::string region() const { return "us-east-1"; }
  [[nodiscard]] int bad_signatures() const { return bad_signatures_.load(); }
  // The model id of the last request, as the path carried it (decoded).
  [[nodiscard]] std::string last_model() const;

 protected:
  [[nodiscard]] Reply failure_reply(FailureKind kind) const override;
  void routes() override;

 private:
  bool signature_ok(const httplib::Request& req) const;
  static Reply aws_error(int status, const std::string& type, const std::string& msg);
  const Clock* clock_;
  http::AwsCredentials credentials_{"AKIDFAKEBEDROCK", "fake/bedrock+secret", ""};
  std::atomic<int> bad_signatures_{0};
  mutable std::mutex model_mu_;
  std::string last_model_;
};

// Ollama's answer to POST /api/chat with "stream": false whose message is `text` (FakeOllama's,
// and the end-to-end benchmark's leaner server's).
[[nodiscard]] std::string ollama_chat_answer(const std::string& model, const std::string& text);

class FakeOllama final : public FakeChatServer {
 public:
  // Stops serving before this object goes: handler threads call its overrides.
  ~FakeOllama() override { stop(); }
  explicit FakeOllama(Options options = {}) : FakeChatServer(std::move(options)) {}

 protected:
  [[nodiscard]] Reply failure_reply(FailureKind kind) const override;
  void routes() override;
};

class FakeOpenAiChat final : public FakeChatServer {
 public:
  // Stops serving before this object goes: handler threads call its overrides.
  ~FakeOpenAiChat() override { stop(); }
  explicit FakeOpenAiChat(Options options = {}) : FakeChatServer(std::move(options)) {}

 protected:
  [[nodiscard]] Reply failure_reply(FailureKind kind) const override;
  void routes() override;

 private:
  void serve_openai_stream(httplib::Response& res, const std::string& model, const std::string& text,
                           const nlohmann::json& request);
};

}  // namespace earshot::testing
