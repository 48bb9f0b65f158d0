// The gateway's reading of HTTP/1.1 requests off a connection: Boost.Beast's request parser
// under the listener's own configuration and limits (api/http_request.hpp: the header limit,
// the head checks, the body limit), then what the listener does with a complete request
// before routing (the Request the routes get, the multipart split, Accept-Encoding, Range) and
// the JSON body as the routes read it. Requests are read one after another while the
// connection stays open, as the listener does with keep-alive.
//
// Input: two bytes, then what a client sends on one connection. The stream arrives in two
// deliveries, cut at byte 0 / 256 of its length, so the parser also sees requests arrive in
// pieces; byte 1 odd: the smallest body limit the configuration allows (1 KiB), else its
// default (1 MiB).
#include "earshot/api/http_request.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/api/http_parsing.hpp"

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace hr = earshot::api::http_request;
namespace hp = earshot::api::http_parsing;

namespace {

// The client's bytes as a connection's reads deliver them: the first delivery up to the cut,
// then the rest, never more unread bytes than the connection's read buffer holds.
class Connection {
 public:
  Connection(std::string_view stream, std::size_t cut) : stream_(stream), delivered_(cut) {}

  // Feeds the parser until it has the head (or, eager, the whole message) or an error. False
  // when the client has sent everything before that (the parser heard the end of the stream).
  bool read(hr::Parser& parser, beast::error_code& ec, bool head_only) {
    auto finished = [&] { return head_only ? parser.is_header_done() : parser.is_done(); };
    for (;;) {
      ec = {};
      if (finished()) return true;
      if (used_ < delivered_) {
        const std::size_t n = parser.put(boost::asio::buffer(stream_.data() + used_, delivered_ - used_), ec);
        used_ += n;
        if (ec && ec != bhttp::error::need_more) return true;
        if (!ec && n > 0) continue;
      }
      // The parser needs more than the buffer holds.
      if (delivered_ == stream_.size()) {
        ec = {};
        if (parser.got_some()) parser.put_eof(ec);
        return !ec && finished();
      }
      if (delivered_ - used_ >= hr::kReadBufferBytes) {
        ec = bhttp::error::buffer_overflow;  // what the listener's bounded buffer reports
        return true;
      }
      delivered_ = std::min(stream_.size(), used_ + hr::kReadBufferBytes);
    }
  }

  [[nodiscard]] bool more() const { return used_ < stream_.size(); }

 private:
  std::string_view stream_;
  std::size_t delivered_;
  std::size_t used_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::uint64_t max_body = (data[1] & 1) != 0 ? 1024 : std::uint64_t{1} << 20;
  Connection conn(stream, stream.size() * data[0] / 256);

  for (int requests = 0; requests < 8 && conn.more(); ++requests) {
    hr::Parser parser;
    hr::configure(parser);
    beast::error_code ec;
    if (!conn.read(parser, ec, true)) return 0;  // the client went away mid-head
    if (ec) {
      const auto rejection = hr::head_error(ec);
      if (ec == bhttp::error::header_limit && rejection.status != 431) __builtin_trap();
      if (rejection.status != 431 && rejection.status != 400) __builtin_trap();
      return 0;  // answered, then the connection closes
    }
    if (!parser.is_header_done()) __builtin_trap();

    const std::string target(parser.get().target());
    const auto head = hr::admit_head(parser, max_body);
    if (head.method.empty() || head.path.size() > target.size()) __builtin_trap();
    if (!head.request_id.empty() && !hr::sane_request_id(head.request_id)) __builtin_trap();
    if ((target.size() > hr::kTargetLimit) != (head.reject && head.reject->status == 414)) __builtin_trap();
    if (head.reject) {
      if (head.reject->status == 413 && !(parser.content_length() && *parser.content_length() > max_body)) {
        __builtin_trap();
      }
      return 0;
    }
    if (target.empty() || target[0] != '/') __builtin_trap();
    if (head.method == "OPTIONS") {  // a preflight: answered without reading a body
      if (!parser.is_done()) return 0;
      continue;
    }

    parser.eager(true);
    if (!parser.is_done()) {
      if (!conn.read(parser, ec, false)) return 0;  // the client went away mid-body
      if (ec) return 0;                             // 413 for body_limit, else 400: the connection closes
    }
    if (!parser.is_done()) __builtin_trap();

    auto& msg = parser.get();
    if (msg.body().size() > max_body) __builtin_trap();
    if (!parser.chunked() && msg.body().size() != parser.content_length().value_or(0)) __builtin_trap();
    const bool keep_alive = msg.keep_alive();

    auto req = hr::to_request(msg);
    if (req.target != target || req.path.size() > target.size() || req.method == "HEAD") __builtin_trap();
    const auto body_size = req.body.size();
    if (auto split = hr::take_form_parts(req)) {
      if (!req.parts.empty() && !req.body.empty()) __builtin_trap();
      for (const auto& p : req.parts) {
        if (p.name.empty() || p.content.size() > body_size) __builtin_trap();
      }
    } else if (!req.body.empty()) {
      __builtin_trap();
    }
    (void)hp::accepts_gzip(req.header("Accept-Encoding"));
    const auto range = hp::parse_range(req.header("Range"), 1000);
    if (range.kind == hp::ByteRange::Kind::kPartial && (range.first > range.last || range.last >= 1000)) {
      __builtin_trap();
    }
    (void)req.query_param("limit");
    (void)req.json_body();
    if (!keep_alive) return 0;
  }
  return 0;
}
