#include "earshot/core/error.hpp"

#include <array>
#include <utility>

namespace earshot {
namespace {

constexpr std::array<std::pair<ErrorCode, std::string_view>, 10> kNames{{
    {ErrorCode::kInvalidArgument, "invalid_argument"},
    {ErrorCode::kNotFound, "not_found"},
    {ErrorCode::kAlreadyExists, "already_exists"},
    {ErrorCode::kPermissionDenied, "permission_denied"},
    {ErrorCode::kUnauthenticated, "unauthenticated"},
    {ErrorCode::kFailedPrecondition, "failed_precondition"},
    {ErrorCode::kRateLimited, "rate_limited"},
    {ErrorCode::kUnavailable, "unavailable"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kInternal, "internal"},
}};

}  // namespace

std::string Error::to_string() const {
  std::string out(code_name(code));
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

Error Error::with_context(std::string_view context) const {
  Error e = *this;
  e.message = std::string(context) + ": " + message;
  return e;
}

std::string_view code_name(ErrorCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "internal";
}

std::optional<ErrorCode> code_from_name(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

// The one place deciding a failed message's fate. Transient conditions are retried (the
// queue layer bounds the attempts); everything else would fail the same way again.
MessageFate message_fate(ErrorCode code) {
  switch (code) {
    case ErrorCode::kRateLimited:
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
      return MessageFate::kRetry;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kInternal:
      return MessageFate::kDeadLetter;
  }
  return MessageFate::kDeadLetter;
}

std::string_view fate_name(MessageFate fate) {
  return fate == MessageFate::kRetry ? "retry" : "dead_letter";
}

// The one place mapping codes to HTTP statuses.
int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
  }
  return 500;
}

}  // namespace earshot
