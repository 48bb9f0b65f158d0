#pragma once
// Which IP addresses a request with a user-supplied URL may connect to.
//
// Checked against the RESOLVED address at connect time (for every connection, including
// redirect hops), so a hostname that resolves, or later re-resolves (DNS rebinding), to an
// internal address is refused just like the literal address would be.

#include <string>
#include <string_view>

struct sockaddr;

namespace earshot::http {

struct AddressPolicy {
  bool allow_loopback = false;      // 127.0.0.0/8, ::1
  bool allow_private = false;       // 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7
  bool allow_link_local = false;    // 169.254/16, fe80::/10 (includes 169.254.169.254 metadata)
  bool allow_metadata = false;      // cloud metadata endpoints, refused even if link-local allowed

  // Everything allowed: for trusted, operator-configured endpoints and tests.
  [[nodiscard]] static AddressPolicy allow_all() {
    return AddressPolicy{true, true, true, true};
  }

  // Empty when allowed; otherwise a reason such as "loopback address 127.0.0.1 refused".
  // Addresses that are never routable destinations (0.0.0.0/8, multicast, broadcast,
  // reserved 240/4, ::) are always refused unless allow_all(). IPv4-mapped IPv6 addresses
  // are judged as the IPv4 address they carry.
  [[nodiscard]] std::string check(const sockaddr* addr) const;
  // Same for a textual IPv4/IPv6 address; a string that is not an address is refused.
  [[nodiscard]] std::string check(std::string_view ip) const;
};

}  // namespace earshot::http
