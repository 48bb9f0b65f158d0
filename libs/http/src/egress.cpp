#include "earshot/http/egress.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

#include "earshot/core/log.hpp"

namespace earshot::http {

Result<std::vector<std::string>> resolve_addresses(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
    return make_error(ErrorCode::kUnavailable, gai_strerror(rc));
  }
  std::vector<std::string> out;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, buf, sizeof buf);
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, buf, sizeof buf);
    } else {
      continue;
    }
    out.emplace_back(buf);
  }
  freeaddrinfo(res);
  return out;
}

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> split_commas(std::string_view list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    auto item = trim(list.substr(start, comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

Result<int> parse_port(std::string_view text, std::string_view entry, std::string_view key) {
  int port = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || ptr != text.data() + text.size() || port < 1 || port > 65535) {
    return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": bad port in \"" + std::string(entry) + "\"");
  }
  return port;
}

// Every address `host` resolves to, as /32 or /128 rules with `port`.
Result<std::vector<AddressRule>> resolve_rules(const std::string& host, int port, std::string_view key) {
  auto ips = resolve_addresses(host);
  if (!ips) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(key) + ": cannot resolve \"" + host + "\": " + ips.error().message);
  }
  std::vector<AddressRule> out;
  for (const auto& ip : *ips) {
    if (auto r = AddressRule::parse(ip, port); r) out.push_back(*r);
  }
  if (out.empty()) {
    return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": \"" + host + "\" has no IP address");
  }
  return out;
}

// This machine's own addresses (loopback and every interface).
std::vector<AddressRule> local_addresses(int port) {
  std::vector<AddressRule> out;
  for (const char* range : {"127.0.0.0/8", "::1", "0.0.0.0", "::"}) out.push_back(*AddressRule::parse(range, port));
  ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) != 0) return out;
  for (auto* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf, sizeof buf);
    } else {
      continue;
    }
    if (auto r = AddressRule::parse(buf, port); r) out.push_back(*r);
  }
  freeifaddrs(ifs);
  return out;
}

bool is_local(const AddressRule& rule, const std::vector<AddressRule>& local) {
  for (const auto& l : local) {
    if (l.v4 == rule.v4 && l.matches(rule.v4, rule.bytes.data(), l.port)) return true;
  }
  return false;
}

// The fleet's default admin ports (sync, stt, analyze, notify, gateway) and the gateway's
// default API port: refused on this machine whatever a binary's own settings say.
constexpr int kFleetDefaultPorts[] = {18091, 18092, 18093, 18094, 18095, 18080};

}  // namespace

Result<std::vector<AddressRule>> parse_destination_list(std::string_view list, std::string_view key) {
  std::vector<AddressRule> out;
  for (const auto& entry : split_commas(list)) {
    std::string addr = entry;
    int port = 0;
    if (entry.front() == '[') {
      const auto close = entry.find(']');
      if (close == std::string::npos) {
        return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": missing ] in \"" + entry + "\"");
      }
      addr = entry.substr(1, close - 1);
      const auto rest = std::string_view(entry).substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') {
          return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": bad entry \"" + entry + "\"");
        }
        auto p = parse_port(rest.substr(1), entry, key);
        if (!p) return std::unexpected(p.error());
        port = *p;
      }
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      const auto colon = entry.find(':');
      addr = entry.substr(0, colon);
      auto p = parse_port(std::string_view(entry).substr(colon + 1), entry, key);
      if (!p) return std::unexpected(p.error());
      port = *p;
    }
    if (addr.empty())
      return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": bad entry \"" + entry + "\"");
    if (auto rule = AddressRule::parse(addr, port); rule) {
      out.push_back(*rule);
      continue;
    }
    if (addr.find('/') != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": bad address range \"" + entry + "\"");
    }
    auto resolved = resolve_rules(addr, port, key);
    if (!resolved) return std::unexpected(resolved.error());
    out.insert(out.end(), resolved->begin(), resolved->end());
  }
  return out;
}

