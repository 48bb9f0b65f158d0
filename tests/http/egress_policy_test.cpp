// The tenant egress policy: ranges, operator allow list, platform deny list, and the real
// CurlHttpClient refusing every spelling of loopback before it connects.
#include <gtest/gtest.h>

#include <string>

#include "earshot/core/config.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/http/egress.hpp"
#include "security/egress_listener.hpp"

namespace earshot::http {
namespace {

using earshot::testing::CountingListener;

bool refused(const AddressPolicy& p, const char* ip, int port = 80) {
  return !p.check(std::string_view(ip), port).empty();
}

TEST(EgressPolicy, RefusesEveryInternalFormByDefault) {
  const AddressPolicy p;
  for (const char* ip :
       {"127.0.0.1", "127.255.255.254", "::1", "[::1]", "0.0.0.0", "0.1.2.3", "::", "10.1.2.3", "172.16.5.4",
        "192.168.0.10", "100.64.1.1", "198.18.0.1", "fd00::1", "fc00::5", "fec0::1", "169.254.169.254", "169.254.170.2",
        "169.254.10.10", "fe80::1", "fd00:ec2::254", "100.100.100.200", "224.0.0.251", "255.255.255.255", "240.0.0.1",
        "ff02::1", "192.0.2.5", "198.51.100.7", "203.0.113.9", "2001:db8::1",
        // IPv4-mapped, both spellings
        "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
        // IPv4-compatible (deprecated)
        "::127.0.0.1", "::7f00:1",
        // NAT64 well-known and local-use prefixes
        "64:ff9b::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1",
        // 6to4 carrying loopback / private; Teredo
        "2002:7f00:1::", "2002:a00:1::1", "2001:0:4136:e378::1"}) {
    EXPECT_TRUE(refused(p, ip)) << ip;
  }
  EXPECT_NE(p.check(std::string_view("::ffff:7f00:1")).find("loopback address 127.0.0.1"), std::string::npos);
  EXPECT_NE(p.check(std::string_view("64:ff9b::a9fe:a9fe")).find("metadata"), std::string::npos);
  EXPECT_NE(p.check(std::string_view("fd00:ec2::254")).find("metadata"), std::string::npos);
  AddressPolicy private_ok;
  private_ok.allow_private = true;
  EXPECT_TRUE(refused(private_ok, "fd00:ec2::254"));  // metadata even where unique-local is allowed
}

TEST(EgressPolicy, AllowsPublicAddressesInEveryForm) {
  const AddressPolicy p;
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
                         "2002:808:808::1"}) {
    EXPECT_EQ(p.check(std::string_view(ip), 443), "") << ip;
  }
}

TEST(EgressPolicy, DecimalOctalAndShortFormsAreNotAddressesUntilResolved) {
  // The textual check accepts literal addresses only; the resolver turns these spellings into
  // 127.0.0.1, which the connect-time check then judges (see the CurlHttpClient test below).
  const AddressPolicy p;
  for (const char* s : {"2130706433", "0177.0.0.1", "127.1", "0x7f.0.0.1", "localhost"}) {
    EXPECT_NE(p.check(std::string_view(s)).find("not an IP address"), std::string::npos) << s;
  }
}

TEST(EgressPolicy, OperatorAllowListNamesHostPortAndRanges) {
  AddressPolicy p;
  auto rules =
      parse_destination_list("127.0.0.1:11434, 10.20.0.0/16, 10.30.0.0/16:8080, [fd00::7]:9000, [::1]", "egress_allow");
  ASSERT_TRUE(rules) << rules.error().to_string();
  p.allow = *rules;
  EXPECT_EQ(p.check("127.0.0.1", 11434), "");
  EXPECT_EQ(p.check("::ffff:127.0.0.1", 11434), "");  // the mapped form is the same destination
  EXPECT_TRUE(refused(p, "127.0.0.1", 11435));        // another port of an allowed host
  EXPECT_TRUE(refused(p, "127.0.0.2", 11434));
  EXPECT_EQ(p.check("10.20.99.1", 5432), "");
  EXPECT_TRUE(refused(p, "10.21.0.1", 5432));
  EXPECT_EQ(p.check("10.30.1.1", 8080), "");
  EXPECT_TRUE(refused(p, "10.30.1.1", 8081));
  EXPECT_EQ(p.check("fd00::7", 9000), "");
  EXPECT_TRUE(refused(p, "fd00::8", 9000));
  EXPECT_EQ(p.check("::1", 1234), "");
  // An allow rule with a port does not match a check whose port is unknown.
  EXPECT_TRUE(refused(p, "127.0.0.1", 0));
  // The metadata address stays refused unless named.
  EXPECT_TRUE(refused(p, "169.254.169.254", 80));
}

TEST(EgressPolicy, AllowListHostnamesAreResolvedAtStart) {
  auto rules = parse_destination_list("localhost:8089", "egress_allow");
  ASSERT_TRUE(rules) << rules.error().to_string();
  AddressPolicy p;
  p.allow = *rules;
  EXPECT_EQ(p.check("127.0.0.1", 8089), "");
  EXPECT_TRUE(refused(p, "127.0.0.1", 8090));
}

