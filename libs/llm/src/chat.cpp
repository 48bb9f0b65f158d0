#include "earshot/llm/chat.hpp"

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "json_util.hpp"

namespace earshot::llm {

using nlohmann::json;

Error bedrock_error(const http::HttpResponse& r) {
  std::string type = r.header("x-amzn-errortype").value_or("");
  if (auto colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  std::string message;
  const auto j = json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    message = detail::str_or(j, "message", detail::str_or(j, "Message"));
    if (type.empty()) type = detail::str_or(j, "__type");
  } else {
    message = detail::excerpt(r.body);
  }
  const bool quota = type == "ServiceQuotaExceededException";
  Error e = http::error_for_status("bedrock", r.status, type, message, quota);
  if (type == "ThrottlingException" || type == "ModelNotReadyException") {
    e.code = ErrorCode::kRateLimited;
  } else if (type == "ModelTimeoutException") {
    e.code = ErrorCode::kTimeout;
  } else if (type == "ModelErrorException" || type == "InternalServerException" ||
             type == "ServiceUnavailableException") {
    e.code = ErrorCode::kUnavailable;
  } else if (type == "InvalidSignatureException" || type == "UnrecognizedClientException") {
    e.code = ErrorCode::kUnauthenticated;
  }
  return e;
}

Error openai_error(std::string_view provider, const http::HttpResponse& r) {
  const auto j = json::parse(r.body, nullptr, false);
  std::string code;
  std::string type;
  std::string message;
  if (j.is_object()) {
    const auto e = j.find("error");
    const json& src = (e != j.end() && e->is_object()) ? *e : j;
    if (e != j.end() && e->is_string()) {
      message = e->get<std::string>();
    } else {
      code = detail::str_or(src, "code");
      type = detail::str_or(src, "type");
      message = detail::str_or(src, "message");
    }
  } else {
    message = detail::excerpt(r.body);
  }
  const bool quota = code == "insufficient_quota" || type == "insufficient_quota";
  return http::error_for_status(provider, r.status, code.empty() ? type : code, message, quota);
}

Error ollama_error(const http::HttpResponse& r) {
  const auto j = json::parse(r.body, nullptr, false);
  std::string message = j.is_object() ? detail::str_or(j, "error") : detail::excerpt(r.body);
  return http::error_for_status("ollama", r.status, "", message, false);
}

namespace {

using Parser = std::function<Result<ChatResponse>(const http::HttpResponse&)>;

// Sends with the shared retry policy and turns the 2xx answer into a ChatResponse.
void run(const char* what, const ChatEndpoint& ep, http::HttpClient& client, const Clock& clock,
         std::shared_ptr<http::CancelSignal> cancel, const http::RequestObserver& observer,
         std::function<http::HttpRequest()> build, http::ErrorClassifier classify, Parser parse, ChatCallback done) {
  http::RetryContext ctx;
  ctx.client = &client;
  ctx.clock = &clock;
  ctx.policy = ep.retry;
  ctx.deadline = clock.steady_now() + ep.deadline;
  ctx.what = what;
  ctx.cancel = std::move(cancel);
  ctx.observer = observer ? observer : ep.on_request;
  const auto started = clock.steady_now();
  http::send_with_retry(std::move(ctx), std::move(build), std::move(classify),
                        [parse = std::move(parse), done = std::move(done), started, &clock,
                         model = ep.model](Result<http::HttpResponse> r) {
                          if (!r) {
                            done(std::unexpected(std::move(r.error())));
                            return;
                          }
                          auto out = parse(*r);
                          if (out) {
                            if (out->model.empty()) out->model = model;
                            out->latency =
                                std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - started);
                          }
                          done(std::move(out));
                        });
}

http::HttpRequest base_request(const ChatEndpoint& ep, std::string url, std::string body) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = std::move(url);
  req.connect_timeout = ep.connect_timeout;
  req.timeout = ep.request_timeout;
  req.set_body(std::move(body), "application/json");
  return req;
}

