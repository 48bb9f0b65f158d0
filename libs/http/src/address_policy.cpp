#include "earshot/http/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
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

std::uint32_t v4_of(const std::uint8_t* b) {
  return v4(b[0], b[1], b[2], b[3]);
}

bool prefix_equal(const std::uint8_t* a, const std::uint8_t* b, int bits) {
  const int whole = bits / 8;
  if (std::memcmp(a, b, static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// An IPv6 address that carries an IPv4 destination: where the IPv4 address sits, or -1.
int embedded_v4_offset(const std::uint8_t* a) {
  static constexpr std::array<std::uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::array<std::uint8_t, 12> kNat64 = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  static constexpr std::array<std::uint8_t, 6> kNat64Local = {0, 0x64, 0xff, 0x9b, 0, 1};  // /48
  static constexpr std::array<std::uint8_t, 12> kCompat = {};                              // ::a.b.c.d (deprecated)
  if (std::memcmp(a, kMapped.data(), 12) == 0 || std::memcmp(a, kNat64.data(), 12) == 0) return 12;
  if (std::memcmp(a, kNat64Local.data(), 6) == 0) return 12;
  if (std::memcmp(a, kCompat.data(), 12) == 0) {
    // :: and ::1 are themselves, not IPv4 addresses.
    if (a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1) return -1;
    return 12;
  }
  if (a[0] == 0x20 && a[1] == 0x02) return 2;  // 6to4 2002:AABB:CCDD::/48
  return -1;
}

// The address a rule or a check works on: IPv4 (4 bytes) or IPv6 (16), embedded IPv4 unwrapped.
struct Normal {
  bool v4 = false;
  std::array<std::uint8_t, 16> b{};
};

Normal normalize_v4(std::uint32_t host_order) {
  Normal n;
  n.v4 = true;
  n.b[0] = static_cast<std::uint8_t>(host_order >> 24);
  n.b[1] = static_cast<std::uint8_t>(host_order >> 16);
  n.b[2] = static_cast<std::uint8_t>(host_order >> 8);
  n.b[3] = static_cast<std::uint8_t>(host_order);
  return n;
}

Normal normalize_v6(const std::uint8_t* a) {
  Normal n;
  if (int off = embedded_v4_offset(a); off >= 0) {
    n.v4 = true;
    std::memcpy(n.b.data(), a + off, 4);
    return n;
  }
  std::memcpy(n.b.data(), a, 16);
  return n;
}

std::string text_of(const Normal& n) {
  if (n.v4) return v4_text(v4_of(n.b.data()));
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, n.b.data(), buf, sizeof buf);
  return buf;
}

std::string check_ranges_v4(const AddressPolicy& p, std::uint32_t ip) {
  const auto refuse = [&](std::string_view what) { return std::string(what) + " address " + v4_text(ip) + " refused"; };
  const bool all = p.allow_loopback && p.allow_private && p.allow_link_local && p.allow_metadata;
  if (all) return {};
  // Cloud metadata: AWS/GCP/Azure/OpenStack 169.254.169.254, AWS ECS 169.254.170.2,
  // Alibaba 100.100.100.200.
  if (!p.allow_metadata &&
      (ip == v4(169, 254, 169, 254) || ip == v4(169, 254, 170, 2) || ip == v4(100, 100, 100, 200))) {
    return refuse("metadata");
  }
  if (in_v4(ip, v4(127, 0, 0, 0), 8)) return p.allow_loopback ? "" : refuse("loopback");
  if (in_v4(ip, v4(10, 0, 0, 0), 8) || in_v4(ip, v4(172, 16, 0, 0), 12) || in_v4(ip, v4(192, 168, 0, 0), 16) ||
      in_v4(ip, v4(100, 64, 0, 0), 10) || in_v4(ip, v4(198, 18, 0, 0), 15)) {
    return p.allow_private ? "" : refuse("private");
  }
  if (in_v4(ip, v4(169, 254, 0, 0), 16)) return p.allow_link_local ? "" : refuse("link-local");
  if (in_v4(ip, v4(0, 0, 0, 0), 8) || in_v4(ip, v4(224, 0, 0, 0), 4) || in_v4(ip, v4(240, 0, 0, 0), 4) ||
      in_v4(ip, v4(192, 0, 0, 0), 24) || in_v4(ip, v4(192, 0, 2, 0), 24) || in_v4(ip, v4(198, 51, 100, 0), 24) ||
      in_v4(ip, v4(203, 0, 113, 0), 24)) {
    return refuse("non-routable");
  }
  return {};
}

std::string check_ranges_v6(const AddressPolicy& p, const std::uint8_t* a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, a, buf, sizeof buf);
  const auto refuse = [&](std::string_view what) { return std::string(what) + " address " + buf + " refused"; };
  const bool all = p.allow_loopback && p.allow_private && p.allow_link_local && p.allow_metadata;
  if (all) return {};
  static constexpr std::array<std::uint8_t, 16> kLoop = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr std::array<std::uint8_t, 16> kAny = {};
  // AWS metadata over IPv6: fd00:ec2::254.
  static constexpr std::array<std::uint8_t, 16> kAwsMeta = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
                                                            0,    0, 0,    0,    0, 0, 0x02, 0x54};
  if (!p.allow_metadata && std::memcmp(a, kAwsMeta.data(), 16) == 0) return refuse("metadata");
  if (std::memcmp(a, kLoop.data(), 16) == 0) return p.allow_loopback ? "" : refuse("loopback");
  if (std::memcmp(a, kAny.data(), 16) == 0) return refuse("unspecified");
  if ((a[0] & 0xfe) == 0xfc) return p.allow_private ? "" : refuse("unique-local");
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return p.allow_link_local ? "" : refuse("link-local");
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return p.allow_private ? "" : refuse("site-local");
  if (a[0] == 0xff) return refuse("multicast");
  // Teredo 2001::/32 tunnels to an address nobody checked; documentation 2001:db8::/32;
  // discard-only 100::/64.
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) return refuse("non-routable");
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return refuse("non-routable");
  if (a[0] == 0x01 && a[1] == 0 && a[2] == 0 && a[3] == 0 && a[4] == 0 && a[5] == 0 && a[6] == 0 && a[7] == 0) {
    return refuse("non-routable");
  }
  return {};
}

