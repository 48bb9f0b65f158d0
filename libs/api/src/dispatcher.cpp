#include "earshot/api/dispatcher.hpp"

#include <fmt/format.h>

#include <atomic>

#include "earshot/api/business_admin.hpp"
#include "earshot/core/log.hpp"

namespace earshot::api {

Reply error_reply(const Error& e) {
  Reply r;
  r.status = http_status(e.code);
  r.json = Json{{"error", {{"code", code_name(e.code)}, {"message", e.message}}}};
  // Throttling, and an unavailable dependency that says when to come back (the broker).
  if (e.code == ErrorCode::kRateLimited || (e.code == ErrorCode::kUnavailable && e.retry_after)) {
    const auto ms = e.retry_after.value_or(std::chrono::seconds(1)).count();
    r.headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, (ms + 999) / 1000)));
  }
  if (e.code == ErrorCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return r;
}

bool is_tenant_route(const Policy& pol) {
  return !pol.public_route && !pol.platform_admin_only && !pol.business_in_path && !pol.platform_admin_allowed;
}

Dispatcher::Dispatcher(const Router& router, Authenticator& auth, cache::RateLimiter* limiter, RateLimitOptions limits,
                       const Clock& clock, Metrics& metrics)
    : router_(router), auth_(auth), limiter_(limiter), limits_(limits), clock_(clock) {
  limited_ = &metrics.counter("earshot_rate_limited_total", "Requests refused by a rate limit.");
  limiter_failures_ =
      &metrics.counter("earshot_rate_limit_errors_total", "Rate limit checks that failed (requests let through).")
           .Add({});
}

Status Dispatcher::rate_limit(const std::string& key, std::int64_t capacity) {
  if (limiter_ == nullptr || !limits_.enabled || capacity <= 0) return {};
  auto d = limiter_->take(key, capacity, limits_.period, clock_.now());
  if (!d) {
    // Fail open: an unavailable Redis must not take the API down with it.
    limiter_failures_->Increment();
    static std::atomic<std::uint64_t> n{0};
    if (n.fetch_add(1) % 1000 == 0) {
      log::warn("rate limiter unavailable; letting requests through", {{"error", d.error().to_string()}});
    }
    return {};
  }
  if (d->allowed) return {};
  limited_->Add({{"limit", key.substr(0, key.find(':'))}}).Increment();
  Error e(ErrorCode::kRateLimited, "too many requests; retry later");
  e.retry_after = d->retry_after;
  return std::unexpected(e);
}