// A schema the provider cannot enforce natively is stated in the system prompt.
std::string system_with_schema(const ChatRequest& r) {
  if (r.json_schema.empty()) return r.system;
  return fmt::format(
      "{}{}Answer with a single JSON object only, no prose and no code fence, that "
      "conforms to this JSON Schema:\n{}",
      r.system, r.system.empty() ? "" : "\n\n", r.json_schema);
}

Result<json> schema_json(const ChatRequest& r) {
  auto j = json::parse(r.json_schema, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "json_schema is not a JSON object");
  }
  return j;
}

// ---- streaming ----------------------------------------------------------------------------

std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Splits a streamed body into lines (line break and a trailing '\r' removed); a line may
// arrive over several pieces.
class LineSplitter {
 public:
  template <typename OnLine>
  void feed(std::string_view piece, OnLine&& on_line) {
    pending_.append(piece);
    std::size_t start = 0;
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      on_line(without_cr(std::string_view(pending_).substr(start, nl - start)));
      start = nl + 1;
    }
    pending_.erase(0, start);
  }
  // The last line when the body did not end with a line break.
  template <typename OnLine>
  void finish(OnLine&& on_line) {
    const std::string last = std::exchange(pending_, {});
    if (!last.empty()) on_line(without_cr(last));
  }

 private:
  std::string pending_;
};

// What one attempt of a stream has read so far.
struct StreamAttempt {
  LineSplitter lines;
  ChatResponse out;        // text: the pieces passed on
  std::string event_data;  // server-sent events: the data lines of the event being read
  bool any_event = false;  // server-sent events: a data line arrived
  bool complete = false;   // the provider's end marker arrived
  std::optional<Error> error;
};

// Reads one line of the provider's stream into `a` (usage, stop reason, model, a.complete,
// a.error) and returns the piece of text it carries (empty: none).
using LineReader = std::function<std::string(std::string_view line, StreamAttempt& a)>;
// At the end of a 2xx body: whatever the reader still holds, as a piece.
using StreamEnd = std::function<std::string(StreamAttempt& a, const http::HttpResponse& r)>;

// One stream() call, across its attempts. Every member is used on the HTTP loop thread,
// except the first attempt's build() on the caller's thread before its request is sent.
struct StreamCall {
  TokenCallback on_token;
  const Clock* clock = nullptr;
  std::chrono::steady_clock::time_point started;
  std::shared_ptr<StreamAttempt> attempt;  // the current one
  bool passed_on = false;                  // a piece reached on_token: no more retries
  std::chrono::milliseconds first_token{0};

  void pass_on(StreamAttempt& a, const std::string& piece) {
    if (piece.empty()) return;
    if (!passed_on) {
      passed_on = true;
      first_token = std::chrono::duration_cast<std::chrono::milliseconds>(clock->steady_now() - started);
    }
    a.out.text += piece;
    on_token(piece);
  }
};