Result<std::vector<AddressRule>> platform_rules(const PlatformEndpoint& endpoint) {
  if (endpoint.port <= 0 || endpoint.port > 65535) {
    return make_error(ErrorCode::kInvalidArgument, endpoint.what + ": bad port");
  }
  std::vector<AddressRule> out;
  auto resolved = resolve_rules(endpoint.host, endpoint.port, endpoint.what);
  // An endpoint that does not resolve now is judged by name later by its own client; the
  // machine's own addresses are refused at its port all the same.
  if (resolved) out = std::move(*resolved);
  const auto local = local_addresses(endpoint.port);
  bool on_this_machine = !resolved;
  for (const auto& r : out) on_this_machine = on_this_machine || is_local(r, local);
  if (on_this_machine) out.insert(out.end(), local.begin(), local.end());
  return out;
}

void EgressSettings::declare(ConfigSpec& spec) {
  spec.add_string("egress_allow", &allow, "",
                  "Destinations tenants' providers, webhooks, CRMs, feeds and source databases may reach "
                  "although internal (loopback, private, link-local): comma list of host:port, host, CIDR or "
                  "CIDR:port ([v6]:port for IPv6); hostnames resolved at start. Never widens to the "
                  "platform's own database, broker, cache, admin or API ports.");
  spec.add_string("egress_deny", &deny, "",
                  "More internal endpoints tenants may never reach, same syntax as egress_allow (the "
                  "platform's MySQL, AMQP, Redis, admin and API ports are refused without being listed).");
}

Result<AddressPolicy> EgressSettings::build(const std::vector<PlatformEndpoint>& platform) const {
  AddressPolicy policy;
  auto allowed = parse_destination_list(allow, "egress_allow");
  if (!allowed) return std::unexpected(allowed.error());
  policy.allow = std::move(*allowed);
  auto denied = parse_destination_list(deny, "egress_deny");
  if (!denied) return std::unexpected(denied.error());
  policy.deny = std::move(*denied);
  for (const auto& endpoint : platform) {
    if (endpoint.host.empty() || endpoint.port == 0) continue;
    auto rules = platform_rules(endpoint);
    if (!rules) return std::unexpected(rules.error());
    policy.deny.insert(policy.deny.end(), rules->begin(), rules->end());
  }
  for (int port : kFleetDefaultPorts) {
    auto local = local_addresses(port);
    policy.deny.insert(policy.deny.end(), local.begin(), local.end());
  }
  return policy;
}

std::string url_origin_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "(invalid URL)";
  auto rest = url.substr(scheme_end + 3);
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  return std::string(url.substr(0, scheme_end + 3)) + std::string(authority);
}

void allow_operator_url(AddressPolicy& policy, std::string_view url) {
  const auto origin = url_origin_of(url);
  const auto scheme_end = origin.find("://");
  if (scheme_end == std::string::npos) return;
  std::string authority = origin.substr(scheme_end + 3);
  if (authority.empty()) return;
  const bool has_port =
      authority.back() != ']' &&
      authority.find(':', authority.rfind(']') == std::string::npos ? 0 : authority.rfind(']')) != std::string::npos;
  if (!has_port) authority += origin.starts_with("https") ? ":443" : ":80";
  auto rules = parse_destination_list(authority, "operator URL");
  if (!rules) {
    log::debug("operator URL not added to the egress allow list", {{"url", origin}, {"reason", rules.error().message}});
    return;
  }
  policy.allow.insert(policy.allow.end(), rules->begin(), rules->end());
}

void TenantHttpClient::send(HttpRequest request, ResponseCallback done) {
  request.address_policy = policy_;
  auto origin = url_origin_of(request.url);
  auto cancel = request.cancel;
  inner_.send(std::move(request), [origin = std::move(origin), cancel = std::move(cancel),
                                   done = std::move(done)](Result<HttpResponse> r) {
    const bool cancelled = cancel && cancel->cancelled();  // the caller's doing: nothing to report
    if (!r && !cancelled &&
        (r.error().code == ErrorCode::kPermissionDenied || r.error().code == ErrorCode::kUnavailable)) {
      const bool refused = r.error().code == ErrorCode::kPermissionDenied;
      log::warn(refused ? "tenant destination refused by the egress policy" : "tenant destination unreachable",
                {{"origin", origin}, {"detail", r.error().message}});
      done(make_error(r.error().code,
                      origin + ": " + (refused ? std::string(kDestinationNotAllowed) : "destination unreachable")));
      return;
    }
    done(std::move(r));
  });
}

}  // namespace earshot::http