Result<Reply> Dispatcher::run(Request& req, const Route*& matched) {
  auto lookup = router_.find(req.method, req.path);
  if (!lookup.match) {
    if (lookup.method_not_allowed) {
      Reply r =
          error_reply(Error(ErrorCode::kInvalidArgument, fmt::format("method {} is not allowed here", req.method)));
      r.status = 405;
      r.json["error"]["code"] = "method_not_allowed";
      std::string allow;
      for (const auto& m : lookup.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    if (site_ != nullptr) {
      if (auto page = site_->reply(req)) {
        if (auto st = rate_limit("ip:" + req.remote_addr, limits_.per_ip); !st) return std::unexpected(st.error());
        return std::move(*page);
      }
    } else if (req.method == "GET" && req.path == "/") {
      return make_error(ErrorCode::kNotFound,
                        fmt::format("the dashboard is not served here: {} (scripts/build.sh builds it; "
                                    "EARSHOT_WEB_DIR names its directory)",
                                    site_missing_.empty() ? "no web_dir" : site_missing_));
    }
    return make_error(ErrorCode::kNotFound, fmt::format("no route for {} {}", req.method, req.path));
  }
  const Route& route = *lookup.match->route;
  matched = &route;
  req.path_params = std::move(lookup.match->params);

  if (auto st = rate_limit("ip:" + req.remote_addr, limits_.per_ip); !st) {
    return std::unexpected(st.error());
  }
  const Policy& pol = route.policy;
  if (pol.public_route) return route.handler(req);

  // Credentials: "Authorization: Bearer <jwt>", "Authorization: ApiKey <key>", "X-Api-Key".
  const std::string authz = req.header("Authorization");
  Result<Principal> who = make_error(ErrorCode::kUnauthenticated, "credentials required");
  if (authz.starts_with("Bearer ")) {
    who = auth_.bearer(std::string_view(authz).substr(7));
  } else if (authz.starts_with("ApiKey ")) {
    who = auth_.api_key(std::string_view(authz).substr(7));
  } else if (auto key = req.header("X-Api-Key"); !key.empty()) {
    who = auth_.api_key(key);
  } else if (!authz.empty()) {
    who = make_error(ErrorCode::kUnauthenticated, "unsupported Authorization scheme");
  } else if (pol.signed_link && (req.query.contains("sig") || req.query.contains("exp"))) {
    who = pol.signed_link(req);  // this route only: a link is never a credential elsewhere
  }
  if (!who) return std::unexpected(who.error());
  req.principal = *who;
  const Principal& p = *req.principal;
  if (auto st = rate_limit(p.subject(), limits_.per_caller); !st) return std::unexpected(st.error());

  const Error forbidden(ErrorCode::kPermissionDenied, "the caller may not do this");
  const bool platform = p.kind == Principal::Kind::kPlatformAdmin;
  // The business a tenant route acts on: the caller's own, or the one a platform admin names.
  // Naming another business never widens a business caller's access.
  const std::string named = req.header(kBusinessHeader);
  if (!platform && !named.empty() && named != p.bid) {
    return make_error(ErrorCode::kNotFound, "no such business");
  }
  if (platform && is_tenant_route(pol)) {
    if (named.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("platform admins name the business of this route in the {} "
                                    "header",
                                    kBusinessHeader));
    }
    if (auto st = auth_.business_for_admin(named); !st) return std::unexpected(st.error());
    req.principal->bid = named;
    log::info("platform admin acts on a business",
              {{"admin", p.subject()}, {"business", named}, {"method", req.method}, {"route", route.pattern}});
  }
  if (pol.platform_admin_only && !platform) return std::unexpected(forbidden);
  if (p.kind == Principal::Kind::kSignedLink && !pol.signed_link) return std::unexpected(forbidden);
  if (p.kind == Principal::Kind::kApiKey) {
    if (pol.api_key_scope.empty() || !p.has_scope(pol.api_key_scope)) {
      return std::unexpected(forbidden);
    }
  }
  if (pol.business_in_path) {
    // Another business's resources look absent, whatever the role.
    auto it = req.path_params.find("bid");
    if (!platform && (it == req.path_params.end() || it->second != p.bid)) {
      return make_error(ErrorCode::kNotFound, "no such business");
    }
  }
  if (p.kind == Principal::Kind::kUser && !role_at_least(p.role, pol.min_role)) {
    return std::unexpected(forbidden);
  }
  log::ScopedContext ctx({.bid = p.bid, .call_id = {}, .trace_id = req.request_id});
  return route.handler(req);
}

Reply Dispatcher::handle(Request& req, std::string& route_label) {
  route_label = "unmatched";
  const Route* matched = nullptr;
  Result<Reply> r = make_error(ErrorCode::kInternal, "internal error");
  try {
    r = run(req, matched);
  } catch (const std::exception& e) {
    if (matched != nullptr) route_label = matched->pattern;
    log::error("unhandled exception in request", {{"error", e.what()}, {"route", route_label}});
    r = make_error(ErrorCode::kInternal, "internal error");
  }
  if (matched != nullptr) route_label = matched->pattern;
  if (write_observer_ && req.method != "GET" && matched != nullptr && !matched->policy.read_only) {
    std::string bid = req.principal ? req.principal->bid : std::string();
    if (auto it = req.path_params.find("bid"); bid.empty() && it != req.path_params.end()) {
      bid = it->second;
    }
    if (!bid.empty()) write_observer_(bid);
  }
  return reply_of(std::move(r), route_label);
}

Reply reply_of(Result<Reply> r, const std::string& route_label) {
  if (!r) {
    if (r.error().code == ErrorCode::kInternal || r.error().code == ErrorCode::kUnavailable) {
      log::warn("request failed", {{"route", route_label}, {"error", r.error().to_string()}});
      // The broker's refusal (QueueControl::publish) was worded for the client and names no
      // address: it goes out as it is, with its Retry-After.
      if (r.error().code == ErrorCode::kUnavailable && r.error().message.starts_with(kBrokerRefusal)) {
        return error_reply(r.error());
      }
      // Internal detail goes to the log; the client gets a safe message (and the
      // dependency's Retry-After when it gave one).
      Error safe(r.error().code, r.error().code == ErrorCode::kInternal ? "internal error"
                                                                        : "a dependency is unavailable; retry later");
      safe.retry_after = r.error().retry_after;
      return error_reply(safe);
    }
    return error_reply(r.error());
  }
  return std::move(*r);
}

}  // namespace earshot::api
