#pragma once
// How long a server asked us to wait before retrying.

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace earshot::http {

// Reads, in order of precedence, `retry-after-ms` (milliseconds, possibly fractional) and
// `Retry-After` (delta seconds, or an HTTP-date, RFC 9110 §10.2.3, compared with `now`).
// Header names must be lower-cased (as HttpResponse has them). A date in the past gives 0;
// an unparseable value gives nullopt.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_retry_after(
    const std::map<std::string, std::string>& headers, std::chrono::system_clock::time_point now);

}  // namespace earshot::http
