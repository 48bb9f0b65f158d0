#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "earshot/core/config.hpp"
#include "earshot/core/health.hpp"

namespace earshot::storage {

struct MySqlSettings {
  std::string host;
  std::int64_t port = 0;
  std::string user;
  std::string password;
  std::string database;
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds read_timeout{0};
  std::chrono::milliseconds write_timeout{0};
  std::int64_t pool_size = 0;
  // Not a key: sessions run read-only (SET SESSION TRANSACTION READ ONLY), so a write sent
  // to this connection fails instead of landing on a replica. Set for the read replica.
  bool read_only = false;

  // Declares mysql_host, mysql_port, mysql_user, mysql_password (secret), mysql_database,
  // mysql_connect_timeout, mysql_read_timeout, mysql_write_timeout, mysql_pool_size.
  void declare(ConfigSpec& spec);
};

// An optional read-only copy of the database (a MariaDB replica, or a proxy in front of
// several) for the gateway's lag-tolerant reads (docs/storage.md, "Read replica"). Only the
// gateway declares these keys. Empty or 0 means the primary's value; an empty host means no
// replica: every read goes to the primary.
struct MySqlReplicaSettings {
  std::string host;
  std::int64_t port = 0;
  std::string user;
  std::string password;
  std::string database;
  std::int64_t pool_size = 0;

  // Declares mysql_replica_host, mysql_replica_port, mysql_replica_user,
  // mysql_replica_password (secret), mysql_replica_database, mysql_replica_pool_size.
  void declare(ConfigSpec& spec);
  [[nodiscard]] bool enabled() const { return !host.empty(); }
  // The connection settings of the replica: these over the primary's (whose timeouts it
  // keeps), read_only set.
  [[nodiscard]] MySqlSettings resolve(const MySqlSettings& primary) const;
};

// Readiness probe: connects with the settings' deadlines and runs a ping. `name` is the
// dependency's name in /readyz and the earshot_dependency_* metrics.
[[nodiscard]] std::unique_ptr<DependencyProbe> make_mysql_probe(const MySqlSettings& settings,
                                                                std::string name = "mysql");

}  // namespace earshot::storage
