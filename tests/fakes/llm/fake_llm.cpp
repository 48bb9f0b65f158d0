#include "fakes/llm/fake_llm.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

namespace earshot::testing {

using nlohmann::json;

// --- shared chat behaviour ----------------------------------------------------------------

void FakeChatServer::set_reply(std::string text) {
  std::lock_guard lock(chat_mu_);
  reply_ = std::move(text);
}

void FakeChatServer::set_reply_for(std::string marker, std::string text) {
  std::lock_guard lock(chat_mu_);
  replies_for_.emplace_back(std::move(marker), std::move(text));
}

void FakeChatServer::set_invalid_output(std::string text) {
  std::lock_guard lock(chat_mu_);
  invalid_ = std::move(text);
}

std::string FakeChatServer::last_body() const {
  std::lock_guard lock(chat_mu_);
  return last_body_;
}

void FakeChatServer::record(const std::string& body) {
  std::lock_guard lock(chat_mu_);
  last_body_ = body;
}

std::string FakeChatServer::next_output(const std::string& body) {
  ++chats_;
  std::lock_guard lock(chat_mu_);
  last_body_ = body;
  if (invalid_always_.load()) return invalid_;
  int n = invalid_next_.load();
  while (n > 0) {
    if (invalid_next_.compare_exchange_weak(n, n - 1)) return invalid_;
  }
  for (const auto& [marker, text] : replies_for_) {
    if (body.find(marker) != std::string::npos) return text;
  }
  return reply_;
}

void FakeChatServer::cut_next_streams(int requests, int pieces) {
  std::lock_guard lock(chat_mu_);
  cut_requests_ = requests;
  cut_pieces_ = pieces;
}

int FakeChatServer::next_stream_cut() {
  ++streams_;
  std::lock_guard lock(chat_mu_);
  if (cut_requests_ <= 0) return -1;
  --cut_requests_;
  return cut_pieces_;
}

std::vector<std::string> FakeChatServer::pieces_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto word = text.find_first_not_of(' ', start);
    const auto end = word == std::string::npos ? text.size() : std::min(text.find(' ', word), text.size());
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

void FakeChatServer::serve_stream(httplib::Response& res, std::vector<std::string> frames,
                                  const std::string& content_type, int cut_at) {
  struct Progress {
    std::vector<std::string> frames;
    std::size_t next = 0;
  };
  auto progress = std::make_shared<Progress>(Progress{std::move(frames), 0});
  const auto delay = std::chrono::milliseconds(stream_delay_ms_.load());
  res.status = 200;
  res.set_chunked_content_provider(content_type, [this, progress, delay, cut_at](std::size_t, httplib::DataSink& sink) {
    if (cut_at >= 0 && progress->next == static_cast<std::size_t>(cut_at)) return false;  // drops the connection
    if (progress->next == progress->frames.size()) {
      sink.done();
      return true;
    }
    if (progress->next > 0 && delay.count() > 0) pause(delay);
    const auto& frame = progress->frames[progress->next++];
    if (!sink.is_writable() || !sink.write(frame.data(), frame.size())) {
      ++streams_abandoned_;  // the client hung up before the end
      return false;
    }
    return true;
  });
}

std::vector<float> FakeChatServer::embedding_of(const std::string& text, int dim) {
  std::vector<float> v(static_cast<std::size_t>(dim));
  std::uint64_t h = std::hash<std::string>{}(text);
  for (auto& x : v) {
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(static_cast<double>(h >> 40) / static_cast<double>(1ULL << 24) - 0.5);
  }
  return v;
}

// --- Bedrock ------------------------------------------------------------------------------

namespace {

// A clock pinned at the request's own x-amz-date, so the fake recomputes the same signature.
class PinnedClock final : public Clock {
 public:
  explicit PinnedClock(std::chrono::system_clock::time_point t) : t_(t) {}
  [[nodiscard]] std::chrono::system_clock::time_point now() const override { return t_; }
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }

