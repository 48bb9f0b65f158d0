// /api/v1/admin/...: businesses, users and API keys here; pipeline and agent config in
// routes_admin_config.cpp, categories and scorecards in routes_admin_rule_sets.cpp (the
// pieces: routes_admin.hpp). Platform admins act on any business; a business admin on its own
// only (another business answers 404, as if it did not exist).
#include "routes_admin.hpp"

#include <algorithm>

#include "earshot/api/gateway.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/storage/tenancy_repositories.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;

namespace admin {
namespace {

Json business_json(const storage::Business& b) {
  return Json{{"bid", b.bid},
              {"name", b.name},
              {"status", b.status == storage::BusinessStatus::kActive ? "active" : "disabled"},
              {"created_at", detail::iso(b.created_at)}};
}

Result<Reply> create_business(GatewayServices& s, const Request& req) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"bid", "name", "admin_email", "admin_password"}); !st) {
    return std::unexpected(st.error());
  }
  NewBusiness nb;
  auto bid = detail::str_field(*b, "bid", true, 1, 64);
  if (!bid) return std::unexpected(bid.error());
  auto name = detail::str_field(*b, "name", true, 1, 255);
  if (!name) return std::unexpected(name.error());
  auto email = detail::str_field(*b, "admin_email", false, 3, 255);
  if (!email) return std::unexpected(email.error());
  auto pw = detail::str_field(*b, "admin_password", false, 1, 1024);
  if (!pw) return std::unexpected(pw.error());
  nb.bid = bid->value_or("");
  nb.name = name->value_or("");
  nb.admin_email = *email;
  nb.admin_password = *pw;
  auto created = register_business(s.repos, s.queues, nb, s.clock);
  if (!created) return std::unexpected(created.error());
  return Reply::created(business_json(*created));
}

// Renames and / or enables or disables the business (set_business_status: the workers
// follow the change).
Result<Reply> update_business(GatewayServices& s, const Request& req) {
  auto t = existing_tenant(s, req);
  if (!t) return std::unexpected(t.error());
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"name", "status"}); !st) return std::unexpected(st.error());
  auto name = detail::str_field(*b, "name", false, 1, 255);
  if (!name) return std::unexpected(name.error());
  std::optional<storage::BusinessStatus> status;
  if (b->contains("status")) {
    if ((*b)["status"] == "active")
      status = storage::BusinessStatus::kActive;
    else if ((*b)["status"] == "disabled")
      status = storage::BusinessStatus::kDisabled;
    else
      return invalid("status must be active|disabled");
  }
  auto& businesses = s.repos.businesses;
  if (const std::optional<std::string>& new_name = *name) {
    if (auto r = businesses.rename(*t, *new_name); !r) return std::unexpected(r.error());
  }
  if (status) {
    if (auto st = set_business_status(s.repos.businesses, s.queues, t->bid(), *status, s.clock); !st) {
      return std::unexpected(st.error());
    }
  }
  auto got = businesses.get(*t);
  if (!got) return std::unexpected(got.error());
  return Reply::ok(business_json(*got));
}

std::string_view user_role_name(storage::UserRole r) {
  switch (r) {
    case storage::UserRole::kAdmin:
      return "admin";
    case storage::UserRole::kAnalyst:
      return "analyst";
    case storage::UserRole::kViewer:
      return "viewer";
  }
  return "viewer";
}

Result<storage::UserRole> parse_user_role(const Json& v) {
  if (v == "admin") return storage::UserRole::kAdmin;
  if (v == "analyst") return storage::UserRole::kAnalyst;
  if (v == "viewer") return storage::UserRole::kViewer;
  return invalid("role must be admin|analyst|viewer");
}

Json user_json(const storage::User& u) {
  return Json{{"id", u.id},
              {"email", u.email},
              {"display_name", u.display_name},
              {"role", user_role_name(u.role)},
              {"disabled", u.disabled},
              {"last_login_at", detail::iso_opt(u.last_login_at)}};
}

