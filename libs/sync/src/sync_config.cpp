#include "earshot/sync/sync_config.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>

namespace earshot::sync {
namespace {

using Json = nlohmann::json;

Status bad(std::string_view field, std::string_view why) {
  return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: {}", field, why));
}

Result<Json> parse_object(const std::string& text, std::string_view what) {
  auto j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} is not a JSON object", what));
  }
  return j;
}

// Optional string field; kInvalidArgument when present but not a string.
Result<std::string> str(const Json& j, std::string_view field, std::string_view path, std::string def = {}) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_string()) return std::unexpected(bad(fmt::format("{}.{}", path, field), "must be a string").error());
  return it->get<std::string>();
}

Result<std::int64_t> num(const Json& j, std::string_view field, std::string_view path, std::int64_t def,
                         std::int64_t min, std::int64_t max) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_number_integer()) {
    return std::unexpected(bad(fmt::format("{}.{}", path, field), "must be an integer").error());
  }
  const auto v = it->get<std::int64_t>();
  if (v < min || v > max) {
    return std::unexpected(
        bad(fmt::format("{}.{}", path, field), fmt::format("must be between {} and {}", min, max)).error());
  }
  return v;
}

// A mapped column: empty or a plain identifier.
Result<std::string> column(const Json& j, std::string_view field, bool required) {
  auto v = str(j, field, "column_mapping");
  if (!v) return v;
  if (v->empty()) {
    if (required) return std::unexpected(bad(fmt::format("column_mapping.{}", field), "is required").error());
    return v;
  }
  if (!is_plain_identifier(*v)) {
    return std::unexpected(
        bad(fmt::format("column_mapping.{}", field), fmt::format("'{}' is not a plain column name", *v)).error());
  }
  return v;
}

}  // namespace

bool is_plain_identifier(std::string_view name, bool dotted) {
  static const std::regex plain("[A-Za-z_$][A-Za-z0-9_$]{0,63}");
  static const std::regex with_schema("[A-Za-z_$][A-Za-z0-9_$]{0,63}(\\.[A-Za-z_$][A-Za-z0-9_$]{0,63})?");
  return std::regex_match(name.begin(), name.end(), dotted ? with_schema : plain);
}

std::string quote_identifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '.') {
      out += "`.`";
    } else {
      out += c;
    }
  }
  out += '`';
  return out;
}