 private:
  std::chrono::system_clock::time_point t_;
};

std::optional<std::chrono::system_clock::time_point> parse_amz_date(const std::string& s) {
  int y = 0;
  unsigned mo = 0;
  unsigned d = 0;
  int h = 0;
  int mi = 0;
  int se = 0;
  if (s.size() != 16 || std::sscanf(s.c_str(), "%4d%2u%2uT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &se) != 6) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo), std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(se);
}

std::string aws_type_of(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  return j.is_object() ? j.value("__type", "") : "";
}

}  // namespace

// The status and message; the type also travels in x-amzn-ErrorType (set by the handler).
FakeProviderServer::Reply FakeBedrock::aws_error(int status, const std::string& type, const std::string& msg) {
  return {status, json{{"message", msg}, {"__type", type}}.dump()};
}

FakeBedrock::FakeBedrock(Options options, const Clock& clock) : FakeChatServer(std::move(options)), clock_(&clock) {}

std::string FakeBedrock::last_model() const {
  std::lock_guard lock(model_mu_);
  return last_model_;
}

FakeProviderServer::Reply FakeBedrock::failure_reply(FailureKind kind) const {
  switch (kind) {
    case FailureKind::kRateLimit:
      return aws_error(429, "ThrottlingException", "Too many requests, please wait before trying again.");
    case FailureKind::kServerError:
      return aws_error(500, "InternalServerException", "Internal server error");
    case FailureKind::kUnavailable:
      return aws_error(503, "ServiceUnavailableException", "Service unavailable");
    case FailureKind::kAuth:
      return aws_error(403, "AccessDeniedException", "You don't have access to the model");
    case FailureKind::kQuota:
      return aws_error(400, "ServiceQuotaExceededException", "Quota exceeded");
    case FailureKind::kInvalidInput:
      return aws_error(400, "ValidationException", "Malformed input request");
  }
  return {500, "{}"};
}

bool FakeBedrock::signature_ok(const httplib::Request& req) const {
  const auto at = parse_amz_date(req.get_header_value("X-Amz-Date"));
  if (!at) return false;
  const auto skew = clock_->now() - *at;
  if (skew > std::chrono::minutes(5) || skew < -std::chrono::minutes(5)) return false;
  http::HttpRequest r;
  r.method = req.method;
  r.url = "http://" + req.get_header_value("Host") + req.target;
  r.body = req.body;
  if (req.has_header("Content-Type")) r.add_header("content-type", req.get_header_value("Content-Type"));
  PinnedClock pinned(*at);
  http::AwsCredentials creds = credentials_;
  creds.session_token = req.get_header_value("X-Amz-Security-Token");
  http::SigV4Signer signer(creds, region(), "bedrock", pinned);
  auto parts = signer.compute(r);
  return parts && parts->authorization == req.get_header_value("Authorization");
}

void FakeBedrock::routes() {
  const auto handler = [this](bool converse) {
    return [this, converse](const httplib::Request& req, httplib::Response& res) {
      if (!signature_ok(req)) {
        ++bad_signatures_;
        res.set_header("x-amzn-ErrorType",
                       "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/");
        reply(res, aws_error(403, "InvalidSignatureException",
                             "The request signature we calculated does not match the signature you provided."));
        return;
      }
      {
        std::lock_guard lock(model_mu_);
        last_model_ = req.matches[1];
      }
      if (guard(req, res)) {
        const std::string type = aws_type_of(res.body);
        if (!type.empty()) res.set_header("x-amzn-ErrorType", type + ":http://internal.amazon.com/coral/");
        return;
      }
      if (converse) {
        const std::string text = next_output(req.body);
        const json out{{"output", {{"message", {{"role", "assistant"}, {"content", json::array({{{"text", text}}})}}}}},
                       {"stopReason", "end_turn"},
                       {"usage", {{"inputTokens", 120}, {"outputTokens", 30}, {"totalTokens", 150}}},
                       {"metrics", {{"latencyMs", 42}}}};
        reply(res, {200, out.dump()});
        return;
      }
      record(req.body);
      const auto body = json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body.contains("inputText")) {
        res.set_header("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/");
        reply(res, aws_error(400, "ValidationException", "inputText is required"));
        return;
      }
      const int dim = body.value("dimensions", 1024);
      const json out{{"embedding", embedding_of(body.value("inputText", ""), dim)}, {"inputTextTokenCount", 7}};
      reply(res, {200, out.dump()});
    };
  };
  server().Post(R"(/model/([^/]+)/converse)", handler(true));
  server().Post(R"(/model/([^/]+)/invoke)", handler(false));
}

// --- Ollama -------------------------------------------------------------------------------

FakeProviderServer::Reply FakeOllama::failure_reply(FailureKind kind) const {
  const auto err = [](int status, const std::string& m) { return Reply{status, json{{"error", m}}.dump()}; };
  switch (kind) {
    case FailureKind::kRateLimit:
      return err(429, "too many requests");
    case FailureKind::kServerError:
      return err(500, "llama runner process has terminated");
    case FailureKind::kUnavailable:
      return err(502, "bad gateway");
    case FailureKind::kAuth:
      return err(401, "unauthorized");
    case FailureKind::kQuota:
      return err(402, "payment required");
    case FailureKind::kInvalidInput:
      return err(404, "model 'nope' not found");
  }
  return {500, "{}"};
}

std::string ollama_chat_answer(const std::string& model, const std::string& text) {
  return json{{"model", model},
              {"created_at", "2026-01-01T00:00:00Z"},
              {"message", {{"role", "assistant"}, {"content", text}}},
              {"done", true},
              {"done_reason", "stop"},
              {"total_duration", 1'000'000},
              {"prompt_eval_count", 100},
              {"eval_count", 25}}
      .dump();
}

void FakeOllama::routes() {
  server().Post("/api/chat", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    const auto body = json::parse(req.body, nullptr, false);
    const std::string model = body.is_object() ? body.value("model", "") : "";
    const std::string text = next_output(req.body);
    const auto piece_line = [&](const std::string& piece) {
      return json{{"model", model},
                  {"created_at", "2026-01-01T00:00:00Z"},
                  {"message", {{"role", "assistant"}, {"content", piece}}},
                  {"done", false}}
                 .dump() +
             "\n";
    };
    const bool streaming = body.is_object() && body.value("stream", true);
    if (stream_error()) {
      std::vector<std::string> frames{
          piece_line("{"), json{{"error", "an error was encountered while running the model"}}.dump() + "\n"};
      if (!streaming) {
        reply(res, {200, frames[0] + frames[1], "application/x-ndjson"});
        return;
      }
      serve_stream(res, std::move(frames), "application/x-ndjson", next_stream_cut());
      return;
    }
    if (streaming) {
      const int cut = next_stream_cut();
      std::vector<std::string> frames;
      for (const auto& piece : pieces_of(text)) frames.push_back(piece_line(piece));
      frames.push_back(json{{"model", model},
                            {"created_at", "2026-01-01T00:00:00Z"},
                            {"message", {{"role", "assistant"}, {"content", ""}}},
                            {"done", true},
                            {"done_reason", "stop"},
                            {"total_duration", 1'000'000},
                            {"prompt_eval_count", 100},
                            {"eval_count", 25}}
                           .dump() +
                       "\n");
      serve_stream(res, std::move(frames), "application/x-ndjson", cut);
      return;
    }
    reply(res, {200, ollama_chat_answer(model, text)});
  });
  server().Post("/api/embed", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    record(req.body);
    const auto body = json::parse(req.body, nullptr, false);
    json input = body.is_object() ? body.value("input", json()) : json();
    if (input.is_string()) input = json::array({input});
    json embeddings = json::array();
    for (const auto& t : input) embeddings.push_back(embedding_of(t.get<std::string>(), 8));
    reply(res, {200, json{{"model", body.value("model", "")}, {"embeddings", embeddings}}.dump()});
  });
  server().Post("/api/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    record(req.body);
    const auto body = json::parse(req.body, nullptr, false);
    reply(res, {200, json{{"embedding", embedding_of(body.value("prompt", ""), 8)}}.dump()});
  });
}

