#pragma once
// One retry policy for every provider request (speech and language providers alike):
//   - retried: transport failures (connect, reset: kUnavailable), timeouts (kTimeout),
//     throttling (429: kRateLimited) and 5xx (kUnavailable);
//   - never retried: 401 (kUnauthenticated), 403 (kPermissionDenied), quota or credits
//     exhausted (kFailedPrecondition), other 4xx input errors (kInvalidArgument, kNotFound);
//   - the delay is the server's Retry-After (retry-after-ms, then Retry-After seconds or
//     HTTP-date) when given, else exponential backoff with jitter;
//   - bounded by max_attempts and by the job's overall deadline: a wait that would pass the
//     deadline, or a Retry-After longer than max_retry_after, ends the retries at once.
// When retries end on throttling the error is kRateLimited with retry_after set, so the
// queue can redeliver the job after that delay.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"

namespace earshot::http {

struct RetryPolicy {
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{20'000};
  std::chrono::milliseconds max_retry_after{120'000};
};

[[nodiscard]] bool is_retryable(ErrorCode code);

// The error for a non-2xx provider answer. `provider_code` is the provider's own error code
// or type ("insufficient_quota", "rate_limit_exceeded_error", ...); `quota_exhausted` marks
// answers that mean credits are gone (never retried, whatever the status).
[[nodiscard]] Error error_for_status(std::string_view provider, int status, std::string_view provider_code,
                                     std::string_view message, bool quota_exhausted);

// What one HTTP attempt came to, for metrics ("provider requests by status"). Called on the
// HTTP loop thread for every attempt, retries and batch steps included: keep it cheap.
struct RequestOutcome {
  std::string_view what;               // "deepgram listen", "sarvam batch status", ...
  int status = 0;                      // HTTP status; 0 when no response arrived
  std::optional<ErrorCode> transport;  // set when no response arrived
  std::chrono::milliseconds elapsed{0};
  // A failed attempt's reason: the classified error's message for a non-2xx answer (the
  // provider's own error text, never its headers), the transport error's otherwise; empty
  // for a 2xx. Valid only during the observer call.
  std::string_view message;
};
using RequestObserver = std::function<void(const RequestOutcome&)>;

// Turns a non-2xx response into an Error (provider specific: reads its error body).
using ErrorClassifier = std::function<Error(const HttpResponse&)>;

struct RetryContext {
  HttpClient* client = nullptr;
  const Clock* clock = nullptr;
  RetryPolicy policy;
  std::chrono::steady_clock::time_point deadline;  // on clock->steady_now()
  std::string what;                                // "deepgram listen", for messages
  RequestObserver observer;                        // optional
  // Optional: asked before each retry; false ends the retries with the last error (a
  // streamed answer whose first part was already passed on must not start over).
  std::function<bool()> may_retry;
  // Optional: set on every attempt's request (unless build() set its own); once it fires the
  // attempt in flight is aborted and no other starts: `done` gets kUnavailable "cancelled"
  // (a wait between attempts is not cut short, but no attempt follows it).
  std::shared_ptr<CancelSignal> cancel;
};

// Sends build() (called afresh for every attempt) until a 2xx arrives, a non-retryable
// failure occurs, or the policy or deadline ends it; `done` gets the 2xx response or the
// last error. Each attempt's timeout is cut to the time left before the deadline.
void send_with_retry(RetryContext ctx, std::function<HttpRequest()> build, ErrorClassifier classify,
                     std::function<void(Result<HttpResponse>)> done);

}  // namespace earshot::http
