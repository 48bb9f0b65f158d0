#pragma once
// Helpers shared by the adapters (private).

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"

namespace earshot::llm::detail {

inline std::string str_or(const nlohmann::json& j, const char* key, std::string def = {}) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return def;
  return it->get<std::string>();
}

// A count the provider reports (token usage): 0 when absent, not a number, negative or NaN;
// a count beyond int (a provider's 64-bit counter, 1e300) is INT_MAX. get<int>() would wrap
// an integer and is undefined for a float out of range.
inline int count_or_zero(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end()) return 0;
  constexpr auto kMax = std::numeric_limits<int>::max();
  if (it->is_number_unsigned()) return static_cast<int>(std::min<std::uint64_t>(it->get<std::uint64_t>(), kMax));
  if (it->is_number_integer()) return static_cast<int>(std::clamp<std::int64_t>(it->get<std::int64_t>(), 0, kMax));
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (!(d > 0)) return 0;
    return d >= static_cast<double>(kMax) ? kMax : static_cast<int>(d);
  }
  return 0;
}

inline std::string excerpt(std::string_view body) {
  return std::string(body.substr(0, 200));
}

// A 2xx answer we cannot read: kUnavailable, so a fallback provider or a later retry may do.
inline Error malformed(std::string_view provider, std::string_view what) {
  return Error(ErrorCode::kUnavailable, std::string(provider) + ": malformed response: " + std::string(what));
}

inline Result<nlohmann::json> parse_body(std::string_view provider, const http::HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::unexpected(malformed(provider, "not a JSON object: " + excerpt(r.body)));
  }
  return j;
}

inline std::string join_url(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + std::string(path);
}

}  // namespace earshot::llm::detail
