#pragma once
// AWS Signature Version 4 (AWS4-HMAC-SHA256) for requests we send ourselves (Bedrock, S3), with
// the time taken from an injected Clock so tests can reproduce published signatures.
//
// Signed headers: host, x-amz-date, content-type (when the request has one),
// x-amz-security-token (temporary credentials) and any header the caller names in
// `extra_signed_headers`. The payload hash is the hex SHA-256 of the body.
//
// The canonical URI is the request path, as sent, percent-encoded once more (every service
// but S3 does this): a Bedrock model id `a:b` travels as `a%3Ab` and is signed as `a%253Ab`.
//
// With `s3` set (Amazon S3 and compatible stores): the canonical URI is the path encoded
// once (as S3 wants it), x-amz-content-sha256 is sent and signed, and its value (the hex
// SHA-256 of the body, unless the caller set it, e.g. UNSIGNED-PAYLOAD) is the payload hash.
//
// Thread safety: sign() is const and may be called concurrently.

#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"

namespace earshot::http {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged
  std::string session_token;      // empty for long-term credentials
};

// The pieces of a signature, exposed so tests can compare each step with the test suite.
struct SigV4Parts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
  std::string amz_date;        // YYYYMMDDTHHMMSSZ
  std::string payload_hash;    // the last line of the canonical request
};

class SigV4Signer {
 public:
  SigV4Signer(AwsCredentials credentials, std::string region, std::string service, const Clock& clock);

  // Computes the signature of `request` (method, url, headers, body) at clock.now().
  [[nodiscard]] Result<SigV4Parts> compute(const HttpRequest& request) const;

  // Adds x-amz-date, x-amz-security-token (when set) and Authorization to `request`.
  [[nodiscard]] Status sign(HttpRequest& request) const;

  std::vector<std::string> extra_signed_headers;  // lower-case names
  bool s3 = false;                                // S3's variant (see above)

 private:
  AwsCredentials credentials_;
  std::string region_;
  std::string service_;
  const Clock* clock_;
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, '/' kept when
// `keep_slash`, everything else %XX in upper-case hex.
[[nodiscard]] std::string sigv4_uri_encode(std::string_view s, bool keep_slash);

[[nodiscard]] std::string sha256_hex(std::string_view data);
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes
[[nodiscard]] std::string to_hex(std::string_view bytes);

// "YYYYMMDDTHHMMSSZ" of a UTC time point.
[[nodiscard]] std::string amz_date(std::chrono::system_clock::time_point t);

}  // namespace earshot::http
