#pragma once
// Times in milliseconds read from JSON that was stored or sent by someone else (transcript
// segments, provider answers, stored metrics). A value out of range must not overflow where
// it is converted or later added to another: nlohmann's get<std::int64_t>() of a float out of
// range (1e300) is undefined behaviour, and llround() of one is unspecified. Every such
// reader goes through these.

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace earshot {

// The largest time kept (about 31 years): far beyond any call, and small enough that sums and
// differences of a few million of them stay inside 64 bits.
inline constexpr std::int64_t kMaxJsonMs = 1'000'000'000'000;

// A float number of milliseconds as an integer: rounded, NaN as 0, clamped to 0..kMaxJsonMs.
[[nodiscard]] inline std::int64_t clamp_ms(double ms) {
  if (!(ms > 0)) return 0;
  if (ms >= static_cast<double>(kMaxJsonMs)) return kMaxJsonMs;
  return std::llround(ms);
}

// The field `key` of object `j` as milliseconds: an integer clamped to 0..kMaxJsonMs, a float
// as clamp_ms; `fallback` when `j` is not an object or the field is absent or not a number.
[[nodiscard]] inline std::int64_t json_ms(const nlohmann::json& j, std::string_view key, std::int64_t fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return fallback;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    return v >= static_cast<std::uint64_t>(kMaxJsonMs) ? kMaxJsonMs : static_cast<std::int64_t>(v);
  }
  if (it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    return v < 0 ? 0 : (v > kMaxJsonMs ? kMaxJsonMs : v);
  }
  return clamp_ms(it->get<double>());
}

// The string field `key` of object `j`; `fallback` when `j` is not an object or the field is
// absent or not a string (nlohmann's value() throws on a field of another type).
[[nodiscard]] inline std::string json_str(const nlohmann::json& j, std::string_view key, std::string fallback = {}) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

}  // namespace earshot