// Sends build() with the shared retry policy (retrying only until a piece was passed on)
// and reads the 2xx body as it arrives with `read`.
void run_stream(const char* what, const ChatEndpoint& ep, http::HttpClient& client, const Clock& clock,
                std::shared_ptr<http::CancelSignal> cancel, const http::RequestObserver& observer,
                std::function<http::HttpRequest()> build, http::ErrorClassifier classify, LineReader read,
                StreamEnd end, TokenCallback on_token, ChatCallback done) {
  auto call = std::make_shared<StreamCall>();
  call->on_token = std::move(on_token);
  call->clock = &clock;
  call->started = clock.steady_now();
  http::RetryContext ctx;
  ctx.client = &client;
  ctx.clock = &clock;
  ctx.policy = ep.retry;
  ctx.deadline = call->started + ep.deadline;
  ctx.what = what;
  ctx.may_retry = [call] { return !call->passed_on; };
  ctx.cancel = std::move(cancel);
  ctx.observer = observer ? observer : ep.on_request;
  auto read_line = [call, read = std::move(read)](StreamAttempt& a, std::string_view line) {
    if (a.error) return;  // the stream already failed: the rest is ignored
    call->pass_on(a, read(line, a));
  };
  auto attempt_request = [call, build = std::move(build), read_line] {
    auto req = build();
    auto attempt = std::make_shared<StreamAttempt>();
    call->attempt = attempt;
    req.on_body = [attempt, read_line](int status, std::string_view piece) {
      if (status < 200 || status >= 300) return;  // an error body: classified at the end
      attempt->lines.feed(piece, [&](std::string_view line) { read_line(*attempt, line); });
    };
    return req;
  };
  http::send_with_retry(
      std::move(ctx), std::move(attempt_request), std::move(classify),
      [call, read_line, end = std::move(end), done = std::move(done), model = ep.model,
       what = std::string(what)](Result<http::HttpResponse> r) {
        if (!r) {
          done(std::unexpected(std::move(r.error())));
          return;
        }
        StreamAttempt& a = *call->attempt;
        a.lines.finish([&](std::string_view line) { read_line(a, line); });
        if (!a.error) call->pass_on(a, end(a, *r));
        if (!a.error && !a.complete) {
          a.error = Error(ErrorCode::kUnavailable, what + ": the stream ended before the answer was complete");
        }
        if (a.error) {
          done(std::unexpected(std::move(*a.error)));
          return;
        }
        ChatResponse out = std::move(a.out);
        if (out.model.empty()) out.model = model;
        out.latency = std::chrono::duration_cast<std::chrono::milliseconds>(call->clock->steady_now() - call->started);
        out.first_token_latency = call->first_token;
        done(std::move(out));
      });
}

}  // namespace

void ChatProvider::stream(ChatRequest request, TokenCallback on_token, ChatCallback done) {
  complete(std::move(request), [on_token = std::move(on_token), done = std::move(done)](Result<ChatResponse> r) {
    if (r && !r->text.empty()) {
      r->first_token_latency = r->latency;
      on_token(r->text);
    }
    done(std::move(r));
  });
}

// --- Bedrock Converse --------------------------------------------------------------------

BedrockChatProvider::BedrockChatProvider(BedrockConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::move(config)),
      client_(&client),
      clock_(&clock),
      signer_(config_.credentials, config_.region, "bedrock", clock) {
  if (config_.endpoint.base_url.empty()) {
    config_.endpoint.base_url = fmt::format("https://bedrock-runtime.{}.amazonaws.com", config_.region);
  }
}

void BedrockChatProvider::complete(ChatRequest request, ChatCallback done) {
  json body;
  body["messages"] = json::array();
  for (const auto& m : request.messages) {
    body["messages"].push_back({{"role", m.role}, {"content", json::array({{{"text", m.content}}})}});
  }
  const std::string system = system_with_schema(request);
  if (!system.empty()) body["system"] = json::array({{{"text", system}}});
  body["inferenceConfig"] = {{"maxTokens", request.max_tokens}, {"temperature", request.temperature}};
  const std::string url =
      detail::join_url(config_.endpoint.base_url, "/model/" + encode_model_id(config_.endpoint.model) + "/converse");
  auto build = [this, url, payload = body.dump()] {
    auto req = base_request(config_.endpoint, url, payload);
    // Signed afresh per attempt (x-amz-date). Signing fails only on a malformed URL, which
    // the request itself then reports.
    (void)signer_.sign(req);
    return req;
  };
  auto parse = [](const http::HttpResponse& r) -> Result<ChatResponse> {
    auto j = detail::parse_body("bedrock", r);
    if (!j) return std::unexpected(j.error());
    const json* content = nullptr;
    if (auto o = j->find("output"); o != j->end() && o->is_object()) {
      if (auto m = o->find("message"); m != o->end() && m->is_object()) {
        if (auto c = m->find("content"); c != m->end() && c->is_array()) content = &*c;
      }
    }
    if (content == nullptr) return std::unexpected(detail::malformed("bedrock", "no output.message.content"));
    ChatResponse out;
    for (const auto& part : *content) out.text += detail::str_or(part, "text");
    out.stop_reason = detail::str_or(*j, "stopReason");
    if (auto u = j->find("usage"); u != j->end()) {
      out.input_tokens = detail::count_or_zero(*u, "inputTokens");
      out.output_tokens = detail::count_or_zero(*u, "outputTokens");
    }
    return out;
  };
  run("bedrock converse", config_.endpoint, *client_, *clock_, request.cancel, request.on_request, std::move(build),
      bedrock_error, std::move(parse), std::move(done));
}

