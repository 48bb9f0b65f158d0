#pragma once
// The one outbound policy for connections made on a tenant's behalf (webhooks, speech and
// LLM providers, embeddings, CRM, transcript feeds, recording downloads, source databases).
//
// Each binary builds it ONCE from its own configuration (EgressSettings::build): the
// internal ranges are refused, the destinations the operator names in `egress_allow` are
// let through, and the platform's own endpoints (database, broker, cache, admin and API
// ports, plus `egress_deny`) are refused even if `egress_allow` names them. A tenant's
// configuration can never widen it.
//
// HTTP paths get it by sending through a TenantHttpClient, which stamps the policy on every
// request (whatever the request carried) so an adapter cannot forget it, and tells the
// tenant "destination not allowed" / "destination unreachable" instead of the network's
// answer (the detail goes to this process's log). Other connections (the source database)
// check every resolved address with check_destination() and connect to the checked IP.

#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/config.hpp"
#include "earshot/http/address_policy.hpp"
#include "earshot/http/http_client.hpp"

namespace earshot::http {

// What a tenant sees when the policy refuses a destination.
inline constexpr std::string_view kDestinationNotAllowed = "destination not allowed";

// One of the platform's own endpoints, never a tenant destination.
struct PlatformEndpoint {
  std::string what;  // "mysql", "amqp", ... (for the startup log)
  std::string host;
  int port = 0;
};

// Parses a comma list of destinations: "host:port", "host" (any port), "10.0.0.0/8",
// "10.0.0.0/8:11434", "[fd00::1]:8080", "[fd00::/8]", "::1". Hostnames are resolved now (every
// address they resolve to); a name that does not resolve is an error naming `key`.
[[nodiscard]] Result<std::vector<AddressRule>> parse_destination_list(std::string_view list, std::string_view key);

// Deny rules for a platform endpoint: `port` on every address `host` resolves to; when the
// endpoint is on this machine (loopback, unspecified or one of its interface addresses),
// `port` on every loopback and interface address of the machine too.
[[nodiscard]] Result<std::vector<AddressRule>> platform_rules(const PlatformEndpoint& endpoint);

struct EgressSettings {
  std::string allow;  // egress_allow
  std::string deny;   // egress_deny

  // Declares egress_allow and egress_deny.
  void declare(ConfigSpec& spec);
  // The tenant policy: internal ranges refused, `allow` let through, `platform` endpoints,
  // `deny` and the fleet's default admin and API ports on this machine refused.
  [[nodiscard]] Result<AddressPolicy> build(const std::vector<PlatformEndpoint>& platform) const;
};

// Every IPv4 and IPv6 address `host` resolves to, as text (a literal gives itself);
// kUnavailable with the resolver's reason when it does not resolve.
[[nodiscard]] Result<std::vector<std::string>> resolve_addresses(const std::string& host);

// Checks a destination that is not reached over HTTP: empty when `ip`:`port` is allowed,
// else the reason (for this process's log; the tenant is told kDestinationNotAllowed).
[[nodiscard]] inline std::string check_destination(const AddressPolicy& policy, std::string_view ip, int port) {
  return policy.check(ip, port);
}

// An HttpClient for tenant destinations: every request carries `policy` (the request's own
// address_policy is replaced) and proxies from the environment are not used. Failures reach
// the caller as the same error codes with tenant-safe messages:
//   kPermissionDenied  "<origin>: destination not allowed"
//   kUnavailable       "<origin>: destination unreachable"
// and the network's own answer is logged here (warn) for the operator.
class TenantHttpClient final : public HttpClient {
 public:
  TenantHttpClient(HttpClient& inner, AddressPolicy policy) : inner_(inner), policy_(std::move(policy)) {}

  void send(HttpRequest request, ResponseCallback done) override;
  void post_after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    inner_.post_after(delay, std::move(fn));
  }
  [[nodiscard]] bool shutting_down() const override { return inner_.shutting_down(); }
  [[nodiscard]] const AddressPolicy& policy() const { return policy_; }

 private:
  HttpClient& inner_;
  AddressPolicy policy_;
};

// Lets the host:port of a URL from the binary's own configuration (an operator default such
// as ollama_url) through `policy`, as if egress_allow named it; a host that does not resolve
// now is skipped (if public it needs no rule). Platform endpoints stay refused.
void allow_operator_url(AddressPolicy& policy, std::string_view url);

// "scheme://host[:port]" of a URL (no user info, path or query), for messages.
[[nodiscard]] std::string url_origin_of(std::string_view url);

}  // namespace earshot::http
