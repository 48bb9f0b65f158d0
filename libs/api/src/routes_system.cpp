// /healthz, /readyz, /metrics, /api/v1/version, /api/v1/openapi.json and /api/v1/auth/*.
#include <fmt/format.h>

#include <charconv>

#include "earshot/api/gateway.hpp"
#include "earshot/core/service.hpp"
#include "route_util.hpp"

namespace earshot::api {

namespace detail {

Result<storage::Timestamp> parse_time(std::string_view s) {
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    if (pos + len > s.size()) return false;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
    return ec == std::errc() && p == s.data() + pos + len;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
  if (s.size() < 10 || !num(0, 4, y) || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d)) {
    return invalid("bad date");
  }
  if (s.size() > 10) {
    if (s.size() < 20 || s[10] != 'T' || !num(11, 2, h) || s[13] != ':' || !num(14, 2, mi) || s[16] != ':' ||
        !num(17, 2, sec)) {
      return invalid("bad time");
    }
    std::size_t pos = 19;
    if (s[pos] == '.') {
      if (!num(pos + 1, 3, ms)) return invalid("bad milliseconds");
      pos += 4;
    }
    if (pos + 1 != s.size() || s[pos] != 'Z') return invalid("time must end in Z");
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || y < 1970 || y > 9999 || h > 23 || mi > 59 || sec > 59) {
    return invalid("out of range");
  }
  return storage::Timestamp(std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                            std::chrono::minutes(mi) + std::chrono::seconds(sec) + std::chrono::milliseconds(ms));
}

}  // namespace detail

void add_system_routes(Router& router, GatewayServices& s) {
  Policy pub;
  pub.public_route = true;
  router.add("GET", "/healthz", pub, [](const Request&) -> Result<Reply> { return Reply::ok(Json{{"status", "ok"}}); });
  router.add("GET", "/readyz", pub, [&s](const Request&) -> Result<Reply> {
    if (s.health == nullptr) return Reply::ok(Json{{"status", "ready"}});
    auto rep = s.health->readiness();
    Reply r = Reply::text(rep.json, "application/json", rep.ready ? 200 : 503);
    return r;
  });
  router.add("GET", "/metrics", pub, [&s](const Request&) -> Result<Reply> {
    if (s.metrics == nullptr) return make_error(ErrorCode::kNotFound, "metrics are not exported here");
    return Reply::text(s.metrics->serialize(), "text/plain; version=0.0.4");
  });
  router.add("GET", "/api/v1/version", pub, [](const Request&) -> Result<Reply> {
    return Reply::ok(Json{{"service", "gateway"}, {"version", build_version()}, {"commit", build_commit()}});
  });
  router.add("GET", "/api/v1/openapi.json", pub,
             [&s](const Request&) -> Result<Reply> { return Reply::text(s.openapi_json, "application/json"); });
}

namespace {

// Browser mode (`refresh_cookie`): the refresh token travels only in this HttpOnly cookie,
// scoped to the auth routes, never readable by the page's scripts.
constexpr std::string_view kRefreshCookie = "earshot_refresh";
constexpr std::string_view kRefreshCookiePath = "/api/v1/auth";
// The header a cookie-mode refresh or logout must carry: a cross-site form cannot send it,
// and a cross-origin script needs a CORS preflight for it.
constexpr const char* kCookieModeHeader = "X-Earshot-Refresh";

Json session_json(const Session& ses, bool with_refresh_token) {
  Json j{{"access_token", ses.access_token},
         {"token_type", "Bearer"},
         {"expires_in", ses.expires_in},
         {"role", role_name(ses.principal.role)},
         {"bid", ses.principal.bid.empty() ? Json(nullptr) : Json(ses.principal.bid)}};
  if (with_refresh_token) j["refresh_token"] = ses.refresh_token;
  return j;
}

std::string refresh_cookie(std::string_view token, std::chrono::seconds max_age) {
  return fmt::format("{}={}; Path={}; Max-Age={}; HttpOnly; Secure; SameSite=Strict", kRefreshCookie, token,
                     kRefreshCookiePath, max_age.count());
}

// The session's reply; in cookie mode the refresh token goes into the cookie only.
Reply session_reply(const Session& ses, bool cookie_mode, std::chrono::seconds refresh_ttl) {
  Reply r = Reply::ok(session_json(ses, !cookie_mode));
  if (cookie_mode) r.headers.emplace_back("Set-Cookie", refresh_cookie(ses.refresh_token, refresh_ttl));
  return r;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when absent.
std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
  }
  return {};
}

