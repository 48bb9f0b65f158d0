#pragma once
// Recoverable errors are values: functions that can fail return Result<T>.
// The code, not the message, decides what a caller does next:
//   - message_fate(code): retry the queue message later, or dead-letter it now;
//   - http_status(code): the one mapping from codes to HTTP statuses.
// Messages are meant for operators and may be shown to clients; never put secrets in them.

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace earshot {

enum class ErrorCode {
  kInvalidArgument,     // the input is wrong; retrying the same input fails again
  kNotFound,            // the thing addressed does not exist (or is not the caller's)
  kAlreadyExists,       // a create collided with an existing resource
  kPermissionDenied,    // the caller is known but may not do this
  kUnauthenticated,     // the caller could not be identified
  kFailedPrecondition,  // the system is not in a state that allows this; fix first, then retry
  kRateLimited,         // too many requests; retry after a delay
  kUnavailable,         // a dependency is down or unreachable; retry with backoff
  kTimeout,             // a deadline passed; retry with backoff
  kInternal,            // a bug or an invariant violated
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // A hint from whoever refused (HTTP Retry-After, provider throttling), when known.
  std::optional<std::chrono::milliseconds> retry_after;

  Error() = default;
  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}

  // "unavailable: mysql: connection refused"
  [[nodiscard]] std::string to_string() const;
  // Returns a copy whose message is "<context>: <message>".
  [[nodiscard]] Error with_context(std::string_view context) const;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

[[nodiscard]] inline std::unexpected<Error> make_error(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}

// Stable lower_snake name of a code, as used in logs, metrics labels and API errors.
[[nodiscard]] std::string_view code_name(ErrorCode code);
[[nodiscard]] std::optional<ErrorCode> code_from_name(std::string_view name);

// What a queue consumer does with a message whose handler failed with `code`.
enum class MessageFate {
  kRetry,       // transient: redeliver after a delay (until the attempt limit)
  kDeadLetter,  // permanent: move to the dead-letter queue with the reason
};
[[nodiscard]] MessageFate message_fate(ErrorCode code);
[[nodiscard]] std::string_view fate_name(MessageFate fate);

// The single code -> HTTP status mapping used by every HTTP surface.
[[nodiscard]] int http_status(ErrorCode code);

}  // namespace earshot
