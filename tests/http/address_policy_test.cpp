#include "earshot/http/address_policy.hpp"

#include <gtest/gtest.h>

namespace earshot::http {
namespace {

TEST(AddressPolicy, RefusesInternalAddressesByDefault) {
  const AddressPolicy p;
  for (const char* ip : {"127.0.0.1",
                         "127.1.2.3",
                         "10.0.0.1",
                         "10.255.1.2",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.168.1.1",
                         "100.64.0.1",
                         "169.254.169.254",
                         "169.254.1.1",
                         "0.0.0.0",
                         "224.0.0.1",
                         "::1",
                         "[::1]",
                         "::",
                         "fd00::1",
                         "fc12::3",
                         "fe80::1",
                         "::ffff:127.0.0.1",
                         "::ffff:10.0.0.1",
                         "::ffff:169.254.169.254",
                         "fd00:ec2::254",
                         "100.100.100.200"}) {
    EXPECT_FALSE(p.check(std::string_view(ip)).empty()) << ip;
  }
  EXPECT_NE(p.check(std::string_view("169.254.169.254")).find("metadata"), std::string::npos);
  EXPECT_NE(p.check(std::string_view("::1")).find("loopback"), std::string::npos);
}

TEST(AddressPolicy, AllowsPublicAddresses) {
  const AddressPolicy p;
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"}) {
    EXPECT_EQ(p.check(std::string_view(ip)), "") << ip;
  }
  EXPECT_FALSE(p.check(std::string_view("not-an-ip")).empty());
}

TEST(AddressPolicy, AllowsWhatIsConfigured) {
  AddressPolicy p;
  p.allow_loopback = true;
  EXPECT_EQ(p.check(std::string_view("127.0.0.1")), "");
  EXPECT_EQ(p.check(std::string_view("::1")), "");
  EXPECT_FALSE(p.check(std::string_view("10.0.0.1")).empty());
  p.allow_private = true;
  EXPECT_EQ(p.check(std::string_view("10.0.0.1")), "");
  EXPECT_EQ(p.check(std::string_view("fd00::1")), "");
  p.allow_link_local = true;
  EXPECT_EQ(p.check(std::string_view("169.254.1.1")), "");
  // Metadata stays refused until allowed explicitly.
  EXPECT_FALSE(p.check(std::string_view("169.254.169.254")).empty());
  EXPECT_EQ(AddressPolicy::allow_all().check(std::string_view("169.254.169.254")), "");
}

}  // namespace
}  // namespace earshot::http