// A cookie-mode request (the X-Earshot-Refresh: cookie header): the refresh token from the
// cookie, after checking that a browser's Origin, when sent, is this server's own.
Result<std::string> cookie_token(const Request& req) {
  const std::string origin = req.header("Origin");
  if (!origin.empty()) {
    const std::string host = req.header("Host");
    if (host.empty() || (origin != "http://" + host && origin != "https://" + host)) {
      return make_error(ErrorCode::kPermissionDenied, "cookie refresh is only accepted from this server's own pages");
    }
  }
  if (!req.body.empty()) {
    auto body = req.json_body();
    if (!body) return std::unexpected(body.error());
    if (!body->empty()) return detail::invalid("a cookie-mode request has an empty body: the token is in the cookie");
  }
  std::string token = cookie_value(req.header("Cookie"), kRefreshCookie);
  if (token.empty() || token.size() > 256) return make_error(ErrorCode::kUnauthenticated, "no refresh cookie");
  return token;
}

bool cookie_mode(const Request& req) {
  return !req.header(kCookieModeHeader).empty();
}

}  // namespace

void add_auth_routes(Router& router, GatewayServices& s) {
  Policy pub;
  pub.public_route = true;
  router.add("POST", "/api/v1/auth/login", pub, [&s](const Request& req) -> Result<Reply> {
    auto body = req.json_body();
    if (!body) return std::unexpected(body.error());
    if (auto st = detail::only_fields(*body, {"email", "password", "bid", "refresh_cookie"}); !st) {
      return std::unexpected(st.error());
    }
    auto email = detail::str_field(*body, "email", true, 3, 255);
    if (!email) return std::unexpected(email.error());
    auto password = detail::str_field(*body, "password", true, 1, 1024);
    if (!password) return std::unexpected(password.error());
    auto bid = detail::str_field(*body, "bid", false, 1, 64);
    if (!bid) return std::unexpected(bid.error());
    bool in_cookie = false;
    if (auto it = body->find("refresh_cookie"); it != body->end()) {
      if (!it->is_boolean()) return detail::invalid("refresh_cookie must be true or false");
      in_cookie = it->get<bool>();
    }
    auto ses = s.auth.login(**email, **password, *bid, req.remote_addr);
    if (!ses) return std::unexpected(ses.error());
    return session_reply(*ses, in_cookie, s.auth.refresh_ttl());
  });
  auto token_of = [](const Request& req) -> Result<std::string> {
    if (cookie_mode(req)) return cookie_token(req);
    auto body = req.json_body();
    if (!body) return std::unexpected(body.error());
    if (auto st = detail::only_fields(*body, {"refresh_token"}); !st) return std::unexpected(st.error());
    auto t = detail::str_field(*body, "refresh_token", true, 1, 256);
    if (!t) return std::unexpected(t.error());
    return **t;
  };
  router.add("POST", "/api/v1/auth/refresh", pub, [&s, token_of](const Request& req) -> Result<Reply> {
    auto t = token_of(req);
    if (!t) return std::unexpected(t.error());
    auto ses = s.auth.refresh(*t);
    if (!ses) return std::unexpected(ses.error());
    return session_reply(*ses, cookie_mode(req), s.auth.refresh_ttl());
  });
  router.add("POST", "/api/v1/auth/logout", pub, [&s, token_of](const Request& req) -> Result<Reply> {
    auto t = token_of(req);
    // Logout is idempotent: a cookie-mode logout without the cookie still clears it.
    const bool no_cookie = !t && cookie_mode(req) && t.error().code == ErrorCode::kUnauthenticated;
    if (!t && !no_cookie) return std::unexpected(t.error());
    if (t) {
      if (auto st = s.auth.logout(*t); !st) return std::unexpected(st.error());
    }
    Reply r = Reply::no_content();
    if (cookie_mode(req)) r.headers.emplace_back("Set-Cookie", refresh_cookie("", std::chrono::seconds(0)));
    return r;
  });
  Policy any;
  any.api_key_scope = "read";
  any.platform_admin_allowed = true;
  router.add("GET", "/api/v1/auth/me", any, [](const Request& req) -> Result<Reply> {
    const auto& p = *req.principal;
    Json j{{"subject", p.subject()}, {"role", role_name(p.role)}, {"bid", p.bid.empty() ? Json(nullptr) : Json(p.bid)}};
    if (p.kind == Principal::Kind::kApiKey) j["scopes"] = p.scopes;
    return Reply::ok(j);
  });
}

}  // namespace earshot::api
