#include "earshot/http/retry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "earshot/core/backoff.hpp"
#include "earshot/http/retry_after.hpp"

namespace earshot::http {

bool is_retryable(ErrorCode code) {
  return code == ErrorCode::kRateLimited || code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout;
}

Error error_for_status(std::string_view provider, int status, std::string_view provider_code, std::string_view message,
                       bool quota_exhausted) {
  const std::string detail =
      provider_code.empty()
          ? fmt::format("{}: HTTP {}{}{}", provider, status, message.empty() ? "" : ": ", message)
          : fmt::format("{}: HTTP {} {}{}{}", provider, status, provider_code, message.empty() ? "" : ": ", message);
  if (quota_exhausted) return Error(ErrorCode::kFailedPrecondition, "quota exhausted: " + detail);
  switch (status) {
    case 401:
      return Error(ErrorCode::kUnauthenticated, "authentication failed: " + detail);
    case 402:
      return Error(ErrorCode::kFailedPrecondition, "quota exhausted: " + detail);
    case 403:
      return Error(ErrorCode::kPermissionDenied, "access denied: " + detail);
    case 404:
      return Error(ErrorCode::kNotFound, "not found: " + detail);
    case 408:
      return Error(ErrorCode::kTimeout, "provider timed out: " + detail);
    case 429:
      return Error(ErrorCode::kRateLimited, "rate limited: " + detail);
    default:
      break;
  }
  if (status >= 500) return Error(ErrorCode::kUnavailable, "provider error: " + detail);
  if (status >= 400) return Error(ErrorCode::kInvalidArgument, "rejected input: " + detail);
  return Error(ErrorCode::kUnavailable, "unexpected answer: " + detail);
}

namespace {

struct RetryState : std::enable_shared_from_this<RetryState> {
  RetryContext ctx;
  std::function<HttpRequest()> build;
  ErrorClassifier classify;
  std::function<void(Result<HttpResponse>)> done;
  Backoff backoff;
  int attempts = 0;
  bool cut_by_deadline = false;  // the last attempt's timeout was shortened to the deadline

  RetryState(RetryContext c, std::function<HttpRequest()> b, ErrorClassifier cl,
             std::function<void(Result<HttpResponse>)> d)
      : ctx(std::move(c)),
        build(std::move(b)),
        classify(std::move(cl)),
        done(std::move(d)),
        backoff(ctx.policy.initial_backoff, ctx.policy.max_backoff) {}

  void finish(Result<HttpResponse> r) {
    auto cb = std::move(done);
    cb(std::move(r));
  }

  Error ended(Error e, std::string_view why) const {
    e.message =
        fmt::format("{}: {} ({} after {} attempt{})", ctx.what, e.message, why, attempts, attempts == 1 ? "" : "s");
    return e;
  }

  [[nodiscard]] bool cancelled() const { return ctx.cancel && ctx.cancel->cancelled(); }

  void attempt() {
    if (cancelled()) {
      finish(std::unexpected(ended(Error(ErrorCode::kUnavailable, "cancelled"), "not retried")));
      return;
    }
    const auto now = ctx.clock->steady_now();
    if (now >= ctx.deadline) {
      finish(std::unexpected(ended(Error(ErrorCode::kTimeout, "job deadline passed"), "gave up")));
      return;
    }
    ++attempts;
    auto request = build();
    if (!request.cancel) request.cancel = ctx.cancel;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - now);
    cut_by_deadline = left < request.timeout;
    request.timeout = std::min(request.timeout, std::max(left, std::chrono::milliseconds(1)));
    ctx.client->send(std::move(request), [self = shared_from_this(),
                                          sent = std::chrono::steady_clock::now()](Result<HttpResponse> r) {
      // A non-2xx answer is classified once, here, so the observer sees the provider's reason.
      std::optional<Error> classified;
      if (r && (r->status < 200 || r->status >= 300)) classified = self->classify(*r);
      if (self->ctx.observer) {
        RequestOutcome o;
        o.what = self->ctx.what;
        o.status = r ? r->status : 0;
        if (!r) o.transport = r.error().code;
        o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent);
        o.message = classified ? std::string_view(classified->message)
                    : r        ? std::string_view()
                               : std::string_view(r.error().message);
        self->ctx.observer(o);
      }
      self->on_result(std::move(r), std::move(classified));
    });
  }

  void on_result(Result<HttpResponse> r, std::optional<Error> classified) {
    if (!r && cancelled()) {
      finish(std::unexpected(ended(Error(ErrorCode::kUnavailable, "cancelled"), "not retried")));
      return;
    }
    Error error;
    if (r) {
      if (r->status >= 200 && r->status < 300) {
        finish(std::move(r));
        return;
      }
      error = classified ? std::move(*classified) : classify(*r);
      if (!error.retry_after) error.retry_after = parse_retry_after(r->headers, ctx.clock->now());
    } else {
      error = std::move(r.error());
      if (error.code == ErrorCode::kTimeout && cut_by_deadline) {
        finish(std::unexpected(ended(Error(ErrorCode::kTimeout, "job deadline passed during a request"), "gave up")));
        return;
      }
    }
    if (!is_retryable(error.code)) {
      finish(std::unexpected(ended(std::move(error), "not retried")));
      return;
    }
    if (ctx.may_retry && !ctx.may_retry()) {
      finish(std::unexpected(ended(std::move(error), "partial answer passed on, not retried")));
      return;
    }
    if (attempts >= ctx.policy.max_attempts) {
      if (error.code == ErrorCode::kRateLimited && !error.retry_after) {
        error.retry_after = backoff.next();  // a hint for whoever redelivers the job
      }
      finish(std::unexpected(ended(std::move(error), "gave up")));
      return;
    }
    if (ctx.client->shutting_down()) {
      finish(std::unexpected(ended(Error(ErrorCode::kUnavailable, "shutting down"), "gave up")));
      return;
    }
    std::chrono::milliseconds delay = backoff.next();
    if (error.retry_after) {
      if (*error.retry_after > ctx.policy.max_retry_after) {
        finish(std::unexpected(ended(std::move(error), "Retry-After too long")));
        return;
      }
      delay = *error.retry_after;
    }
    if (ctx.clock->steady_now() + delay >= ctx.deadline) {
      if (!error.retry_after) error.retry_after = delay;
      finish(std::unexpected(ended(std::move(error), "next wait passes the deadline")));
      return;
    }
    ctx.client->post_after(delay, [self = shared_from_this()] { self->attempt(); });
  }
};

}  // namespace

void send_with_retry(RetryContext ctx, std::function<HttpRequest()> build, ErrorClassifier classify,
                     std::function<void(Result<HttpResponse>)> done) {
  auto state = std::make_shared<RetryState>(std::move(ctx), std::move(build), std::move(classify), std::move(done));
  state->attempt();
}

}  // namespace earshot::http
