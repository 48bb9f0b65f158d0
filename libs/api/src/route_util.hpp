#pragma once
// Helpers shared by the route files: strict body and query parsing, JSON views.

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <set>
#include <string>

#include "earshot/api/router.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::api::detail {

inline std::unexpected<Error> invalid(std::string msg) {
  return make_error(ErrorCode::kInvalidArgument, std::move(msg));
}

inline std::string iso(storage::Timestamp t) { return queue::format_utc(t); }
inline Json iso_opt(const std::optional<storage::Timestamp>& t) {
  return t ? Json(iso(*t)) : Json(nullptr);
}
template <class T>
Json opt(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}
// Stored JSON text as a value (null when unparsable, which the database prevents).
inline Json parsed(const std::string& text) {
  auto j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(nullptr) : j;
}

// Refuses body fields other than `allowed`.
inline Status only_fields(const Json& body, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : body.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok) return invalid(fmt::format("unknown field '{}'", k));
  }
  return {};
}
inline Status only_query(const Request& r, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : r.query) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok) return invalid(fmt::format("unknown query parameter '{}'", k));
  }
  return {};
}

// A string field: required or optional, with a length range.
inline Result<std::optional<std::string>> str_field(const Json& b, const char* name, bool required,
                                                    std::size_t min_len, std::size_t max_len) {
  auto it = b.find(name);
  if (it == b.end() || it->is_null()) {
    if (required) return invalid(fmt::format("{} is required", name));
    return std::optional<std::string>{};
  }
  if (!it->is_string()) return invalid(fmt::format("{} must be a string", name));
  auto s = it->get<std::string>();
  if (s.size() < min_len || s.size() > max_len) {
    return invalid(fmt::format("{} must be {}-{} characters", name, min_len, max_len));
  }
  return std::optional<std::string>(std::move(s));
}

inline Result<std::optional<bool>> bool_field(const Json& b, const char* name) {
  auto it = b.find(name);
  if (it == b.end() || it->is_null()) return std::optional<bool>{};
  if (!it->is_boolean()) return invalid(fmt::format("{} must be true or false", name));
  return std::optional<bool>(it->get<bool>());
}

inline Result<std::optional<std::int64_t>> int_field(const Json& b, const char* name,
                                                     std::int64_t min, std::int64_t max) {
  auto it = b.find(name);
  if (it == b.end() || it->is_null()) return std::optional<std::int64_t>{};
  if (!it->is_number_integer()) return invalid(fmt::format("{} must be an integer", name));
  const auto v = it->get<std::int64_t>();
  if (v < min || v > max) return invalid(fmt::format("{} must be {}..{}", name, min, max));
  return std::optional<std::int64_t>(v);
}

inline Result<std::optional<std::int64_t>> query_int(const Request& r, const char* name,
                                                     std::int64_t min, std::int64_t max) {
  auto v = r.query_param(name);
  if (!v) return std::optional<std::int64_t>{};
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || out < min || out > max) {
    return invalid(fmt::format("{} must be an integer {}..{}", name, min, max));
  }
  return std::optional<std::int64_t>(out);
}

inline Result<std::optional<double>> query_double(const Request& r, const char* name, double min,
                                                  double max) {
  auto v = r.query_param(name);
  if (!v) return std::optional<double>{};
  double out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || !std::isfinite(out) ||
      out < min || out > max) {
    return invalid(fmt::format("{} must be a number {}..{}", name, min, max));
  }
  return std::optional<double>(out);
}

// "2026-11-21", "2026-11-21T09:40:00Z" or with ".123" milliseconds (UTC only).
Result<storage::Timestamp> parse_time(std::string_view text);

inline Result<std::optional<storage::Timestamp>> query_time(const Request& r, const char* name) {
  auto v = r.query_param(name);
  if (!v) return std::optional<storage::Timestamp>{};
  auto t = parse_time(*v);
  if (!t) return invalid(fmt::format("{} must be a UTC date or time like 2026-11-21T09:40:00Z", name));
  return std::optional<storage::Timestamp>(*t);
}

inline Result<std::optional<std::string>> query_str(const Request& r, const char* name,
                                                    std::size_t max_len) {
  auto v = r.query_param(name);
  if (!v) return std::optional<std::string>{};
  if (v->empty() || v->size() > max_len) {
    return invalid(fmt::format("{} must be 1-{} characters", name, max_len));
  }
  return v;
}

inline std::string csv_cell(const Json& v) {
  std::string s;
  if (v.is_null()) return "";
  if (v.is_string()) {
    s = v.get<std::string>();
  } else {
    s = v.dump();
  }
  // Cells that a spreadsheet would run as formulas are prefixed, then quoted when needed.
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') && !v.is_number()) {
    s = "'" + s;
  }
  if (s.find_first_of(",\"\n\r") != std::string::npos) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  }
  return s;
}

// A list as JSON {"items": [...]} or, with format=csv, a CSV file of `columns`.
inline Result<Reply> list_reply(const Request& req, const Json& items, const std::vector<std::string>& columns,
                         const std::string& name, Json extra = Json::object()) {
  const auto format = req.query_param("format").value_or("json");
  if (format == "json") {
    extra["items"] = items;
    return Reply::ok(extra);
  }
  if (format != "csv") return invalid("format must be json|csv");
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
  out += "\r\n";
  for (const auto& it : items) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      out += (i ? "," : "") + csv_cell(it.contains(columns[i]) ? it[columns[i]] : Json(nullptr));
    }
    out += "\r\n";
  }
  Reply r = Reply::text(out, "text/csv; charset=utf-8");
  r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}.csv\"", name));
  return r;
}

inline storage::TenantId tenant_of(const std::string& bid) {
  // Callers' bids come from verified tokens or checked path parameters.
  return *storage::TenantId::make(bid);
}

}  // namespace earshot::api::detail