std::string judge(const AddressPolicy& p, const Normal& n, int port) {
  for (const auto& rule : p.deny) {
    // An unknown port (0) matches every deny rule: refusing is the safe side.
    if (port == 0 || rule.port == 0 || rule.port == port) {
      if (rule.v4 == n.v4 && prefix_equal(n.b.data(), rule.bytes.data(), rule.prefix)) {
        return "platform endpoint " + text_of(n) + (port != 0 ? ":" + std::to_string(port) : "") + " refused";
      }
    }
  }
  for (const auto& rule : p.allow) {
    if (rule.matches(n.v4, n.b.data(), port)) return {};
  }
  return n.v4 ? check_ranges_v4(p, v4_of(n.b.data())) : check_ranges_v6(p, n.b.data());
}

}  // namespace

Result<AddressRule> AddressRule::parse(std::string_view cidr, int port) {
  if (port < 0 || port > 65535) return make_error(ErrorCode::kInvalidArgument, "port out of range");
  std::string text(cidr);
  int bits = -1;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    const auto digits = std::string_view(text).substr(slash + 1);
    int v = -1;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc{} || ptr != digits.data() + digits.size() || digits.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "bad prefix length in " + std::string(cidr));
    }
    bits = v;
    text.resize(slash);
  }
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  AddressRule r;
  r.port = port;
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    if (bits > 32) return make_error(ErrorCode::kInvalidArgument, "prefix longer than 32 in " + std::string(cidr));
    r.v4 = true;
    std::memcpy(r.bytes.data(), &a4, 4);
    r.prefix = bits < 0 ? 32 : bits;
    return r;
  }
  if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
    if (bits > 128) return make_error(ErrorCode::kInvalidArgument, "prefix longer than 128 in " + std::string(cidr));
    const int len = bits < 0 ? 128 : bits;
    if (embedded_v4_offset(a6.s6_addr) == 12 && len >= 96 && a6.s6_addr[10] == 0xff) {
      r.v4 = true;  // ::ffff:a.b.c.d/len is the IPv4 range a.b.c.d/(len-96)
      std::memcpy(r.bytes.data(), a6.s6_addr + 12, 4);
      r.prefix = len - 96;
      return r;
    }
    r.v4 = false;
    std::memcpy(r.bytes.data(), a6.s6_addr, 16);
    r.prefix = len;
    return r;
  }
  return make_error(ErrorCode::kInvalidArgument, "not an IP address or range: " + std::string(cidr));
}

bool AddressRule::matches(bool is_v4, const std::uint8_t* ip, int p) const {
  if (is_v4 != v4) return false;
  if (port != 0 && port != p) return false;
  return prefix_equal(ip, bytes.data(), prefix);
}

std::string AddressRule::to_string() const {
  Normal n;
  n.v4 = v4;
  n.b = bytes;
  std::string s = text_of(n);
  if (prefix != (v4 ? 32 : 128)) s += "/" + std::to_string(prefix);
  if (!v4) s = "[" + s + "]";
  if (port != 0) s += ":" + std::to_string(port);
  return s;
}

std::string AddressPolicy::check(const sockaddr* addr) const {
  if (addr == nullptr) return "no address";
  if (addr->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, addr, sizeof in);
    return judge(*this, normalize_v4(ntohl(in.sin_addr.s_addr)), ntohs(in.sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, addr, sizeof in6);
    return judge(*this, normalize_v6(in6.sin6_addr.s6_addr), ntohs(in6.sin6_port));
  }
  return "address family " + std::to_string(addr->sa_family) + " refused";
}

std::string AddressPolicy::check(std::string_view ip, int port) const {
  std::string text(ip);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) return judge(*this, normalize_v4(ntohl(a4.s_addr)), port);
  in6_addr a6{};
  if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) return judge(*this, normalize_v6(a6.s6_addr), port);
  return "not an IP address: " + text;
}

}  // namespace earshot::http