Result<Reply> create_user(GatewayServices& s, const Request& req, const storage::TenantId& t) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"email", "password", "role", "display_name"}); !st) {
    return std::unexpected(st.error());
  }
  auto email = detail::str_field(*b, "email", true, 3, 255);
  if (!email) return std::unexpected(email.error());
  const std::string address = email->value_or("");
  if (address.find('@') == std::string::npos) return invalid("email must be an e-mail address");
  auto pw = detail::str_field(*b, "password", true, 8, 1024);
  if (!pw) return std::unexpected(pw.error());
  auto dn = detail::str_field(*b, "display_name", false, 0, 255);
  if (!dn) return std::unexpected(dn.error());
  auto role = parse_user_role(b->value("role", Json()));
  if (!role) return std::unexpected(role.error());
  auto hash = crypto::hash_password(pw->value_or(""));
  if (!hash) return std::unexpected(hash.error());
  storage::User u;
  u.email = address;
  u.display_name = dn->value_or("");
  u.role = *role;
  u.password_hash = *hash;
  auto& repo = s.repos.users;
  auto id = repo.create(t, u);
  if (!id) return std::unexpected(id.error());
  auto got = repo.get(t, *id);
  if (!got) return std::unexpected(got.error());
  return Reply::created(user_json(*got));
}

// Changes the role, the disabled flag and / or the password, each when given.
Result<Reply> update_user(GatewayServices& s, const Request& req, const storage::TenantId& t) {
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"role", "disabled", "password"}); !st) return std::unexpected(st.error());
  auto& repo = s.repos.users;
  auto u = repo.get(t, *id);
  if (!u) return std::unexpected(u.error());
  if (b->contains("role")) {
    auto role = parse_user_role((*b)["role"]);
    if (!role) return std::unexpected(role.error());
    if (auto r = repo.set_role(t, *id, *role); !r) return std::unexpected(r.error());
  }
  auto dis = detail::bool_field(*b, "disabled");
  if (!dis) return std::unexpected(dis.error());
  if (const std::optional<bool>& disabled = *dis) {
    if (auto r = repo.set_disabled(t, *id, *disabled); !r) return std::unexpected(r.error());
  }
  auto pw = detail::str_field(*b, "password", false, 8, 1024);
  if (!pw) return std::unexpected(pw.error());
  if (const std::optional<std::string>& password = *pw) {
    auto hash = crypto::hash_password(*password);
    if (!hash) return std::unexpected(hash.error());
    if (auto r = repo.set_password_hash(t, *id, *hash); !r) return std::unexpected(r.error());
  }
  auto got = repo.get(t, *id);
  if (!got) return std::unexpected(got.error());
  return Reply::ok(user_json(*got));
}

Json key_json(const storage::ApiKey& k) {
  return Json{{"id", k.id},
              {"name", k.name},
              {"prefix", k.prefix},
              {"scopes", k.scopes},
              {"created_at", detail::iso(k.created_at)},
              {"last_used_at", detail::iso_opt(k.last_used_at)},
              {"revoked_at", detail::iso_opt(k.revoked_at)}};
}

// The "scopes" of a new key: a non-empty list of known scopes, duplicates dropped; an embed
// key is read-only.
Result<std::vector<std::string>> parse_scopes(const Json& b) {
  if (!b.contains("scopes") || !b["scopes"].is_array() || b["scopes"].empty()) {
    return invalid("scopes must be a non-empty list of ingest|read|embed|pii:read");
  }
  std::vector<std::string> scopes;
  for (const auto& sc : b["scopes"]) {
    if (!sc.is_string() || !valid_api_key_scope(sc.get<std::string>())) {
      return invalid("scopes must be a non-empty list of ingest|read|embed|pii:read");
    }
    if (std::find(scopes.begin(), scopes.end(), sc.get<std::string>()) == scopes.end()) {
      scopes.push_back(sc.get<std::string>());
    }
  }
  const bool embed = std::find(scopes.begin(), scopes.end(), "embed") != scopes.end();
  if (embed && scopes.size() > 1 && std::find(scopes.begin(), scopes.end(), "ingest") != scopes.end()) {
    return invalid("embed keys are read-only: they cannot also have ingest");
  }
  // An embed key lives in a page anyone may open: it reads what viewers read.
  if (embed && std::find(scopes.begin(), scopes.end(), "pii:read") != scopes.end()) {
    return invalid("embed keys read redacted text: they cannot also have pii:read");
  }
  return scopes;
}

// The secret is in this answer only.
Result<Reply> create_api_key(GatewayServices& s, const Request& req, const storage::TenantId& t) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  if (auto st = detail::only_fields(*b, {"name", "scopes"}); !st) return std::unexpected(st.error());
  auto name = detail::str_field(*b, "name", true, 1, 255);
  if (!name) return std::unexpected(name.error());
  auto scopes = parse_scopes(*b);
  if (!scopes) return std::unexpected(scopes.error());
  auto gen = crypto::generate_api_key();
  auto& repo = s.repos.api_keys;
  auto id = repo.create(t, name->value_or(""), gen.prefix, gen.hash, *scopes);
  if (!id) return std::unexpected(id.error());
  auto all = repo.list(t);
  if (!all) return std::unexpected(all.error());
  for (const auto& k : *all) {
    if (k.id == *id) {
      Json j = key_json(k);
      j["secret"] = gen.secret;
      return Reply::created(j);
    }
  }
  return make_error(ErrorCode::kInternal, "created key not found");
}

}  // namespace

