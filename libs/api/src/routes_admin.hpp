#pragma once
// The pieces of add_admin_routes (routes_admin.cpp), one per resource under
// /api/v1/admin/businesses, and what they share. Private to libs/api.

#include <string_view>

#include "earshot/api/gateway.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::api::admin {

// A business's own admin resources (the business in the path).
inline constexpr std::string_view kBiz = "/api/v1/admin/businesses/{bid}";

struct AdminPolicies {
  Policy platform;      // platform admins only
  Policy admin;         // the business's admins (and platform admins), business in the path
  Policy platform_biz;  // platform admins only, business in the path
};

// The {bid} path parameter as a tenant (kNotFound when it cannot name one).
[[nodiscard]] Result<storage::TenantId> path_tenant(const Request& req);

// Business routes need the business to exist (a platform admin may name any bid).
[[nodiscard]] Result<storage::TenantId> existing_tenant(GatewayServices& s, const Request& req);

// `f(tenant)` for the existing business the path names.
template <class F>
Result<Reply> with_tenant(GatewayServices& s, const Request& req, F&& f) {
  auto t = existing_tenant(s, req);
  if (!t) return std::unexpected(t.error());
  return std::forward<F>(f)(*t);
}

// 204 when `r` says the row was changed, 404 "no such <what>" when there was none.
[[nodiscard]] Result<Reply> not_found_if(Result<bool> r, const char* what);

// /api/v1/admin/businesses and /api/v1/admin/businesses/{bid}.
void add_business_routes(Router& router, GatewayServices& s, const AdminPolicies& p);
// {bid}/pipeline-config (routes_admin_config.cpp).
void add_pipeline_config_routes(Router& router, GatewayServices& s, const AdminPolicies& p);
// {bid}/agents (routes_admin_config.cpp).
void add_agent_routes(Router& router, GatewayServices& s, const AdminPolicies& p);
// {bid}/users.
void add_user_routes(Router& router, GatewayServices& s, const AdminPolicies& p);
// {bid}/api-keys.
void add_api_key_routes(Router& router, GatewayServices& s, const AdminPolicies& p);
// {bid}/categories and {bid}/scorecards (routes_admin_rule_sets.cpp).
void add_rule_set_routes(Router& router, GatewayServices& s, const AdminPolicies& p);

}  // namespace earshot::api::admin
