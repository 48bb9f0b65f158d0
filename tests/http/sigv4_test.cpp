// SigV4 against AWS's published Signature Version 4 test suite (service `service`, region
// us-east-1, 2015-08-30T12:36:00Z, the documented example key), then Bedrock specifics.
#include "earshot/http/sigv4.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "fakes/fake_clock.hpp"

namespace earshot::http {
namespace {

constexpr const char* kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

class SigV4SuiteTest : public ::testing::Test {
 protected:
  SigV4SuiteTest() {
    // 2015-08-30T12:36:00Z
    clock.set_wall(std::chrono::system_clock::time_point(std::chrono::seconds(1'440'938'160)));
  }
  SigV4Signer signer(std::string service = "service", std::string token = {}) {
    return SigV4Signer({"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", std::move(token)}, "us-east-1",
                       std::move(service), clock);
  }
  static http::HttpRequest request(std::string method, std::string url) {
    http::HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    return r;
  }
  static std::string authz(const std::string& signed_headers, const std::string& signature) {
    return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
           "SignedHeaders=" +
           signed_headers + ", Signature=" + signature;
  }
  testing::FakeClock clock;
};

TEST_F(SigV4SuiteTest, AmzDate) {
  EXPECT_EQ(amz_date(clock.now()), "20150830T123600Z");
  EXPECT_EQ(amz_date(std::chrono::system_clock::time_point{}), "19700101T000000Z");
}

TEST_F(SigV4SuiteTest, GetVanilla) {
  auto p = signer().compute(request("GET", "https://example.amazonaws.com/"));
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->canonical_request, std::string("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                                              "host;x-amz-date\n") +
                                      kEmptySha);
  EXPECT_EQ(p->string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(p->authorization,
            authz("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST_F(SigV4SuiteTest, PostVanilla) {
  auto p = signer().compute(request("POST", "https://example.amazonaws.com/"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->authorization,
            authz("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
}

TEST_F(SigV4SuiteTest, GetVanillaQueryOrderKeyCase) {
  auto p = signer().compute(request("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->canonical_request.substr(0, 30), "GET\n/\nParam1=value1&Param2=val");
  EXPECT_EQ(p->authorization,
            authz("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST_F(SigV4SuiteTest, PostXWwwFormUrlencoded) {
  auto r = request("POST", "https://example.amazonaws.com/");
  r.set_body("Param1=value1", "application/x-www-form-urlencoded");
  auto p = signer().compute(r);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->canonical_request,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(p->string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(p->authorization,
            authz("content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST_F(SigV4SuiteTest, DocumentedSigningKey) {
  // The IAM example of the signing documentation: the derived key for service `iam`.
  const std::string k = hmac_sha256(
      hmac_sha256(hmac_sha256(hmac_sha256("AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830"), "us-east-1"),
                  "iam"),
      "aws4_request");
  EXPECT_EQ(to_hex(k), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST_F(SigV4SuiteTest, SignAddsHeadersAndSessionToken) {
  auto r = request("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse");
  r.set_body("{}", "application/json");
  ASSERT_TRUE(signer("bedrock", "TOKEN").sign(r));
  std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
  EXPECT_EQ(h["X-Amz-Date"], "20150830T123600Z");
  EXPECT_EQ(h["X-Amz-Security-Token"], "TOKEN");
  EXPECT_NE(h["Authorization"].find("/20150830/us-east-1/bedrock/aws4_request, "
                                    "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "),
            std::string::npos)
      << h["Authorization"];
  // Signing again replaces, never duplicates.
  ASSERT_TRUE(signer("bedrock", "TOKEN").sign(r));
  EXPECT_EQ(std::ranges::count_if(r.headers, [](const auto& x) { return x.first == "Authorization"; }), 1);
}

TEST_F(SigV4SuiteTest, ModelIdColonIsDoubleEncodedInTheCanonicalUri) {
  EXPECT_EQ(sigv4_uri_encode("amazon.titan-embed-text-v2:0", false), "amazon.titan-embed-text-v2%3A0");
  auto r = request("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/" +
                               sigv4_uri_encode("anthropic.claude-3-haiku-20240307-v1:0", false) + "/converse");
  r.set_body("{}", "application/json");
  auto p = signer("bedrock").compute(r);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->canonical_request.substr(0, p->canonical_request.find('\n', 5)),
            "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse");
}

TEST_F(SigV4SuiteTest, HeaderValuesAreTrimmedAndCollapsed) {
  auto a = request("GET", "https://example.amazonaws.com/");
  a.add_header("My-Header1", "  value1   with  spaces ");
  auto s = signer();
  s.extra_signed_headers = {"my-header1"};
  auto p = s.compute(a);
  ASSERT_TRUE(p);
  EXPECT_NE(p->canonical_request.find("\nmy-header1:value1 with spaces\n"), std::string::npos);
}

// S3's published examples (Amazon S3 API reference, "Signature calculations for the
// Authorization header: transferring payload in a single chunk"): bucket examplebucket,
// 2013-05-24T00:00:00Z, us-east-1, the documented example key.
class SigV4S3Test : public ::testing::Test {
 protected:
  SigV4S3Test() { clock.set_wall(std::chrono::system_clock::time_point(std::chrono::seconds(1'369'353'600))); }
  SigV4Signer signer() {
    SigV4Signer s({"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", {}}, "us-east-1", "s3", clock);
    s.s3 = true;
    s.extra_signed_headers = {"range", "date", "x-amz-storage-class"};
    return s;
  }
  static std::string authz(const std::string& signed_headers, const std::string& signature) {
    return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
           "SignedHeaders=" +
           signed_headers + ", Signature=" + signature;
  }
  testing::FakeClock clock;
};

TEST_F(SigV4S3Test, GetObjectWithRange) {
  http::HttpRequest r;
  r.url = "https://examplebucket.s3.amazonaws.com/test.txt";
  r.add_header("Range", "bytes=0-9");
  auto p = signer().compute(r);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->canonical_request, std::string("GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                                              "x-amz-content-sha256:") +
                                      kEmptySha +
                                      "\nx-amz-date:20130524T000000Z\n\n"
                                      "host;range;x-amz-content-sha256;x-amz-date\n" +
                                      kEmptySha);
  EXPECT_EQ(p->authorization, authz("host;range;x-amz-content-sha256;x-amz-date",
                                    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
  // sign() sends the payload hash it signed.
  ASSERT_TRUE(signer().sign(r));
  std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
  EXPECT_EQ(h["x-amz-content-sha256"], kEmptySha);
}

TEST_F(SigV4S3Test, PutObjectPathIsEncodedOnce) {
  http::HttpRequest r;
  r.method = "PUT";
  r.url = "https://examplebucket.s3.amazonaws.com/test%24file.text";
  r.body = "Welcome to Amazon S3.";
  r.add_header("Date", "Fri, 24 May 2013 00:00:00 GMT");
  r.add_header("x-amz-storage-class", "REDUCED_REDUNDANCY");
  auto p = signer().compute(r);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->canonical_request.substr(0, 22), "PUT\n/test%24file.text\n");
  EXPECT_EQ(p->payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(p->authorization, authz("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
}

TEST_F(SigV4S3Test, GetBucketLifecycleAndListObjects) {
  http::HttpRequest r;
  r.url = "https://examplebucket.s3.amazonaws.com/?lifecycle";
  auto p = signer().compute(r);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->authorization, authz("host;x-amz-content-sha256;x-amz-date",
                                    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
  r.url = "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J";
  p = signer().compute(r);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->authorization, authz("host;x-amz-content-sha256;x-amz-date",
                                    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
}

}  // namespace
}  // namespace earshot::http
