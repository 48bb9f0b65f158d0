#include "earshot/api/http_parsing.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace earshot::api::http_parsing {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Parameters of a header value like `form-data; name="a"; filename="b.wav"`: the first
// token in `value_out`, the parameters (names lowercased, quotes removed) in the map.
bool parse_parameters(std::string_view header, std::string& value_out, std::map<std::string, std::string>& params) {
  std::size_t i = 0;
  auto semi = header.find(';');
  value_out = lower(trim(header.substr(0, semi)));
  if (semi == std::string_view::npos) return true;
  i = semi + 1;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t' || header[i] == ';')) ++i;
    if (i >= header.size()) break;
    auto eq = header.find('=', i);
    if (eq == std::string_view::npos) return false;
    std::string name = lower(trim(header.substr(i, eq - i)));
    i = eq + 1;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      bool closed = false;
      while (i < header.size()) {
        char c = header[i++];
        if (c == '\\' && i < header.size()) {
          value += header[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) return false;
    } else {
      auto end = header.find(';', i);
      if (end == std::string_view::npos) end = header.size();
      value = std::string(trim(header.substr(i, end - i)));
      i = end;
    }
    if (name.empty()) return false;
    params[name] = value;
  }
  return true;
}

Error bad(std::string_view msg) {
  return Error(ErrorCode::kInvalidArgument, std::string("malformed multipart body: ").append(msg));
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_as_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::multimap<std::string, std::string> parse_query(std::string_view query) {
  std::multimap<std::string, std::string> out;
  std::size_t i = 0;
  while (i <= query.size()) {
    auto amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    auto pair = query.substr(i, amp - i);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) {
        out.emplace(percent_decode(pair, true), std::string());
      } else {
        out.emplace(percent_decode(pair.substr(0, eq), true), percent_decode(pair.substr(eq + 1), true));
      }
    }
    i = amp + 1;
  }
  return out;
}

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  std::string type;
  std::map<std::string, std::string> params;
  if (!parse_parameters(content_type, type, params)) return std::nullopt;
  if (type != "multipart/form-data") return std::nullopt;
  auto it = params.find("boundary");
  if (it == params.end() || it->second.empty() || it->second.size() > 70) return std::nullopt;
  return it->second;
}

Result<std::vector<FormPart>> parse_multipart(std::string_view body, std::string_view boundary,
                                              const MultipartLimits& limits) {
  if (boundary.empty()) return std::unexpected(bad("no boundary"));
  const std::string dash = "--" + std::string(boundary);
  const std::string delim = "\r\n" + dash;
  std::vector<FormPart> parts;
  // The first delimiter may open the body or follow a preamble line.
  std::size_t pos;
  if (body.substr(0, dash.size()) == dash) {
    pos = dash.size();
  } else {
    auto first = body.find(delim);
    if (first == std::string_view::npos) return std::unexpected(bad("no boundary line"));
    pos = first + delim.size();
  }
  while (true) {
    // After a delimiter: "--" closes the body, otherwise CRLF and the next part.
    if (body.substr(pos, 2) == "--") return parts;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;  // transport padding
    if (body.substr(pos, 2) != "\r\n") return std::unexpected(bad("boundary line not followed by CRLF"));
    pos += 2;
    if (parts.size() >= limits.max_parts) {
      return std::unexpected(bad("more than " + std::to_string(limits.max_parts) + " parts"));
    }
    auto head_end = body.find("\r\n\r\n", pos);
    // A part without headers starts with an empty line.
    std::string_view head;
    std::size_t content_start;
    if (body.substr(pos, 2) == "\r\n") {
      head = {};
      content_start = pos + 2;
    } else {
      if (head_end == std::string_view::npos) return std::unexpected(bad("part headers never end"));
      head = body.substr(pos, head_end - pos);
      content_start = head_end + 4;
    }
    if (head.size() > limits.max_header_bytes) return std::unexpected(bad("part headers too large"));
    FormPart part;
    bool disposition = false;
    std::size_t h = 0;
    while (h < head.size()) {
      auto eol = head.find("\r\n", h);
      if (eol == std::string_view::npos) eol = head.size();
      auto line = head.substr(h, eol - h);
      h = eol + 2;
      auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return std::unexpected(bad("part header without a name"));
      auto name = trim(line.substr(0, colon));
      auto value = trim(line.substr(colon + 1));
      if (iequals(name, "Content-Disposition")) {
        std::string kind;
        std::map<std::string, std::string> params;
        if (!parse_parameters(value, kind, params) || kind != "form-data") {
          return std::unexpected(bad("Content-Disposition must be form-data"));
        }
        auto n = params.find("name");
        if (n == params.end() || n->second.empty()) return std::unexpected(bad("a part has no name"));
        part.name = n->second;
        if (auto f = params.find("filename"); f != params.end()) part.filename = f->second;
        disposition = true;
      } else if (iequals(name, "Content-Type")) {
        part.content_type = std::string(value);
      }
    }
    if (!disposition) return std::unexpected(bad("a part has no Content-Disposition"));
    auto end = body.find(delim, content_start);
    if (end == std::string_view::npos) return std::unexpected(bad("no closing boundary"));
    part.content = std::string(body.substr(content_start, end - content_start));
    parts.push_back(std::move(part));
    pos = end + delim.size();
  }
}

ByteRange parse_range(std::string_view header, std::uint64_t size) {
  ByteRange whole;
  header = trim(header);
  if (header.substr(0, 6) != "bytes=") return whole;
  auto spec = trim(header.substr(6));
  if (spec.empty() || spec.find(',') != std::string_view::npos) return whole;
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  auto a = trim(spec.substr(0, dash));
  auto b = trim(spec.substr(dash + 1));
  auto number = [](std::string_view s, std::uint64_t& v) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
  };
  ByteRange r;
  r.kind = ByteRange::Kind::kPartial;
  if (a.empty()) {  // suffix: the last N bytes
    std::uint64_t n = 0;
    if (!number(b, n)) return whole;
    if (n == 0 || size == 0) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
    r.first = n >= size ? 0 : size - n;
    r.last = size - 1;
    return r;
  }
  std::uint64_t first = 0;
  if (!number(a, first)) return whole;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    if (!number(b, last)) return whole;
    if (last < first) return whole;  // syntactically invalid: ignored (RFC 9110 14.1.1)
  }
  if (first >= size) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
  r.first = first;
  r.last = std::min(last, size - 1);
  return r;
}

std::string gzip(std::string_view data, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {};
  return out;
}

bool accepts_gzip(std::string_view accept_encoding) {
  std::size_t i = 0;
  while (i <= accept_encoding.size()) {
    auto comma = accept_encoding.find(',', i);
    if (comma == std::string_view::npos) comma = accept_encoding.size();
    auto item = trim(accept_encoding.substr(i, comma - i));
    auto semi = item.find(';');
    auto coding = trim(item.substr(0, semi));
    if (iequals(coding, "gzip") || coding == "*") {
      if (semi == std::string_view::npos) return true;
      auto params = item.substr(semi + 1);
      auto q = params.find("q=");
      if (q == std::string_view::npos) return true;
      auto v = trim(params.substr(q + 2));
      // q=0, q=0.0, q=0.00...: refused.
      bool zero = !v.empty() && v[0] == '0';
      for (std::size_t k = 1; zero && k < v.size(); ++k) {
        if (v[k] != '.' && v[k] != '0') zero = false;
      }
      return !zero;
    }
    i = comma + 1;
  }
  return false;
}

}  // namespace earshot::api::http_parsing
