#include "fakes/s3/fake_s3.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <ctime>

#include "earshot/http/sigv4.hpp"
#include "test_env.hpp"

namespace earshot::testing {

namespace {

std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim_collapse(std::string_view v) {
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

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// "20130524T000000Z" -> time point; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(const std::string& d) {
  std::tm tm{};
  if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') return std::nullopt;
  if (::strptime(d.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

}  // namespace

FakeS3::FakeS3(Options options) : options_(std::move(options)) {
  auto h = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  server_.Get(".*", h);
  server_.Put(".*", h);
  server_.Delete(".*", h);
  server_.Post(".*", h);
  // Idle keep-alive connections of the client under test end within a second of stop().
  server_.set_keep_alive_timeout(1);
}

FakeS3::~FakeS3() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

bool FakeS3::start() {
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return false;
  // Bound and listening already: connections wait in the backlog until the loop runs.
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  return wait_until([this] { return server_.is_running(); }, std::chrono::seconds(10), std::chrono::milliseconds(1));
}

std::string FakeS3::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}
std::string FakeS3::localhost_endpoint() const {
  return fmt::format("http://localhost:{}", port_);
}

std::optional<FakeS3::Object> FakeS3::object(const std::string& bucket, const std::string& key) const {
  std::lock_guard lock(mu_);
  auto b = objects_.find(bucket);
  if (b == objects_.end()) return std::nullopt;
  auto o = b->second.find(key);
  if (o == b->second.end()) return std::nullopt;
  return o->second;
}

void FakeS3::put_object(const std::string& bucket, const std::string& key, std::string body, std::string type) {
  std::lock_guard lock(mu_);
  objects_[bucket][key] = Object{std::move(body), std::move(type)};
}

std::size_t FakeS3::object_count(const std::string& bucket) const {
  std::lock_guard lock(mu_);
  auto b = objects_.find(bucket);
  return b == objects_.end() ? 0 : b->second.size();
}

std::vector<FakeS3::Logged> FakeS3::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

int FakeS3::count(const std::string& method, const std::string& error_code) const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::ranges::count_if(
      log_, [&](const Logged& l) { return l.method == method && (error_code == "-" || l.error_code == error_code); }));
}

void FakeS3::record(Logged entry) {
  std::lock_guard lock(mu_);
  log_.push_back(std::move(entry));
}

void FakeS3::refuse(httplib::Response& res, const Refusal& r, const std::string& resource) {
  res.status = r.status;
  std::string doc =
      fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>", r.code,
                  xml_escape(r.message));
  for (const auto& [k, v] : r.extra) doc += fmt::format("<{}>{}</{}>", k, xml_escape(v), k);
  doc += fmt::format("<Resource>{}</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>", xml_escape(resource));
  res.set_content(doc, "application/xml");
}

