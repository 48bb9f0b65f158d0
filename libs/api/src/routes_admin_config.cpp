// /api/v1/admin/businesses/{bid}/pipeline-config (secrets accepted, never returned) and
// /api/v1/admin/businesses/{bid}/agents (analysis agents). Pieces of add_admin_routes.
#include <regex>

#include "earshot/api/dispatcher.hpp"
#include "earshot/api/gateway.hpp"
#include "earshot/core/log.hpp"
#include "earshot/pipeline/provider_checks.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/config_repositories.hpp"
#include "route_util.hpp"
#include "routes_admin.hpp"

namespace earshot::api::admin {

using detail::invalid;

namespace {

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
              {"redact_pii", c.redact_pii},
              {"llm_sentiment", c.llm_sentiment},
              {"channel_roles", detail::parsed(c.channel_roles_json)},
              {"secrets_set", secrets},
              {"version", c.version}};
}

bool looks_secret(const std::string& key) {
  static const std::regex re("(password|secret|token|api_?key)", std::regex::icase);
  return std::regex_search(key, re);
}

// The JSON-valued sections of `b` over `c`: source_db, crm (no secrets in them),
// column_mapping, stt_options, llm_chain, channel_roles.
Status apply_pipeline_sections(const Json& b, storage::PipelineConfig& c) {
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
  return {};
}

// The single-valued settings of `b` over `c`: lead filter mode, providers, language, country
// code, limits, phone hashing and PII redaction.
Status apply_pipeline_settings(const Json& b, storage::PipelineConfig& c) {
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
  // Checked by the code the workers build the providers with (pipeline/provider_checks.hpp).
  auto stt = detail::str_field(b, "stt_provider", false, 1, 64);
  if (!stt) return std::unexpected(stt.error());
  if (const std::optional<std::string>& provider = *stt) {
    if (auto st = pipeline::check_stt_provider(*provider); !st) return invalid(st.error().message);
    c.stt_provider = *provider;
  }
  auto embedder = detail::str_field(b, "embedding_provider", false, 1, 64);
  if (!embedder) return std::unexpected(embedder.error());
  if (const std::optional<std::string>& provider = *embedder) {
    if (auto st = pipeline::check_embedding_provider(*provider); !st) return invalid(st.error().message);
    c.embedding_provider = *provider;
  }
  auto lang = detail::str_field(b, "language", false, 2, 16);
  if (!lang) return std::unexpected(lang.error());
  if (const std::optional<std::string>& language = *lang) c.language = *language;
  auto cc = detail::str_field(b, "default_country_code", false, 1, 3);
  if (!cc) return std::unexpected(cc.error());
  if (const std::optional<std::string>& code = *cc) {
    for (char ch : *code) {
      if (ch < '0' || ch > '9') return invalid("default_country_code must be 1-3 digits");
    }
    c.default_country_code = *code;
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
    *f.target = v->value_or(*f.target);
  }
  auto hp = detail::bool_field(b, "hash_phone_after_analysis");
  if (!hp) return std::unexpected(hp.error());
  c.hash_phone_after_analysis = hp->value_or(c.hash_phone_after_analysis);
  auto rp = detail::bool_field(b, "redact_pii");
  if (!rp) return std::unexpected(rp.error());
  c.redact_pii = rp->value_or(c.redact_pii);
  auto ls = detail::bool_field(b, "llm_sentiment");
  if (!ls) return std::unexpected(ls.error());
  c.llm_sentiment = ls->value_or(c.llm_sentiment);
  return {};
}

// "secrets": name -> value sets one, name -> null removes it.
Status apply_pipeline_secrets(const Json& b, storage::PipelineConfig& c) {
  if (!b.contains("secrets")) return {};
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
  return {};
}

// Applies the given fields of `b` over `c`, validating each.
Status apply_pipeline(const Json& b, storage::PipelineConfig& c) {
  if (auto st =
          detail::only_fields(b, {"source_db", "column_mapping", "crm", "lead_filter_mode", "stt_provider",
                                  "stt_options", "llm_chain", "embedding_provider", "language", "default_country_code",
                                  "concurrency", "rate_limit_per_min", "retention_days", "hash_phone_after_analysis",
                                  "redact_pii", "llm_sentiment", "channel_roles", "secrets"});
      !st) {
    return st;
  }
  if (auto st = apply_pipeline_sections(b, c); !st) return st;
  if (auto st = apply_pipeline_settings(b, c); !st) return st;
  // The offline engine's options (a vocabulary) are checked when they are sent.
  if (b.contains("stt_options") &&
      (c.stt_provider.empty() || c.stt_provider == "pocketsphinx" || c.stt_provider == "local")) {
    if (auto st = pipeline::check_local_stt_options(c.stt_options_json); !st) return invalid(st.error().message);
  }
  return apply_pipeline_secrets(b, c);
}

