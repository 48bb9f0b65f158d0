#include "earshot/stt/provider_config.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>

#include "earshot/audio/audio.hpp"
#include "earshot/stt/adapters.hpp"

namespace earshot::stt {

namespace {

audio::AudioFormat sniff(std::string_view bytes) {
  const auto head = bytes.substr(0, 64);
  return audio::detect_format(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(head.data()), head.size()));
}

// The providers this library has adapters for, with their public endpoints.
struct KnownProvider {
  std::string_view name;
  std::string_view default_base_url;
};
constexpr std::array<KnownProvider, 4> kKnown = {{{"sarvam", "https://api.sarvam.ai"},
                                                  {"deepgram", "https://api.deepgram.com"},
                                                  {"openai", "https://api.openai.com"},
                                                  {"whisper_cpp", "http://127.0.0.1:8080"}}};

const KnownProvider* known(std::string_view name) {
  for (const auto& k : kKnown) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

Status check_url(std::string_view key, const std::string& url) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("provider config: {} must be an http(s) URL", key));
  }
  return {};
}

}  // namespace

std::string_view audio_content_type(std::string_view audio) {
  switch (sniff(audio)) {
    case audio::AudioFormat::kWav:
      return "audio/wav";
    case audio::AudioFormat::kFlac:
      return "audio/flac";
    case audio::AudioFormat::kOgg:
      return "audio/ogg";
    case audio::AudioFormat::kMp3:
      return "audio/mpeg";
    case audio::AudioFormat::kAiff:
      return "audio/aiff";
    case audio::AudioFormat::kUnknown:
      break;
  }
  return "application/octet-stream";
}

std::string_view audio_extension(std::string_view audio) {
  switch (sniff(audio)) {
    case audio::AudioFormat::kWav:
      return "wav";
    case audio::AudioFormat::kFlac:
      return "flac";
    case audio::AudioFormat::kOgg:
      return "ogg";
    case audio::AudioFormat::kMp3:
      return "mp3";
    case audio::AudioFormat::kAiff:
      return "aiff";
    case audio::AudioFormat::kUnknown:
      break;
  }
  return "bin";
}

std::string ProviderConfig::describe() const {
  return fmt::format("{} base_url={} model={} language={} api_key={}", provider, base_url,
                     model.empty() ? "(default)" : model, language.empty() ? "(auto)" : language,
                     api_key.empty() ? "(none)" : "***");
}

Result<ProviderConfig> parse_provider_config(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "provider config: not a JSON object");
  }
  ProviderConfig c;
  const auto bad = [](std::string_view key, std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("provider config: {} {}", key, why));
  };
  for (const auto& [key, value] : j.items()) {
    const auto string_field = [&](std::string& out) -> Status {
      if (!value.is_string()) return bad(key, "must be a string");
      out = value.get<std::string>();
      return {};
    };
    const auto ms_field = [&](std::chrono::milliseconds& out, std::int64_t min, std::int64_t max) -> Status {
      if (!value.is_number_integer()) return bad(key, "must be an integer");
      const auto v = value.get<std::int64_t>();
      if (v < min || v > max) return bad(key, fmt::format("must be in [{}, {}]", min, max));
      out = std::chrono::milliseconds(v);
      return {};
    };
    Status s;
    if (key == "provider")
      s = string_field(c.provider);
    else if (key == "api_key")
      s = string_field(c.api_key);
    else if (key == "base_url")
      s = string_field(c.base_url);
    else if (key == "model")
      s = string_field(c.model);
    else if (key == "language")
      s = string_field(c.language);
    else if (key == "timeout_ms")
      s = ms_field(c.timeout, 1, 3'600'000);
    else if (key == "connect_timeout_ms")
      s = ms_field(c.connect_timeout, 1, 600'000);
    else if (key == "deadline_ms")
      s = ms_field(c.deadline, 1, 86'400'000);
    else if (key == "initial_backoff_ms")
      s = ms_field(c.retry.initial_backoff, 1, 600'000);
    else if (key == "max_backoff_ms")
      s = ms_field(c.retry.max_backoff, 1, 3'600'000);
    else if (key == "max_retry_after_ms")
      s = ms_field(c.retry.max_retry_after, 0, 86'400'000);
    else if (key == "poll_interval_ms")
      s = ms_field(c.poll_interval, 1, 600'000);
    else if (key == "max_poll_interval_ms")
      s = ms_field(c.max_poll_interval, 1, 3'600'000);
    else if (key == "max_attempts") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1 || value.get<std::int64_t>() > 20) {
        s = bad(key, "must be an integer in [1, 20]");
      } else {
        c.retry.max_attempts = value.get<int>();
      }
    } else if (key == "max_response_bytes") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1024) {
        s = bad(key, "must be an integer >= 1024");
      } else {
        c.max_response_bytes = value.get<std::uint64_t>();
      }
    } else {
      s = bad(key, "is not a known key");
    }
    if (!s) return std::unexpected(s.error());
  }
  if (c.provider.empty()) return bad("provider", "is required");
  const KnownProvider* k = known(c.provider);
  if (k == nullptr) return bad("provider", "must be one of " + known_provider_names());
  if (c.base_url.empty()) c.base_url = k->default_base_url;
  if ((c.provider == "sarvam" || c.provider == "deepgram") && c.api_key.empty()) {
    return bad("api_key", "is required for " + c.provider);
  }
  while (c.base_url.ends_with('/')) c.base_url.pop_back();
  if (auto s = check_url("base_url", c.base_url); !s) return std::unexpected(s.error());
  return c;
}

bool is_known_provider(std::string_view name) {
  return known(name) != nullptr;
}

std::string known_provider_names() {
  std::string out;
  for (const auto& k : kKnown) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

Result<std::unique_ptr<SttProvider>> make_provider(const ProviderConfig& config, http::HttpClient& client,
                                                   const Clock& clock) {
  std::unique_ptr<SttProvider> p;
  if (config.provider == "sarvam") {
    p = std::make_unique<SarvamProvider>(config, client, clock);
  } else if (config.provider == "deepgram") {
    p = std::make_unique<DeepgramProvider>(config, client, clock);
  } else if (config.provider == "openai") {
    p = std::make_unique<OpenAiSttProvider>(config, client, clock, OpenAiSttProvider::Mode::kOpenAi);
  } else if (config.provider == "whisper_cpp") {
    p = std::make_unique<OpenAiSttProvider>(config, client, clock, OpenAiSttProvider::Mode::kWhisperCpp);
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("provider config: unknown provider '{}'", config.provider));
  }
  if (p->supports_multichannel()) return p;
  return std::make_unique<ChannelSplitProvider>(std::move(p));
}

}  // namespace earshot::stt
