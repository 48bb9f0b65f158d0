#include "earshot/objectstore/object_store.hpp"

#include <fmt/format.h>

namespace earshot::objectstore {

void ObjectStoreSettings::declare(ConfigSpec& spec) {
  spec.add_enum("object_store", &kind, "local", {"local", "s3"},
                "Where new recordings are written: the local directory or an S3-compatible store.");
  spec.add_string("object_store_dir", &dir, "./.local/objects",
                  "Directory of the local object store (store:// recordings).");
  spec.add_string("s3_endpoint", &s3.endpoint, "",
                  "S3-compatible endpoint, scheme://host[:port] (https://s3.us-east-1.amazonaws.com, "
                  "http://127.0.0.1:9000 for MinIO).");
  spec.add_string("s3_region", &s3.region, "us-east-1", "Region the requests are signed for.");
  spec.add_string("s3_bucket", &s3.bucket, "", "Bucket of the recordings.");
  spec.add_string("s3_prefix", &s3.prefix, "", "Prefix of every object key (e.g. recordings/).");
  spec.add_string("s3_access_key_id", &s3.access_key_id, "", "Access key id of the store's credentials.");
  spec.add_string("s3_secret_access_key", &s3.secret_access_key, "", "Secret access key (never logged).",
                  ConfigOptions{.required = false, .secret = true});
  spec.add_string("s3_session_token", &s3.session_token, "", "Session token of temporary credentials.",
                  ConfigOptions{.required = false, .secret = true});
  spec.add_enum("s3_url_style", &url_style, "path", {"path", "virtual"},
                "Addressing: endpoint/bucket/key (path) or bucket.endpoint/key (virtual host).");
  spec.add_duration("s3_timeout", &s3.timeout, std::chrono::seconds(60), std::chrono::milliseconds(100),
                    std::chrono::minutes(30), "Deadline of one request to the store.");
  spec.add_int("s3_max_attempts", &max_attempts, 4, 1, 10,
               "Attempts of a request the store failed transiently (throttling, 5xx, timeouts).");
}

Status ObjectStoreSettings::validate() const {
  if (kind != "s3") return {};
  S3Settings s = s3;
  s.max_attempts = static_cast<int>(max_attempts);
  return s.validate();
}

S3Settings ObjectStoreSettings::s3_settings() const {
  S3Settings s = s3;
  s.max_attempts = static_cast<int>(max_attempts);
  s.path_style = url_style != "virtual";
  return s;
}

Error object_store_unavailable(const Error& e) {
  Error out(ErrorCode::kUnavailable, "object store unavailable: " + e.message);
  out.retry_after = e.retry_after;
  return out;
}

Result<std::unique_ptr<ObjectStores>> ObjectStores::make(const ObjectStoreSettings& settings, http::HttpClient* client,
                                                         const Clock& clock) {
  if (auto st = settings.validate(); !st) return std::unexpected(st.error());
  std::unique_ptr<ObjectStores> self(new ObjectStores());
  self->local_ = std::make_unique<LocalObjectStore>(settings.dir);
  self->writer_ = self->local_.get();
  if (settings.kind == "s3") {
    if (client == nullptr) return make_error(ErrorCode::kInvalidArgument, "the s3 object store needs an HTTP client");
    self->s3_ = std::make_unique<S3ObjectStore>(*client, clock, settings.s3_settings());
    self->writer_ = self->s3_.get();
  }
  return self;
}

Result<ObjectStore*> ObjectStores::route(std::string_view uri) {
  if (local_->owns(uri)) return local_.get();
  if (s3_ && s3_->owns(uri)) return s3_.get();
  if (uri.starts_with("s3://")) {
    if (!s3_) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("'{}' is in an S3 store but EARSHOT_OBJECT_STORE is not s3", uri));
    }
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("'{}' is not in the configured bucket '{}'", uri, s3_->settings().bucket));
  }
  return make_error(ErrorCode::kInvalidArgument,
                    fmt::format("unsupported audio location '{}' (expected store://key or s3://bucket/key)", uri));
}

Result<std::vector<std::uint8_t>> ObjectStores::read(std::string_view uri, std::uint64_t max_bytes) {
  auto s = route(uri);
  if (!s) return std::unexpected(s.error());
  return (*s)->read(uri, max_bytes);
}

void ObjectStores::read_async(std::string_view uri, std::uint64_t max_bytes, ReadCallback done) {
  auto s = route(uri);
  if (!s) {
    done(std::unexpected(s.error()));
    return;
  }
  (*s)->read_async(uri, max_bytes, std::move(done));
}

Result<std::string> ObjectStores::put(std::string_view key, std::span<const std::uint8_t> bytes,
                                      std::string_view content_type) {
  return writer_->put(key, bytes, content_type);
}

Status ObjectStores::remove(std::string_view uri) {
  auto s = route(uri);
  if (!s) return std::unexpected(s.error());
  return (*s)->remove(uri);
}

Result<ObjectInfo> ObjectStores::stat(std::string_view uri) {
  auto s = route(uri);
  if (!s) return std::unexpected(s.error());
  return (*s)->stat(uri);
}

Result<std::string> ObjectStores::read_range(std::string_view uri, std::uint64_t offset, std::uint64_t length) {
  auto s = route(uri);
  if (!s) return std::unexpected(s.error());
  return (*s)->read_range(uri, offset, length);
}

std::optional<std::string> ObjectStores::local_file(std::string_view uri) const {
  if (!local_->owns(uri)) return std::nullopt;
  return local_->local_file(uri);
}

Status ObjectStores::owned_by(std::string_view uri, std::string_view bid) const {
  if (uri.starts_with("s3://")) {
    if (!s3_)
      return make_error(ErrorCode::kInvalidArgument, "the recording is in an S3 store this platform does not use");
    return s3_->owned_by(uri, bid);
  }
  return local_->owned_by(uri, bid);
}

bool ObjectStores::owns(std::string_view uri) const {
  return local_->owns(uri) || (s3_ && s3_->owns(uri));
}

}  // namespace earshot::objectstore
