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

  // Declares mysql_host, mysql_port, mysql_user, mysql_password (secret), mysql_database,
  // mysql_connect_timeout, mysql_read_timeout, mysql_write_timeout, mysql_pool_size.
  void declare(ConfigSpec& spec);
};

// Readiness probe: connects with the settings' deadlines and runs a ping.
[[nodiscard]] std::unique_ptr<DependencyProbe> make_mysql_probe(const MySqlSettings& settings);

}  // namespace earshot::storage
