#include "earshot/objectstore/s3_store.hpp"

#include <fmt/format.h>

#include <future>
#include <memory>

namespace earshot::objectstore {

namespace {

constexpr std::string_view kScheme = "s3://";

// The text of the first <tag>...</tag> in `xml`, with the five XML entities decoded.
std::string xml_element(std::string_view xml, std::string_view tag) {
  const std::string open = fmt::format("<{}>", tag);
  const std::string close = fmt::format("</{}>", tag);
  const auto a = xml.find(open);
  if (a == std::string_view::npos) return {};
  const auto b = xml.find(close, a + open.size());
  if (b == std::string_view::npos) return {};
  std::string_view raw = xml.substr(a + open.size(), b - a - open.size());
  std::string out;
  while (!raw.empty()) {
    if (raw.front() == '&') {
      bool done = false;
      for (auto [ent, ch] :
           {std::pair{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}}) {
        if (raw.starts_with(ent)) {
          out.push_back(ch);
          raw.remove_prefix(std::string_view(ent).size());
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    out.push_back(raw.front());
    raw.remove_prefix(1);
  }
  return out;
}

bool valid_bucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

}  // namespace

Status S3Settings::validate() const {
  auto bad = [](std::string m) { return make_error(ErrorCode::kInvalidArgument, std::move(m)); };
  if (!(endpoint.starts_with("http://") || endpoint.starts_with("https://"))) {
    return bad("EARSHOT_S3_ENDPOINT must be an http:// or https:// URL (e.g. https://s3.us-east-1.amazonaws.com)");
  }
  const auto rest = std::string_view(endpoint).substr(endpoint.find("://") + 3);
  if (rest.empty() || rest.find_first_of("/?#@") != std::string_view::npos) {
    return bad("EARSHOT_S3_ENDPOINT must be scheme://host[:port] without a path");
  }
  if (!valid_bucket(bucket)) {
    return bad("EARSHOT_S3_BUCKET must be a bucket name: 3-63 characters of a-z, 0-9, '-' and '.'");
  }
  if (region.empty()) return bad("EARSHOT_S3_REGION must be set (e.g. us-east-1)");
  if (access_key_id.empty()) return bad("EARSHOT_S3_ACCESS_KEY_ID must be set");
  if (secret_access_key.empty()) return bad("EARSHOT_S3_SECRET_ACCESS_KEY must be set");
  if (!prefix.empty()) {
    std::string_view p = prefix;
    if (p.ends_with('/')) p.remove_suffix(1);
    if (!LocalObjectStore::check_key(p)) {
      return bad("EARSHOT_S3_PREFIX must be a relative path of [A-Za-z0-9._/-] (e.g. recordings/)");
    }
  }
  if (max_attempts < 1) return bad("EARSHOT_S3_MAX_ATTEMPTS must be at least 1");
  return {};
}

Error s3_error(const http::HttpResponse& response, std::string_view what) {
  const std::string code = xml_element(response.body, "Code");
  const std::string message = xml_element(response.body, "Message");
  Error e = http::error_for_status("S3", response.status, code, message, false);
  // S3's throttling answer is a 503; its idle-connection answer a 400.
  if (code == "SlowDown" || code == "ThrottlingException") e.code = ErrorCode::kRateLimited;
  if (code == "RequestTimeout") e.code = ErrorCode::kTimeout;
  if (code == "InternalError") e.code = ErrorCode::kUnavailable;
  (void)what;
  return e;
}

S3ObjectStore::S3ObjectStore(http::HttpClient& client, const Clock& clock, S3Settings settings)
    : client_(client),
      clock_(clock),
      settings_(std::move(settings)),
      signer_({settings_.access_key_id, settings_.secret_access_key, settings_.session_token}, settings_.region, "s3",
              clock) {
  signer_.s3 = true;
  signer_.extra_signed_headers = {"range"};
  const auto sep = settings_.endpoint.find("://");
  scheme_ = sep == std::string::npos ? "https" : settings_.endpoint.substr(0, sep);
  host_ = sep == std::string::npos ? settings_.endpoint : settings_.endpoint.substr(sep + 3);
  while (host_.ends_with('/')) host_.pop_back();
  if (!settings_.prefix.empty() && !settings_.prefix.ends_with('/')) settings_.prefix.push_back('/');
}

std::string S3ObjectStore::url_for(std::string_view object_key) const {
  const std::string path = http::sigv4_uri_encode(object_key, true);
  if (settings_.path_style) return fmt::format("{}://{}/{}/{}", scheme_, host_, settings_.bucket, path);
  return fmt::format("{}://{}.{}/{}", scheme_, settings_.bucket, host_, path);
}

Result<std::string> S3ObjectStore::object_key(std::string_view uri) const {
  const std::string head = fmt::format("{}{}/", kScheme, settings_.bucket);
  if (!uri.starts_with(head)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("'{}' is not a location in the configured bucket (expected {}key)", uri, head));
  }
  const auto key = uri.substr(head.size());
  if (auto st = LocalObjectStore::check_key(key); !st) return std::unexpected(st.error());
  return std::string(key);
}

bool S3ObjectStore::owns(std::string_view uri) const {
  return object_key(uri).has_value();
}

Status S3ObjectStore::owned_by(std::string_view uri, std::string_view bid) const {
  auto key = object_key(uri);
  if (!key) return std::unexpected(key.error());
  if (!key->starts_with(settings_.prefix)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the recording is not under the store's prefix '{}'", settings_.prefix));
  }
  return key_owned_by(std::string_view(*key).substr(settings_.prefix.size()), bid);
}

void S3ObjectStore::send(std::string method, const std::string& key, std::string what,
                         std::function<void(http::HttpRequest&)> customize,
                         std::function<void(Result<http::HttpResponse>)> done) {
  http::RetryContext ctx;
  ctx.client = &client_;
  ctx.clock = &clock_;
  ctx.policy.max_attempts = settings_.max_attempts;
  ctx.policy.initial_backoff = settings_.initial_backoff;
  ctx.policy.max_backoff = settings_.max_backoff;
  ctx.deadline = clock_.steady_now() + (settings_.timeout + settings_.max_backoff) * settings_.max_attempts;
  ctx.what = what;
  auto build = [this, method = std::move(method), url = url_for(key), customize = std::move(customize)] {
    http::HttpRequest r;
    r.method = method;
    r.url = url;
    r.timeout = settings_.timeout;
    r.connect_timeout = settings_.connect_timeout;
    if (customize) customize(r);
    // Signed afresh for every attempt (x-amz-date); a signing failure is a bad URL, which
    // the send then reports.
    (void)signer_.sign(r);
    return r;
  };
  http::send_with_retry(
      std::move(ctx), std::move(build),
      [what = std::move(what)](const http::HttpResponse& r) { return s3_error(r, what); }, std::move(done));
}

Result<http::HttpResponse> S3ObjectStore::send_sync(std::string method, const std::string& key, std::string what,
                                                    std::function<void(http::HttpRequest&)> customize) {
  auto promise = std::make_shared<std::promise<Result<http::HttpResponse>>>();
  auto future = promise->get_future();
  send(std::move(method), key, std::move(what), std::move(customize),
       [promise](Result<http::HttpResponse> r) { promise->set_value(std::move(r)); });
  return future.get();
}

Result<std::string> S3ObjectStore::put(std::string_view key, std::span<const std::uint8_t> bytes,
                                       std::string_view content_type) {
  if (auto st = LocalObjectStore::check_key(key); !st) return std::unexpected(st.error());
  const std::string object = settings_.prefix + std::string(key);
  std::string uri = fmt::format("{}{}/{}", kScheme, settings_.bucket, object);
  auto body = std::make_shared<const std::string>(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::string hash = http::sha256_hex(*body);  // once, not per attempt
  auto r = send_sync("PUT", object, "S3 PUT " + uri,
                     [body, hash, type = std::string(content_type.empty() ? "application/octet-stream" : content_type)](
                         http::HttpRequest& req) {
                       req.shared_body = body;
                       req.add_header("Content-Type", type);
                       req.add_header("x-amz-content-sha256", hash);
                     });
  if (!r) return std::unexpected(r.error());
  return uri;
}

Result<std::vector<std::uint8_t>> S3ObjectStore::read(std::string_view uri, std::uint64_t max_bytes) {
  std::promise<Result<std::vector<std::uint8_t>>> promise;
  auto future = promise.get_future();
  read_async(uri, max_bytes, [&promise](Result<std::vector<std::uint8_t>> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void S3ObjectStore::read_async(std::string_view uri, std::uint64_t max_bytes, ReadCallback done) {
  auto key = object_key(uri);
  if (!key) {
    done(std::unexpected(key.error()));
    return;
  }
  send(
      "GET", *key, fmt::format("S3 GET {}", uri),
      [max_bytes](http::HttpRequest& req) { req.max_response_bytes = max_bytes; },
      [done = std::move(done)](Result<http::HttpResponse> r) {
        if (!r) {
          done(std::unexpected(r.error()));
          return;
        }
        done(std::vector<std::uint8_t>(r->body.begin(), r->body.end()));
      });
}

Result<std::string> S3ObjectStore::read_range(std::string_view uri, std::uint64_t offset, std::uint64_t length) {
  auto key = object_key(uri);
  if (!key) return std::unexpected(key.error());
  if (length == 0) return std::string();
  const std::string range = fmt::format("bytes={}-{}", offset, offset + length - 1);
  auto r = send_sync("GET", *key, fmt::format("S3 GET {} ({})", uri, range), [range, length](http::HttpRequest& req) {
    req.add_header("Range", range);
    req.max_response_bytes = length + 1024;
  });
  if (!r) return std::unexpected(r.error());
  if (r->status == 206) return std::move(r->body);
  // A store that ignores Range answers 200 with the whole object.
  if (offset >= r->body.size()) return std::string();
  return r->body.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
}

Result<ObjectInfo> S3ObjectStore::stat(std::string_view uri) {
  auto key = object_key(uri);
  if (!key) return std::unexpected(key.error());
  auto r = send_sync("HEAD", *key, fmt::format("S3 HEAD {}", uri), {});
  if (!r) return std::unexpected(r.error());
  ObjectInfo info;
  const auto len = r->header("content-length");
  if (!len) return make_error(ErrorCode::kUnavailable, fmt::format("S3 HEAD {}: no Content-Length", uri));
  try {
    info.size = std::stoull(*len);
  } catch (const std::exception&) {
    return make_error(ErrorCode::kUnavailable, fmt::format("S3 HEAD {}: bad Content-Length '{}'", uri, *len));
  }
  info.content_type = r->header("content-type").value_or("");
  return info;
}

Status S3ObjectStore::remove(std::string_view uri) {
  auto key = object_key(uri);
  if (!key) return std::unexpected(key.error());
  auto r = send_sync("DELETE", *key, fmt::format("S3 DELETE {}", uri), {});
  if (!r && r.error().code != ErrorCode::kNotFound) return std::unexpected(r.error());
  return {};
}

}  // namespace earshot::objectstore
