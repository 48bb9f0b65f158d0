#include "earshot/storage/mysql_settings.hpp"

#include <fmt/format.h>
#include <mysql.h>

namespace earshot::storage {

void MySqlSettings::declare(ConfigSpec& spec) {
  spec.add_string("mysql_host", &host, "127.0.0.1", "MariaDB/MySQL host.");
  spec.add_int("mysql_port", &port, 3306, 1, 65535, "MariaDB/MySQL port.");
  spec.add_string("mysql_user", &user, "earshot", "Database user.");
  spec.add_string("mysql_password", &password, "", "Database password.", {.secret = true});
  spec.add_string("mysql_database", &database, "earshot", "Database (schema) name.");
  spec.add_duration("mysql_connect_timeout", &connect_timeout, std::chrono::seconds(2), std::chrono::milliseconds(100),
                    std::chrono::minutes(1), "Deadline to establish a connection.");
  spec.add_duration("mysql_read_timeout", &read_timeout, std::chrono::seconds(30), std::chrono::seconds(1),
                    std::chrono::hours(1), "Deadline of one read.");
  spec.add_duration("mysql_write_timeout", &write_timeout, std::chrono::seconds(30), std::chrono::seconds(1),
                    std::chrono::hours(1), "Deadline of one write.");
  spec.add_int("mysql_pool_size", &pool_size, 16, 1, 512,
               "Connections in the pool, opened as they are needed (the gateway: at least "
               "http_threads, or handlers wait for a connection).");
}

void MySqlReplicaSettings::declare(ConfigSpec& spec) {
  spec.add_string("mysql_replica_host", &host, "",
                  "Host of a read-only copy of the database (a replica, or a proxy in front of "
                  "several) that serves the lag-tolerant reads: the calls list, analytics and "
                  "the pipeline status. Empty: every read goes to mysql_host.");
  spec.add_int("mysql_replica_port", &port, 0, 0, 65535, "Port of the replica; 0: mysql_port.");
  spec.add_string("mysql_replica_user", &user, "", "Database user on the replica; empty: mysql_user.");
  spec.add_string("mysql_replica_password", &password, "", "Password on the replica; empty: mysql_password.",
                  {.secret = true});
  spec.add_string("mysql_replica_database", &database, "",
                  "Database (schema) name on the replica; empty: mysql_database.");
  spec.add_int("mysql_replica_pool_size", &pool_size, 0, 0, 512,
               "Connections to the replica, opened as they are needed; 0: mysql_pool_size.");
}

MySqlSettings MySqlReplicaSettings::resolve(const MySqlSettings& primary) const {
  MySqlSettings s = primary;
  s.host = host;
  if (port != 0) s.port = port;
  if (!user.empty()) s.user = user;
  if (!password.empty()) s.password = password;
  if (!database.empty()) s.database = database;
  if (pool_size != 0) s.pool_size = pool_size;
  s.read_only = true;
  return s;
}

namespace {

unsigned int seconds_ceil(std::chrono::milliseconds d) {
  return static_cast<unsigned int>((d.count() + 999) / 1000);
}

class MySqlProbe final : public DependencyProbe {
 public:
  MySqlProbe(MySqlSettings s, std::string name) : s_(std::move(s)), name_(std::move(name)) {}
  ~MySqlProbe() override { close(); }

  std::string name() const override { return name_; }

  Status connect() override {
    close();
    conn_ = mysql_init(nullptr);
    if (conn_ == nullptr) return make_error(ErrorCode::kInternal, "mysql_init failed");
    unsigned int ct = seconds_ceil(s_.connect_timeout);
    unsigned int rt = 2;  // a probe's ping must answer fast
    mysql_optionsv(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(conn_, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_optionsv(conn_, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    if (mysql_real_connect(conn_, s_.host.c_str(), s_.user.c_str(), s_.password.c_str(), s_.database.c_str(),
                           static_cast<unsigned int>(s_.port), nullptr, 0) == nullptr) {
      std::string msg = fmt::format("mysql {}:{}: {}", s_.host, s_.port, mysql_error(conn_));
      close();
      return make_error(ErrorCode::kUnavailable, std::move(msg));
    }
    return {};
  }

  Status ping() override {
    if (conn_ == nullptr) return make_error(ErrorCode::kUnavailable, "mysql: not connected");
    if (mysql_ping(conn_) != 0) {
      return make_error(ErrorCode::kUnavailable, fmt::format("mysql: {}", mysql_error(conn_)));
    }
    return {};
  }

  void close() override {
    if (conn_ != nullptr) {
      mysql_close(conn_);
      conn_ = nullptr;
    }
  }

 private:
  MySqlSettings s_;
  std::string name_;
  MYSQL* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<DependencyProbe> make_mysql_probe(const MySqlSettings& settings, std::string name) {
  return std::make_unique<MySqlProbe>(settings, std::move(name));
}

}  // namespace earshot::storage