std::optional<FakeS3::Refusal> FakeS3::authenticate(const httplib::Request& req) const {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.empty()) return Refusal{403, "AccessDenied", "Access Denied", {}};
  constexpr std::string_view kAlgo = "AWS4-HMAC-SHA256 ";
  if (!auth.starts_with(kAlgo)) {
    return Refusal{400, "InvalidArgument", "Unsupported Authorization Type", {}};
  }
  // Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=a;b, Signature=hex
  std::map<std::string, std::string> fields;
  for (auto part : split(std::string_view(auth).substr(kAlgo.size()), ',')) {
    part = trim_collapse(part);
    const auto eq = part.find('=');
    if (eq != std::string::npos) fields[part.substr(0, eq)] = part.substr(eq + 1);
  }
  if (!fields.contains("Credential") || !fields.contains("SignedHeaders") || !fields.contains("Signature")) {
    return Refusal{400,
                   "AuthorizationHeaderMalformed",
                   "The authorization header is malformed; the Credential, SignedHeaders and Signature are required.",
                   {}};
  }
  const auto scope = split(fields["Credential"], '/');
  if (scope.size() != 5 || scope[4] != "aws4_request" || scope[3] != "s3") {
    return Refusal{400,
                   "AuthorizationHeaderMalformed",
                   "The authorization header is malformed; the Credential is mal-formed; expecting "
                   "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
                   {}};
  }
  const auto secret = options_.credentials.find(scope[0]);
  if (secret == options_.credentials.end()) {
    return Refusal{403,
                   "InvalidAccessKeyId",
                   "The AWS Access Key Id you provided does not exist in our records.",
                   {{"AWSAccessKeyId", scope[0]}}};
  }
  if (scope[2] != options_.region) {
    return Refusal{400,
                   "AuthorizationHeaderMalformed",
                   fmt::format("The authorization header is malformed; the region '{}' is wrong; expecting '{}'",
                               scope[2], options_.region),
                   {{"Region", options_.region}}};
  }
  const std::string amz_date = req.get_header_value("x-amz-date");
  const auto when = parse_amz_date(amz_date);
  if (!when) {
    return Refusal{403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", {}};
  }
  if (scope[1] != amz_date.substr(0, 8)) {
    return Refusal{403,
                   "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you provided. Check your key "
                   "and signing method.",
                   {}};
  }
  const auto now = options_.now();
  const auto skew = when > now ? *when - now : now - *when;
  if (skew > std::chrono::minutes(15)) {
    return Refusal{403,
                   "RequestTimeTooSkewed",
                   "The difference between the request time and the current time is too large.",
                   {{"RequestTime", amz_date},
                    {"ServerTime", earshot::http::amz_date(now)},
                    {"MaxAllowedSkewMilliseconds", "900000"}}};
  }
  const std::string payload_hash = req.get_header_value("x-amz-content-sha256");
  if (payload_hash.empty()) {
    return Refusal{400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", {}};
  }
  if (payload_hash != "UNSIGNED-PAYLOAD") {
    const std::string actual = earshot::http::sha256_hex(req.body);
    if (payload_hash != actual) {
      return Refusal{400,
                     "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was computed.",
                     {{"ClientComputedContentSHA256", payload_hash}, {"S3ComputedContentSHA256", actual}}};
    }
  }
  const auto signed_names = split(fields["SignedHeaders"], ';');
  if (std::ranges::find(signed_names, "host") == signed_names.end()) {
    return Refusal{403, "SignatureDoesNotMatch", "The host header must be signed.", {}};
  }
  for (const auto& must : {"x-amz-date", "x-amz-content-sha256"}) {
    if (std::ranges::find(signed_names, must) == signed_names.end()) {
      return Refusal{403, "SignatureDoesNotMatch", fmt::format("The {} header must be signed.", must), {}};
    }
  }
  std::string canonical_headers;
  for (const auto& name : signed_names) {
    if (name != lower(name)) {
      return Refusal{403, "SignatureDoesNotMatch", "SignedHeaders must be lower-case.", {}};
    }
    if (!req.has_header(name)) {
      return Refusal{403, "SignatureDoesNotMatch", fmt::format("Signed header {} is not in the request.", name), {}};
    }
    canonical_headers += name + ":" + trim_collapse(req.get_header_value(name)) + "\n";
  }
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [k, v] : req.params) {
    params.emplace_back(earshot::http::sigv4_uri_encode(k, false), earshot::http::sigv4_uri_encode(v, false));
  }
  std::ranges::sort(params);
  std::string query;
  for (const auto& [k, v] : params) query += (query.empty() ? "" : "&") + k + "=" + v;
  // httplib hands the path decoded; S3 encodes it once.
  const std::string canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", req.method, earshot::http::sigv4_uri_encode(req.path, true), query,
                  canonical_headers, fields["SignedHeaders"], payload_hash);
  const std::string credential_scope = fmt::format("{}/{}/s3/aws4_request", scope[1], scope[2]);
  const std::string string_to_sign = fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, credential_scope,
                                                 earshot::http::sha256_hex(canonical_request));
  using earshot::http::hmac_sha256;
  const std::string key = hmac_sha256(
      hmac_sha256(hmac_sha256(hmac_sha256("AWS4" + secret->second, scope[1]), scope[2]), "s3"), "aws4_request");
  const std::string expected = earshot::http::to_hex(hmac_sha256(key, string_to_sign));
  if (expected != fields["Signature"]) {
    return Refusal{403,
                   "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you provided. Check your key "
                   "and signing method.",
                   {{"AWSAccessKeyId", scope[0]},
                    {"StringToSign", string_to_sign},
                    {"SignatureProvided", fields["Signature"]},
                    {"CanonicalRequest", canonical_request}}};
  }
  return std::nullopt;
}

