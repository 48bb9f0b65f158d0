#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "earshot/stt/adapters.hpp"
#include "json_util.hpp"

namespace earshot::stt {

using nlohmann::json;

namespace {

// Channels an answer without a channel list may name (a recording has one or two).
constexpr std::size_t kMaxChannels = 64;

Error deepgram_error(const http::HttpResponse& r) {
  const auto j = json::parse(r.body, nullptr, false);
  std::string code;
  std::string message;
  if (j.is_object()) {
    code = detail::str_or(j, "err_code");
    message = detail::str_or(j, "err_msg");
    if (message.empty()) message = detail::str_or(j, "message");
  } else {
    message = detail::excerpt(r.body);
  }
  return http::error_for_status("deepgram", r.status, code, message, r.status == 402);
}

Word to_word(const json& w) {
  Word out;
  out.text = detail::str_or(w, "punctuated_word");
  if (out.text.empty()) out.text = detail::str_or(w, "word");
  out.start_ms = detail::seconds_to_ms(detail::num_or(w, "start"));
  out.end_ms = detail::seconds_to_ms(detail::num_or(w, "end"));
  out.confidence = detail::num_or(w, "confidence");
  return out;
}

Result<Transcript> parse_listen(const http::HttpResponse& r, bool multichannel, bool diarize,
                                const std::string& language) {
  auto parsed = detail::parse_body("deepgram", r);
  if (!parsed) return std::unexpected(parsed.error());
  const json& j = *parsed;
  auto results = j.find("results");
  if (results == j.end() || !results->is_object()) {
    return std::unexpected(detail::malformed("deepgram", "no results object"));
  }
  if (results->contains("channels") && !(*results)["channels"].is_array()) {
    return std::unexpected(detail::malformed("deepgram", "channels is not an array"));
  }
  // Read by reference: a long call's answer holds thousands of words, and a copy of the
  // parsed document per utterance made this parse quadratic.
  const json& channels = detail::array_or_empty(*results, "channels");
  const auto first_alternative = [&](std::size_t ch) -> const json* {
    if (ch >= channels.size()) return nullptr;
    const json& alts = detail::array_or_empty(channels[ch], "alternatives");
    return alts.empty() ? nullptr : &alts[0];
  };
  // Each channel's words, converted once and in time order, for utterances that carry none.
  std::vector<std::optional<std::vector<Word>>> words_of(channels.size());
  const auto channel_words = [&](std::size_t ch) -> const std::vector<Word>& {
    static const std::vector<Word> kNone;
    if (ch >= channels.size()) return kNone;
    auto& cached = words_of[ch];
    if (!cached) {
      cached.emplace();
      if (const json* alt = first_alternative(ch)) {
        const json& words = detail::array_or_empty(*alt, "words");
        cached->reserve(words.size());
        for (const auto& w : words) cached->push_back(to_word(w));
        std::stable_sort(cached->begin(), cached->end(),
                         [](const Word& a, const Word& b) { return a.start_ms < b.start_ms; });
      }
    }
    return *cached;
  };

  Transcript t;
  t.provider = "deepgram";
  t.language = language;
  if (!channels.empty()) {
    auto detected = detail::str_or(channels[0], "detected_language");
    if (!detected.empty()) t.language = detected;
    t.reported_language = detected;
  }
  t.diarized = diarize && !multichannel;
  auto utterances = results->find("utterances");
  if (utterances != results->end() && !utterances->is_null()) {
    if (!utterances->is_array()) return std::unexpected(detail::malformed("deepgram", "utterances is not an array"));
    for (const auto& u : *utterances) {
      if (!u.is_object()) return std::unexpected(detail::malformed("deepgram", "utterance is not an object"));
      Segment s;
      // A whole number naming one of the answer's channels (any of the first kMaxChannels when
      // it lists none); anything else (negative, fractional, 1e20) is not a Deepgram answer.
      const double named = detail::num_or(u, "channel");
      const std::size_t limit = channels.empty() ? kMaxChannels : channels.size();
      if (!(named >= 0 && named < static_cast<double>(limit)) || std::floor(named) != named) {
        return std::unexpected(detail::malformed(
            "deepgram", fmt::format("utterance channel {} is not one of the {} channels", named, limit)));
      }
      const auto channel = static_cast<std::size_t>(named);
      if (multichannel) {
        s.speaker = fmt::format("ch{}", channel);
      } else if (u.contains("speaker") && u["speaker"].is_number_integer()) {
        s.speaker = std::to_string(u["speaker"].get<int>());
      } else {
        s.speaker = "unknown";
      }
      s.start_ms = detail::seconds_to_ms(detail::num_or(u, "start"));
      s.end_ms = detail::seconds_to_ms(detail::num_or(u, "end"));
      s.text = detail::trim_text(detail::str_or(u, "transcript"));
      s.confidence = detail::num_or(u, "confidence");
      if (u.contains("words") && u["words"].is_array()) {
        for (const auto& w : u["words"]) s.words.push_back(to_word(w));
      } else {
        const auto& words = channel_words(channel);
        auto it = std::lower_bound(words.begin(), words.end(), s.start_ms - 1,
                                   [](const Word& w, std::int64_t at) { return w.start_ms < at; });
        for (; it != words.end() && it->start_ms <= s.end_ms + 1; ++it) {
          if (it->end_ms <= s.end_ms + 1) s.words.push_back(*it);
        }
      }
      t.segments.push_back(std::move(s));
    }
  } else {
    // No utterances (not requested by an older proxy, or empty audio): one segment per channel.
    for (std::size_t ch = 0; ch < channels.size(); ++ch) {
      const json* alt = first_alternative(ch);
      if (alt == nullptr) continue;
      Segment s;
      s.speaker = multichannel ? fmt::format("ch{}", ch) : "unknown";
      s.text = detail::trim_text(detail::str_or(*alt, "transcript"));
      s.confidence = detail::num_or(*alt, "confidence");
      s.words = channel_words(ch);
      if (!s.words.empty()) {
        s.start_ms = s.words.front().start_ms;
        s.end_ms = s.words.back().end_ms;
      }
      if (!s.text.empty()) t.segments.push_back(std::move(s));
    }
    t.diarized = false;
  }
  std::stable_sort(t.segments.begin(), t.segments.end(),
                   [](const Segment& a, const Segment& b) { return a.start_ms < b.start_ms; });
  return t;
}

}  // namespace

DeepgramProvider::DeepgramProvider(ProviderConfig config, http::HttpClient& client, const Clock& clock)
    : config_(std::make_shared<const ProviderConfig>(std::move(config))), client_(client), clock_(clock) {}

void DeepgramProvider::transcribe(SttJob job, TranscribeCallback done) {
  if (job.audio.empty()) {
    done(make_error(ErrorCode::kInvalidArgument, "deepgram: empty audio"));
    return;
  }
  if (job.translate) {
    done(make_error(ErrorCode::kFailedPrecondition, "deepgram: speech-to-English translation is not offered"));
    return;
  }
  const bool multichannel = job.separate_channels && job.channels > 1;
  const bool diarize = job.diarize && !multichannel;
  const auto& cfg = *config_;
  std::string url =
      fmt::format("{}/v1/listen?model={}&diarize={}&utterances=true&punctuate=true&smart_format=true", cfg.base_url,
                  http::url_encode(cfg.model.empty() ? "nova-3" : cfg.model), diarize ? "true" : "false");
  if (multichannel) url += "&multichannel=true";
  const std::string language = job.language.empty() ? cfg.language : job.language;
  if (!language.empty() && language != "unknown") url += "&language=" + http::url_encode(language);
  std::string content_type(audio_content_type(job.audio));
  // The file from disk as it is sent (audio_file), else from memory, shared by the retries.
  auto file = std::move(job.audio_file);
  auto audio = file ? nullptr : std::make_shared<const std::string>(std::move(job.audio));
  auto build = [config = config_, audio, file, url, content_type = std::move(content_type)] {
    auto r = detail::base_request(*config, "POST", url);
    r.add_header("Authorization", "Token " + config->api_key);
    r.add_header("Content-Type", content_type);
    if (file) {
      r.file_body = file;
    } else {
      r.shared_body = audio;
    }
    return r;
  };
  http::send_with_retry(detail::retry_context(cfg, client_, clock_, "deepgram listen"), std::move(build),
                        deepgram_error,
                        [done = std::move(done), multichannel, diarize, language](Result<http::HttpResponse> r) {
                          if (!r) {
                            done(std::unexpected(r.error()));
                            return;
                          }
                          done(parse_listen(*r, multichannel, diarize, language));
                        });
}

}  // namespace earshot::stt
