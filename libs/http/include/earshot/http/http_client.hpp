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
//     piece of the body as it arrives, always before the callback;
//   - a request whose `cancel` signal fires (before it starts or while it runs) is aborted at
//     once, its connection closed, and completes with kUnavailable "cancelled" (the caller
//     tells it from a network failure by its signal).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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

// Aborts requests from any thread: a chat answer whose client went away, or whose deadline
// passed, stops its provider request instead of reading it to the end. One signal may serve
// many requests (a call's attempts and retries); cancel() is final.
//
// Thread safety: every member may be called from any thread.
class CancelSignal {
 public:
  CancelSignal() = default;
  CancelSignal(const CancelSignal&) = delete;
  CancelSignal& operator=(const CancelSignal&) = delete;

  // Fires the signal (once; later calls do nothing) and runs the hooks subscribed, on this
  // thread, before returning.
  void cancel();
  [[nodiscard]] bool cancelled() const;

  // For HttpClient implementations: `hook` runs once when the signal fires (at once, inside
  // subscribe(), when it already has). It runs under the signal's lock: it must be short and
  // must not call back into this signal. Returns the id to unsubscribe with (0 when the
  // hook already ran).
  [[nodiscard]] std::uint64_t subscribe(std::function<void()> hook);
  // Removes a hook; once this returns the hook is not running and never will (so what it
  // refers to may go).
  void unsubscribe(std::uint64_t id);

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::function<void()>> hooks_;
};

// A request body read from a file as it is sent: `head`, then `length` bytes of the file at
// `path` from `offset`, then `tail` (a multipart body around a recording, or the recording
// alone with both empty). The file is opened for each attempt and must stay until the
// request completes; one that cannot be opened, or ends before `length` bytes, fails the
// attempt with kUnavailable.
struct FileBody {
  std::string path{};
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string head{};
  std::string tail{};
  [[nodiscard]] std::uint64_t size() const { return head.size() + length + tail.size(); }
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  // Sent as given (name and value). Case-insensitive names; do not repeat a name.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, sent instead of `body` without copying it (large audio shared by retries).
  std::shared_ptr<const std::string> shared_body;
  // When set, the body is read from a file while it is sent, instead of `body` and
  // `shared_body`: nothing of the file is held in memory (FileBody).
  std::shared_ptr<const FileBody> file_body;
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
  // When set: firing it aborts the request (see the contract above).
  std::shared_ptr<CancelSignal> cancel;

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
//   kUnavailable       could not resolve, connect, or the connection broke; shutting down; or
//                      cancelled through the request's signal (message "cancelled")
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
