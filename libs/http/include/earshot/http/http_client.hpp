#pragma once
// An asynchronous HTTP client interface. The real one is CurlHttpClient (one event-loop
// thread driving many transfers); tests may substitute their own.
//
// Contract of every implementation:
//   - send() never blocks on the network and may be called from any thread, including from
//     inside a callback;
//   - each callback is invoked exactly once, on the client's loop thread, and must be short
//     (parse, then hand work elsewhere or issue the next request): a slow callback stalls
//     every other transfer;
//   - transport failures are Errors (see the codes below); any HTTP status, 4xx and 5xx
//     included, is a successful HttpResponse: what a status means is the caller's business;
//   - a request's on_body hook (streaming) runs on the same thread as its callback, for each
//     piece of the body as it arrives, always before the callback.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/http/address_policy.hpp"

namespace earshot::http {

// One part of a multipart/form-data body: a field, or a file when `filename` is set.
struct MultipartPart {
  std::string name;
  std::string data;
  std::string filename;      // empty: a plain field
  std::string content_type;  // empty: none sent (fields) / application/octet-stream (files)
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  // Sent as given (name and value). Case-insensitive names; do not repeat a name.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, sent instead of `body` without copying it (large audio shared by retries).
  std::shared_ptr<const std::string> shared_body;
  std::chrono::milliseconds connect_timeout{5'000};
  // Deadline for the whole exchange: queueing for a connection, connecting, sending and
  // receiving. Passing it completes the request with kTimeout.
  std::chrono::milliseconds timeout{60'000};
  // A response body larger than this completes the request with kInvalidArgument.
  std::uint64_t max_response_bytes = 64ULL << 20;
  bool follow_redirects = false;  // at most 5 hops, http/https only, policy checked per hop
  // When set, every address the client connects to (after DNS resolution, for every hop)
  // must pass this policy; a refused address completes the request with kPermissionDenied.
  // Set it for any URL a user supplied.
  std::optional<AddressPolicy> address_policy;
  // Streaming: when set, called with each piece of the response body as it arrives (on the
  // loop thread, in order, before the request's callback; never with an empty piece), with
  // the status of the response the piece belongs to (bodies of redirects followed are not
  // passed). The pieces still accumulate in HttpResponse::body, so the callback sees the whole
  // body (an error body to classify, say) and max_response_bytes still applies: a body over
  // it completes the request with kInvalidArgument after the pieces that fit were passed.
  // Like every callback it must be short. A request that fails after some pieces were passed
  // (connection lost, timeout) completes with the error as usual.
  std::function<void(int status, std::string_view piece)> on_body;

  void add_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
  // Builds a multipart/form-data body from `parts` and sets the Content-Type header.
  void set_multipart(const std::vector<MultipartPart>& parts);
  // Sets the body and its Content-Type.
  void set_body(std::string content, std::string content_type);
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; repeated names joined by ", "
  std::string body;
  std::chrono::milliseconds elapsed{0};

  [[nodiscard]] std::optional<std::string> header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
};

using ResponseCallback = std::function<void(Result<HttpResponse>)>;

// Error codes a send() completes with:
//   kUnavailable       could not resolve, connect, or the connection broke; or shutting down
//   kTimeout           the request's timeout passed
//   kInvalidArgument   bad URL or scheme, or the response exceeded max_response_bytes
//   kPermissionDenied  the address policy refused the resolved address
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  virtual void send(HttpRequest request, ResponseCallback done) = 0;

  // Runs `fn` on the loop thread after `delay`. At shutdown pending timers run at once (so
  // that chains waiting on them reach their end; any request they send then fails with
  // kUnavailable "shutting down").
  virtual void post_after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;

  // True once shutdown began: retry loops should stop scheduling new attempts.
  [[nodiscard]] virtual bool shutting_down() const = 0;

  // Blocking convenience for tools and tests. Never call it from the loop thread (it would
  // wait for itself).
  [[nodiscard]] Result<HttpResponse> send_sync(HttpRequest request);
};

// Percent-encodes a query component (RFC 3986 unreserved characters kept).
[[nodiscard]] std::string url_encode(std::string_view s);

}  // namespace earshot::http