Result<storage::TenantId> path_tenant(const Request& req) {
  auto it = req.path_params.find("bid");
  auto t = storage::TenantId::make(it == req.path_params.end() ? "" : it->second);
  if (!t) return make_error(ErrorCode::kNotFound, "no such business");
  return t;
}

Result<storage::TenantId> existing_tenant(GatewayServices& s, const Request& req) {
  auto t = path_tenant(req);
  if (!t) return t;
  auto& businesses = s.repos.businesses;
  auto b = businesses.get(*t);
  if (!b) return std::unexpected(b.error());
  return t;
}

Result<Reply> not_found_if(Result<bool> r, const char* what) {
  if (!r) return std::unexpected(r.error());
  if (!*r) return make_error(ErrorCode::kNotFound, fmt::format("no such {}", what));
  return Reply::no_content();
}

void add_business_routes(Router& router, GatewayServices& s, const AdminPolicies& p) {
  const std::string biz(kBiz);
  router.add("GET", "/api/v1/admin/businesses", p.platform, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
    auto& businesses = s.repos.businesses;
    auto all = businesses.list_all();
    if (!all) return std::unexpected(all.error());
    Json items = Json::array();
    for (const auto& b : *all) items.push_back(business_json(b));
    return Reply::ok(Json{{"items", items}});
  });
  router.add("POST", "/api/v1/admin/businesses", p.platform,
             [&s](const Request& req) { return create_business(s, req); });
  router.add("GET", biz, p.admin, [&s](const Request& req) -> Result<Reply> {
    auto t = path_tenant(req);
    if (!t) return std::unexpected(t.error());
    auto& businesses = s.repos.businesses;
    auto b = businesses.get(*t);
    if (!b) return std::unexpected(b.error());
    return Reply::ok(business_json(*b));
  });
  router.add("PATCH", biz, p.platform_biz, [&s](const Request& req) { return update_business(s, req); });
}

void add_user_routes(Router& router, GatewayServices& s, const AdminPolicies& p) {
  const std::string biz(kBiz);
  router.add("GET", biz + "/users", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto& repo = s.repos.users;
      auto all = repo.list(t);
      if (!all) return std::unexpected(all.error());
      Json items = Json::array();
      for (const auto& u : *all) items.push_back(user_json(u));
      return Reply::ok(Json{{"items", items}});
    });
  });
  router.add("POST", biz + "/users", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) { return create_user(s, req, t); });
  });
  router.add("PATCH", biz + "/users/{id}", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) { return update_user(s, req, t); });
  });
  router.add("DELETE", biz + "/users/{id}", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto& repo = s.repos.users;
      return not_found_if(repo.remove(t, *id), "user");
    });
  });
}

void add_api_key_routes(Router& router, GatewayServices& s, const AdminPolicies& p) {
  const std::string biz(kBiz);
  router.add("GET", biz + "/api-keys", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto& repo = s.repos.api_keys;
      auto all = repo.list(t);
      if (!all) return std::unexpected(all.error());
      Json items = Json::array();
      for (const auto& k : *all) items.push_back(key_json(k));
      return Reply::ok(Json{{"items", items}});
    });
  });
  router.add("POST", biz + "/api-keys", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) { return create_api_key(s, req, t); });
  });
  router.add("DELETE", biz + "/api-keys/{id}", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto& repo = s.repos.api_keys;
      return not_found_if(repo.revoke(t, *id, storage::to_timestamp(s.clock.now())), "API key");
    });
  });
}

}  // namespace admin

void add_admin_routes(Router& router, GatewayServices& s) {
  admin::AdminPolicies p;
  p.platform.platform_admin_only = true;
  p.admin.business_in_path = true;
  p.admin.min_role = Role::kAdmin;
  p.platform_biz = p.platform;
  p.platform_biz.business_in_path = true;
  admin::add_business_routes(router, s, p);
  admin::add_pipeline_config_routes(router, s, p);
  admin::add_agent_routes(router, s, p);
  admin::add_user_routes(router, s, p);
  admin::add_api_key_routes(router, s, p);
  admin::add_rule_set_routes(router, s, p);
}

}  // namespace earshot::api
