#include "earshot/http/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace earshot::http {

namespace {

std::string v4_text(std::uint32_t host_order) {
  char buf[INET_ADDRSTRLEN] = {};
  in_addr a{};
  a.s_addr = htonl(host_order);
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

bool in_v4(std::uint32_t ip, std::uint32_t net, int bits) {
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (ip & mask) == (net & mask);
}

constexpr std::uint32_t v4(int a, int b, int c, int d) {
  return (static_cast<std::uint32_t>(a) << 24) | (static_cast<std::uint32_t>(b) << 16) |
         (static_cast<std::uint32_t>(c) << 8) | static_cast<std::uint32_t>(d);
}

std::string check_v4(const AddressPolicy& p, std::uint32_t ip) {
  const auto refuse = [&](std::string_view what) {
    return std::string(what) + " address " + v4_text(ip) + " refused";
  };
  const bool all = p.allow_loopback && p.allow_private && p.allow_link_local && p.allow_metadata;
  if (all) return {};
  // Cloud metadata: AWS/GCP/Azure/OpenStack 169.254.169.254, AWS IPv4 alt 169.254.170.2,
  // Alibaba 100.100.100.200.
  if (!p.allow_metadata && (ip == v4(169, 254, 169, 254) || ip == v4(169, 254, 170, 2) ||
                            ip == v4(100, 100, 100, 200))) {
    return refuse("metadata");
  }
  if (in_v4(ip, v4(127, 0, 0, 0), 8)) return p.allow_loopback ? "" : refuse("loopback");
  if (in_v4(ip, v4(10, 0, 0, 0), 8) || in_v4(ip, v4(172, 16, 0, 0), 12) ||
      in_v4(ip, v4(192, 168, 0, 0), 16) || in_v4(ip, v4(100, 64, 0, 0), 10) ||
      in_v4(ip, v4(198, 18, 0, 0), 15)) {
    return p.allow_private ? "" : refuse("private");
  }
  if (in_v4(ip, v4(169, 254, 0, 0), 16)) return p.allow_link_local ? "" : refuse("link-local");
  if (in_v4(ip, v4(0, 0, 0, 0), 8) || in_v4(ip, v4(224, 0, 0, 0), 4) ||
      in_v4(ip, v4(240, 0, 0, 0), 4)) {
    return refuse("non-routable");
  }
  return {};
}

std::string check_v6(const AddressPolicy& p, const std::uint8_t* a) {
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible NAT64 well-known prefix 64:ff9b::/96.
  static constexpr std::array<std::uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::array<std::uint8_t, 12> kNat64 = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(a, kMapped.data(), 12) == 0 || std::memcmp(a, kNat64.data(), 12) == 0) {
    return check_v4(p, v4(a[12], a[13], a[14], a[15]));
  }
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, a, buf, sizeof buf);
  const auto refuse = [&](std::string_view what) {
    return std::string(what) + " address " + buf + " refused";
  };
  const bool all = p.allow_loopback && p.allow_private && p.allow_link_local && p.allow_metadata;
  if (all) return {};
  static constexpr std::array<std::uint8_t, 16> kLoop = {0, 0, 0, 0, 0, 0, 0, 0,
                                                         0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr std::array<std::uint8_t, 16> kAny = {};
  // AWS metadata over IPv6: fd00:ec2::254.
  static constexpr std::array<std::uint8_t, 16> kAwsMeta = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0,
                                                            0,    0, 0,    0,    0, 0, 0, 0xfe};
  if (!p.allow_metadata && std::memcmp(a, kAwsMeta.data(), 16) == 0) return refuse("metadata");
  if (std::memcmp(a, kLoop.data(), 16) == 0) return p.allow_loopback ? "" : refuse("loopback");
  if (std::memcmp(a, kAny.data(), 16) == 0) return refuse("unspecified");
  if ((a[0] & 0xfe) == 0xfc) return p.allow_private ? "" : refuse("unique-local");
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return p.allow_link_local ? "" : refuse("link-local");
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return p.allow_private ? "" : refuse("site-local");
  if (a[0] == 0xff) return refuse("multicast");
  return {};
}

}  // namespace

std::string AddressPolicy::check(const sockaddr* addr) const {
  if (addr == nullptr) return "no address";
  if (addr->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, addr, sizeof in);
    return check_v4(*this, ntohl(in.sin_addr.s_addr));
  }
  if (addr->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, addr, sizeof in6);
    return check_v6(*this, in6.sin6_addr.s6_addr);
  }
  return "address family " + std::to_string(addr->sa_family) + " refused";
}

std::string AddressPolicy::check(std::string_view ip) const {
  std::string text(ip);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) return check_v4(*this, ntohl(a4.s_addr));
  in6_addr a6{};
  if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) return check_v6(*this, a6.s6_addr);
  return "not an IP address: " + text;
}

}  // namespace earshot::http
