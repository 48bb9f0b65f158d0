#pragma once
// A JSON text written straight into a string, for the hot read routes (the call list and
// a call's detail): no document tree, one growing buffer. Building an nlohmann tree per
// row and dumping it cost most of the gateway's CPU per uncached page (docs/api.md,
// Performance). Stored JSON columns (transcript segments, analyses, metadata) are copied in
// as they are: the database keeps them valid (MariaDB's JSON type checks JSON_VALID) and
// the platform wrote every one of them with nlohmann.
//
// Strings are escaped as nlohmann's dump escapes them (quote, backslash, control
// characters); invalid UTF-8 becomes U+FFFD instead of an exception. Doubles use the
// shortest text that reads back the same value; NaN and infinities are null.

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace earshot::api {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() {
    value_prefix();
    out_ += '{';
    push();
    return *this;
  }
  JsonWriter& end_object() {
    pop();
    out_ += '}';
    return *this;
  }
  JsonWriter& begin_array() {
    value_prefix();
    out_ += '[';
    push();
    return *this;
  }
  JsonWriter& end_array() {
    pop();
    out_ += ']';
    return *this;
  }
  // The key of the next member (inside an object): a literal of the code's own (plain
  // ASCII, nothing to escape) goes in with one append.
  template <std::size_t N>
  JsonWriter& key(const char (&k)[N]) {
    static_assert(N > 1 && N < 64, "a member name literal");
    char buf[N + 3];
    std::size_t n = 0;
    if (!first_) buf[n++] = ',';
    first_ = false;
    buf[n++] = '"';
    std::memcpy(buf + n, k, N - 1);
    n += N - 1;
    buf[n++] = '"';
    buf[n++] = ':';
    out_.append(buf, n);
    after_key_ = true;
    return *this;
  }
  JsonWriter& key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    write_string(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }

  JsonWriter& string(std::string_view s) {
    value_prefix();
    write_string(s);
    return *this;
  }
  JsonWriter& number(std::int64_t v) {
    value_prefix();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
  }
  JsonWriter& number(int v) { return number(static_cast<std::int64_t>(v)); }
  JsonWriter& number(double v) {
    value_prefix();
    if (v != v || v - v != 0) {  // NaN or infinite
      out_ += "null";
      return *this;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    // nlohmann writes integral doubles with ".0"; keep them doubles for typed clients.
    bool integral = true;
    for (const char* p = buf; p != r.ptr; ++p) {
      if (*p == '.' || *p == 'e' || *p == 'E') integral = false;
    }
    if (integral) out_ += ".0";
    return *this;
  }
  JsonWriter& boolean(bool v) {
    value_prefix();
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonWriter& null() {
    value_prefix();
    out_ += "null";
    return *this;
  }
  // "2026-11-21T09:40:00.123Z" (UTC, milliseconds), the form queue::format_utc writes,
  // without gmtime_r and a format string per value.
  JsonWriter& timestamp(std::chrono::sys_time<std::chrono::milliseconds> t) {
    value_prefix();
    const auto days = std::chrono::floor<std::chrono::days>(t);
    const std::chrono::year_month_day ymd{days};
    const std::int64_t ms_of_day = (t - days).count();
    const int y = static_cast<int>(ymd.year());
    if (y < 0 || y > 9999) {
      out_ += "null";
      return *this;
    }
    char buf[26] = {'"'};
    auto put = [&](int at, std::int64_t v, int width) {
      for (int i = width - 1; i >= 0; --i) {
        buf[at + i] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
    };
    put(1, y, 4);
    buf[5] = '-';
    put(6, static_cast<unsigned>(ymd.month()), 2);
    buf[8] = '-';
    put(9, static_cast<unsigned>(ymd.day()), 2);
    buf[11] = 'T';
    put(12, ms_of_day / 3'600'000, 2);
    buf[14] = ':';
    put(15, ms_of_day / 60'000 % 60, 2);
    buf[17] = ':';
    put(18, ms_of_day / 1000 % 60, 2);
    buf[20] = '.';
    put(21, ms_of_day % 1000, 3);
    buf[24] = 'Z';
    buf[25] = '"';
    out_.append(buf, 26);
    return *this;
  }
  JsonWriter& timestamp(const std::optional<std::chrono::sys_time<std::chrono::milliseconds>>& t) {
    return t ? timestamp(*t) : null();
  }

  // A value that is already JSON text (a stored JSON column); empty text is null.
  JsonWriter& raw(std::string_view json) {
    value_prefix();
    if (json.empty()) {
      out_ += "null";
    } else {
      out_.append(json);
    }
    return *this;
  }
  template <class T>
  JsonWriter& optional(const std::optional<T>& v) {
    if (!v) return null();
    if constexpr (std::is_same_v<T, std::string>) {
      return string(*v);
    } else {
      return number(*v);
    }
  }
  // An empty string as null (fields such as failed_reason).
  JsonWriter& string_or_null(std::string_view s) { return s.empty() ? null() : string(s); }

  // Shorthands for a member.
  template <std::size_t N, class T>
  JsonWriter& field(const char (&k)[N], const T& v) {
    key(k);
    return value(v);
  }
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  template <class T>
  JsonWriter& value(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      return boolean(v);
    } else if constexpr (std::is_integral_v<T>) {
      return number(static_cast<std::int64_t>(v));
    } else if constexpr (std::is_floating_point_v<T>) {
      return number(static_cast<double>(v));
    } else if constexpr (requires { v.has_value(); }) {
      return optional(v);
    } else {
      return string(std::string_view(v));
    }
  }

  [[nodiscard]] std::size_t depth() const { return depth_; }

 private:
  void value_prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ > 0) {
      if (!first_) out_ += ',';
      first_ = false;
    }
  }
  // Opening a container already counted it as a member of its parent, so on closing the
  // parent is never at its first member: one flag suffices, no stack.
  void push() {
    first_ = true;
    ++depth_;
  }
  void pop() {
    first_ = false;
    --depth_;
  }

  void write_string(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += '"';
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    const auto* run = p;
    auto flush = [&](const unsigned char* upto) {
      out_.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(upto - run));
    };
    while (p < end) {
      const unsigned char c = *p;
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        ++p;
        continue;
      }
      if (c < 0x80) {
        flush(p);
        switch (c) {
          case '"':
            out_ += "\\\"";
            break;
          case '\\':
            out_ += "\\\\";
            break;
          case '\b':
            out_ += "\\b";
            break;
          case '\f':
            out_ += "\\f";
            break;
          case '\n':
            out_ += "\\n";
            break;
          case '\r':
            out_ += "\\r";
            break;
          case '\t':
            out_ += "\\t";
            break;
          default:
            out_ += "\\u00";
            out_ += kHex[c >> 4];
            out_ += kHex[c & 0xF];
        }
        run = ++p;
        continue;
      }
      const std::size_t n = utf8_length(p, end);
      if (n == 0) {  // invalid: one byte becomes U+FFFD
        flush(p);
        out_ += "\xEF\xBF\xBD";
        run = ++p;
      } else {
        p += n;
      }
    }
    flush(p);
    out_ += '"';
  }

  // Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
  // nothing above U+10FFFF), or 0.
  static std::size_t utf8_length(const unsigned char* p, const unsigned char* end) {
    const unsigned char c = p[0];
    auto cont = [&](std::size_t i) { return p + i < end && (p[i] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2)) return 0;
      if (c == 0xE0 && p[1] < 0xA0) return 0;
      if (c == 0xED && p[1] >= 0xA0) return 0;
      return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return 0;
      if (c == 0xF0 && p[1] < 0x90) return 0;
      if (c == 0xF4 && p[1] >= 0x90) return 0;
      return 4;
    }
    return 0;
  }

  std::string& out_;
  std::size_t depth_ = 0;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace earshot::api
