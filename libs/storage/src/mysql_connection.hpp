#pragma once
// The MariaDB Connector/C implementation of Connection. Internal to libs/storage.

#include <mysql.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "earshot/core/string_hash.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::storage::detail {

class MySqlConnection final : public Connection {
 public:
  explicit MySqlConnection(const MySqlSettings& settings) : settings_(settings) {}
  ~MySqlConnection() override { close(); }
  MySqlConnection(const MySqlConnection&) = delete;
  MySqlConnection& operator=(const MySqlConnection&) = delete;

  [[nodiscard]] Status connect();
  void close();
  // True once a connection-level failure was seen; the pool reconnects before reuse.
  [[nodiscard]] bool broken() const { return conn_ == nullptr || broken_; }
  // Round-trip check for a connection that sat idle (the server may have dropped it).
  [[nodiscard]] bool ping();

  [[nodiscard]] Result<ExecResult> execute(std::string_view sql, std::span<const Value> params) override;
  using Connection::execute;
  [[nodiscard]] unsigned last_errno() const override { return last_errno_; }

  [[nodiscard]] Status begin();
  [[nodiscard]] Status commit();
  void rollback();

  std::chrono::steady_clock::time_point last_used{};

 private:
  [[nodiscard]] std::unexpected<Error> fail_conn(std::string_view what);
  [[nodiscard]] std::unexpected<Error> fail_stmt(MYSQL_STMT* stmt, std::string_view sql);
  [[nodiscard]] Result<MYSQL_STMT*> prepared(std::string_view sql);
  void drop_statement(std::string_view sql);
  void clear_statements();

  MySqlSettings settings_;
  MYSQL* conn_ = nullptr;
  bool broken_ = false;
  unsigned last_errno_ = 0;
  // Looked up by the statement's text without copying it.
  std::unordered_map<std::string, MYSQL_STMT*, StringHash, std::equal_to<>> statements_;
};

// True for client/server errors meaning the connection itself is gone.
[[nodiscard]] bool is_connection_error(unsigned err);

}  // namespace earshot::storage::detail