// --- OpenAI-compatible --------------------------------------------------------------------

FakeProviderServer::Reply FakeOpenAiChat::failure_reply(FailureKind kind) const {
  const auto err = [](int status, const std::string& type, const std::string& code, const std::string& msg) {
    return Reply{status,
                 json{{"error", {{"message", msg}, {"type", type}, {"param", nullptr}, {"code", code}}}}.dump()};
  };
  switch (kind) {
    case FailureKind::kRateLimit:
      return err(429, "requests", "rate_limit_exceeded", "Rate limit reached");
    case FailureKind::kServerError:
      return err(500, "server_error", "internal_error", "The server had an error");
    case FailureKind::kUnavailable:
      return err(503, "server_error", "overloaded", "overloaded");
    case FailureKind::kAuth:
      return err(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided");
    case FailureKind::kQuota:
      return err(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota");
    case FailureKind::kInvalidInput:
      return err(400, "invalid_request_error", "invalid_value", "Invalid schema");
  }
  return {500, "{}"};
}

void FakeOpenAiChat::serve_openai_stream(httplib::Response& res, const std::string& model, const std::string& text,
                                         const json& request) {
  const int cut = next_stream_cut();
  const auto event = [](const json& data) { return "data: " + data.dump() + "\n\n"; };
  const auto chunk = [&](json delta, json finish_reason) {
    return event(
        {{"id", "chatcmpl-1"},
         {"object", "chat.completion.chunk"},
         {"created", 1767225600},
         {"model", model},
         {"choices", json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish_reason}}})}});
  };
  std::vector<std::string> frames{chunk({{"role", "assistant"}, {"content", ""}}, nullptr)};
  const auto pieces = pieces_of(text);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    frames.push_back(chunk({{"content", pieces[i]}}, nullptr));
    if (stream_error() && i == 0) {
      frames.push_back(event({{"error",
                               {{"message", "The server had an error while processing your request."},
                                {"type", "server_error"},
                                {"param", nullptr},
                                {"code", nullptr}}}}));
      serve_stream(res, std::move(frames), "text/event-stream", cut < 0 ? -1 : cut + 1);
      return;
    }
  }
  frames.push_back(chunk(json::object(), "stop"));
  const auto options = request.find("stream_options");
  if (options != request.end() && options->is_object() && options->value("include_usage", false)) {
    frames.push_back(event({{"id", "chatcmpl-1"},
                            {"object", "chat.completion.chunk"},
                            {"created", 1767225600},
                            {"model", model},
                            {"choices", json::array()},
                            {"usage", {{"prompt_tokens", 90}, {"completion_tokens", 20}, {"total_tokens", 110}}}}));
  }
  frames.emplace_back("data: [DONE]\n\n");
  // The role chunk goes first: a cut after N pieces of text drops frame N + 1.
  serve_stream(res, std::move(frames), "text/event-stream", cut < 0 ? -1 : cut + 1);
}

