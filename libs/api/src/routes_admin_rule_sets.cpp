// /api/v1/admin/businesses/{bid}/categories and .../scorecards: the business's rule sets. A
// piece of add_admin_routes.
#include "earshot/api/gateway.hpp"
#include "earshot/storage/rule_set_repository.hpp"
#include "route_util.hpp"
#include "routes_admin.hpp"

namespace earshot::api::admin {

using detail::invalid;

namespace {

// Categories store their rule list as is; scorecards store {"questions": [...]}, the document
// the analyze stage parses, and the API shows the list.
bool is_scorecard_field(std::string_view rules_field) {
  return rules_field == "questions";
}

Json ruleset_json(const storage::RuleSet& r, const char* rules_field) {
  Json rules = detail::parsed(r.rules_json);
  if (is_scorecard_field(rules_field) && rules.is_object() && rules.contains("questions")) rules = rules["questions"];
  return Json{{"id", r.id}, {"name", r.name}, {rules_field, rules}, {"enabled", r.enabled}, {"version", r.version}};
}

enum class RuleSetKind { kCategories, kScorecards };

storage::RuleSetRepository& rule_sets(GatewayServices& s, RuleSetKind kind) {
  return kind == RuleSetKind::kCategories ? s.repos.categories : s.repos.scorecards;
}

// One kind of rule set: where it lives, what its rules are called and how they are checked.
struct RuleSetResource {
  const char* path;  // under the business: "categories" or "scorecards"
  RuleSetKind kind;
  const char* rules_field;  // "rules" or "questions"
  Status (*validate)(const Json&);
};

Result<storage::RuleSet> parse_rule_set(const RuleSetResource& k, const Json& b) {
  if (auto st = detail::only_fields(b, {"name", k.rules_field, "enabled"}); !st) return std::unexpected(st.error());
  storage::RuleSet r;
  auto name = detail::str_field(b, "name", true, 1, 128);
  if (!name) return std::unexpected(name.error());
  r.name = name->value_or("");
  if (!b.contains(k.rules_field)) return invalid(fmt::format("{} is required", k.rules_field));
  if (auto st = k.validate(b[k.rules_field]); !st) return std::unexpected(st.error());
  r.rules_json =
      is_scorecard_field(k.rules_field) ? scorecard_document(b[k.rules_field]).dump() : b[k.rules_field].dump();
  auto en = detail::bool_field(b, "enabled");
  if (!en) return std::unexpected(en.error());
  r.enabled = en->value_or(true);
  return r;
}

Result<Reply> create_rule_set(GatewayServices& s, const RuleSetResource& k, const Request& req,
                              const storage::TenantId& t) {
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  auto r = parse_rule_set(k, *b);
  if (!r) return std::unexpected(r.error());
  storage::RuleSetRepository& repo = rule_sets(s, k.kind);
  auto id = repo.create(t, *r);
  if (!id) return std::unexpected(id.error());
  auto got = repo.get(t, *id);
  if (!got) return std::unexpected(got.error());
  return Reply::created(ruleset_json(*got, k.rules_field));
}

Result<Reply> update_rule_set(GatewayServices& s, const RuleSetResource& k, const Request& req,
                              const storage::TenantId& t) {
  auto id = req.id_param("id");
  if (!id) return std::unexpected(id.error());
  auto b = req.json_body();
  if (!b) return std::unexpected(b.error());
  auto r = parse_rule_set(k, *b);
  if (!r) return std::unexpected(r.error());
  r->id = *id;
  storage::RuleSetRepository& repo = rule_sets(s, k.kind);
  auto ok = repo.update(t, *r);
  if (!ok) return std::unexpected(ok.error());
  if (!*ok) return make_error(ErrorCode::kNotFound, "no such rule set");
  auto got = repo.get(t, *id);
  if (!got) return std::unexpected(got.error());
  return Reply::ok(ruleset_json(*got, k.rules_field));
}

void add_rule_sets(Router& router, GatewayServices& s, const Policy& admin, const RuleSetResource& k) {
  const std::string base = std::string(kBiz) + "/" + k.path;
  router.add("GET", base, admin, [&s, k](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      storage::RuleSetRepository& repo = rule_sets(s, k.kind);
      auto all = repo.list(t);
      if (!all) return std::unexpected(all.error());
      Json items = Json::array();
      for (const auto& r : *all) items.push_back(ruleset_json(r, k.rules_field));
      return Reply::ok(Json{{"items", items}});
    });
  });
  router.add("POST", base, admin, [&s, k](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) { return create_rule_set(s, k, req, t); });
  });
  router.add("GET", base + "/{id}", admin, [&s, k](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      storage::RuleSetRepository& repo = rule_sets(s, k.kind);
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::ok(ruleset_json(*got, k.rules_field));
    });
  });
  router.add("PUT", base + "/{id}", admin, [&s, k](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) { return update_rule_set(s, k, req, t); });
  });
  router.add("DELETE", base + "/{id}", admin, [&s, k](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      storage::RuleSetRepository& repo = rule_sets(s, k.kind);
      return not_found_if(repo.remove(t, *id), "rule set");
    });
  });
}

}  // namespace

void add_rule_set_routes(Router& router, GatewayServices& s, const AdminPolicies& p) {
  add_rule_sets(router, s, p.admin,
                RuleSetResource{"categories", RuleSetKind::kCategories, "rules", &validate_category_rules});
  add_rule_sets(router, s, p.admin,
                RuleSetResource{"scorecards", RuleSetKind::kScorecards, "questions", &validate_scorecard_questions});
}

}  // namespace earshot::api::admin
