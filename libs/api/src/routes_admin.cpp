// /api/v1/admin/...: businesses, pipeline and agent config, users, API keys, categories and
// scorecards. Platform admins act on any business; a business admin on its own only (another
// business answers 404, as if it did not exist).
#include <regex>

#include "earshot/api/gateway.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/crypto/password.hpp"
#include "route_util.hpp"

namespace earshot::api {

using detail::invalid;

namespace {

constexpr std::string_view kBiz = "/api/v1/admin/businesses/{bid}";

Result<storage::TenantId> path_tenant(const Request& req) {
  auto it = req.path_params.find("bid");
  auto t = storage::TenantId::make(it == req.path_params.end() ? "" : it->second);
  if (!t) return make_error(ErrorCode::kNotFound, "no such business");
  return t;
}

// Business routes need the business to exist (a platform admin may name any bid).
Result<storage::TenantId> existing_tenant(GatewayServices& s, const Request& req) {
  auto t = path_tenant(req);
  if (!t) return t;
  auto& businesses = s.repos.businesses;
  auto b = businesses.get(*t);
  if (!b) return std::unexpected(b.error());
  return t;
}

Json business_json(const storage::Business& b) {
  return Json{{"bid", b.bid},
              {"name", b.name},
              {"status", b.status == storage::BusinessStatus::kActive ? "active" : "disabled"},
              {"created_at", detail::iso(b.created_at)}};
}

std::string_view lead_mode_name(storage::LeadFilterMode m) {
  switch (m) {
    case storage::LeadFilterMode::kOff:
      return "off";
    case storage::LeadFilterMode::kPrefer:
      return "prefer";
    case storage::LeadFilterMode::kRequire:
      return "require";
  }
  return "off";
}

// Secrets are write-only: the document names the ones that are set, never their values.
Json pipeline_json(const storage::PipelineConfig& c) {
  Json secrets = Json::array();
  for (const auto& [k, v] : c.secrets) secrets.push_back(k);
  return Json{{"source_db", detail::parsed(c.source_db_json)},
              {"column_mapping", detail::parsed(c.column_mapping_json)},
              {"crm", detail::parsed(c.crm_json)},
              {"lead_filter_mode", lead_mode_name(c.lead_filter_mode)},
              {"stt_provider", c.stt_provider},
              {"stt_options", detail::parsed(c.stt_options_json)},
              {"llm_chain", detail::parsed(c.llm_chain_json)},
              {"embedding_provider", c.embedding_provider},
              {"language", c.language},
              {"default_country_code", c.default_country_code},
              {"concurrency", c.concurrency},
              {"rate_limit_per_min", c.rate_limit_per_min},
              {"retention_days", c.retention_days},
              {"hash_phone_after_analysis", c.hash_phone_after_analysis},
              {"channel_roles", detail::parsed(c.channel_roles_json)},
              {"secrets_set", secrets},
              {"version", c.version}};
}

bool looks_secret(const std::string& key) {
  static const std::regex re("(password|secret|token|api_?key)", std::regex::icase);
  return std::regex_search(key, re);
}

// Applies the given fields of `b` over `c`, validating each.
Status apply_pipeline(const Json& b, storage::PipelineConfig& c) {
  if (auto st = detail::only_fields(
          b, {"source_db", "column_mapping", "crm", "lead_filter_mode", "stt_provider", "stt_options", "llm_chain",
              "embedding_provider", "language", "default_country_code", "concurrency", "rate_limit_per_min",
              "retention_days", "hash_phone_after_analysis", "channel_roles", "secrets"});
      !st) {
    return st;
  }
  for (const char* k : {"source_db", "crm"}) {
    if (!b.contains(k)) continue;
    if (!b[k].is_object()) return invalid(fmt::format("{} must be an object", k));
    for (const auto& [field, v] : b[k].items()) {
      if (looks_secret(field)) {
        return invalid(fmt::format("{}.{} looks like a secret: send it in secrets", k, field));
      }
    }
    (std::string_view(k) == "source_db" ? c.source_db_json : c.crm_json) = b[k].dump();
  }
  if (b.contains("column_mapping")) {
    const Json& m = b["column_mapping"];
    if (!m.is_object()) return invalid("column_mapping must be an object");
    for (const auto& [k, v] : m.items()) {
      if (!v.is_string()) return invalid(fmt::format("column_mapping.{} must be a string", k));
    }
    c.column_mapping_json = m.dump();
  }
  if (b.contains("stt_options")) {
    if (!b["stt_options"].is_object()) return invalid("stt_options must be an object");
    c.stt_options_json = b["stt_options"].dump();
  }
  if (b.contains("llm_chain")) {
    const Json& l = b["llm_chain"];
    if (!l.is_array() || l.size() > 10) return invalid("llm_chain must be a list of up to 10 models");
    for (std::size_t i = 0; i < l.size(); ++i) {
      if (!l[i].is_object() || !l[i].contains("provider") || !l[i]["provider"].is_string() || !l[i].contains("model") ||
          !l[i]["model"].is_string()) {
        return invalid(fmt::format("llm_chain[{}] must be {{provider, model}}", i));
      }
    }
    c.llm_chain_json = l.dump();
  }
  if (b.contains("channel_roles")) {
    const Json& r = b["channel_roles"];
    if (!r.is_object() || r.empty()) return invalid("channel_roles must be an object");
    for (const auto& [k, v] : r.items()) {
      if (k.size() != 1 || k[0] < '0' || k[0] > '7') {
        return invalid("channel_roles keys are channel numbers 0-7");
      }
      if (!v.is_string() || (v != "agent" && v != "customer")) {
        return invalid(fmt::format("channel_roles.{} must be agent or customer", k));
      }
    }
    c.channel_roles_json = r.dump();
  }
  if (b.contains("lead_filter_mode")) {
    const Json& m = b["lead_filter_mode"];
    if (m == "off")
      c.lead_filter_mode = storage::LeadFilterMode::kOff;
    else if (m == "prefer")
      c.lead_filter_mode = storage::LeadFilterMode::kPrefer;
    else if (m == "require")
      c.lead_filter_mode = storage::LeadFilterMode::kRequire;
    else
      return invalid("lead_filter_mode must be off|prefer|require");
  }
  static const std::regex provider_re("^[a-z0-9][a-z0-9_.-]{0,63}$");
  for (const char* k : {"stt_provider", "embedding_provider"}) {
    auto v = detail::str_field(b, k, false, 1, 64);
    if (!v) return std::unexpected(v.error());
    if (*v) {
      if (!std::regex_match(**v, provider_re)) return invalid(fmt::format("{} is not a provider name", k));
      (std::string_view(k) == "stt_provider" ? c.stt_provider : c.embedding_provider) = **v;
    }
  }
  auto lang = detail::str_field(b, "language", false, 2, 16);
  if (!lang) return std::unexpected(lang.error());
  if (*lang) c.language = **lang;
  auto cc = detail::str_field(b, "default_country_code", false, 1, 3);
  if (!cc) return std::unexpected(cc.error());
  if (*cc) {
    for (char ch : **cc) {
      if (ch < '0' || ch > '9') return invalid("default_country_code must be 1-3 digits");
    }
    c.default_country_code = **cc;
  }
  struct IntField {
    const char* name;
    std::int64_t min, max;
    std::int64_t* target;
  };
  for (const IntField& f : {IntField{"concurrency", 1, 256, &c.concurrency},
                            IntField{"rate_limit_per_min", 1, 100000, &c.rate_limit_per_min},
                            IntField{"retention_days", 1, 3650, &c.retention_days}}) {
    auto v = detail::int_field(b, f.name, f.min, f.max);
    if (!v) return std::unexpected(v.error());
    if (*v) *f.target = **v;
  }
  auto hp = detail::bool_field(b, "hash_phone_after_analysis");
  if (!hp) return std::unexpected(hp.error());
  if (*hp) c.hash_phone_after_analysis = **hp;
  if (b.contains("secrets")) {
    const Json& sec = b["secrets"];
    if (!sec.is_object()) return invalid("secrets must be an object of name: value (null removes)");
    static const std::regex name_re("^[a-z0-9_]{1,64}$");
    for (const auto& [k, v] : sec.items()) {
      if (!std::regex_match(k, name_re)) return invalid(fmt::format("secrets.{}: bad name", k));
      if (v.is_null()) {
        c.secrets.erase(k);
      } else if (v.is_string() && !v.get<std::string>().empty() && v.get<std::string>().size() <= 4096) {
        c.secrets[k] = v.get<std::string>();
      } else {
        return invalid(fmt::format("secrets.{} must be a 1-4096 character string or null", k));
      }
    }
  }
  return {};
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

Json agent_json(const storage::AgentConfig& a) {
  return Json{{"id", a.id},
              {"name", a.name},
              {"kind", a.kind == storage::AgentKind::kLlm ? "llm" : "builtin"},
              {"prompt_template", a.prompt_template},
              {"output_schema", detail::parsed(a.output_schema_json)},
              {"model", a.model},
              {"enabled", a.enabled},
              {"version", a.version}};
}

Result<storage::AgentConfig> parse_agent(const Json& b) {
  if (auto st = detail::only_fields(b, {"name", "kind", "prompt_template", "output_schema", "model", "enabled"}); !st) {
    return std::unexpected(st.error());
  }
  storage::AgentConfig a;
  auto name = detail::str_field(b, "name", true, 1, 128);
  if (!name) return std::unexpected(name.error());
  static const std::regex name_re("^[A-Za-z0-9][A-Za-z0-9 _.-]*$");
  if (!std::regex_match(**name, name_re)) return invalid("name may hold letters, digits, space, _ . -");
  a.name = **name;
  if (!b.contains("kind") || (b["kind"] != "builtin" && b["kind"] != "llm")) {
    return invalid("kind must be builtin|llm");
  }
  a.kind = b["kind"] == "llm" ? storage::AgentKind::kLlm : storage::AgentKind::kBuiltin;
  auto prompt = detail::str_field(b, "prompt_template", a.kind == storage::AgentKind::kLlm, 1, 100000);
  if (!prompt) return std::unexpected(prompt.error());
  a.prompt_template = prompt->value_or("");
  if (b.contains("output_schema")) {
    if (!b["output_schema"].is_object()) return invalid("output_schema must be a JSON schema object");
    a.output_schema_json = b["output_schema"].dump();
  }
  auto model = detail::str_field(b, "model", false, 1, 128);
  if (!model) return std::unexpected(model.error());
  a.model = model->value_or("");
  auto enabled = detail::bool_field(b, "enabled");
  if (!enabled) return std::unexpected(enabled.error());
  a.enabled = enabled->value_or(true);
  return a;
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

template <class F>
Result<Reply> with_tenant(GatewayServices& s, const Request& req, F&& f) {
  auto t = existing_tenant(s, req);
  if (!t) return std::unexpected(t.error());
  return f(*t);
}

Result<Reply> not_found_if(Result<bool> r, const char* what) {
  if (!r) return std::unexpected(r.error());
  if (!*r) return make_error(ErrorCode::kNotFound, fmt::format("no such {}", what));
  return Reply::no_content();
}

enum class RuleSetKind { kCategories, kScorecards };

storage::RuleSetRepository& rule_sets(GatewayServices& s, RuleSetKind kind) {
  return kind == RuleSetKind::kCategories ? s.repos.categories : s.repos.scorecards;
}

void add_rule_sets(Router& router, GatewayServices& s, const Policy& admin, const char* path, RuleSetKind kind,
                   const char* rules_field, Status (*validate)(const Json&)) {
  const std::string base = std::string(kBiz) + "/" + path;
  auto parse = [rules_field, validate](const Json& b) -> Result<storage::RuleSet> {
    if (auto st = detail::only_fields(b, {"name", rules_field, "enabled"}); !st) return std::unexpected(st.error());
    storage::RuleSet r;
    auto name = detail::str_field(b, "name", true, 1, 128);
    if (!name) return std::unexpected(name.error());
    r.name = **name;
    if (!b.contains(rules_field)) return invalid(fmt::format("{} is required", rules_field));
    if (auto st = validate(b[rules_field]); !st) return std::unexpected(st.error());
    r.rules_json = is_scorecard_field(rules_field) ? scorecard_document(b[rules_field]).dump() : b[rules_field].dump();
    auto en = detail::bool_field(b, "enabled");
    if (!en) return std::unexpected(en.error());
    r.enabled = en->value_or(true);
    return r;
  };
  router.add("GET", base, admin, [&s, kind, rules_field](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      storage::RuleSetRepository& repo = rule_sets(s, kind);
      auto all = repo.list(t);
      if (!all) return std::unexpected(all.error());
      Json items = Json::array();
      for (const auto& r : *all) items.push_back(ruleset_json(r, rules_field));
      return Reply::ok(Json{{"items", items}});
    });
  });
  router.add("POST", base, admin, [&s, kind, rules_field, parse](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto b = req.json_body();
      if (!b) return std::unexpected(b.error());
      auto r = parse(*b);
      if (!r) return std::unexpected(r.error());
      storage::RuleSetRepository& repo = rule_sets(s, kind);
      auto id = repo.create(t, *r);
      if (!id) return std::unexpected(id.error());
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::created(ruleset_json(*got, rules_field));
    });
  });
  router.add("GET", base + "/{id}", admin, [&s, kind, rules_field](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      storage::RuleSetRepository& repo = rule_sets(s, kind);
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::ok(ruleset_json(*got, rules_field));
    });
  });
  router.add("PUT", base + "/{id}", admin, [&s, kind, rules_field, parse](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto b = req.json_body();
      if (!b) return std::unexpected(b.error());
      auto r = parse(*b);
      if (!r) return std::unexpected(r.error());
      r->id = *id;
      storage::RuleSetRepository& repo = rule_sets(s, kind);
      auto ok = repo.update(t, *r);
      if (!ok) return std::unexpected(ok.error());
      if (!*ok) return make_error(ErrorCode::kNotFound, "no such rule set");
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::ok(ruleset_json(*got, rules_field));
    });
  });
  router.add("DELETE", base + "/{id}", admin, [&s, kind](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      storage::RuleSetRepository& repo = rule_sets(s, kind);
      return not_found_if(repo.remove(t, *id), "rule set");
    });
  });
}

}  // namespace