Result<Reply> put_pipeline_config(GatewayServices& s, const Request& req, const storage::TenantId& t) {
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
      if (auto st = detail::check_destinations(*s.egress_policy, k, (*b)[k]); !st) return std::unexpected(st.error());
    }
  }
  // A new embedder: the embed worker re-embeds the knowledge documents and calls another
  // embedder made (docs/rag.md). The message is queued before the change is saved, so no
  // saved change is ever without one: when the broker refuses, nothing is saved (503). The
  // worker waits for the config to name the embedder, and drops the message when the save
  // below fails.
  if (const std::string before = c ? c->embedding_provider : storage::PipelineConfig{}.embedding_provider;
      cfg.embedding_provider != before) {
    std::vector<queue::OutgoingMessage> m;
    m.push_back(queue::make_stage_message(
        s.queues.topology(),
        queue::EmbedRequest{.bid = t.bid(), .kind = queue::EmbedKind::kReembed, .id = cfg.embedding_provider}));
    if (auto st = s.queues.publish(std::move(m)); !st) {
      // The broker's words stay in the log; the caller learns what happened and what to do.
      log::warn("re-embedding not queued; pipeline config not saved",
                {{"bid", t.bid()}, {"error", st.error().message}});
      Reply busy = error_reply(Error(ErrorCode::kUnavailable,
                                     "the new embedding_provider could not be queued for re-embedding (the message "
                                     "broker refused it); nothing was saved, try again"));
      busy.headers.emplace_back("Retry-After", "5");
      return busy;
    }
  }
  if (auto st = repo.put(t, cfg); !st) return std::unexpected(st.error());
  auto got = repo.get(t);
  if (!got) return std::unexpected(got.error());
  return Reply::ok(pipeline_json(*got));
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
  a.name = name->value_or("");
  static const std::regex name_re("^[A-Za-z0-9][A-Za-z0-9 _.-]*$");
  if (!std::regex_match(a.name, name_re)) return invalid("name may hold letters, digits, space, _ . -");
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

Result<Reply> create_agent(GatewayServices& s, const Request& req, const storage::TenantId& t) {
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
}

Result<Reply> update_agent(GatewayServices& s, const Request& req, const storage::TenantId& t) {
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
}

}  // namespace

void add_pipeline_config_routes(Router& router, GatewayServices& s, const AdminPolicies& p) {
  const std::string biz(kBiz);
  router.add("GET", biz + "/pipeline-config", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto& repo = s.repos.pipeline_configs;
      auto c = repo.get(t);
      if (!c) return std::unexpected(c.error());
      return Reply::ok(pipeline_json(*c));
    });
  });
  router.add("PUT", biz + "/pipeline-config", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) { return put_pipeline_config(s, req, t); });
  });
}

void add_agent_routes(Router& router, GatewayServices& s, const AdminPolicies& p) {
  const std::string biz(kBiz);
  router.add("GET", biz + "/agents", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto& repo = s.repos.agent_configs;
      auto all = repo.list(t, false);
      if (!all) return std::unexpected(all.error());
      Json items = Json::array();
      for (const auto& a : *all) items.push_back(agent_json(a));
      return Reply::ok(Json{{"items", items}});
    });
  });
  router.add("POST", biz + "/agents", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) { return create_agent(s, req, t); });
  });
  router.add("GET", biz + "/agents/{id}", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto& repo = s.repos.agent_configs;
      auto got = repo.get(t, *id);
      if (!got) return std::unexpected(got.error());
      return Reply::ok(agent_json(*got));
    });
  });
  router.add("PUT", biz + "/agents/{id}", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) { return update_agent(s, req, t); });
  });
  router.add("DELETE", biz + "/agents/{id}", p.admin, [&s](const Request& req) {
    return with_tenant(s, req, [&](const storage::TenantId& t) -> Result<Reply> {
      auto id = req.id_param("id");
      if (!id) return std::unexpected(id.error());
      auto& repo = s.repos.agent_configs;
      return not_found_if(repo.remove(t, *id), "agent");
    });
  });
}

}  // namespace earshot::api::admin