Result<std::optional<SourceDbConfig>> parse_source_db(const storage::PipelineConfig& c) {
  auto j = parse_object(c.source_db_json, "source_db");
  if (!j) return std::unexpected(j.error());
  SourceDbConfig out;
  auto kind = str(*j, "kind", "source_db");
  if (!kind) return std::unexpected(kind.error());
  if (kind->empty() || *kind == "none") return std::optional<SourceDbConfig>();
  if (*kind != "mysql" && *kind != "mariadb") {
    return std::unexpected(
        bad("source_db.kind", fmt::format("'{}' is not supported (mysql, mariadb, none)", *kind)).error());
  }
  out.kind = *kind;
  auto host = str(*j, "host", "source_db");
  auto database = str(*j, "database", "source_db");
  auto user = str(*j, "user", "source_db");
  auto table = str(*j, "table", "source_db");
  auto query = str(*j, "query", "source_db");
  auto port = num(*j, "port", "source_db", 3306, 1, 65535);
  auto every = num(*j, "every_seconds", "source_db", 60, 1, 86400);
  auto lag = num(*j, "safety_lag_seconds", "source_db", 30, 0, 86400);
  auto batch = num(*j, "batch_size", "source_db", 1000, 1, 5000);
  for (const auto* r : {&host, &database, &user, &table, &query}) {
    if (!*r) return std::unexpected(r->error());
  }
  for (const auto* r : {&port, &every, &lag, &batch}) {
    if (!*r) return std::unexpected(r->error());
  }
  if (host->empty()) return std::unexpected(bad("source_db.host", "is required").error());
  if (user->empty()) return std::unexpected(bad("source_db.user", "is required").error());
  if (table->empty() == query->empty()) {
    return std::unexpected(bad("source_db", "set exactly one of table and query").error());
  }
  if (!table->empty() && !is_plain_identifier(*table, true)) {
    return std::unexpected(bad("source_db.table", fmt::format("'{}' is not a plain table name", *table)).error());
  }
  if (!query->empty()) {
    std::string lower;
    for (char ch : *query) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!lower.starts_with("select") || query->find(';') != std::string::npos) {
      return std::unexpected(bad("source_db.query", "must be a single SELECT statement").error());
    }
  }
  out.mysql.host = *host;
  out.mysql.port = *port;
  out.mysql.user = *user;
  out.mysql.database = *database;
  if (auto it = c.secrets.find("source_db_password"); it != c.secrets.end()) out.mysql.password = it->second;
  out.mysql.connect_timeout = std::chrono::seconds(5);
  out.mysql.read_timeout = std::chrono::seconds(60);
  out.mysql.write_timeout = std::chrono::seconds(60);
  out.mysql.pool_size = 2;
  out.table = *table;
  out.query = *query;
  out.every = std::chrono::seconds(*every);
  out.safety_lag = std::chrono::seconds(*lag);
  out.batch_size = static_cast<int>(*batch);

  auto m = parse_object(c.column_mapping_json, "column_mapping");
  if (!m) return std::unexpected(m.error());
  auto& cm = out.columns;
  struct Field {
    std::string_view name;
    std::string* target;
    bool required;
  };
  for (const Field& f :
       {Field{"external_id", &cm.external_id, true}, Field{"agent", &cm.agent, false},
        Field{"agent_name", &cm.agent_name, false}, Field{"customer_phone", &cm.customer_phone, false},
        Field{"customer_name", &cm.customer_name, false}, Field{"started_at", &cm.started_at, true},
        Field{"duration", &cm.duration, false}, Field{"audio_url", &cm.audio_url, false},
        Field{"watermark_time", &cm.watermark_time, false}, Field{"watermark_id", &cm.watermark_id, false}}) {
    auto v = column(*m, f.name, f.required);
    if (!v) return std::unexpected(v.error());
    *f.target = *v;
  }
  if (cm.watermark_time.empty()) cm.watermark_time = cm.started_at;
  if (cm.watermark_id.empty()) cm.watermark_id = cm.external_id;
  auto unit = str(*m, "duration_unit", "column_mapping", "s");
  if (!unit) return std::unexpected(unit.error());
  if (*unit != "s" && *unit != "ms")
    return std::unexpected(bad("column_mapping.duration_unit", "must be s or ms").error());
  cm.duration_ms = *unit == "ms";
  if (auto d = m->find("disposition"); d != m->end() && !d->is_null()) {
    if (!d->is_object()) return std::unexpected(bad("column_mapping.disposition", "must be an object").error());
    auto col = str(*d, "column", "column_mapping.disposition");
    if (!col) return std::unexpected(col.error());
    if (!is_plain_identifier(*col)) {
      return std::unexpected(bad("column_mapping.disposition.column", "must be a plain column name").error());
    }
    cm.disposition_column = *col;
    auto vals = d->find("values");
    if (vals == d->end() || !vals->is_array() || vals->empty() || vals->size() > 50) {
      return std::unexpected(bad("column_mapping.disposition.values", "must be an array of 1-50 strings").error());
    }
    for (const auto& v : *vals) {
      if (!v.is_string()) return std::unexpected(bad("column_mapping.disposition.values", "must be strings").error());
      cm.disposition_values.push_back(v.get<std::string>());
    }
  }
  return std::optional<SourceDbConfig>(std::move(out));
}

