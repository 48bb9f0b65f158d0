#pragma once
// Pieces of HTTP the gateway's listener (http_server.cpp) parses itself, kept apart so they
// can be unit-tested on hostile input: percent-decoding, query strings, multipart/form-data
// bodies, single byte ranges and gzip.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/api/router.hpp"
#include "earshot/core/error.hpp"

namespace earshot::api::http_parsing {

// Decodes %XX escapes (and '+' as a space when `plus_as_space`); a malformed escape is kept
// as it was sent.
[[nodiscard]] std::string percent_decode(std::string_view s, bool plus_as_space);

// "a=1&b=x%20y&c" -> {a:1, b:"x y", c:""}; names and values percent-decoded, '+' is a space.
[[nodiscard]] std::multimap<std::string, std::string> parse_query(std::string_view query);

// The boundary parameter of a multipart/form-data Content-Type; nullopt when the type is
// something else or the boundary is missing or invalid (RFC 2046: 1-70 characters).
[[nodiscard]] std::optional<std::string> multipart_boundary(std::string_view content_type);

struct MultipartLimits {
  std::size_t max_parts = 64;
  std::size_t max_header_bytes = std::size_t{8} * 1024;  // the header block of one part
};

// Parses a multipart/form-data body (RFC 7578). Every part needs a Content-Disposition of
// form-data with a name; kInvalidArgument with the reason for anything malformed (missing
// boundary lines, no closing delimiter, too many parts, oversized part headers).
[[nodiscard]] Result<std::vector<FormPart>> parse_multipart(std::string_view body, std::string_view boundary,
                                                            const MultipartLimits& limits = {});

// A Range header against an object of `size` bytes. Only single ranges are served: a header
// that is absent, malformed, or asks for several ranges means the whole object (kWhole).
struct ByteRange {
  enum class Kind { kWhole, kPartial, kUnsatisfiable };
  Kind kind = Kind::kWhole;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};
[[nodiscard]] ByteRange parse_range(std::string_view header, std::uint64_t size);

// gzip (RFC 1952) of `data`.
[[nodiscard]] std::string gzip(std::string_view data, int level = 5);

// True when an Accept-Encoding header accepts gzip (a q=0 refuses it).
[[nodiscard]] bool accepts_gzip(std::string_view accept_encoding);

}  // namespace earshot::api::http_parsing
