#pragma once
// An S3-compatible object store on a loopback port, for tests: PUT, GET (whole and one
// Range, 206 + Content-Range, 416 InvalidRange), HEAD and DELETE of objects in its buckets,
// addressed path style (/bucket/key) or virtual-host style (Host: bucket.localhost:port).
//
// Every request is authenticated the way AWS does it, computed here independently of the
// client's signer: the Authorization header's credential scope (known access key, the
// date of x-amz-date, the region, service s3), x-amz-date within 15 minutes of the fake's
// clock, x-amz-content-sha256 present and equal to the SHA-256 of the body actually
// received (unless UNSIGNED-PAYLOAD), then the canonical request rebuilt from the headers
// named in SignedHeaders, the path (encoded once) and the query, and the signature
// compared. Refusals are S3's XML error documents with S3's status and code:
// AccessDenied / InvalidAccessKeyId / SignatureDoesNotMatch / RequestTimeTooSkewed 403,
// AuthorizationHeaderMalformed / InvalidRequest / XAmzContentSHA256Mismatch 400,
// NoSuchBucket / NoSuchKey 404, InvalidRange 416, and, on request, SlowDown 503 and
// InternalError 500.
//
// Thread safety: switches and getters may be used while requests are served.

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace earshot::testing {

class FakeS3 {
 public:
  struct Options {
    std::string region = "us-east-1";
    std::map<std::string, std::string> credentials;  // access key id -> secret
    std::set<std::string> buckets;
    // The fake's notion of now, for the skew check.
    std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
  };
  struct Object {
    std::string body;
    std::string content_type;
  };
  struct Logged {
    std::string method;
    std::string bucket;
    std::string key;
    int status = 0;
    std::string error_code;  // S3 error code of a refusal; empty for successes
    bool virtual_host = false;
  };

  explicit FakeS3(Options options);
  ~FakeS3();
  FakeS3(const FakeS3&) = delete;
  FakeS3& operator=(const FakeS3&) = delete;

  // Binds a free loopback port and serves; false when the server did not come up in time.
  [[nodiscard]] bool start();
  [[nodiscard]] int port() const { return port_; }
  // "http://127.0.0.1:<port>" (path style) and "http://localhost:<port>" (virtual-host style:
  // curl resolves bucket.localhost to the loopback address).
  [[nodiscard]] std::string endpoint() const;
  [[nodiscard]] std::string localhost_endpoint() const;

  // --- switches ---
  std::atomic<int> slow_down_next{0};       // the next N requests get 503 SlowDown
  std::atomic<int> internal_error_next{0};  // the next N requests get 500 InternalError

  // --- state ---
  [[nodiscard]] std::optional<Object> object(const std::string& bucket, const std::string& key) const;
  void put_object(const std::string& bucket, const std::string& key, std::string body, std::string type = {});
  [[nodiscard]] std::size_t object_count(const std::string& bucket) const;
  [[nodiscard]] std::vector<Logged> log() const;
  // Requests with this method (and S3 error code, when given).
  [[nodiscard]] int count(const std::string& method, const std::string& error_code = "-") const;

 private:
  struct Refusal {
    int status = 0;
    std::string code;
    std::string message;
    std::map<std::string, std::string> extra;  // more elements of the error document
  };
  void handle(const httplib::Request& req, httplib::Response& res);
  [[nodiscard]] std::optional<Refusal> authenticate(const httplib::Request& req) const;
  static void refuse(httplib::Response& res, const Refusal& r, const std::string& resource);
  void record(Logged entry);

  Options options_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, Object>> objects_;  // bucket -> key -> object
  std::vector<Logged> log_;
};

}  // namespace earshot::testing