void add_admin_routes(Router& router, GatewayServices& s) {
  Policy platform;
  platform.platform_admin_only = true;
  Policy admin;
  admin.business_in_path = true;
  admin.min_role = Role::kAdmin;
  Policy platform_biz = platform;
  platform_biz.business_in_path = true;
  const std::string biz(kBiz);

  router.add("GET", "/api/v1/admin/businesses", platform, [&s](const Request& req) -> Result<Reply> {
    if (auto st = detail::only_query(req, {}); !st) return std::unexpected(st.error());
    auto& businesses = s.repos.businesses;
    auto all = businesses.list_all();
    if (!all) return std::unexpected(all.error());
    Json items = Json::array();
    for (const auto& b : *all) items.push_back(business_json(b));
    return Reply::ok(Json{{"items", items}});
  });
  router.add("POST", "/api/v1/admin/businesses", platform, [&s](const Request& req) -> Result<Reply> {
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
    nb.bid = **bid;
    nb.name = **name;
    nb.admin_email = *email;
    nb.admin_password = *pw;
    auto created = register_business(s.repos, s.queues, nb, s.clock);
    if (!created) return std::unexpected(created.error());
    return Reply::created(business_json(*created));
  });
  router.add("GET", biz, admin, [&s](const Request& req) -> Result<Reply> {
    auto t = path_tenant(req);
    if (!t) return std::unexpected(t.error());
    auto& businesses = s.repos.businesses;
    auto b = businesses.get(*t);
    if (!b) return std::unexpected(b.error());
    return Reply::ok(business_json(*b));
  });
  router.add("PATCH", biz, platform_biz, [&s](const Request& req) -> Result<Reply> {
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
    if (*name) {
      if (auto r = businesses.rename(*t, **name); !r) return std::unexpected(r.error());
    }
    if (status) {
      if (auto st = set_business_status(s.repos.businesses, s.queues, t->bid(), *status, s.clock); !st) {
        return std::unexpected(st.error());
      }
    }
    auto got = businesses.get(*t);
    if (!got) return std::unexpected(got.error());
    return Reply::ok(business_json(*got));
  });

  // Pipeline config: secrets are accepted, never returned.
  router.add("GET", biz + "/pipeline-config", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto& repo = s.repos.pipeline_configs;
      auto c = repo.get(t);
      if (!c) return std::unexpected(c.error());
      return Reply::ok(pipeline_json(*c));
    });
  });
  router.add("PUT", biz + "/pipeline-config", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto b = req.json_body();
      if (!b) return std::unexpected(b.error());
      auto& repo = s.repos.pipeline_configs;
      auto c = repo.get(t);
      if (!c && c.error().code != ErrorCode::kNotFound) return std::unexpected(c.error());
      storage::PipelineConfig cfg = c ? *c : storage::PipelineConfig{};
      if (auto st = apply_pipeline(*b, cfg); !st) return std::unexpected(st.error());
      if (s.egress_policy != nullptr) {
        for (const char* k : {"source_db", "crm", "stt_options", "llm_chain"}) {
          if (!b->contains(k)) continue;
          if (auto st = detail::check_destinations(*s.egress_policy, k, (*b)[k]); !st)
            return std::unexpected(st.error());
        }
      }
      if (auto st = repo.put(t, cfg); !st) return std::unexpected(st.error());
      auto got = repo.get(t);
      if (!got) return std::unexpected(got.error());
      return Reply::ok(pipeline_json(*got));
    });
  });

  // Analysis agents.
  router.add("GET", biz + "/agents", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto& repo = s.repos.agent_configs;
      auto all = repo.list(t, false);
      if (!all) return std::unexpected(all.error());
      Json items = Json::array();
      for (const auto& a : *all) items.push_back(agent_json(a));
      return Reply::ok(Json{{"items", items}});
    });
  });
  router.add("POST", biz + "/agents", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto b = req.json_body();
      if (!b) return std::unexpected(b.error());
      auto a = parse_agent(*b);
      if (!a) return std::unexpected(a.error());
      auto& repo = s.repos.agent_configs;
      auto id = repo.create(t, *a);
      if (!id) return std::unexpected(id.error());
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::created(agent_json(*got));
    });
  });
  router.add("GET", biz + "/agents/{id}", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto& repo = s.repos.agent_configs;
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::ok(agent_json(*got));
    });
  });
  router.add("PUT", biz + "/agents/{id}", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto b = req.json_body();
      if (!b) return std::unexpected(b.error());
      auto a = parse_agent(*b);
      if (!a) return std::unexpected(a.error());
      a->id = *id;
      auto& repo = s.repos.agent_configs;
      auto ok = repo.update(t, *a);
      if (!ok) return std::unexpected(ok.error());
      if (!*ok) return make_error(ErrorCode::kNotFound, "no such agent");
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::ok(agent_json(*got));
    });
  });
  router.add("DELETE", biz + "/agents/{id}", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto& repo = s.repos.agent_configs;
      return not_found_if(repo.remove(t, *id), "agent");
    });
  });

  // Users.
  router.add("GET", biz + "/users", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto& repo = s.repos.users;
      auto all = repo.list(t);
      if (!all) return std::unexpected(all.error());
      Json items = Json::array();
      for (const auto& u : *all) items.push_back(user_json(u));
      return Reply::ok(Json{{"items", items}});
    });
  });
  router.add("POST", biz + "/users", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto b = req.json_body();
      if (!b) return std::unexpected(b.error());
      if (auto st = detail::only_fields(*b, {"email", "password", "role", "display_name"}); !st) {
        return std::unexpected(st.error());
      }
      auto email = detail::str_field(*b, "email", true, 3, 255);
      if (!email) return std::unexpected(email.error());
      if ((*email)->find('@') == std::string::npos) return invalid("email must be an e-mail address");
      auto pw = detail::str_field(*b, "password", true, 8, 1024);
      if (!pw) return std::unexpected(pw.error());
      auto dn = detail::str_field(*b, "display_name", false, 0, 255);
      if (!dn) return std::unexpected(dn.error());
      auto role = parse_user_role(b->value("role", Json()));
      if (!role) return std::unexpected(role.error());
      auto hash = crypto::hash_password(**pw);
      if (!hash) return std::unexpected(hash.error());
      storage::User u;
      u.email = **email;
      u.display_name = dn->value_or("");
      u.role = *role;
      u.password_hash = *hash;
      auto& repo = s.repos.users;
      auto id = repo.create(t, u);
      if (!id) return std::unexpected(id.error());
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::created(user_json(*got));
    });
  });
  router.add("PATCH", biz + "/users/{id}", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
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
      if (*dis) {
        if (auto r = repo.set_disabled(t, *id, **dis); !r) return std::unexpected(r.error());
      }
      auto pw = detail::str_field(*b, "password", false, 8, 1024);
      if (!pw) return std::unexpected(pw.error());
      if (*pw) {
        auto hash = crypto::hash_password(**pw);
        if (!hash) return std::unexpected(hash.error());
        if (auto r = repo.set_password_hash(t, *id, *hash); !r) return std::unexpected(r.error());
      }
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::ok(user_json(*got));
    });
  });
  router.add("DELETE", biz + "/users/{id}", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto& repo = s.repos.users;
      return not_found_if(repo.remove(t, *id), "user");
    });
  });

  // API keys: the secret is in the create answer only.
  router.add("GET", biz + "/api-keys", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto& repo = s.repos.api_keys;
      auto all = repo.list(t);
      if (!all) return std::unexpected(all.error());
      Json items = Json::array();
      for (const auto& k : *all) items.push_back(key_json(k));
      return Reply::ok(Json{{"items", items}});
    });
  });
  router.add("POST", biz + "/api-keys", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto b = req.json_body();
      if (!b) return std::unexpected(b.error());
      if (auto st = detail::only_fields(*b, {"name", "scopes"}); !st) return std::unexpected(st.error());
      auto name = detail::str_field(*b, "name", true, 1, 255);
      if (!name) return std::unexpected(name.error());
      if (!b->contains("scopes") || !(*b)["scopes"].is_array() || (*b)["scopes"].empty()) {
        return invalid("scopes must be a non-empty list of ingest|read|embed");
      }
      std::vector<std::string> scopes;
      for (const auto& sc : (*b)["scopes"]) {
        if (!sc.is_string() || !valid_api_key_scope(sc.get<std::string>())) {
          return invalid("scopes must be a non-empty list of ingest|read|embed");
        }
        if (std::find(scopes.begin(), scopes.end(), sc.get<std::string>()) == scopes.end()) {
          scopes.push_back(sc.get<std::string>());
        }
      }
      const bool embed = std::find(scopes.begin(), scopes.end(), "embed") != scopes.end();
      if (embed && scopes.size() > 1 && std::find(scopes.begin(), scopes.end(), "ingest") != scopes.end()) {
        return invalid("embed keys are read-only: they cannot also have ingest");
      }
      auto gen = crypto::generate_api_key();
      auto& repo = s.repos.api_keys;
      auto id = repo.create(t, **name, gen.prefix, gen.hash, scopes);
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
    });
  });
  router.add("DELETE", biz + "/api-keys/{id}", admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto& repo = s.repos.api_keys;
      return not_found_if(repo.revoke(t, *id, storage::to_timestamp(s.clock.now())), "API key");
    });
  });

  add_rule_sets(router, s, admin, "categories", RuleSetKind::kCategories, "rules", &validate_category_rules);
  add_rule_sets(router, s, admin, "scorecards", RuleSetKind::kScorecards, "questions", &validate_scorecard_questions);
}

}  // namespace earshot::api
