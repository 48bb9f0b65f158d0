#pragma once
// What a business's pipeline config says about pulling calls in (docs/sync.md):
//   source_db JSON      {"kind": "mysql", "host", "port", "database", "user", "table" | "query",
//                        "every_seconds", "safety_lag_seconds", "batch_size",
//                        "feeds": [{"name", "dataset", ...}]}
//   column_mapping JSON {"external_id", "agent", "agent_name", "customer_phone",
//                        "customer_name", "started_at", "duration", "duration_unit": "s"|"ms",
//                        "audio_url", "watermark_time", "watermark_id",
//                        "disposition": {"column", "values": [..]}}
//   crm JSON            {"provider": "leadsquared", "base_url", "every_seconds", "page_size"}
//   secrets             source_db_password, crm_access_key, crm_secret_key
// Parsing validates everything a query is built from: identifiers are plain names, the
// numbers are in range. Errors are kInvalidArgument naming the field.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/storage/mysql_settings.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::sync {

struct ColumnMapping {
  std::string external_id;
  std::string agent;               // agent external id (optional)
  std::string agent_name;          // optional
  std::string customer_phone;      // optional
  std::string customer_name;       // optional
  std::string started_at;          // DATETIME / TIMESTAMP, or epoch seconds
  std::string duration;            // optional
  bool duration_ms = false;        // duration unit (default seconds)
  std::string audio_url;           // optional: calls without audio fail with that reason
  std::string watermark_time;      // default: started_at
  std::string watermark_id;        // default: external_id
  std::string disposition_column;  // optional filter
  std::vector<std::string> disposition_values;
};

struct SourceDbConfig {
  std::string kind;  // "mysql" (MariaDB too)
  storage::MySqlSettings mysql;
  std::string table;  // either a table ("name" or "schema.name") ...
  std::string query;  // ... or a SELECT used as a derived table
  ColumnMapping columns;
  std::chrono::seconds every{60};
  std::chrono::milliseconds safety_lag{30'000};
  int batch_size = 1000;
};

struct FeedConfig {
  std::string name;  // [a-z0-9_-]{1,32}; the watermark is "feed:<name>"
  std::string base_url = "https://datasets-server.huggingface.co";
  std::string dataset;  // OWNER/NAME
  std::string config = "default";
  std::string split = "train";
  std::string customer_column = "input";
  std::string agent_column = "output";
  std::string first_speaker = "customer";  // who speaks first in a row
  int page_size = 100;                     // 1..100
  std::chrono::minutes every{60};
  std::int64_t max_rows_per_run = 10'000;
  std::chrono::milliseconds timeout{30'000};
};

struct CrmConfig {
  std::string provider;  // "leadsquared"
  std::string base_url;
  std::string access_key;
  std::string secret_key;
  std::chrono::seconds every{300};
  int page_size = 100;  // 1..1000
  std::chrono::milliseconds timeout{30'000};
};

// nullopt when the business has no source database configured (kind empty or "none").
[[nodiscard]] Result<std::optional<SourceDbConfig>> parse_source_db(const storage::PipelineConfig& c);
[[nodiscard]] Result<std::vector<FeedConfig>> parse_feeds(const storage::PipelineConfig& c);
// nullopt when no CRM is configured (provider empty or "none").
[[nodiscard]] Result<std::optional<CrmConfig>> parse_crm(const storage::PipelineConfig& c);

// A column or table name usable in SQL text: letters, digits, '_' and '$', not starting with
// a digit, 1-64 characters ("schema.table" allowed where `dotted`).
[[nodiscard]] bool is_plain_identifier(std::string_view name, bool dotted = false);
// `name` backquoted ("a.b" -> `a`.`b`); the name must be a plain identifier.
[[nodiscard]] std::string quote_identifier(std::string_view name);

}  // namespace earshot::sync