void FakeS3::handle(const httplib::Request& req, httplib::Response& res) {
  // Ranges are answered here, as S3 does, never re-sliced by the HTTP library.
  const_cast<httplib::Request&>(req).ranges.clear();
  Logged entry;
  entry.method = req.method;
  // Virtual-host style: Host "bucket.localhost:port"; else the first path segment.
  std::string host = req.get_header_value("Host");
  host = host.substr(0, host.find(':'));
  std::string path = req.path.empty() ? "/" : req.path.substr(1);
  const auto dot = host.find('.');
  if (dot != std::string::npos && host.substr(dot + 1) == "localhost") {
    entry.virtual_host = true;
    entry.bucket = host.substr(0, dot);
    entry.key = path;
  } else {
    const auto slash = path.find('/');
    entry.bucket = path.substr(0, slash);
    entry.key = slash == std::string::npos ? "" : path.substr(slash + 1);
  }
  const std::string resource = "/" + entry.bucket + "/" + entry.key;
  auto done = [&](int status, const std::string& code = {}) {
    entry.status = status;
    entry.error_code = code;
    record(entry);
  };
  auto fail = [&](const Refusal& r) {
    refuse(res, r, resource);
    done(r.status, r.code);
  };
  if (slow_down_next.load() > 0 && slow_down_next.fetch_sub(1) > 0) {
    return fail(Refusal{503, "SlowDown", "Please reduce your request rate.", {}});
  }
  if (internal_error_next.load() > 0 && internal_error_next.fetch_sub(1) > 0) {
    return fail(Refusal{500, "InternalError", "We encountered an internal error. Please try again.", {}});
  }
  if (auto refusal = authenticate(req)) return fail(*refusal);
  if (!options_.buckets.contains(entry.bucket)) {
    return fail(Refusal{404, "NoSuchBucket", "The specified bucket does not exist", {{"BucketName", entry.bucket}}});
  }
  if (entry.key.empty()) return fail(Refusal{400, "InvalidRequest", "This fake serves objects only.", {}});
  const std::string etag = "\"" + earshot::http::sha256_hex(req.body).substr(0, 32) + "\"";
  if (req.method == "PUT") {
    put_object(entry.bucket, entry.key, req.body, req.get_header_value("Content-Type"));
    res.set_header("ETag", etag);
    res.status = 200;
    return done(200);
  }
  if (req.method == "DELETE") {
    {
      std::lock_guard lock(mu_);
      objects_[entry.bucket].erase(entry.key);
    }
    res.status = 204;
    return done(204);
  }
  if (req.method != "GET" && req.method != "HEAD") {
    return fail(Refusal{405, "MethodNotAllowed", "The specified method is not allowed against this resource.", {}});
  }
  auto obj = object(entry.bucket, entry.key);
  if (!obj) {
    if (req.method == "HEAD") {
      res.status = 404;  // HEAD answers carry no body
      return done(404, "NoSuchKey");
    }
    return fail(Refusal{404, "NoSuchKey", "The specified key does not exist.", {{"Key", entry.key}}});
  }
  const std::string type = obj->content_type.empty() ? "binary/octet-stream" : obj->content_type;
  res.set_header("ETag", "\"" + earshot::http::sha256_hex(obj->body).substr(0, 32) + "\"");
  res.set_header("Accept-Ranges", "bytes");
  const std::string range = req.get_header_value("Range");
  const std::uint64_t size = obj->body.size();
  if (!range.empty() && req.method == "GET" && range.starts_with("bytes=") && range.find(',') == std::string::npos) {
    const std::string spec = range.substr(6);
    const auto dash = spec.find('-');
    std::uint64_t first = 0, last = size == 0 ? 0 : size - 1;
    bool ok = dash != std::string::npos;
    auto num = [](std::string_view t, std::uint64_t& v) {
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      return !t.empty() && ec == std::errc() && p == t.data() + t.size();
    };
    if (ok && dash == 0) {
      std::uint64_t n = 0;
      ok = num(std::string_view(spec).substr(1), n) && n > 0;
      if (ok) first = size - std::min(n, size);
    } else if (ok) {
      ok = num(std::string_view(spec).substr(0, dash), first);
      if (ok && dash + 1 < spec.size()) ok = num(std::string_view(spec).substr(dash + 1), last) && last >= first;
      last = std::min(last, size == 0 ? 0 : size - 1);
    }
    if (ok) {
      if (first >= size) {
        res.set_header("Content-Range", fmt::format("bytes */{}", size));
        return fail(Refusal{416,
                            "InvalidRange",
                            "The requested range is not satisfiable",
                            {{"RangeRequested", range}, {"ActualObjectSize", std::to_string(size)}}});
      }
      res.status = 206;
      res.set_header("Content-Range", fmt::format("bytes {}-{}/{}", first, last, size));
      res.set_content(obj->body.substr(first, last - first + 1), type);
      return done(206);
    }
    // A malformed Range is ignored: the whole object, as S3 does.
  }
  res.status = 200;
  res.set_content(obj->body, type);
  done(200);
}

}  // namespace earshot::testing