void FakeOpenAiChat::routes() {
  server().Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    if (req.get_header_value("Authorization") != "Bearer " + api_key()) {
      reply(res, failure_reply(FailureKind::kAuth));
      return;
    }
    const auto body = json::parse(req.body, nullptr, false);
    const std::string text = next_output(req.body);
    const std::string model = body.is_object() ? body.value("model", "") : "";
    if (body.is_object() && body.value("stream", false)) {
      serve_openai_stream(res, model, text, body);
      return;
    }
    const json out{
        {"id", "chatcmpl-1"},
        {"object", "chat.completion"},
        {"model", model},
        {"choices",
         json::array(
             {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}, {"finish_reason", "stop"}}})},
        {"usage", {{"prompt_tokens", 90}, {"completion_tokens", 20}, {"total_tokens", 110}}}};
    reply(res, {200, out.dump()});
  });
  server().Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    record(req.body);
    const auto body = json::parse(req.body, nullptr, false);
    json input = body.is_object() ? body.value("input", json()) : json();
    if (input.is_string()) input = json::array({input});
    // Answered in reverse order: clients must place each vector by its index.
    json data = json::array();
    for (std::size_t i = input.size(); i-- > 0;) {
      data.push_back(
          {{"object", "embedding"}, {"index", i}, {"embedding", embedding_of(input[i].get<std::string>(), 6)}});
    }
    reply(res, {200, json{{"object", "list"}, {"data", data}, {"usage", {{"prompt_tokens", 3}}}}.dump()});
  });
}

}  // namespace earshot::testing
