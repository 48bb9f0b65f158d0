#pragma once
// Helpers shared by the adapters (private).

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "earshot/core/error.hpp"
#include "earshot/core/json_ms.hpp"
#include "earshot/http/http_client.hpp"

namespace earshot::stt::detail {

inline std::string str_or(const nlohmann::json& j, const char* key, std::string def = {}) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  return def;
}

inline double num_or(const nlohmann::json& j, const char* key, double def = 0) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return def;
  return it->get<double>();
}

// The array at `key` of an object, by reference, or an empty array (never a copy).
inline const nlohmann::json& array_or_empty(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  if (!j.is_object()) return kEmpty;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

// Provider times in seconds; out of range (1e300, negative) clamped by clamp_ms.
inline std::int64_t seconds_to_ms(double s) {
  return clamp_ms(s * 1000.0);
}

// A provider answered 2xx with a body we cannot read: not the input's fault, and a retry of a
// billed request is not ours to make; kUnavailable lets the queue try the job again later.
inline Error malformed(std::string_view provider, std::string_view what) {
  return Error(ErrorCode::kUnavailable, std::string(provider) + ": malformed response: " + std::string(what));
}

inline Result<nlohmann::json> parse_body(std::string_view provider, const http::HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::unexpected(malformed(provider, "body is not a JSON object"));
  }
  return j;
}

// First 200 bytes of a text, for messages about bodies that are not what we expected.
inline std::string excerpt(std::string_view s) {
  std::string out(s.substr(0, 200));
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

}  // namespace earshot::stt::detail

#include "earshot/http/retry.hpp"
#include "earshot/stt/provider_config.hpp"

namespace earshot::stt::detail {

inline http::RetryContext retry_context(const ProviderConfig& cfg, http::HttpClient& client, const Clock& clock,
                                        std::string what) {
  http::RetryContext ctx;
  ctx.client = &client;
  ctx.clock = &clock;
  ctx.policy = cfg.retry;
  ctx.deadline = clock.steady_now() + cfg.deadline;
  ctx.what = std::move(what);
  ctx.observer = cfg.on_request;
  return ctx;
}

inline http::HttpRequest base_request(const ProviderConfig& cfg, std::string method, std::string url) {
  http::HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.timeout = cfg.timeout;
  r.connect_timeout = cfg.connect_timeout;
  r.max_response_bytes = cfg.max_response_bytes;
  return r;
}

// "hi-IN" -> "hi" (ISO-639-1, as Whisper-style servers take it); "" and "unknown" -> "".
inline std::string iso639_1(std::string_view bcp47) {
  if (bcp47.empty() || bcp47 == "unknown") return {};
  std::string out(bcp47.substr(0, bcp47.find_first_of("-_")));
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string trim_text(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace earshot::stt::detail