// --- Ollama /api/chat --------------------------------------------------------------------

namespace {

// The answer of /api/chat with "stream": false, or a streamed (NDJSON) answer read whole.
Result<ChatResponse> parse_ollama_chat(const http::HttpResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    // A streamed (NDJSON) answer: concatenate the message parts; a final {"error"} line
    // (sent with status 200) is a provider failure.
    ChatResponse out;
    std::string_view rest(r.body);
    bool any = false;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      const auto line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
      auto part = json::parse(line, nullptr, false);
      if (!part.is_object()) return std::unexpected(detail::malformed("ollama", detail::excerpt(r.body)));
      if (part.contains("error")) {
        return std::unexpected(Error(ErrorCode::kUnavailable, "ollama: " + detail::str_or(part, "error")));
      }
      any = true;
      if (auto m = part.find("message"); m != part.end()) out.text += detail::str_or(*m, "content");
      if (auto d = part.find("done"); d != part.end() && d->is_boolean() && d->get<bool>()) {
        out.stop_reason = detail::str_or(part, "done_reason");
        out.input_tokens = detail::count_or_zero(part, "prompt_eval_count");
        out.output_tokens = detail::count_or_zero(part, "eval_count");
        out.model = detail::str_or(part, "model");
      }
    }
    if (!any) return std::unexpected(detail::malformed("ollama", "empty body"));
    return out;
  }
  if (!j.is_object()) return std::unexpected(detail::malformed("ollama", "not a JSON object"));
  if (j.contains("error")) {
    return std::unexpected(Error(ErrorCode::kUnavailable, "ollama: " + detail::str_or(j, "error")));
  }
  auto m = j.find("message");
  if (m == j.end() || !m->is_object()) return std::unexpected(detail::malformed("ollama", "no message"));
  ChatResponse out;
  out.text = detail::str_or(*m, "content");
  out.model = detail::str_or(j, "model");
  out.stop_reason = detail::str_or(j, "done_reason");
  out.input_tokens = detail::count_or_zero(j, "prompt_eval_count");
  out.output_tokens = detail::count_or_zero(j, "eval_count");
  return out;
}

// One NDJSON line of a streamed /api/chat answer.
std::string read_ollama_line(std::string_view line, StreamAttempt& a) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) return {};
  const auto part = json::parse(line, nullptr, false);
  if (!part.is_object()) {
    a.error = detail::malformed("ollama", detail::excerpt(line));
    return {};
  }
  if (part.contains("error")) {
    a.error = Error(ErrorCode::kUnavailable, "ollama: " + detail::str_or(part, "error"));
    return {};
  }
  std::string piece;
  if (auto m = part.find("message"); m != part.end()) piece = detail::str_or(*m, "content");
  if (a.out.model.empty()) a.out.model = detail::str_or(part, "model");
  if (auto d = part.find("done"); d != part.end() && d->is_boolean() && d->get<bool>()) {
    a.complete = true;
    a.out.stop_reason = detail::str_or(part, "done_reason");
    a.out.input_tokens = detail::count_or_zero(part, "prompt_eval_count");
    a.out.output_tokens = detail::count_or_zero(part, "eval_count");
  }
  return piece;
}

}  // namespace

OllamaChatProvider::OllamaChatProvider(OllamaConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::move(config)), client_(&client), clock_(&clock) {}

