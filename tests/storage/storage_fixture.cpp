#include "storage_fixture.hpp"

#include <fmt/format.h>

#include "earshot/crypto/keyring.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "test_env.hpp"

namespace earshot::testing {

std::unique_ptr<ScratchDatabase> StorageEnvironment::scratch_;
std::unique_ptr<storage::Database> StorageEnvironment::db_;

storage::MySqlSettings mysql_settings(const std::string& database, std::int64_t pool_size) {
  const auto ep = endpoints();
  storage::MySqlSettings s;
  s.host = ep.mysql_host;
  s.port = ep.mysql_port;
  s.user = ep.mysql_user;
  s.password = ep.mysql_password;
  s.database = database;
  s.connect_timeout = std::chrono::seconds(5);
  s.read_timeout = std::chrono::seconds(30);
  s.write_timeout = std::chrono::seconds(30);
  s.pool_size = pool_size;
  return s;
}

ScratchDatabase::ScratchDatabase() : name_("earshot_t_" + unique_suffix()) {
  storage::Database admin(mysql_settings("", 1));
  auto r = admin.execute(fmt::format("CREATE DATABASE `{}` CHARACTER SET utf8mb4", name_));
  if (!r) ADD_FAILURE() << "create database: " << r.error().to_string();
}

ScratchDatabase::~ScratchDatabase() {
  storage::Database admin(mysql_settings("", 1));
  auto r = admin.execute(fmt::format("DROP DATABASE IF EXISTS `{}`", name_));
  if (!r) ADD_FAILURE() << "drop database: " << r.error().to_string();
}

std::vector<storage::Migration> source_migrations() {
  auto m = storage::load_migrations_from_dir(std::string(EARSHOT_SOURCE_DIR) + "/migrations");
  if (!m) {
    ADD_FAILURE() << m.error().to_string();
    return {};
  }
  return std::move(*m);
}

void StorageEnvironment::SetUp() {
  scratch_ = std::make_unique<ScratchDatabase>();
  db_ = std::make_unique<storage::Database>(mysql_settings(scratch_->name(), 16));
  storage::Migrator migrator(*db_, source_migrations());
  auto r = migrator.migrate();
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
}

void StorageEnvironment::TearDown() {
  db_.reset();
  scratch_.reset();
}

storage::Database& StorageEnvironment::db() {
  return *db_;
}
const std::string& StorageEnvironment::database_name() {
  return scratch_->name();
}

storage::TenantId new_tenant(const std::string& prefix) {
  auto t = storage::TenantId::make(prefix + "-" + unique_suffix());
  storage::MySqlBusinessRepository businesses(StorageEnvironment::db());
  auto st = businesses.create(*t, "Business " + t->bid());
  if (!st) ADD_FAILURE() << st.error().to_string();
  return *t;
}

std::map<std::string, std::string> fleet_child_env() {
  const auto ep = endpoints();
  return {
      {"EARSHOT_MYSQL_HOST", ep.mysql_host},
      {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
      {"EARSHOT_MYSQL_USER", ep.mysql_user},
      {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
      {"EARSHOT_MYSQL_DATABASE", StorageEnvironment::database_name()},
      {"EARSHOT_AMQP_URL", ep.amqp_url},
      {"EARSHOT_REDIS_URL", ep.redis_url},
      {"EARSHOT_MASTER_KEYS", "k1:" + crypto::Keyring::generate_key_base64()},
      {"EARSHOT_MASTER_KEY_ID", "k1"},
  };
}

}  // namespace earshot::testing
