#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fakes/stt/fake_providers.hpp"

namespace earshot::testing {

using nlohmann::json;

namespace {

std::vector<std::pair<std::string, std::pair<double, double>>> split_words(const FakeUtterance& u) {
  std::istringstream in(u.text);
  std::vector<std::string> tokens;
  for (std::string w; in >> w;) tokens.push_back(w);
  std::vector<std::pair<std::string, std::pair<double, double>>> out;
  const double step = (u.end_s - u.start_s) / static_cast<double>(std::max<std::size_t>(1, tokens.size()));
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    out.push_back(
        {tokens[i], {u.start_s + step * static_cast<double>(i), u.start_s + step * static_cast<double>(i + 1)}});
  }
  return out;
}

}  // namespace

FakeProviderServer::Reply FakeOpenAi::failure_reply(FailureKind kind) const {
  const auto err = [this](int status, const std::string& type, const std::string& code,
                          const std::string& msg) -> Reply {
    if (flat_errors_.load()) {
      return {status, json{{"object", "error"}, {"message", msg}, {"type", type}, {"code", code}}.dump()};
    }
    return {status, json{{"error", {{"message", msg}, {"type", type}, {"param", nullptr}, {"code", code}}}}.dump()};
  };
  switch (kind) {
    case FailureKind::kRateLimit:
      return err(429, "requests", "rate_limit_exceeded", "Rate limit reached for requests");
    case FailureKind::kServerError:
      return err(500, "server_error", "internal_error", "The server had an error");
    case FailureKind::kUnavailable:
      return err(503, "server_error", "overloaded", "The engine is currently overloaded");
    case FailureKind::kAuth:
      return err(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided");
    case FailureKind::kQuota:
      return err(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota");
    case FailureKind::kInvalidInput:
      return err(400, "invalid_request_error", "invalid_value", "Invalid file format.");
  }
  return {500, "{}"};
}

std::multimap<std::string, std::string> FakeOpenAi::last_fields() const {
  std::lock_guard lock(mu_);
  return last_fields_;
}

void FakeOpenAi::routes() {
  const auto record = [this](const httplib::Request& req) {
    std::lock_guard lock(mu_);
    last_fields_.clear();
    for (const auto& [name, part] : req.files) {
      last_fields_.emplace(name, name == "file" ? part.filename + "|" + part.content_type : part.content);
    }
  };

  server().Post("/v1/audio/transcriptions", [this, record](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    record(req);
    if (req.get_header_value("Authorization") != "Bearer " + api_key()) {
      return reply(res, failure_reply(FailureKind::kAuth));
    }
    if (!req.has_file("file") || req.get_file_value("file").content.empty() || !req.has_file("model")) {
      return reply(res, failure_reply(FailureKind::kInvalidInput));
    }
    if (malformed()) return reply(res, {200, "Internal proxy error", "text/plain"});
    const bool verbose =
        req.has_file("response_format") && req.get_file_value("response_format").content == "verbose_json";
    const auto channel = marked_channel(req.get_file_value("file").content);
    std::string text;
    json segments = json::array();
    json words = json::array();
    double duration = 0;
    int id = 0;
    for (const auto& u : script()) {
      duration = std::max(duration, u.end_s);
      if (channel && u.channel != *channel) continue;
      text += (text.empty() ? "" : " ") + u.text;
      segments.push_back({{"id", id++},
                          {"seek", 0},
                          {"start", u.start_s},
                          {"end", u.end_s},
                          {"text", " " + u.text},
                          {"tokens", json::array()},
                          {"temperature", 0.0},
                          {"avg_logprob", -0.1},
                          {"compression_ratio", 1.2},
                          {"no_speech_prob", 0.01}});
      for (const auto& [w, t] : split_words(u)) words.push_back({{"word", w}, {"start", t.first}, {"end", t.second}});
    }
    if (!verbose) return reply(res, {200, json{{"text", text}}.dump()});
    reply(res, {200, json{{"task", "transcribe"},
                          {"language", "english"},
                          {"duration", duration},
                          {"text", text},
                          {"segments", segments},
                          {"words", words}}
                         .dump()});
  });

  server().Post("/inference", [this, record](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    record(req);
    if (!req.has_file("file") || req.get_file_value("file").content.empty()) {
      return reply(res, {400, json{{"error", "no 'file' field in the request"}}.dump()});
    }
    if (malformed()) return reply(res, {200, "{\"segments\": {", "application/json"});
    const bool diarize = req.has_file("diarize") && req.get_file_value("diarize").content == "true";
    const auto channel = marked_channel(req.get_file_value("file").content);
    std::string text;
    json segments = json::array();
    int id = 0;
    double duration = 0;
    for (const auto& u : script()) {
      duration = std::max(duration, u.end_s);
      if (channel && u.channel != *channel) continue;
      text += (text.empty() ? "" : " ") + u.text;
      json words = json::array();
      for (const auto& [w, t] : split_words(u)) {
        words.push_back({{"word", " " + w}, {"start", t.first}, {"end", t.second}, {"probability", 0.9}});
      }
      json seg = {{"id", id++},         {"text", " " + u.text},    {"start", u.start_s},
                  {"end", u.end_s},     {"tokens", json::array()}, {"words", words},
                  {"temperature", 0.0}, {"avg_logprob", -0.2},     {"no_speech_prob", 0.02}};
      // whisper.cpp's stereo diarization labels speakers by channel energy.
      if (diarize) seg["speaker"] = std::to_string(u.channel);
      segments.push_back(seg);
    }
    reply(res, {200, json{{"task", "transcribe"},
                          {"language", "english"},
                          {"duration", duration},
                          {"text", text},
                          {"segments", segments}}
                         .dump()});
  });
}

}  // namespace earshot::testing
