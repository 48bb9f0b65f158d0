#pragma once
// The request pipeline every route goes through, independent of the HTTP library:
//   match route (404 / 405) -> authenticate (401) -> rate limit (429 + Retry-After)
//   -> policy (403, or 404 for another business) -> handler -> one error shape.
// Unit-testable with a fake AuthService-free authenticator and a fake RateLimiter.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "earshot/api/router.hpp"
#include "earshot/api/static_site.hpp"
#include "earshot/cache/rate_limiter.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"

namespace earshot::api {

// Resolves credentials to a caller. kUnauthenticated for bad ones.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  [[nodiscard]] virtual Result<Principal> bearer(std::string_view token) = 0;
  [[nodiscard]] virtual Result<Principal> api_key(std::string_view secret) = 0;
  // The business a platform admin names on a tenant route (kBusinessHeader): ok when it
  // exists and is active; kNotFound with the reason otherwise, kInvalidArgument when `bid`
  // is not a business id at all.
  [[nodiscard]] virtual Status business_for_admin(std::string_view bid) = 0;
};

// The request header through which a platform admin names the business a tenant route acts
// on. Business users and API keys may send it only with their own business (anything else
// answers 404, exactly like another business's resource).
inline constexpr const char* kBusinessHeader = "X-Earshot-Business";

// A tenant route: authenticated, acting on the caller's business, with no `{bid}` in its path
// (calls, analytics, pipeline status, events, webhooks...). Platform admins call these with
// kBusinessHeader.
[[nodiscard]] bool is_tenant_route(const Policy& policy);

struct RateLimitOptions {
  bool enabled = true;
  std::int64_t per_ip = 600;       // requests per period per client address
  std::int64_t per_caller = 1200;  // requests per period per user or API key
  std::chrono::milliseconds period{60'000};
};

class Dispatcher {
 public:
  // `limiter` may be null (no rate limiting). `metrics` gets earshot_rate_limit_* counters.
  Dispatcher(const Router& router, Authenticator& auth, cache::RateLimiter* limiter, RateLimitOptions limits,
             const Clock& clock, Metrics& metrics);

  // Fills request.path_params and request.principal. `route_label` receives the matched
  // pattern (or "unmatched") for metrics.
  [[nodiscard]] Reply handle(Request& request, std::string& route_label);

  // Called with the business after every write request (any method but GET, on a route not
  // marked Policy::read_only) that names one
  // (the caller's, or the `{bid}` path segment), whatever its outcome: caches drop what it
  // may have changed. Set before serving.
  void on_write(std::function<void(const std::string& bid)> observer) { write_observer_ = std::move(observer); }
  // The dashboard: a GET no route matches is the site's to answer (StaticSite::reply). With
  // no site, GET / answers 404 with `missing_reason`. Set before serving; `site` not owned.
  void serve_site(const StaticSite* site, std::string missing_reason) {
    site_ = site;
    site_missing_ = std::move(missing_reason);
  }

 private:
  // `matched` receives the route the request matched (null: none).
  [[nodiscard]] Result<Reply> run(Request& request, const Route*& matched);
  [[nodiscard]] Status rate_limit(const std::string& key, std::int64_t capacity);

  const Router& router_;
  Authenticator& auth_;
  cache::RateLimiter* limiter_;
  RateLimitOptions limits_;
  const Clock& clock_;
  prometheus::Family<prometheus::Counter>* limited_;
  prometheus::Counter* limiter_failures_;
  std::function<void(const std::string& bid)> write_observer_;
  const StaticSite* site_ = nullptr;
  std::string site_missing_;
};

// The error body and status for `e`, Retry-After included for kRateLimited.
[[nodiscard]] Reply error_reply(const Error& e);
// A handler's result as it is answered: the reply, or the error in the one shape (internal
// and dependency errors logged with their detail and answered with a safe message). The
// dispatcher's, and the listener's for replies given later (Responder).
[[nodiscard]] Reply reply_of(Result<Reply> r, const std::string& route_label);

}  // namespace earshot::api
