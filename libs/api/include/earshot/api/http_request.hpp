#pragma once
// How the gateway's listener (http_server.cpp) reads a request off a connection, as far as
// that is pure: the Beast parser and its limits, the checks on the request head before a byte
// of the body is read, and the Request the routes get from a complete message. Kept apart so
// that the fuzz target of the request parsing (tests/fuzz/http_request.cpp) runs the very
// configuration the server does.
//
// A request is read in two steps on one parser: the head (request line and headers) under
// kHeaderLimit with no body limit, then, once admit_head() has passed it, the body under the
// server's http_max_body_bytes.

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "earshot/api/router.hpp"
#include "earshot/core/error.hpp"

namespace earshot::api::http_request {

using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using Message = Parser::value_type;

inline constexpr std::uint32_t kHeaderLimit = 64 * 1024;                   // request line + headers; more: 431
inline constexpr std::size_t kTargetLimit = std::size_t{8} * 1024;         // request target; more: 414
inline constexpr std::size_t kReadBufferBytes = kHeaderLimit + 16 * 1024;  // a connection's read buffer

// A listener's own answer to a request it will not pass on; the connection closes after it.
struct Rejection {
  int status = 400;
  std::string message;
};

// Sets up a fresh parser for the next request: the header limit, no body limit yet.
void configure(Parser& parser);

// The answer to a head that failed to parse (other than the client going away, which the
// listener handles itself): 431 for one over the header limit or the read buffer, else 400.
[[nodiscard]] Rejection head_error(const boost::beast::error_code& ec);

// X-Request-Id values the listener adopts: 1-128 characters of [A-Za-z0-9._-].
[[nodiscard]] bool sane_request_id(std::string_view id);

struct Head {
  std::string method;      // as sent
  std::string path;        // the target up to '?', not decoded (the access log's)
  std::string request_id;  // the client's X-Request-Id when sane, else empty
  std::string origin;      // Origin, empty when absent
  std::optional<Rejection> reject;
};

// Reads a parsed head and checks it before any of the body: the target's length (414) and
// form (400: it must be a path), a declared Content-Length over `max_body` (413). When it
// passes, the parser's body limit becomes `max_body`, which also bounds a chunked body as it
// arrives.
[[nodiscard]] Head admit_head(Parser& parser, std::uint64_t max_body);

// The request the routes get from a complete message: HEAD as GET, the target as sent, the
// path percent-decoded, the query parsed, the headers (the first of repeated ones), the body
// (moved out of the message).
[[nodiscard]] Request to_request(Message& msg);

// Splits a multipart/form-data body into `req.parts` (the body is then empty); other bodies
// are left alone. kInvalidArgument for a malformed multipart body.
[[nodiscard]] Result<void> take_form_parts(Request& req);

}  // namespace earshot::api::http_request
