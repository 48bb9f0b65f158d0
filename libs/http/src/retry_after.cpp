#include "earshot/http/retry_after.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "earshot/core/json_ms.hpp"

namespace earshot::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

// A non-negative decimal number (digits, optionally one '.'), else nullopt. Up to 20 digits:
// the callers clamp it (clamp_ms) before it becomes a whole number of milliseconds.
std::optional<double> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  bool dot = false;
  for (char c : s) {
    if (c == '.') {
      if (dot) return std::nullopt;
      dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return std::nullopt;
    }
  }
  return std::strtod(std::string(s).c_str(), nullptr);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(const std::map<std::string, std::string>& headers,
                                                           std::chrono::system_clock::time_point now) {
  using std::chrono::milliseconds;
  if (auto it = headers.find("retry-after-ms"); it != headers.end()) {
    if (auto v = parse_number(trim(it->second))) {
      return milliseconds(clamp_ms(std::ceil(*v)));
    }
  }
  auto it = headers.find("retry-after");
  if (it == headers.end()) return std::nullopt;
  const auto value = trim(it->second);
  if (auto v = parse_number(value)) {
    return milliseconds(clamp_ms(std::ceil(*v * 1000.0)));
  }
  // HTTP-date: IMF-fixdate, or the obsolete RFC 850 / asctime forms; curl_getdate reads all.
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(when);
  if (at <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(at - now);
}

}  // namespace earshot::http
