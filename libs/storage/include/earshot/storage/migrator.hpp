#pragma once
// Schema migrations: numbered SQL files (migrations/0001_name.sql, ...) applied in order.
//
// Each applied file is recorded in schema_migrations(version, name, checksum, applied_at)
// with the SHA-256 of its bytes. A run refuses to continue (kFailedPrecondition naming the
// file) when an applied file's content changed: fix forward with a new file instead.
// Runs are serialized by a server-wide named lock (GET_LOCK 'earshot_migrate:<database>'),
// so any number of processes may run `earshot migrate` at once; each file applies once.
// DDL commits implicitly in MySQL, so a file that fails half-way leaves its earlier
// statements applied and is not recorded: write statements that can run again
// (CREATE TABLE IF NOT EXISTS, ...).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::storage {

struct Migration {
  int version = 0;
  std::string name;       // "initial_schema"
  std::string file_name;  // "0001_initial_schema.sql"
  std::string sql;
  std::string checksum;  // hex SHA-256 of `sql`
};

// Builds a Migration from a file name "NNNN_name.sql" and its content.
[[nodiscard]] Result<Migration> make_migration(std::string_view file_name, std::string sql);
// Reads every NNNN_*.sql of `dir`, sorted by version; duplicate versions are an error.
[[nodiscard]] Result<std::vector<Migration>> load_migrations_from_dir(const std::string& dir);
// The repository's migrations/ compiled into the library.
[[nodiscard]] std::vector<Migration> embedded_migrations();

// Splits a script into statements on ';' outside quotes, backticks and comments. Comments
// are dropped; empty statements are skipped. kInvalidArgument on an unterminated quote or
// comment.
[[nodiscard]] Result<std::vector<std::string>> split_sql_statements(std::string_view script);

struct MigrationStatus {
  int version = 0;
  std::string file_name;
  bool applied = false;
  std::optional<Timestamp> applied_at;
  bool changed = false;       // applied, but the file's checksum differs
  bool file_missing = false;  // recorded as applied, but no such file any more
};

class Migrator {
 public:
  Migrator(Database& db, std::vector<Migration> migrations,
           std::chrono::seconds lock_timeout = std::chrono::seconds(60));

  // Applied and pending files in version order.
  [[nodiscard]] Result<std::vector<MigrationStatus>> status();
  // Applies every pending file in order; returns the versions this call applied (empty when
  // already up to date). kFailedPrecondition when an applied file changed; kTimeout when
  // the lock was not obtained within lock_timeout.
  [[nodiscard]] Result<std::vector<int>> migrate();

 private:
  Database& db_;
  std::vector<Migration> migrations_;
  std::chrono::seconds lock_timeout_;
};

}  // namespace earshot::storage
