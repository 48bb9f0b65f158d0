#include "earshot/llm/chat.hpp"

#include <fmt/format.h>

#include <memory>
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
         std::function<http::HttpRequest()> build, http::ErrorClassifier classify, Parser parse, ChatCallback done) {
  http::RetryContext ctx;
  ctx.client = &client;
  ctx.clock = &clock;
  ctx.policy = ep.retry;
  ctx.deadline = clock.steady_now() + ep.deadline;
  ctx.what = what;
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

}  // namespace

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
      out.input_tokens = detail::int_or(*u, "inputTokens");
      out.output_tokens = detail::int_or(*u, "outputTokens");
    }
    return out;
  };
  run("bedrock converse", config_.endpoint, *client_, *clock_, std::move(build), bedrock_error, std::move(parse),
      std::move(done));
}

// --- Ollama /api/chat --------------------------------------------------------------------

OllamaChatProvider::OllamaChatProvider(OllamaConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::move(config)), client_(&client), clock_(&clock) {}

void OllamaChatProvider::complete(ChatRequest request, ChatCallback done) {
  json body{{"model", config_.endpoint.model}, {"stream", false}};
  body["messages"] = json::array();
  if (!request.system.empty()) body["messages"].push_back({{"role", "system"}, {"content", request.system}});
  for (const auto& m : request.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  if (!request.json_schema.empty()) {
    auto schema = schema_json(request);
    if (!schema) {
      done(std::unexpected(schema.error()));
      return;
    }
    body["format"] = std::move(*schema);
  }
  body["options"] = {{"temperature", request.temperature}, {"num_predict", request.max_tokens}};
  if (config_.num_ctx > 0) body["options"]["num_ctx"] = config_.num_ctx;
  auto build = [this, url = detail::join_url(config_.endpoint.base_url, "/api/chat"), payload = body.dump()] {
    return base_request(config_.endpoint, url, payload);
  };
  auto parse = [](const http::HttpResponse& r) -> Result<ChatResponse> {
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
        if (part.value("done", false)) {
          out.stop_reason = detail::str_or(part, "done_reason");
          out.input_tokens = detail::int_or(part, "prompt_eval_count");
          out.output_tokens = detail::int_or(part, "eval_count");
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
    out.input_tokens = detail::int_or(j, "prompt_eval_count");
    out.output_tokens = detail::int_or(j, "eval_count");
    return out;
  };
  run("ollama chat", config_.endpoint, *client_, *clock_, std::move(build), ollama_error, std::move(parse),
      std::move(done));
}

// --- OpenAI-compatible /v1/chat/completions -----------------------------------------------

OpenAiChatProvider::OpenAiChatProvider(OpenAiConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::move(config)), client_(&client), clock_(&clock) {}

void OpenAiChatProvider::complete(ChatRequest request, ChatCallback done) {
  json body{
      {"model", config_.endpoint.model}, {"temperature", request.temperature}, {"max_tokens", request.max_tokens}};
  body["messages"] = json::array();
  if (!request.system.empty()) body["messages"].push_back({{"role", "system"}, {"content", request.system}});
  for (const auto& m : request.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  if (!request.json_schema.empty()) {
    auto schema = schema_json(request);
    if (!schema) {
      done(std::unexpected(schema.error()));
      return;
    }
    body["response_format"] = {{"type", "json_schema"},
                               {"json_schema", {{"name", "output"}, {"schema", std::move(*schema)}, {"strict", true}}}};
  }
  auto build = [this, url = detail::join_url(config_.endpoint.base_url, "/v1/chat/completions"),
                payload = body.dump()] {
    auto req = base_request(config_.endpoint, url, payload);
    if (!config_.api_key.empty()) req.add_header("Authorization", "Bearer " + config_.api_key);
    return req;
  };
  auto parse = [](const http::HttpResponse& r) -> Result<ChatResponse> {
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
      out.input_tokens = detail::int_or(*u, "prompt_tokens");
      out.output_tokens = detail::int_or(*u, "completion_tokens");
    }
    return out;
  };
  run(
      "openai chat", config_.endpoint, *client_, *clock_, std::move(build),
      [](const http::HttpResponse& r) { return openai_error("openai", r); }, std::move(parse), std::move(done));
}

}  // namespace earshot::llm
