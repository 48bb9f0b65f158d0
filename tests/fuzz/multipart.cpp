// The gateway's own HTTP parsing: a multipart/form-data upload (Content-Type line, then the
// body), and the same bytes as a query string, a Range header and an Accept-Encoding.
// Input: "<Content-Type>\n<body>".
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "earshot/api/http_parsing.hpp"

namespace hp = earshot::api::http_parsing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string_view header = input.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  if (auto boundary = hp::multipart_boundary(header)) {
    if (boundary->empty() || boundary->size() > 70) __builtin_trap();  // RFC 2046
    if (auto parts = hp::parse_multipart(body, *boundary, {.max_parts = 16, .max_header_bytes = 1024})) {
      if (parts->size() > 16) __builtin_trap();
      for (const auto& p : *parts) {
        if (p.name.empty() || p.content.size() > body.size()) __builtin_trap();
      }
    }
  }

  (void)hp::parse_query(header);
  (void)hp::percent_decode(body, true);
  const auto range = hp::parse_range(header, body.size());
  if (range.kind == hp::ByteRange::Kind::kPartial && (range.first > range.last || range.last >= body.size())) {
    __builtin_trap();
  }
  (void)hp::accepts_gzip(header);
  return 0;
}