Result<std::string> OllamaChatProvider::payload(const ChatRequest& request, bool stream) const {
  json body{{"model", config_.endpoint.model}, {"stream", stream}};
  body["messages"] = json::array();
  if (!request.system.empty()) body["messages"].push_back({{"role", "system"}, {"content", request.system}});
  for (const auto& m : request.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  if (!request.json_schema.empty()) {
    auto schema = schema_json(request);
    if (!schema) return std::unexpected(schema.error());
    body["format"] = std::move(*schema);
  }
  body["options"] = {{"temperature", request.temperature}, {"num_predict", request.max_tokens}};
  if (config_.num_ctx > 0) body["options"]["num_ctx"] = config_.num_ctx;
  return body.dump();
}

std::function<http::HttpRequest()> OllamaChatProvider::builder(std::string payload) const {
  return [this, url = detail::join_url(config_.endpoint.base_url, "/api/chat"), payload = std::move(payload)] {
    return base_request(config_.endpoint, url, payload);
  };
}

void OllamaChatProvider::complete(ChatRequest request, ChatCallback done) {
  auto body = payload(request, false);
  if (!body) {
    done(std::unexpected(body.error()));
    return;
  }
  run("ollama chat", config_.endpoint, *client_, *clock_, request.cancel, request.on_request, builder(std::move(*body)),
      ollama_error, parse_ollama_chat, std::move(done));
}

void OllamaChatProvider::stream(ChatRequest request, TokenCallback on_token, ChatCallback done) {
  auto body = payload(request, true);
  if (!body) {
    done(std::unexpected(body.error()));
    return;
  }
  run_stream(
      "ollama chat stream", config_.endpoint, *client_, *clock_, request.cancel, request.on_request,
      builder(std::move(*body)), ollama_error, read_ollama_line,
      [](StreamAttempt&, const http::HttpResponse&) { return std::string(); }, std::move(on_token), std::move(done));
}

// --- OpenAI-compatible /v1/chat/completions -----------------------------------------------

namespace {

Result<ChatResponse> parse_openai_chat(const http::HttpResponse& r) {
  auto j = detail::parse_body("openai", r);
  if (!j) return std::unexpected(j.error());
  auto choices = j->find("choices");
  if (choices == j->end() || !choices->is_array() || choices->empty()) {
    return std::unexpected(detail::malformed("openai", "no choices"));
  }
  const json& choice = (*choices)[0];
  ChatResponse out;
  if (auto m = choice.find("message"); m != choice.end()) out.text = detail::str_or(*m, "content");
  out.stop_reason = detail::str_or(choice, "finish_reason");
  out.model = detail::str_or(*j, "model");
  if (auto u = j->find("usage"); u != j->end()) {
    out.input_tokens = detail::count_or_zero(*u, "prompt_tokens");
    out.output_tokens = detail::count_or_zero(*u, "completion_tokens");
  }
  return out;
}

// One server-sent event's data: a chat.completion.chunk, [DONE] or an error.
std::string read_openai_event(StreamAttempt& a) {
  const std::string data = std::exchange(a.event_data, {});
  if (data.empty()) return {};
  if (data == "[DONE]") {
    a.complete = true;
    return {};
  }
  const auto chunk = json::parse(data, nullptr, false);
  if (!chunk.is_object()) {
    a.error = detail::malformed("openai", detail::excerpt(data));
    return {};
  }
  if (auto e = chunk.find("error"); e != chunk.end() || detail::str_or(chunk, "object") == "error") {
    http::HttpResponse as_response;  // classified like an error body; the stream's status was 200
    as_response.status = 500;
    as_response.body = data;
    Error error = openai_error("openai", as_response);
    error.message = "openai: error in the stream: " + error.message;
    a.error = std::move(error);
    return {};
  }
  if (a.out.model.empty()) a.out.model = detail::str_or(chunk, "model");
  if (auto u = chunk.find("usage"); u != chunk.end() && u->is_object()) {
    a.out.input_tokens = detail::count_or_zero(*u, "prompt_tokens");
    a.out.output_tokens = detail::count_or_zero(*u, "completion_tokens");
  }
  std::string piece;
  if (auto c = chunk.find("choices"); c != chunk.end() && c->is_array() && !c->empty()) {
    const json& choice = (*c)[0];
    if (auto d = choice.find("delta"); d != choice.end()) piece = detail::str_or(*d, "content");
    if (auto reason = detail::str_or(choice, "finish_reason"); !reason.empty()) a.out.stop_reason = std::move(reason);
  }
  return piece;
}

// One line of a server-sent event stream: data lines gather until the blank line that ends
// the event; comments (":") and the other fields are ignored.
std::string read_openai_line(std::string_view line, StreamAttempt& a) {
  if (line.empty()) return read_openai_event(a);
  if (!line.starts_with("data:")) return {};
  line.remove_prefix(5);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (!a.event_data.empty()) a.event_data += '\n';
  a.event_data += line;
  a.any_event = true;
  return {};
}

// The last event when the body did not end with a blank line; a server that ignored
// "stream": true and answered one JSON completion is read as one piece.
std::string end_openai_stream(StreamAttempt& a, const http::HttpResponse& r) {
  if (!a.any_event) {
    auto whole = parse_openai_chat(r);
    if (!whole) {
      a.error = std::move(whole.error());
      return {};
    }
    a.complete = true;
    std::string text = std::exchange(whole->text, {});
    a.out = std::move(*whole);
    return text;
  }
  auto piece = read_openai_event(a);
  if (!a.complete && !a.error && !a.out.stop_reason.empty()) a.complete = true;  // no [DONE] sent
  return piece;
}

}  // namespace

OpenAiChatProvider::OpenAiChatProvider(OpenAiConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::move(config)), client_(&client), clock_(&clock) {}

Result<std::string> OpenAiChatProvider::payload(const ChatRequest& request, bool stream) const {
  json body{
      {"model", config_.endpoint.model}, {"temperature", request.temperature}, {"max_tokens", request.max_tokens}};
  body["messages"] = json::array();
  if (!request.system.empty()) body["messages"].push_back({{"role", "system"}, {"content", request.system}});
  for (const auto& m : request.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  if (!request.json_schema.empty()) {
    auto schema = schema_json(request);
    if (!schema) return std::unexpected(schema.error());
    body["response_format"] = {{"type", "json_schema"},
                               {"json_schema", {{"name", "output"}, {"schema", std::move(*schema)}, {"strict", true}}}};
  }
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return body.dump();
}

std::function<http::HttpRequest()> OpenAiChatProvider::builder(std::string payload) const {
  return
      [this, url = detail::join_url(config_.endpoint.base_url, "/v1/chat/completions"), payload = std::move(payload)] {
        auto req = base_request(config_.endpoint, url, payload);
        if (!config_.api_key.empty()) req.add_header("Authorization", "Bearer " + config_.api_key);
        return req;
      };
}

void OpenAiChatProvider::complete(ChatRequest request, ChatCallback done) {
  auto body = payload(request, false);
  if (!body) {
    done(std::unexpected(body.error()));
    return;
  }
  run(
      "openai chat", config_.endpoint, *client_, *clock_, request.cancel, request.on_request, builder(std::move(*body)),
      [](const http::HttpResponse& r) { return openai_error("openai", r); }, parse_openai_chat, std::move(done));
}

void OpenAiChatProvider::stream(ChatRequest request, TokenCallback on_token, ChatCallback done) {
  auto body = payload(request, true);
  if (!body) {
    done(std::unexpected(body.error()));
    return;
  }
  run_stream(
      "openai chat stream", config_.endpoint, *client_, *clock_, request.cancel, request.on_request,
      builder(std::move(*body)), [](const http::HttpResponse& r) { return openai_error("openai", r); },
      read_openai_line, end_openai_stream, std::move(on_token), std::move(done));
}

}  // namespace earshot::llm
