// The listener's reading of a request (http_request.hpp): the parser's limits, the checks on
// the head before the body, the Request the routes get and the multipart split.
#include "earshot/api/http_request.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <string>
#include <string_view>

namespace earshot::api::http_request {
namespace {

namespace bhttp = boost::beast::http;

// Puts all of `bytes` into a configured parser: the head, then (eager) the rest.
boost::beast::error_code put(Parser& parser, std::string_view bytes) {
  boost::beast::error_code ec;
  const std::size_t n = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec || parser.is_done()) return ec;
  parser.eager(true);
  parser.put(boost::asio::buffer(bytes.data() + n, bytes.size() - n), ec);
  return ec;
}

TEST(HttpRequest, HeadOverTheHeaderLimitIs431) {
  Parser parser;
  configure(parser);
  const std::string head = "GET / HTTP/1.1\r\nX-Big: " + std::string(kHeaderLimit, 'a') + "\r\n\r\n";
  const auto ec = put(parser, head);
  EXPECT_EQ(ec, bhttp::error::header_limit);
  EXPECT_EQ(head_error(ec).status, 431);
  EXPECT_EQ(head_error(bhttp::error::bad_method).status, 400);
}

TEST(HttpRequest, AdmitHeadChecksTargetAndDeclaredLength) {
  struct Case {
    std::string request;
    int status;  // 0: admitted
  };
  const Case cases[] = {
      {"GET /a?b=1 HTTP/1.1\r\nContent-Length: 1024\r\n\r\n", 0},
      {"GET /a HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413},
      {"GET http://h/a HTTP/1.1\r\n\r\n", 400},
      {"GET /" + std::string(kTargetLimit, 'x') + " HTTP/1.1\r\n\r\n", 414},
  };
  for (const auto& c : cases) {
    Parser parser;
    configure(parser);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(c.request), ec);
    ASSERT_TRUE(parser.is_header_done()) << c.request.substr(0, 40);
    const Head head = admit_head(parser, 1024);
    EXPECT_EQ(head.reject ? head.reject->status : 0, c.status) << c.request.substr(0, 40);
    EXPECT_EQ(head.method, "GET");
  }
}

TEST(HttpRequest, AdmittedHeadBoundsAChunkedBody) {
  Parser parser;
  configure(parser);
  const std::string head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Request-Id: r-1\r\n\r\n";
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(head), ec);
  ASSERT_FALSE(ec);
  const Head h = admit_head(parser, 8);
  EXPECT_FALSE(h.reject);
  EXPECT_EQ(h.request_id, "r-1");
  parser.eager(true);
  parser.put(boost::asio::buffer(std::string_view("9\r\n123456789\r\n0\r\n\r\n")), ec);
  EXPECT_EQ(ec, bhttp::error::body_limit);
}

TEST(HttpRequest, RequestOfACompleteMessage) {
  Parser parser;
  configure(parser);
  ASSERT_FALSE(put(parser,
                   "HEAD /api/a%20b?x=1&y=%41 HTTP/1.1\r\nX-Request-Id: bad id\r\naccept-encoding: gzip\r\n"
                   "Content-Length: 2\r\n\r\nhi"));
  ASSERT_TRUE(parser.is_done());
  const Head head = admit_head(parser, 1024);
  EXPECT_EQ(head.method, "HEAD");
  EXPECT_EQ(head.path, "/api/a%20b");
  EXPECT_EQ(head.request_id, "");  // not sane: the listener makes its own
  Request req = to_request(parser.get());
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/api/a%20b?x=1&y=%41");
  EXPECT_EQ(req.path, "/api/a b");
  EXPECT_EQ(req.query_param("y"), "A");
  EXPECT_EQ(req.header("Accept-Encoding"), "gzip");
  EXPECT_EQ(req.body, "hi");
}

TEST(HttpRequest, FormPartsTakenFromMultipartBodiesOnly) {
  Request plain;
  plain.headers.emplace("Content-Type", "application/json");
  plain.body = "{}";
  EXPECT_TRUE(take_form_parts(plain));
  EXPECT_EQ(plain.body, "{}");

  Request form;
  form.headers.emplace("Content-Type", "multipart/form-data; boundary=b");
  form.body = "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--b--\r\n";
  ASSERT_TRUE(take_form_parts(form));
  ASSERT_EQ(form.parts.size(), 1U);
  EXPECT_EQ(form.parts[0].content, "v");
  EXPECT_TRUE(form.body.empty());

  Request broken;
  broken.headers.emplace("Content-Type", "multipart/form-data; boundary=b");
  broken.body = "no delimiter";
  const auto split = take_form_parts(broken);
  ASSERT_FALSE(split);
  EXPECT_EQ(split.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(broken.body.empty());
}

}  // namespace
}  // namespace earshot::api::http_request
