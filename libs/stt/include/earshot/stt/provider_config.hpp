#pragma once
// A business's speech-to-text provider, from its JSON config:
//   {"provider": "sarvam" | "deepgram" | "openai" | "whisper_cpp",
//    "api_key": "...", "base_url": "https://...", "model": "...", "language": "hi-IN",
//    "timeout_ms": 120000, "connect_timeout_ms": 5000, "deadline_ms": 900000,
//    "max_attempts": 4, "initial_backoff_ms": 500, "max_backoff_ms": 20000,
//    "max_retry_after_ms": 120000, "poll_interval_ms": 1000, "max_poll_interval_ms": 15000}
// Only "provider" is required (plus "api_key" for sarvam and deepgram); base_url defaults
// to the provider's public endpoint and is overridable (tests point it at fakes). Unknown
// keys and bad values are kInvalidArgument naming the key. The key is a secret: it never
// appears in describe(), in errors or in logs.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/http/retry.hpp"
#include "earshot/stt/provider.hpp"

namespace earshot::stt {

struct ProviderConfig {
  std::string provider;
  std::string api_key;
  std::string base_url;
  std::string model;                           // provider default when empty
  std::string language;                        // BCP-47; empty: auto-detect where the provider can
  std::chrono::milliseconds timeout{120'000};  // one request
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds deadline{900'000};  // a whole job: retries, batch polling
  http::RetryPolicy retry;
  std::chrono::milliseconds poll_interval{1'000};       // Sarvam batch status, first wait
  std::chrono::milliseconds max_poll_interval{15'000};  // ... growing to this
  std::uint64_t max_response_bytes = 64ULL << 20;
  // Not read from JSON: set by the caller to count provider requests by status.
  http::RequestObserver on_request;

  // "sarvam base_url=https://api.sarvam.ai model=saarika:v2.5 api_key=***" (key masked).
  [[nodiscard]] std::string describe() const;
};

[[nodiscard]] Result<ProviderConfig> parse_provider_config(std::string_view json);

// Whether parse_provider_config and make_provider know the provider `name`; the names they
// know, as errors list them ("sarvam, deepgram, openai, whisper_cpp").
[[nodiscard]] bool is_known_provider(std::string_view name);
[[nodiscard]] std::string known_provider_names();

// The adapter for `config`, wrapped so that per-channel jobs on providers without a
// multichannel option are split into mono files. `client` and `clock` must outlive it.
[[nodiscard]] Result<std::unique_ptr<SttProvider>> make_provider(const ProviderConfig& config, http::HttpClient& client,
                                                                 const Clock& clock);

}  // namespace earshot::stt
