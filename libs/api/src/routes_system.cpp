// /healthz, /readyz, /metrics, /api/v1/version, /api/v1/openapi.json and /api/v1/auth/*.
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

Json session_json(const Session& ses) {
  return Json{{"access_token", ses.access_token},
              {"token_type", "Bearer"},
              {"expires_in", ses.expires_in},
              {"refresh_token", ses.refresh_token},
              {"role", role_name(ses.principal.role)},
              {"bid", ses.principal.bid.empty() ? Json(nullptr) : Json(ses.principal.bid)}};
}

}  // namespace

void add_auth_routes(Router& router, GatewayServices& s) {
  Policy pub;
  pub.public_route = true;
  router.add("POST", "/api/v1/auth/login", pub, [&s](const Request& req) -> Result<Reply> {
    auto body = req.json_body();
    if (!body) return std::unexpected(body.error());
    if (auto st = detail::only_fields(*body, {"email", "password", "bid"}); !st) return std::unexpected(st.error());
    auto email = detail::str_field(*body, "email", true, 3, 255);
    if (!email) return std::unexpected(email.error());
    auto password = detail::str_field(*body, "password", true, 1, 1024);
    if (!password) return std::unexpected(password.error());
    auto bid = detail::str_field(*body, "bid", false, 1, 64);
    if (!bid) return std::unexpected(bid.error());
    auto ses = s.auth.login(**email, **password, *bid, req.remote_addr);
    if (!ses) return std::unexpected(ses.error());
    return Reply::ok(session_json(*ses));
  });
  auto token_of = [](const Request& req) -> Result<std::string> {
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
    return Reply::ok(session_json(*ses));
  });
  router.add("POST", "/api/v1/auth/logout", pub, [&s, token_of](const Request& req) -> Result<Reply> {
    auto t = token_of(req);
    if (!t) return std::unexpected(t.error());
    if (auto st = s.auth.logout(*t); !st) return std::unexpected(st.error());
    return Reply::no_content();
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
