#pragma once
// Which destinations (IP address and port) a connection made on a tenant's behalf may reach.
//
// Checked against the RESOLVED address at connect time (for every connection, including
// redirect hops and reused pooled connections), so a hostname that resolves, or later
// re-resolves (DNS rebinding), to an internal address is refused just like the literal
// address would be; so are the spellings a resolver accepts for them (2130706433,
// 0177.0.0.1, 127.1): they resolve to 127.0.0.1 before the check sees them.
//
// Order of the verdict:
//   1. `deny` (the platform's own endpoints: database, broker, cache, admin and API ports):
//      refused, whatever else says;
//   2. `allow` (destinations the operator named in the binary's own configuration): allowed;
//   3. the range flags below: loopback, private, link-local, metadata and never-routable
//      addresses are refused unless their flag is set; everything else is allowed.
// IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible, NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and
// 6to4 (2002::/16) IPv6 addresses are judged as the IPv4 address they carry.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"

struct sockaddr;

namespace earshot::http {

// An address range (one address: a /32 or /128) and an optional port.
struct AddressRule {
  bool v4 = true;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
  int prefix = 32;
  int port = 0;  // 0: any port

  // "10.1.2.3", "10.0.0.0/8", "::1", "fd00::/8" with an optional port. Literal addresses
  // only (strict dotted quad or IPv6); IPv4-mapped IPv6 ranges are stored as IPv4.
  [[nodiscard]] static Result<AddressRule> parse(std::string_view cidr, int port = 0);
  // True when `ip` (normalized as above) lies in the range and the port matches.
  [[nodiscard]] bool matches(bool is_v4, const std::uint8_t* ip, int port) const;
  [[nodiscard]] std::string to_string() const;
};

struct AddressPolicy {
  bool allow_loopback = false;     // 127.0.0.0/8, ::1
  bool allow_private = false;      // 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), 198.18/15, fc00::/7
  bool allow_link_local = false;   // 169.254/16, fe80::/10 (includes 169.254.169.254 metadata)
  bool allow_metadata = false;     // cloud metadata endpoints, refused even if link-local allowed
  std::vector<AddressRule> allow;  // operator-named destinations, allowed whatever their range
  std::vector<AddressRule> deny;   // never allowed, not even by `allow` or the flags

  // Every range allowed (the deny list still applies): for operator-configured endpoints
  // and tests.
  [[nodiscard]] static AddressPolicy allow_all() {
    AddressPolicy p;
    p.allow_loopback = p.allow_private = p.allow_link_local = p.allow_metadata = true;
    return p;
  }

  // Empty when allowed; otherwise a reason such as "loopback address 127.0.0.1 refused".
  // Addresses that are never routable destinations (0.0.0.0/8, multicast, broadcast,
  // reserved 240/4, documentation ranges, ::) are refused unless every flag is set or an
  // `allow` rule names them. The port comes from the sockaddr.
  [[nodiscard]] std::string check(const sockaddr* addr) const;
  // Same for a textual IPv4/IPv6 address (brackets allowed) and port. Port 0 means unknown:
  // a deny rule then matches whatever its port, an allow rule only if it has none. A string
  // that is not a literal address is refused.
  [[nodiscard]] std::string check(std::string_view ip, int port = 0) const;
};

}  // namespace earshot::http
