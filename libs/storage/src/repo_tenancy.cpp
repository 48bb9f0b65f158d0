// Businesses, users, API keys, pipeline and agent configuration.
#include <nlohmann/json.hpp>

#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

std::string detail::to_json_array(const std::vector<std::string>& items) {
  return nlohmann::json(items).dump();
}

std::vector<std::string> detail::from_json_array(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

// ---- businesses --------------------------------------------------------------------------

namespace {
constexpr std::string_view kBusinessCols = "SELECT bid, name, status, created_at FROM businesses";

Business to_business(const Row& r) {
  return Business{r[0].as_string(), r[1].as_string(), from_name(kBusinessStatus, r[2].as_string()), r[3].as_time()};
}
}  // namespace

Status MySqlBusinessRepository::create(const TenantId& t, std::string_view name) {
  auto r = db_.execute("INSERT INTO businesses (bid, name) VALUES (?, ?)", {t.bid(), name});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<Business> MySqlBusinessRepository::get(const TenantId& t) {
  auto r = db_.execute(std::string(kBusinessCols) + " WHERE bid = ?", {t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("business " + t.bid());
  return to_business(r->rows[0]);
}

Result<std::vector<Business>> MySqlBusinessRepository::list_all() {
  auto r = db_.execute(std::string(kBusinessCols) + " ORDER BY bid");
  if (!r) return std::unexpected(r.error());
  std::vector<Business> out;
  for (const auto& row : r->rows) out.push_back(to_business(row));
  return out;
}

Result<bool> MySqlBusinessRepository::set_status(const TenantId& t, BusinessStatus s) {
  return matched(db_.execute("UPDATE businesses SET status = ? WHERE bid = ?", {to_name(kBusinessStatus, s), t.bid()}));
}

Result<bool> MySqlBusinessRepository::rename(const TenantId& t, std::string_view name) {
  return matched(db_.execute("UPDATE businesses SET name = ? WHERE bid = ?", {name, t.bid()}));
}

// ---- users -------------------------------------------------------------------------------

namespace {
constexpr std::string_view kUserCols =
    "SELECT id, email, display_name, role, password_hash, disabled, last_login_at FROM users";

User to_user(const Row& r) {
  User u;
  u.id = r[0].as_int();
  u.email = r[1].as_string();
  u.display_name = r[2].as_string();
  u.role = from_name(kUserRole, r[3].as_string());
  u.password_hash = r[4].as_string();
  u.disabled = r[5].as_int() != 0;
  u.last_login_at = r[6].opt_time();
  return u;
}

Result<User> one_user(Result<ExecResult> r, std::string_view what) {
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found(what);
  return to_user(r->rows[0]);
}
}  // namespace

namespace {
Error email_exists() {
  return Error(ErrorCode::kAlreadyExists,
               "a user with this e-mail already exists (e-mails are unique on the platform)");
}

PlatformAdmin to_admin(const Row& row) {
  return PlatformAdmin{row[0].as_int(), row[1].as_string(), row[2].as_string(), row[3].as_int() != 0, row[4].as_time()};
}
constexpr std::string_view kAdminCols = "SELECT id, email, password_hash, disabled, created_at FROM platform_admins";
}  // namespace

Result<bool> MySqlUserRepository::email_taken(std::string_view email) {
  auto r =
      db_.execute("SELECT 1 FROM users WHERE email = ? UNION ALL SELECT 1 FROM platform_admins WHERE email = ? LIMIT 1",
                  {email, email});
  if (!r) return std::unexpected(r.error());
  return !r->rows.empty();
}

Result<Id> MySqlUserRepository::create(const TenantId& t, const User& u) {
  // The unique index on users.email is the authority; platform admins live in their own table.
  auto admin = db_.execute("SELECT 1 FROM platform_admins WHERE email = ?", {u.email});
  if (!admin) return std::unexpected(admin.error());
  if (!admin->rows.empty()) return std::unexpected(email_exists());
  auto r = db_.execute(
      "INSERT INTO users (bid, email, display_name, role, password_hash, disabled) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {t.bid(), u.email, u.display_name, to_name(kUserRole, u.role), u.password_hash, u.disabled});
  if (!r) return std::unexpected(r.error().code == ErrorCode::kAlreadyExists ? email_exists() : r.error());
  return static_cast<Id>(r->insert_id);
}

Result<User> MySqlUserRepository::get(const TenantId& t, Id id) {
  return one_user(db_.execute(std::string(kUserCols) + " WHERE id = ? AND bid = ?", {id, t.bid()}), "user");
}

Result<User> MySqlUserRepository::find_by_email(const TenantId& t, std::string_view email) {
  return one_user(db_.execute(std::string(kUserCols) + " WHERE bid = ? AND email = ?", {t.bid(), email}), "user");
}

Result<std::vector<User>> MySqlUserRepository::list(const TenantId& t) {
  auto r = db_.execute(std::string(kUserCols) + " WHERE bid = ? ORDER BY email", {t.bid()});
  if (!r) return std::unexpected(r.error());
  std::vector<User> out;
  for (const auto& row : r->rows) out.push_back(to_user(row));
  return out;
}

Result<bool> MySqlUserRepository::set_role(const TenantId& t, Id id, UserRole role) {
  return matched(
      db_.execute("UPDATE users SET role = ? WHERE id = ? AND bid = ?", {to_name(kUserRole, role), id, t.bid()}));
}

Result<bool> MySqlUserRepository::set_password_hash(const TenantId& t, Id id, std::string_view hash) {
  return matched(db_.execute("UPDATE users SET password_hash = ? WHERE id = ? AND bid = ?", {hash, id, t.bid()}));
}

Result<bool> MySqlUserRepository::set_disabled(const TenantId& t, Id id, bool disabled) {
  return matched(db_.execute("UPDATE users SET disabled = ? WHERE id = ? AND bid = ?", {disabled, id, t.bid()}));
}

Result<bool> MySqlUserRepository::record_login(const TenantId& t, Id id, Timestamp at) {
  return matched(db_.execute("UPDATE users SET last_login_at = ? WHERE id = ? AND bid = ?", {at, id, t.bid()}));
}

Result<bool> MySqlUserRepository::remove(const TenantId& t, Id id) {
  return matched(db_.execute("DELETE FROM users WHERE id = ? AND bid = ?", {id, t.bid()}));
}

Result<Id> MySqlUserRepository::create_platform_admin(std::string_view email, std::string_view password_hash) {
  auto user = db_.execute("SELECT 1 FROM users WHERE email = ?", {email});
  if (!user) return std::unexpected(user.error());
  if (!user->rows.empty()) return std::unexpected(email_exists());
  auto r = db_.execute("INSERT INTO platform_admins (email, password_hash) VALUES (?, ?)", {email, password_hash});
  if (!r) {
    if (r.error().code == ErrorCode::kAlreadyExists) {
      return make_error(ErrorCode::kAlreadyExists, "a platform admin with this e-mail already exists");
    }
    return std::unexpected(r.error());
  }
  return static_cast<Id>(r->insert_id);
}

Result<std::vector<PlatformAdmin>> MySqlUserRepository::list_platform_admins() {
  auto r = db_.execute(std::string(kAdminCols) + " ORDER BY id");
  if (!r) return std::unexpected(r.error());
  std::vector<PlatformAdmin> out;
  for (const auto& row : r->rows) out.push_back(to_admin(row));
  return out;
}

Result<PlatformAdmin> MySqlUserRepository::get_platform_admin(Id id) {
  auto r = db_.execute(std::string(kAdminCols) + " WHERE id = ?", {id});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("platform admin");
  return to_admin(r->rows[0]);
}

Result<bool> MySqlUserRepository::set_platform_admin_disabled(std::string_view email, bool disabled) {
  auto found = db_.execute("SELECT id FROM platform_admins WHERE email = ?", {email});
  if (!found) return std::unexpected(found.error());
  if (found->rows.empty()) return false;
  auto r = db_.execute("UPDATE platform_admins SET disabled = ? WHERE email = ?", {disabled, email});
  if (!r) return std::unexpected(r.error());
  return true;
}

Result<PlatformAdmin> MySqlUserRepository::find_platform_admin(std::string_view email) {
  auto r = db_.execute(std::string(kAdminCols) + " WHERE email = ?", {email});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("platform admin");
  return to_admin(r->rows[0]);
}

// ---- API keys ----------------------------------------------------------------------------

namespace {
constexpr std::string_view kKeyCols =
    "SELECT id, bid, name, prefix, scopes, created_at, last_used_at, revoked_at FROM api_keys";

ApiKey to_key(const Row& r) {
  ApiKey k;
  k.id = r[0].as_int();
  k.bid = r[1].as_string();
  k.name = r[2].as_string();
  k.prefix = r[3].as_string();
  k.scopes = from_json_array(r[4].as_string());
  k.created_at = r[5].as_time();
  k.last_used_at = r[6].opt_time();
  k.revoked_at = r[7].opt_time();
  return k;
}
}  // namespace

Result<Id> MySqlApiKeyRepository::create(const TenantId& t, std::string_view name, std::string_view prefix,
                                         std::string_view key_hash, const std::vector<std::string>& scopes) {
  if (key_hash.size() != 32) {
    return make_error(ErrorCode::kInvalidArgument, "API key hash must be 32 bytes");
  }
  auto r = db_.execute("INSERT INTO api_keys (bid, name, prefix, key_hash, scopes) VALUES (?, ?, ?, ?, ?)",
                       {t.bid(), name, prefix, key_hash, to_json_array(scopes)});
  if (!r) return std::unexpected(r.error());
  return static_cast<Id>(r->insert_id);
}

Result<std::vector<ApiKey>> MySqlApiKeyRepository::list(const TenantId& t) {
  auto r = db_.execute(std::string(kKeyCols) + " WHERE bid = ? ORDER BY created_at, id", {t.bid()});
  if (!r) return std::unexpected(r.error());
  std::vector<ApiKey> out;
  for (const auto& row : r->rows) out.push_back(to_key(row));
  return out;
}

Result<bool> MySqlApiKeyRepository::revoke(const TenantId& t, Id id, Timestamp at) {
  return matched(db_.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND bid = ? AND revoked_at IS NULL",
                             {at, id, t.bid()}));
}

Result<bool> MySqlApiKeyRepository::touch(const TenantId& t, Id id, Timestamp at) {
  return matched(db_.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND bid = ?", {at, id, t.bid()}));
}

Result<ApiKey> MySqlApiKeyRepository::authenticate(std::string_view key_hash) {
  auto r = db_.execute(std::string(kKeyCols) + " WHERE key_hash = ? AND revoked_at IS NULL", {key_hash});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("API key");
  return to_key(r->rows[0]);
}

Result<ApiKey> MySqlApiKeyRepository::authenticate_active(std::string_view key_hash) {
  auto r = db_.execute(
      "SELECT k.id, k.bid, k.name, k.prefix, k.scopes, k.created_at, k.last_used_at, k.revoked_at "
      "FROM api_keys k JOIN businesses b ON b.bid = k.bid "
      "WHERE k.key_hash = ? AND k.revoked_at IS NULL AND b.status = 'active'",
      {key_hash});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("API key");
  return to_key(r->rows[0]);
}

// ---- pipeline configuration --------------------------------------------------------------

namespace {

std::string seal_secrets(const crypto::Keyring& keys, const std::map<std::string, std::string>& s) {
  return keys.encrypt(nlohmann::json(s).dump());
}

Result<std::map<std::string, std::string>> open_secrets(const crypto::Keyring& keys, const Value& sealed) {
  std::map<std::string, std::string> out;
  if (sealed.is_null()) return out;
  auto plain = keys.decrypt(sealed.as_string());
  if (!plain) return std::unexpected(plain.error().with_context("pipeline secrets"));
  auto j = nlohmann::json::parse(*plain, nullptr, false);
  if (!j.is_object()) return make_error(ErrorCode::kInternal, "pipeline secrets: not an object");
  for (const auto& [k, v] : j.items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

}  // namespace

Status MySqlPipelineConfigRepository::put(const TenantId& t, const PipelineConfig& c) {
  std::optional<std::string> sealed;
  std::optional<std::string> kid;
  if (!c.secrets.empty()) {
    sealed = seal_secrets(keys_, c.secrets);
    kid = keys_.primary_key_id();
  }
  auto r = db_.execute(
      "INSERT INTO business_pipeline_config (bid, source_db, column_mapping, crm, "
      "lead_filter_mode, stt_provider, stt_options, llm_chain, embedding_provider, language, "
      "default_country_code, concurrency, rate_limit_per_min, retention_days, "
      "hash_phone_after_analysis, channel_roles, secrets_sealed, secrets_key_id, redact_pii, llm_sentiment) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON DUPLICATE KEY UPDATE source_db = VALUES(source_db), "
      "column_mapping = VALUES(column_mapping), crm = VALUES(crm), "
      "lead_filter_mode = VALUES(lead_filter_mode), stt_provider = VALUES(stt_provider), "
      "stt_options = VALUES(stt_options), llm_chain = VALUES(llm_chain), "
      "embedding_provider = VALUES(embedding_provider), language = VALUES(language), "
      "default_country_code = VALUES(default_country_code), "
      "concurrency = VALUES(concurrency), rate_limit_per_min = VALUES(rate_limit_per_min), "
      "retention_days = VALUES(retention_days), "
      "hash_phone_after_analysis = VALUES(hash_phone_after_analysis), "
      "channel_roles = VALUES(channel_roles), secrets_sealed = VALUES(secrets_sealed), "
      "secrets_key_id = VALUES(secrets_key_id), redact_pii = VALUES(redact_pii), llm_sentiment = "
      "VALUES(llm_sentiment), version = version + 1",
      {t.bid(),
       c.source_db_json,
       c.column_mapping_json,
       c.crm_json,
       to_name(kLeadFilter, c.lead_filter_mode),
       c.stt_provider,
       c.stt_options_json,
       c.llm_chain_json,
       c.embedding_provider,
       c.language,
       c.default_country_code,
       c.concurrency,
       c.rate_limit_per_min,
       c.retention_days,
       c.hash_phone_after_analysis,
       c.channel_roles_json,
       sealed,
       kid,
       c.redact_pii,
       c.llm_sentiment});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<PipelineConfig> MySqlPipelineConfigRepository::get(const TenantId& t) {
  auto r = db_.execute(
      "SELECT source_db, column_mapping, crm, lead_filter_mode, stt_provider, stt_options, "
      "llm_chain, embedding_provider, language, default_country_code, concurrency, "
      "rate_limit_per_min, retention_days, hash_phone_after_analysis, channel_roles, "
      "secrets_sealed, version, redact_pii, llm_sentiment FROM business_pipeline_config WHERE bid = ?",
      {t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("pipeline config of " + t.bid());
  const auto& row = r->rows[0];
  PipelineConfig c;
  c.source_db_json = row[0].as_string();
  c.column_mapping_json = row[1].as_string();
  c.crm_json = row[2].as_string();
  c.lead_filter_mode = from_name(kLeadFilter, row[3].as_string());
  c.stt_provider = row[4].as_string();
  c.stt_options_json = row[5].as_string();
  c.llm_chain_json = row[6].as_string();
  c.embedding_provider = row[7].as_string();
  c.language = row[8].as_string();
  c.default_country_code = row[9].as_string();
  c.concurrency = row[10].as_int();
  c.rate_limit_per_min = row[11].as_int();
  c.retention_days = row[12].as_int();
  c.hash_phone_after_analysis = row[13].as_int() != 0;
  c.channel_roles_json = row[14].as_string();
  auto secrets = open_secrets(keys_, row[15]);
  if (!secrets) return std::unexpected(secrets.error());
  c.secrets = std::move(*secrets);
  c.version = row[16].as_int();
  c.redact_pii = row[17].as_int() != 0;
  c.llm_sentiment = row[18].as_int() != 0;
  return c;
}

Result<std::int64_t> MySqlPipelineConfigRepository::reseal_all() {
  auto r = db_.execute(
      "SELECT bid FROM business_pipeline_config WHERE secrets_key_id IS NOT NULL AND "
      "secrets_key_id <> ?",
      {keys_.primary_key_id()});
  if (!r) return std::unexpected(r.error());
  std::int64_t n = 0;
  for (const auto& row : r->rows) {
    const std::string bid = row[0].as_string();
    Status st = db_.transaction([&](Connection& c) -> Status {
      auto cur = c.execute("SELECT secrets_sealed FROM business_pipeline_config WHERE bid = ? FOR UPDATE", {bid});
      if (!cur) return std::unexpected(cur.error());
      if (cur->rows.empty()) return {};
      auto secrets = open_secrets(keys_, cur->rows[0][0]);
      if (!secrets) return std::unexpected(secrets.error().with_context(bid));
      auto up = c.execute(
          "UPDATE business_pipeline_config SET secrets_sealed = ?, secrets_key_id = ? "
          "WHERE bid = ?",
          {seal_secrets(keys_, *secrets), keys_.primary_key_id(), bid});
      if (!up) return std::unexpected(up.error());
      return {};
    });
    if (!st) return std::unexpected(st.error());
    ++n;
  }
  return n;
}

// ---- agent configuration -----------------------------------------------------------------

namespace {
constexpr std::string_view kAgentCols =
    "SELECT id, name, kind, prompt_template, output_schema, model, enabled, version "
    "FROM business_agent_config";

AgentConfig to_agent_config(const Row& r) {
  AgentConfig c;
  c.id = r[0].as_int();
  c.name = r[1].as_string();
  c.kind = from_name(kAgentKind, r[2].as_string());
  c.prompt_template = r[3].as_string();
  c.output_schema_json = r[4].as_string();
  c.model = r[5].as_string();
  c.enabled = r[6].as_int() != 0;
  c.version = r[7].as_int();
  return c;
}
}  // namespace

Result<Id> MySqlAgentConfigRepository::create(const TenantId& t, const AgentConfig& c) {
  auto r = db_.execute(
      "INSERT INTO business_agent_config (bid, name, kind, prompt_template, output_schema, "
      "model, enabled) VALUES (?, ?, ?, ?, ?, ?, ?)",
      {t.bid(), c.name, to_name(kAgentKind, c.kind), c.prompt_template, c.output_schema_json, c.model, c.enabled});
  if (!r) return std::unexpected(r.error());
  return static_cast<Id>(r->insert_id);
}

Result<AgentConfig> MySqlAgentConfigRepository::get(const TenantId& t, Id id) {
  auto r = db_.execute(std::string(kAgentCols) + " WHERE id = ? AND bid = ?", {id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("agent config", id);
  return to_agent_config(r->rows[0]);
}

Result<std::vector<AgentConfig>> MySqlAgentConfigRepository::list(const TenantId& t, bool enabled_only) {
  auto r = db_.execute(std::string(kAgentCols) + " WHERE bid = ? AND (enabled = 1 OR ? = 0) ORDER BY name",
                       {t.bid(), enabled_only});
  if (!r) return std::unexpected(r.error());
  std::vector<AgentConfig> out;
  for (const auto& row : r->rows) out.push_back(to_agent_config(row));
  return out;
}

Result<bool> MySqlAgentConfigRepository::update(const TenantId& t, const AgentConfig& c) {
  return matched(
      db_.execute("UPDATE business_agent_config SET name = ?, kind = ?, prompt_template = ?, "
                  "output_schema = ?, model = ?, enabled = ?, version = version + 1 "
                  "WHERE id = ? AND bid = ?",
                  {c.name, to_name(kAgentKind, c.kind), c.prompt_template, c.output_schema_json, c.model, c.enabled,
                   c.id, t.bid()}));
}

Result<bool> MySqlAgentConfigRepository::remove(const TenantId& t, Id id) {
  return matched(db_.execute("DELETE FROM business_agent_config WHERE id = ? AND bid = ?", {id, t.bid()}));
}

}  // namespace earshot::storage