TEST(EgressPolicy, BadListsAreErrorsNamingTheKey) {
  for (const char* bad : {"127.0.0.1:0", "127.0.0.1:99999", "10.0.0.0/33", "[::1", "[::1]x", "10.0.0.0/8:x",
                          "no-such-host.invalid:80", ":80"}) {
    auto r = parse_destination_list(bad, "egress_allow");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("egress_allow"), std::string::npos) << r.error().message;
  }
  auto empty = parse_destination_list(" , ", "egress_allow");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(EgressPolicy, PlatformEndpointsAreNeverAllowedEvenWhenTheAllowListNamesThem) {
  EgressSettings s;
  s.allow = "127.0.0.0/8, 10.0.0.0/8, [::1]";
  s.deny = "10.9.9.9:6000";
  auto p = s.build({{"mysql", "127.0.0.1", 3306},
                    {"amqp", "localhost", 5672},
                    {"redis", "10.1.1.1", 6379},
                    {"admin", "0.0.0.0", 18092}});
  ASSERT_TRUE(p) << p.error().to_string();
  // On this machine: the port is refused on every loopback form and interface address.
  for (const char* ip : {"127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "64:ff9b::7f00:1"}) {
    EXPECT_NE(p->check(std::string_view(ip), 3306).find("platform endpoint"), std::string::npos) << ip;
    EXPECT_NE(p->check(std::string_view(ip), 5672).find("platform endpoint"), std::string::npos) << ip;
    EXPECT_NE(p->check(std::string_view(ip), 18092).find("platform endpoint"), std::string::npos) << ip;
  }
  EXPECT_TRUE(refused(*p, "10.1.1.1", 6379));
  EXPECT_EQ(p->check("10.1.1.2", 6379), "");   // a remote endpoint: that address only
  EXPECT_TRUE(refused(*p, "10.9.9.9", 6000));  // egress_deny
  // The fleet's default admin and API ports on this machine.
  for (int port : {18080, 18091, 18092, 18093, 18094, 18095}) EXPECT_TRUE(refused(*p, "127.0.0.1", port)) << port;
  // Unknown port: refused if any deny rule covers the address.
  EXPECT_TRUE(refused(*p, "127.0.0.1", 0));
  // Everything else the operator allowed stays allowed.
  EXPECT_EQ(p->check("127.0.0.1", 11434), "");
  EXPECT_EQ(p->check("10.2.3.4", 5432), "");
  // And the default ranges still apply outside the allow list.
  EXPECT_TRUE(refused(*p, "192.168.1.1", 80));
  EXPECT_TRUE(refused(*p, "169.254.169.254", 80));
}

TEST(EgressPolicy, SettingsAreTypedConfigKeys) {
  EgressSettings s;
  ConfigSpec spec;
  s.declare(spec);
  ASSERT_TRUE(spec.load({{"EARSHOT_EGRESS_ALLOW", "127.0.0.1:9"}}));
  EXPECT_EQ(s.allow, "127.0.0.1:9");
  EXPECT_NE(spec.help_text().find("EARSHOT_EGRESS_ALLOW"), std::string::npos);
  EXPECT_NE(spec.help_text().find("EARSHOT_EGRESS_DENY"), std::string::npos);
}

// Through the real client: every spelling the resolver accepts for loopback ends at the
// connect-time check, and the listener never sees a connection.
TEST(EgressPolicy, RealClientRefusesEveryLoopbackSpellingBeforeConnecting) {
  CountingListener listener;
  ASSERT_TRUE(listener.ok());
  CurlHttpClient curl;
  TenantHttpClient client(curl, AddressPolicy{});
  const auto port = std::to_string(listener.port());
  for (const std::string host : {"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "localhost",
                                 "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]", "0.0.0.0"}) {
    HttpRequest req;
    req.url = "http://" + host + ":" + port + "/v1/listen";
    req.connect_timeout = std::chrono::milliseconds(2000);
    req.timeout = std::chrono::milliseconds(3000);
    auto r = client.send_sync(req);
    ASSERT_FALSE(r) << host;
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << host << ": " << r.error().to_string();
    EXPECT_NE(r.error().message.find("destination not allowed"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("loopback"), std::string::npos) << "the tenant sees no network detail";
  }
  EXPECT_EQ(listener.accepted(), 0);
}

TEST(EgressPolicy, RealClientRefusesARedirectFromAnAllowedServerToAnInternalOne) {
  CountingListener target;
  CountingListener redirector(target.url("/secret"));
  ASSERT_TRUE(target.ok() && redirector.ok());
  AddressPolicy p;
  p.allow = *parse_destination_list("127.0.0.1:" + std::to_string(redirector.port()), "egress_allow");
  CurlHttpClient curl;
  TenantHttpClient client(curl, p);
  HttpRequest req;
  req.url = redirector.url("/start");
  req.follow_redirects = true;
  auto r = client.send_sync(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().to_string();
  EXPECT_EQ(redirector.accepted(), 1);
  EXPECT_EQ(target.accepted(), 0);
}

TEST(EgressPolicy, RealClientReachesADestinationTheOperatorAllowed) {
  CountingListener listener;
  AddressPolicy p;
  p.allow = *parse_destination_list("127.0.0.1:" + std::to_string(listener.port()), "egress_allow");
  CurlHttpClient curl;
  TenantHttpClient client(curl, p);
  HttpRequest req;
  req.url = listener.url("/ok");
  auto r = client.send_sync(req);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(listener.accepted(), 1);
  // A request that brings its own permissive policy gets the tenant policy instead.
  CountingListener other;
  HttpRequest sneaky;
  sneaky.url = other.url("/x");
  sneaky.address_policy = AddressPolicy::allow_all();
  auto refused_r = client.send_sync(sneaky);
  ASSERT_FALSE(refused_r);
  EXPECT_EQ(refused_r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(other.accepted(), 0);
}

TEST(EgressPolicy, TenantSeesNoNetworkAnswerForAnUnreachableDestination) {
  int closed_port = 0;
  {
    CountingListener gone;
    closed_port = gone.port();
  }
  AddressPolicy p;
  p.allow = *parse_destination_list("127.0.0.1:" + std::to_string(closed_port), "egress_allow");
  CurlHttpClient curl;
  TenantHttpClient client(curl, p);
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/";
  auto r = client.send_sync(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("destination unreachable"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("refused"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace earshot::http
