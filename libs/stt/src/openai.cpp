#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "earshot/stt/adapters.hpp"
#include "json_util.hpp"

namespace earshot::stt {

using nlohmann::json;

namespace {

// Both error shapes: {"error": {"message", "type", "param", "code"}} and the flat
// {"object": "error", "message", "code"}; whisper.cpp also answers {"error": "text"}.
Error openai_error(std::string_view provider, const http::HttpResponse& r) {
  const auto j = json::parse(r.body, nullptr, false);
  std::string code;
  std::string type;
  std::string message;
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end() && e->is_object()) {
      code = detail::str_or(*e, "code");
      type = detail::str_or(*e, "type");
      message = detail::str_or(*e, "message");
    } else if (e != j.end() && e->is_string()) {
      message = e->get<std::string>();
    } else {
      code = detail::str_or(j, "code");
      type = detail::str_or(j, "type");
      message = detail::str_or(j, "message");
    }
  } else {
    message = detail::excerpt(r.body);
  }
  const bool quota = code == "insufficient_quota" || type == "insufficient_quota";
  return http::error_for_status(provider, r.status, code.empty() ? type : code, message, quota);
}

Word to_word(const json& w) {
  Word out;
  out.text = detail::trim_text(detail::str_or(w, "word"));
  out.start_ms = detail::seconds_to_ms(detail::num_or(w, "start"));
  out.end_ms = detail::seconds_to_ms(detail::num_or(w, "end"));
  out.confidence = detail::num_or(w, "probability", detail::num_or(w, "confidence"));
  return out;
}

Result<Transcript> parse_verbose(std::string_view provider, const http::HttpResponse& r, const std::string& language,
                                 std::int64_t duration_ms) {
  auto parsed = detail::parse_body(provider, r);
  if (!parsed) return std::unexpected(parsed.error());
  const json& j = *parsed;
  if (!j.contains("text") && !j.contains("segments")) {
    return std::unexpected(detail::malformed(provider, "neither text nor segments"));
  }
  Transcript t;
  t.provider = std::string(provider);
  t.reported_language = detail::str_or(j, "language");
  t.language = t.reported_language.empty() ? language : t.reported_language;
  bool any_speaker = false;
  const json segments = j.value("segments", json::array());
  if (!segments.is_array()) return std::unexpected(detail::malformed(provider, "segments is not an array"));
  for (const auto& s : segments) {
    if (!s.is_object()) return std::unexpected(detail::malformed(provider, "segment is not an object"));
    Segment seg;
    seg.start_ms = detail::seconds_to_ms(detail::num_or(s, "start"));
    seg.end_ms = detail::seconds_to_ms(detail::num_or(s, "end"));
    seg.text = detail::trim_text(detail::str_or(s, "text"));
    if (s.contains("avg_logprob") && s["avg_logprob"].is_number()) {
      seg.confidence = std::clamp(std::exp(s["avg_logprob"].get<double>()), 0.0, 1.0);
    }
    seg.speaker = detail::str_or(s, "speaker");
    if (seg.speaker.empty()) {
      seg.speaker = "unknown";
    } else {
      any_speaker = true;
    }
    if (s.contains("words") && s["words"].is_array()) {
      for (const auto& w : s["words"]) seg.words.push_back(to_word(w));
    }
    t.segments.push_back(std::move(seg));
  }
  // Word-level timestamps come as one top-level list: hand each word to its segment.
  if (j.contains("words") && j["words"].is_array()) {
    for (const auto& w : j["words"]) {
      auto word = to_word(w);
      for (auto& seg : t.segments) {
        if (word.start_ms >= seg.start_ms - 20 && word.start_ms < seg.end_ms) {
          if (seg.words.empty() || seg.words.back().start_ms <= word.start_ms) seg.words.push_back(word);
          break;
        }
      }
    }
  }
  if (t.segments.empty()) {
    auto text = detail::trim_text(detail::str_or(j, "text"));
    if (!text.empty()) {
      Segment seg;
      seg.speaker = "unknown";
      seg.text = std::move(text);
      seg.end_ms = j.contains("duration") ? detail::seconds_to_ms(detail::num_or(j, "duration")) : duration_ms;
      t.segments.push_back(std::move(seg));
    }
  }
  t.diarized = any_speaker;
  return t;
}

}  // namespace

OpenAiSttProvider::OpenAiSttProvider(ProviderConfig config, http::HttpClient& client, const Clock& clock, Mode mode)
    : config_(std::make_shared<const ProviderConfig>(std::move(config))), client_(client), clock_(clock), mode_(mode) {}

void OpenAiSttProvider::transcribe(SttJob job, TranscribeCallback done) {
  const std::string provider(name());
  if (job.audio.empty()) {
    done(make_error(ErrorCode::kInvalidArgument, provider + ": empty audio"));
    return;
  }
  if (job.translate) {
    done(make_error(ErrorCode::kFailedPrecondition, provider + ": speech-to-English translation is not used"));
    return;
  }
  const auto& cfg = *config_;
  const std::string language = job.language.empty() ? cfg.language : job.language;
  const bool whisper = mode_ == Mode::kWhisperCpp;
  // whisper.cpp diarizes by comparing the two channels' energy: stereo input only.
  const bool diarize = whisper && job.diarize && job.channels == 2;
  std::vector<http::MultipartPart> fields;
  const auto lang = detail::iso639_1(language);
  if (!whisper) fields.push_back({"model", cfg.model.empty() ? "whisper-1" : cfg.model, "", ""});
  if (!lang.empty()) fields.push_back({"language", lang, "", ""});
  fields.push_back({"response_format", "verbose_json", "", ""});
  if (whisper) {
    if (diarize) fields.push_back({"diarize", "true", "", ""});
  } else {
    fields.push_back({"timestamp_granularities[]", "segment", "", ""});
    fields.push_back({"timestamp_granularities[]", "word", "", ""});
  }
  const std::string url = cfg.base_url + (whisper ? "/inference" : "/v1/audio/transcriptions");
  // The multipart body is built once and shared by every attempt: the audio is held once.
  const std::string filename = fmt::format("audio.{}", audio_extension(job.audio));
  const std::string content_type(audio_content_type(job.audio));
  std::vector<http::MultipartPart> parts;
  parts.reserve(fields.size() + 1);
  parts.push_back({"file", std::move(job.audio), filename, content_type});
  parts.insert(parts.end(), fields.begin(), fields.end());
  http::HttpRequest form;
  form.set_multipart(parts);
  parts.clear();
  auto body = std::make_shared<const std::string>(std::move(form.body));
  auto form_type = form.headers.front().second;
  auto build = [config = config_, body, url, form_type] {
    auto r = detail::base_request(*config, "POST", url);
    if (!config->api_key.empty()) r.add_header("Authorization", "Bearer " + config->api_key);
    r.add_header("Content-Type", form_type);
    r.shared_body = body;
    return r;
  };
  const auto duration_ms = job.duration.count();
  http::send_with_retry(
      detail::retry_context(cfg, client_, clock_, provider + " transcription"), std::move(build),
      [provider](const http::HttpResponse& r) { return openai_error(provider, r); },
      [done = std::move(done), provider, language, duration_ms](Result<http::HttpResponse> r) {
        if (!r) {
          done(std::unexpected(r.error()));
          return;
        }
        done(parse_verbose(provider, *r, language, duration_ms));
      });
}

}  // namespace earshot::stt
