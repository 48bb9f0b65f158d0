#pragma once
// Helpers shared by the route files: strict body and query parsing, JSON views.

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <set>
#include <string>

#include "earshot/api/router.hpp"
#include "earshot/http/address_policy.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/storage/repository_common.hpp"

namespace earshot::api::detail {

inline std::unexpected<Error> invalid(std::string msg) {
  return make_error(ErrorCode::kInvalidArgument, std::move(msg));
}

// Save-time egress check (defence in depth; the workers check every resolved address when
// they connect). `value` is a URL or a bare host ("db.example", "10.0.0.1", "[::1]"); when
// its host is a LITERAL address (any spelling the resolver accepts: 2130706433, 0177.0.0.1,
// 127.1, [::ffff:127.0.0.1]) that `policy` refuses, the error is
// "<field>: destination not allowed". Hostnames are not resolved here.
inline Status check_literal_destination(const http::AddressPolicy& policy, std::string_view field,
                                        std::string_view value, int port = 0) {
  std::string_view host = value;
  if (const auto scheme = value.find("://"); scheme != std::string_view::npos) {
    host = value.substr(scheme + 3);
    host = host.substr(0, host.find_first_of("/?#"));
    if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
    port = value.starts_with("https") ? 443 : 80;
  }
  std::string_view rest;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return {};
    rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
  } else if (const auto colon = host.find(':');
             colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
    rest = host.substr(colon);
    host = host.substr(0, colon);
  }
  if (rest.starts_with(':')) {
    int p = 0;
    const auto r = std::from_chars(rest.data() + 1, rest.data() + rest.size(), p);
    if (r.ec == std::errc() && p > 0 && p < 65536) port = p;
  }
  const std::string h(host);
  std::string literal;
  in6_addr v6{};
  in_addr v4{};
  char buf[INET6_ADDRSTRLEN] = {};
  if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    literal = h;
  } else if (!h.empty() && ::inet_aton(h.c_str(), &v4) != 0 && ::inet_ntop(AF_INET, &v4, buf, sizeof buf) != nullptr) {
    literal = buf;
  } else {
    return {};  // a hostname: resolved and checked by the worker that connects
  }
  if (!policy.check(literal, port).empty()) return invalid(fmt::format("{}: destination not allowed", field));
  return {};
}

// Walks `j` (a pipeline-config section as sent) and checks every destination field in it:
// "host" (with a sibling integer "port" when given), "url", "base_url" and "*_url".
inline Status check_destinations(const http::AddressPolicy& policy, const std::string& path, const Json& j) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      std::string field = path;
      field.append(".").append(k);
      if (v.is_string() && (k == "host" || k == "url" || k == "base_url" || k.ends_with("_url"))) {
        int port = 0;
        if (k == "host" && j.contains("port") && j["port"].is_number_integer()) port = j["port"].get<int>();
        if (auto st = check_literal_destination(policy, field, v.get<std::string>(), port); !st) return st;
      } else if (v.is_structured()) {
        if (auto st = check_destinations(policy, field, v); !st) return st;
      }
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (auto st = check_destinations(policy, fmt::format("{}[{}]", path, i), j[i]); !st) return st;
    }
  }
  return {};
}

inline std::string iso(storage::Timestamp t) {
  return queue::format_utc(t);
}
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
inline Result<std::optional<std::string>> str_field(const Json& b, const char* name, bool required, std::size_t min_len,
                                                    std::size_t max_len) {
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

inline Result<std::optional<std::int64_t>> int_field(const Json& b, const char* name, std::int64_t min,
                                                     std::int64_t max) {
  auto it = b.find(name);
  if (it == b.end() || it->is_null()) return std::optional<std::int64_t>{};
  if (!it->is_number_integer()) return invalid(fmt::format("{} must be an integer", name));
  const auto v = it->get<std::int64_t>();
  if (v < min || v > max) return invalid(fmt::format("{} must be {}..{}", name, min, max));
  return std::optional<std::int64_t>(v);
}

inline Result<std::optional<std::int64_t>> query_int(const Request& r, const char* name, std::int64_t min,
                                                     std::int64_t max) {
  auto v = r.query_param(name);
  if (!v) return std::optional<std::int64_t>{};
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || out < min || out > max) {
    return invalid(fmt::format("{} must be an integer {}..{}", name, min, max));
  }
  return std::optional<std::int64_t>(out);
}

inline Result<std::optional<double>> query_double(const Request& r, const char* name, double min, double max) {
  auto v = r.query_param(name);
  if (!v) return std::optional<double>{};
  double out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || !std::isfinite(out) || out < min || out > max) {
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

inline Result<std::optional<std::string>> query_str(const Request& r, const char* name, std::size_t max_len) {
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