Result<std::vector<FeedConfig>> parse_feeds(const storage::PipelineConfig& c) {
  auto j = parse_object(c.source_db_json, "source_db");
  if (!j) return std::unexpected(j.error());
  std::vector<FeedConfig> out;
  auto feeds = j->find("feeds");
  if (feeds == j->end() || feeds->is_null()) return out;
  if (!feeds->is_array()) return make_error(ErrorCode::kInvalidArgument, "source_db.feeds must be an array");
  static const std::regex name_re("[a-z0-9_-]{1,32}");
  static const std::regex dataset_re("[A-Za-z0-9_.-]{1,96}/[A-Za-z0-9_.-]{1,96}");
  for (std::size_t i = 0; i < feeds->size(); ++i) {
    const auto& f = (*feeds)[i];
    const auto path = fmt::format("source_db.feeds[{}]", i);
    if (!f.is_object()) return make_error(ErrorCode::kInvalidArgument, path + " must be an object");
    FeedConfig fc;
    struct Field {
      std::string_view name;
      std::string* target;
    };
    for (const Field& fld :
         {Field{"name", &fc.name}, Field{"base_url", &fc.base_url}, Field{"dataset", &fc.dataset},
          Field{"config", &fc.config}, Field{"split", &fc.split}, Field{"customer_column", &fc.customer_column},
          Field{"agent_column", &fc.agent_column}, Field{"first_speaker", &fc.first_speaker}}) {
      auto v = str(f, fld.name, path, *fld.target);
      if (!v) return std::unexpected(v.error());
      *fld.target = *v;
    }
    if (!std::regex_match(fc.name, name_re)) {
      return make_error(ErrorCode::kInvalidArgument, path + ".name must be 1-32 of [a-z0-9_-]");
    }
    if (!std::regex_match(fc.dataset, dataset_re)) {
      return make_error(ErrorCode::kInvalidArgument, path + ".dataset must be OWNER/NAME");
    }
    if (!fc.base_url.starts_with("http://") && !fc.base_url.starts_with("https://")) {
      return make_error(ErrorCode::kInvalidArgument, path + ".base_url must be an http(s) URL");
    }
    while (fc.base_url.ends_with('/')) fc.base_url.pop_back();
    if (fc.customer_column.empty() || fc.agent_column.empty()) {
      return make_error(ErrorCode::kInvalidArgument, path + ": customer_column and agent_column are required");
    }
    if (fc.first_speaker != "customer" && fc.first_speaker != "agent") {
      return make_error(ErrorCode::kInvalidArgument, path + ".first_speaker must be customer or agent");
    }
    auto page = num(f, "page_size", path, 100, 1, 100);
    auto every = num(f, "every_minutes", path, 60, 1, std::int64_t{7} * 24 * 60);
    auto max_rows = num(f, "max_rows_per_run", path, 10'000, 1, 10'000'000);
    auto timeout = num(f, "timeout_seconds", path, 30, 1, 600);
    for (const auto* r : {&page, &every, &max_rows, &timeout}) {
      if (!*r) return std::unexpected(r->error());
    }
    fc.page_size = static_cast<int>(*page);
    fc.every = std::chrono::minutes(*every);
    fc.max_rows_per_run = *max_rows;
    fc.timeout = std::chrono::seconds(*timeout);
    for (const auto& other : out) {
      if (other.name == fc.name) return make_error(ErrorCode::kInvalidArgument, path + ".name is used twice");
    }
    out.push_back(std::move(fc));
  }
  return out;
}

Result<std::optional<CrmConfig>> parse_crm(const storage::PipelineConfig& c) {
  auto j = parse_object(c.crm_json, "crm");
  if (!j) return std::unexpected(j.error());
  auto provider = str(*j, "provider", "crm");
  if (!provider) return std::unexpected(provider.error());
  if (provider->empty() || *provider == "none") return std::optional<CrmConfig>();
  if (*provider != "leadsquared") {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("crm.provider: '{}' is not supported (leadsquared, none)", *provider));
  }
  CrmConfig out;
  out.provider = *provider;
  auto base = str(*j, "base_url", "crm");
  if (!base) return std::unexpected(base.error());
  if (!base->starts_with("http://") && !base->starts_with("https://")) {
    return make_error(ErrorCode::kInvalidArgument, "crm.base_url must be an http(s) URL (the regional API host)");
  }
  out.base_url = *base;
  while (out.base_url.ends_with('/')) out.base_url.pop_back();
  auto every = num(*j, "every_seconds", "crm", 300, 5, 86400);
  auto page = num(*j, "page_size", "crm", 100, 1, 1000);
  auto timeout = num(*j, "timeout_seconds", "crm", 30, 1, 600);
  for (const auto* r : {&every, &page, &timeout}) {
    if (!*r) return std::unexpected(r->error());
  }
  out.every = std::chrono::seconds(*every);
  out.page_size = static_cast<int>(*page);
  out.timeout = std::chrono::seconds(*timeout);
  auto ak = c.secrets.find("crm_access_key");
  auto sk = c.secrets.find("crm_secret_key");
  if (ak == c.secrets.end() || sk == c.secrets.end() || ak->second.empty() || sk->second.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "crm: the secrets crm_access_key and crm_secret_key are required");
  }
  out.access_key = ak->second;
  out.secret_key = sk->second;
  return std::optional<CrmConfig>(std::move(out));
}

}  // namespace earshot::sync
