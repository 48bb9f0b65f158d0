#include "earshot/http/sigv4.hpp"

#include <fmt/format.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

namespace earshot::http {

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string sigv4_uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss hms(secs - days);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

// Percent-decoding of a path ('+' is a plus there, not a space).
std::string path_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Trims and collapses runs of spaces, as the canonical header value wants.
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

struct UrlParts {
  std::string host;
  std::string path;
  std::string query;
};

Result<UrlParts> split_url(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return make_error(ErrorCode::kInvalidArgument, "sigv4: URL without a scheme");
  std::string_view rest = url.substr(scheme + 3);
  UrlParts p;
  const auto slash = rest.find_first_of("/?");
  p.host = std::string(rest.substr(0, slash));
  if (slash == std::string_view::npos) {
    p.path = "/";
    return p;
  }
  rest = rest.substr(slash);
  const auto q = rest.find('?');
  p.path = std::string(rest.substr(0, q));
  if (p.path.empty()) p.path = "/";
  if (q != std::string_view::npos) p.query = std::string(rest.substr(q + 1));
  return p;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    if (!item.empty()) {
      const auto eq = item.find('=');
      std::string name = url_decode(item.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : url_decode(item.substr(eq + 1));
      params.emplace_back(sigv4_uri_encode(name, false), sigv4_uri_encode(value, false));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  std::ranges::sort(params);
  std::string out;
  for (const auto& [n, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += n;
    out.push_back('=');
    out += v;
  }
  return out;
}

}  // namespace

SigV4Signer::SigV4Signer(AwsCredentials credentials, std::string region, std::string service, const Clock& clock)
    : credentials_(std::move(credentials)), region_(std::move(region)), service_(std::move(service)), clock_(&clock) {}

Result<SigV4Parts> SigV4Signer::compute(const http::HttpRequest& request) const {
  auto url = split_url(request.url);
  if (!url) return std::unexpected(url.error());
  SigV4Parts parts;
  parts.amz_date = amz_date(clock_->now());
  const std::string date = parts.amz_date.substr(0, 8);

  // Headers to sign: lower-cased name -> canonical value (sorted by the map).
  std::vector<std::pair<std::string, std::string>> signed_headers;
  signed_headers.emplace_back("host", url->host);
  signed_headers.emplace_back("x-amz-date", parts.amz_date);
  if (!credentials_.session_token.empty()) {
    signed_headers.emplace_back("x-amz-security-token", credentials_.session_token);
  }
  const std::string_view body =
      request.shared_body ? std::string_view(*request.shared_body) : std::string_view(request.body);
  std::string payload_hash;
  for (const auto& [name, value] : request.headers) {
    const std::string n = lower(name);
    if (n == "host" || n == "x-amz-date" || n == "x-amz-security-token" || n == "authorization") continue;
    if (s3 && n == "x-amz-content-sha256") {
      payload_hash = canonical_value(value);
      signed_headers.emplace_back(n, payload_hash);
    } else if (n == "content-type" || std::ranges::find(extra_signed_headers, n) != extra_signed_headers.end()) {
      signed_headers.emplace_back(n, canonical_value(value));
    }
  }
  if (payload_hash.empty()) {
    payload_hash = sha256_hex(body);
    if (s3) signed_headers.emplace_back("x-amz-content-sha256", payload_hash);
  }
  std::ranges::sort(signed_headers);

  std::string canonical_headers;
  for (const auto& [n, v] : signed_headers) {
    canonical_headers.append(n).append(":").append(v).append("\n");
    if (!parts.signed_headers.empty()) parts.signed_headers.push_back(';');
    parts.signed_headers += n;
  }
  std::string method = request.method;
  std::ranges::transform(method, method.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  parts.canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", method, sigv4_uri_encode(s3 ? path_decode(url->path) : url->path, true),
                  canonical_query(url->query), canonical_headers, parts.signed_headers, payload_hash);
  parts.payload_hash = payload_hash;
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region_, service_);
  parts.string_to_sign =
      fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", parts.amz_date, scope, sha256_hex(parts.canonical_request));
  const std::string k_date = hmac_sha256("AWS4" + credentials_.secret_access_key, date);
  const std::string k_region = hmac_sha256(k_date, region_);
  const std::string k_service = hmac_sha256(k_region, service_);
  const std::string k_signing = hmac_sha256(k_service, "aws4_request");
  parts.signature = to_hex(hmac_sha256(k_signing, parts.string_to_sign));
  parts.authorization = fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                                    credentials_.access_key_id, scope, parts.signed_headers, parts.signature);
  return parts;
}

Status SigV4Signer::sign(http::HttpRequest& request) const {
  auto parts = compute(request);
  if (!parts) return std::unexpected(parts.error());
  std::erase_if(request.headers, [](const auto& h) {
    const std::string n = lower(h.first);
    return n == "x-amz-date" || n == "authorization" || n == "x-amz-security-token";
  });
  if (s3 &&
      std::ranges::none_of(request.headers, [](const auto& h) { return lower(h.first) == "x-amz-content-sha256"; })) {
    request.add_header("x-amz-content-sha256", parts->payload_hash);
  }
  request.add_header("X-Amz-Date", parts->amz_date);
  if (!credentials_.session_token.empty()) request.add_header("X-Amz-Security-Token", credentials_.session_token);
  request.add_header("Authorization", parts->authorization);
  return {};
}

}  // namespace earshot::http
