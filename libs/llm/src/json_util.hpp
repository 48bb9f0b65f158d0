#pragma once
// Helpers shared by the adapters (private).

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

inline int int_or(const nlohmann::json& j, const char* key, int def = 0) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return def;
  return it->get<int>();
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
