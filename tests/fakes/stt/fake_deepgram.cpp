#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "fakes/stt/fake_providers.hpp"

namespace earshot::testing {

using nlohmann::json;

namespace {

json dg_error(const std::string& code, const std::string& msg) {
  return {{"err_code", code}, {"err_msg", msg}, {"request_id", "dg-req-fake"}};
}

json words_of(const FakeUtterance& u) {
  json words = json::array();
  std::istringstream in(u.text);
  std::vector<std::string> tokens;
  for (std::string w; in >> w;) tokens.push_back(w);
  const double step = (u.end_s - u.start_s) / static_cast<double>(std::max<std::size_t>(1, tokens.size()));
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::string plain;
    for (char c : tokens[i]) {
      if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '\'') {
        plain.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      }
    }
    words.push_back({{"word", plain},
                     {"start", u.start_s + step * static_cast<double>(i)},
                     {"end", u.start_s + step * static_cast<double>(i + 1)},
                     {"confidence", 0.95},
                     {"speaker", u.speaker},
                     {"speaker_confidence", 0.9},
                     {"punctuated_word", tokens[i]}});
  }
  return words;
}

}  // namespace

FakeProviderServer::Reply FakeDeepgram::failure_reply(FailureKind kind) const {
  switch (kind) {
    case FailureKind::kRateLimit:
      return {429, dg_error("TOO_MANY_REQUESTS", "Too many requests. Please try again later").dump()};
    case FailureKind::kServerError:
      return {500, dg_error("INTERNAL_SERVER_ERROR", "Internal error").dump()};
    case FailureKind::kUnavailable:
      return {503, dg_error("SERVICE_UNAVAILABLE", "Service unavailable").dump()};
    case FailureKind::kAuth:
      return {401, dg_error("INVALID_AUTH", "Invalid credentials.").dump()};
    case FailureKind::kQuota:
      return {402, dg_error("ASR_PAYMENT_REQUIRED", "Project does not have enough credits").dump()};
    case FailureKind::kInvalidInput:
      return {400, dg_error("Bad Request", "Bad Request: failed to process audio: corrupt or unsupported data").dump()};
  }
  return {500, "{}"};
}

std::string FakeDeepgram::last_query() const {
  std::lock_guard lock(mu_);
  return last_query_;
}

std::string FakeDeepgram::last_content_type() const {
  std::lock_guard lock(mu_);
  return last_content_type_;
}

std::string FakeDeepgram::last_body() const {
  std::lock_guard lock(mu_);
  return last_body_;
}

void FakeDeepgram::routes() {
  server().Post("/v1/listen", [this](const httplib::Request& req, httplib::Response& res) {
    if (guard(req, res)) return;
    {
      std::lock_guard lock(mu_);
      const auto q = req.target.find('?');
      last_query_ = q == std::string::npos ? "" : req.target.substr(q + 1);
      last_content_type_ = req.get_header_value("Content-Type");
      last_body_ = req.body;
    }
    const auto answer = deepgram_listen({.authorization = req.get_header_value("Authorization"),
                                         .content_type = req.get_header_value("Content-Type"),
                                         .model = req.get_param_value("model"),
                                         .utterances = req.get_param_value("utterances"),
                                         .multichannel = req.get_param_value("multichannel") == "true",
                                         .diarize = req.get_param_value("diarize") == "true",
                                         .body_bytes = req.body.size()},
                                        api_key(), script());
    if (answer.status == 200 && malformed()) {
      return reply(res, {200, "{\"metadata\": {\"request_id\": 1}, \"results\": [", "application/json"});
    }
    reply(res, {answer.status, answer.body});
  });
}

DeepgramAnswer deepgram_listen(const DeepgramListen& req, const std::string& api_key,
                               const std::vector<FakeUtterance>& script) {
  if (req.authorization != "Token " + api_key) return {401, dg_error("INVALID_AUTH", "Invalid credentials.").dump()};
  const auto& ct = req.content_type;
  if (req.body_bytes == 0 || !(ct.starts_with("audio/") || ct == "application/octet-stream")) {
    return {400, dg_error("Bad Request", "Bad Request: no audio in the body").dump()};
  }
  if (req.model.empty() || req.utterances != "true") {
    return {400, dg_error("Bad Request", "model and utterances=true expected").dump()};
  }
  const bool multichannel = req.multichannel;
  const bool diarize = req.diarize;
  const int channels = multichannel ? 2 : 1;
  json chans = json::array();
  double duration = 0;
  for (int ch = 0; ch < channels; ++ch) {
    json words = json::array();
    std::string text;
    for (const auto& u : script) {
      duration = std::max(duration, u.end_s);
      if (multichannel && u.channel != ch) continue;
      for (auto& w : words_of(u)) words.push_back(w);
      text += (text.empty() ? "" : " ") + u.text;
    }
    chans.push_back({{"alternatives", json::array({{{"transcript", text}, {"confidence", 0.93}, {"words", words}}})}});
  }
  json utterances = json::array();
  int id = 0;
  for (const auto& u : script) {
    utterances.push_back({{"start", u.start_s},
                          {"end", u.end_s},
                          {"confidence", 0.91},
                          {"channel", multichannel ? u.channel : 0},
                          {"transcript", u.text},
                          {"speaker", diarize ? u.speaker : 0},
                          {"id", fmt::format("utt-{}", id++)}});
  }
  json out = {{"metadata", {{"request_id", "dg-req-fake"}, {"duration", duration}, {"channels", channels}}},
              {"results", {{"channels", chans}, {"utterances", utterances}}}};
  return {200, out.dump()};
}

}  // namespace earshot::testing
