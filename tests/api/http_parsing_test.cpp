// The listener's own HTTP parsing: percent-decoding, query strings, multipart/form-data
// (including hostile bodies), byte ranges and gzip.
#include "earshot/api/http_parsing.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace earshot::api::http_parsing {
namespace {

std::string gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(in.size() * 20 + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

TEST(HttpParsing, PercentDecodingAndQueryStrings) {
  EXPECT_EQ(percent_decode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("100%", false), "100%");    // truncated escape kept
  EXPECT_EQ(percent_decode("%zz%4", false), "%zz%4");  // malformed escapes kept
  EXPECT_EQ(percent_decode("%00x", false), std::string("\0x", 2));
  auto q = parse_query("city=New%20York&tag=a&tag=b+c&flag&=v&&x=%3D%26");
  EXPECT_EQ(q.count("tag"), 2U);
  EXPECT_EQ(q.find("city")->second, "New York");
  EXPECT_EQ(q.find("flag")->second, "");
  EXPECT_EQ(q.find("x")->second, "=&");
  auto tags = q.equal_range("tag");
  EXPECT_EQ(tags.first->second, "a");
  EXPECT_EQ(std::next(tags.first)->second, "b c");
  EXPECT_TRUE(parse_query("").empty());
}

TEST(HttpParsing, MultipartBoundaryFromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(multipart_boundary("application/json"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary="));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'x')));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"unterminated"));
}

TEST(HttpParsing, MultipartFieldsAndFiles) {
  const std::string audio("RIFF\r\n--not-the-boundary\r\n\0\x01\xff", 29);
  const std::string body =
      "preamble to ignore\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"external_id\"\r\n\r\n"
      "call-1\r\n"
      "--XyZ\r\n"
      "content-disposition: form-data; name=\"audio\"; filename=\"a \\\"b\\\".wav\"\r\n"
      "Content-Type: audio/wav\r\n\r\n" +
      audio +
      "\r\n--XyZ\r\n"
      "Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
      "\r\n--XyZ--\r\nepilogue";
  auto parts = parse_multipart(body, "XyZ");
  ASSERT_TRUE(parts) << parts.error().to_string();
  ASSERT_EQ(parts->size(), 3U);
  EXPECT_EQ((*parts)[0].name, "external_id");
  EXPECT_EQ((*parts)[0].content, "call-1");
  EXPECT_EQ((*parts)[0].filename, "");
  EXPECT_EQ((*parts)[1].name, "audio");
  EXPECT_EQ((*parts)[1].filename, "a \"b\".wav");
  EXPECT_EQ((*parts)[1].content_type, "audio/wav");
  EXPECT_EQ((*parts)[1].content, audio);
  EXPECT_EQ((*parts)[2].content, "");
}

TEST(HttpParsing, HostileMultipartBodiesAreRefusedWithAReason) {
  const std::string ok_part = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n";
  auto refused = [](const std::string& body, const std::string& why, MultipartLimits limits = {}) {
    auto r = parse_multipart(body, "b", limits);
    ASSERT_FALSE(r) << "accepted: " << body.substr(0, 80);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  };
  refused("", "no boundary line");
  refused("just text", "no boundary line");
  refused(ok_part, "no closing boundary");  // never closed
  refused("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n", "headers never end");
  refused("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "no name");
  refused("--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--", "form-data");
  refused("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", "no Content-Disposition");
  refused("--b\r\nno colon here\r\n\r\nx\r\n--b--", "without a name");
  refused("--bXX\r\n", "CRLF");
  refused("--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--", "form-data");
  refused(
      "--b\r\nX-Pad: " + std::string(10'000, 'p') + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--",
      "too large");
  std::string many;
  for (int i = 0; i < 10; ++i) many += ok_part;
  refused(many + "--b--", "more than 5 parts", MultipartLimits{5, 8192});
  // Random bytes never crash the parser.
  std::string noise;
  std::uint32_t x = 12345;
  for (int i = 0; i < 20'000; ++i) {
    x = x * 1103515245 + 12345;
    const char alphabet[] = "-b\r\n:;=\"form-data name";
    noise += alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
    if (i % 97 == 0) (void)parse_multipart(noise, "b");
  }
  SUCCEED();
}

TEST(HttpParsing, SingleByteRanges) {
  using K = ByteRange::Kind;
  auto r = parse_range("bytes=100-199", 1000);
  EXPECT_EQ(r.kind, K::kPartial);
  EXPECT_EQ(r.first, 100U);
  EXPECT_EQ(r.last, 199U);
  r = parse_range("bytes=-10", 1000);
  EXPECT_EQ(r.kind, K::kPartial);
  EXPECT_EQ(r.first, 990U);
  EXPECT_EQ(r.last, 999U);
  r = parse_range("bytes=900-", 1000);
  EXPECT_EQ(r.first, 900U);
  EXPECT_EQ(r.last, 999U);
  r = parse_range("bytes=900-5000", 1000);
  EXPECT_EQ(r.last, 999U);
  r = parse_range("bytes=-5000", 1000);
  EXPECT_EQ(r.first, 0U);
  EXPECT_EQ(parse_range("bytes=5000-6000", 1000).kind, K::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=1000-", 1000).kind, K::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).kind, K::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, K::kUnsatisfiable);
  EXPECT_EQ(parse_range("", 1000).kind, K::kWhole);
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 1000).kind, K::kWhole);
  EXPECT_EQ(parse_range("bytes=9-3", 1000).kind, K::kWhole);
  EXPECT_EQ(parse_range("items=0-3", 1000).kind, K::kWhole);
  EXPECT_EQ(parse_range("bytes=a-b", 1000).kind, K::kWhole);
  EXPECT_EQ(parse_range("bytes=99999999999999999999999-", 1000).kind, K::kWhole);
}

TEST(HttpParsing, GzipRoundTripsAndAcceptEncoding) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "{\"id\":" + std::to_string(i) + "},";
  auto z = gzip(text);
  ASSERT_FALSE(z.empty());
  EXPECT_LT(z.size(), text.size() / 4);
  EXPECT_EQ(gunzip(z), text);
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("deflate, gzip;q=0.8, br"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip(""));
}

}  // namespace
}  // namespace earshot::api::http_parsing
