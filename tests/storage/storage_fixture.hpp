#pragma once
// A throwaway database per test binary: earshot_t_<random>, migrated from the repository's
// migrations/ directory, dropped when the binary ends. Tests share it and keep apart by
// using their own businesses (fresh TenantIds), so they need no cleanup between them.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_settings.hpp"
#include "earshot/storage/sql.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::testing {

// Settings for the test server with `database` selected ("" = none).
[[nodiscard]] storage::MySqlSettings mysql_settings(const std::string& database, std::int64_t pool_size = 8);

// Creates (and later drops) a uniquely named empty database.
class ScratchDatabase {
 public:
  ScratchDatabase();
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// The migrations/ directory of the source tree.
[[nodiscard]] std::vector<storage::Migration> source_migrations();

// gtest environment owning the migrated database of the binary.
class StorageEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
  static storage::Database& db();
  static const std::string& database_name();

 private:
  static std::unique_ptr<ScratchDatabase> scratch_;
  static std::unique_ptr<storage::Database> db_;
};

// The environment a fleet binary started as a child process needs to reach the test
// services and this binary's migrated database: EARSHOT_MYSQL_* (its database),
// EARSHOT_AMQP_URL, EARSHOT_REDIS_URL, and a fresh random master key (EARSHOT_MASTER_KEYS,
// EARSHOT_MASTER_KEY_ID k1). Callers add their own keys.
[[nodiscard]] std::map<std::string, std::string> fleet_child_env();

// A new business (row in `businesses`) with a unique bid.
[[nodiscard]] storage::TenantId new_tenant(const std::string& prefix = "b");

}  // namespace earshot::testing
