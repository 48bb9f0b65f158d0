#pragma once
// Recordings in an S3-compatible object store (Amazon S3, MinIO, Cloudflare R2, ...), as
// s3://<bucket>/<object key> URIs. Requests are signed with SigV4 (service "s3", the payload
// hash in x-amz-content-sha256) and sent on the shared asynchronous HTTP client:
//
//   put        PUT    /<key>           (Content-Type, the hash of the body)
//   read       GET    /<key>           (whole object, up to a size cap)
//   read_range GET    /<key>  Range: bytes=a-b   (206 and Content-Range)
//   stat       HEAD   /<key>
//   remove     DELETE /<key>           (an absent key is not an error)
//
// Addressing: path style `endpoint/bucket/key` (MinIO, most self-hosted stores) or virtual
// host style `scheme://bucket.host/key` (AWS). Object keys are `prefix` + the caller's key.
//
// Failures carry S3's own <Code> and <Message>: 404 NoSuchKey -> kNotFound; 403
// (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId, RequestTimeTooSkewed) ->
// kPermissionDenied; 503 SlowDown -> kRateLimited; other 5xx and connection failures ->
// kUnavailable; 400 RequestTimeout and deadlines -> kTimeout; other 4xx -> kInvalidArgument.
// The retryable ones (throttling, 5xx, timeouts, broken connections) are retried with
// exponential backoff (Retry-After when S3 sends one) up to `max_attempts`.
//
// The secret key is only used to derive signatures; it is never logged or put in messages.
// Thread safety: every method may be called concurrently; the synchronous ones never from
// the HTTP client's loop thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/http/retry.hpp"
#include "earshot/http/sigv4.hpp"
#include "earshot/objectstore/audio_store.hpp"

namespace earshot::objectstore {

struct S3Settings {
  std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000"
  std::string region = "us-east-1";
  std::string bucket;
  std::string prefix;  // prepended to every key ("recordings/"); empty: none
  std::string access_key_id;
  std::string secret_access_key;              // never logged
  std::string session_token;                  // temporary credentials; empty: none
  bool path_style = true;                     // false: virtual-host style (bucket.host)
  std::chrono::milliseconds timeout{60'000};  // one attempt
  std::chrono::milliseconds connect_timeout{5'000};
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5'000};

  // kInvalidArgument naming the first unusable setting (by its config key).
  [[nodiscard]] Status validate() const;
};

// S3's error document (<Error><Code>..</Code><Message>..</Message></Error>) as an Error for
// `what` ("S3 PUT s3://bucket/key").
[[nodiscard]] Error s3_error(const http::HttpResponse& response, std::string_view what);

class S3ObjectStore final : public ObjectStore {
 public:
  // `client` and `clock` must outlive the store.
  S3ObjectStore(http::HttpClient& client, const Clock& clock, S3Settings settings);

  [[nodiscard]] Result<std::vector<std::uint8_t>> read(std::string_view uri, std::uint64_t max_bytes) override;
  void read_async(std::string_view uri, std::uint64_t max_bytes, ReadCallback done) override;
  [[nodiscard]] Result<std::string> put(std::string_view key, std::span<const std::uint8_t> bytes,
                                        std::string_view content_type) override;
  [[nodiscard]] Status remove(std::string_view uri) override;
  [[nodiscard]] Result<ObjectInfo> stat(std::string_view uri) override;
  [[nodiscard]] Result<std::string> read_range(std::string_view uri, std::uint64_t offset,
                                               std::uint64_t length) override;
  [[nodiscard]] bool owns(std::string_view uri) const override;
  // s3://<bucket>/<prefix><bid>/... of this store's bucket and prefix only (key_owned_by).
  [[nodiscard]] Status owned_by(std::string_view uri, std::string_view bid) const override;

  // The object key of an s3:// URI of this store's bucket; kInvalidArgument otherwise.
  [[nodiscard]] Result<std::string> object_key(std::string_view uri) const;
  // The request URL of an object key.
  [[nodiscard]] std::string url_for(std::string_view object_key) const;
  [[nodiscard]] const S3Settings& settings() const { return settings_; }

 private:
  // Sends (signed, with retries) and completes with the 2xx response or the error.
  void send(std::string method, const std::string& object_key, std::string what,
            std::function<void(http::HttpRequest&)> customize, std::function<void(Result<http::HttpResponse>)> done);
  [[nodiscard]] Result<http::HttpResponse> send_sync(std::string method, const std::string& object_key,
                                                     std::string what,
                                                     std::function<void(http::HttpRequest&)> customize);

  http::HttpClient& client_;
  const Clock& clock_;
  S3Settings settings_;
  std::string scheme_;  // "http" / "https"
  std::string host_;    // host[:port] of the endpoint
  http::SigV4Signer signer_;
};

}  // namespace earshot::objectstore
