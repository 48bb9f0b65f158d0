#pragma once
// The SQL layer every repository is built on: prepared statements only, a bounded pool of
// connections with deadlines, and transactions retried on deadlock / lock wait timeout.
// No MariaDB client type appears here; values cross the boundary as `Value`.
//
// Threading: a Database is shared by all threads; a Connection (leased from the pool) is
// used by one thread at a time and goes back to the pool when the lease is destroyed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/storage/mysql_settings.hpp"

namespace earshot::storage {

// Stored times are UTC with millisecond precision (DATETIME(3); sessions run at +00:00).
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

[[nodiscard]] inline Timestamp to_timestamp(std::chrono::system_clock::time_point t) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

// One bound parameter or fetched column. Strings are byte strings (BLOBs too).
class Value {
 public:
  using Storage = std::variant<std::monostate, std::int64_t, double, std::string, Timestamp>;

  Value() = default;
  Value(std::nullptr_t) {}                        // NOLINT: implicit, so {nullptr, 1, "x"} lists read naturally
  Value(std::nullopt_t) {}                        // NOLINT
  Value(bool b) : v_(std::int64_t{b ? 1 : 0}) {}  // NOLINT
  Value(int i) : v_(std::int64_t{i}) {}           // NOLINT
  Value(long i) : v_(std::int64_t{i}) {}          // NOLINT
  Value(long long i) : v_(std::int64_t{i}) {}     // NOLINT
  Value(unsigned u) : v_(static_cast<std::int64_t>(u)) {}            // NOLINT
  Value(unsigned long u) : v_(static_cast<std::int64_t>(u)) {}       // NOLINT
  Value(unsigned long long u) : v_(static_cast<std::int64_t>(u)) {}  // NOLINT
  Value(double d) : v_(d) {}                                         // NOLINT
  Value(std::string s) : v_(std::move(s)) {}                         // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}                  // NOLINT
  Value(const char* s) : v_(std::string(s)) {}                       // NOLINT
  Value(Timestamp t) : v_(t) {}                                      // NOLINT
  template <class T>
  Value(const std::optional<T>& o) {  // NOLINT
    if (o) *this = Value(*o);
  }

  [[nodiscard]] bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  [[nodiscard]] const Storage& storage() const { return v_; }

  // Accessors convert where lossless-enough (int <-> double, numeric text); a NULL or an
  // unconvertible value yields the fallback / nullopt.
  [[nodiscard]] std::int64_t as_int(std::int64_t fallback = 0) const;
  [[nodiscard]] double as_double(double fallback = 0) const;
  [[nodiscard]] std::string as_string() const;
  // as_string, moving the text out when the value holds one (the value is left empty).
  [[nodiscard]] std::string take_string();
  [[nodiscard]] Timestamp as_time() const;
  [[nodiscard]] std::optional<std::int64_t> opt_int() const;
  [[nodiscard]] std::optional<double> opt_double() const;
  [[nodiscard]] std::optional<std::string> opt_string() const;
  [[nodiscard]] std::optional<Timestamp> opt_time() const;

 private:
  Storage v_;
};

using Row = std::vector<Value>;

struct ExecResult {
  // UPDATE/DELETE: rows matched (connections use CLIENT_FOUND_ROWS). INSERT ... ON
  // DUPLICATE KEY UPDATE: 1 per inserted row, 2 per updated row.
  std::uint64_t affected_rows = 0;
  std::uint64_t insert_id = 0;  // first AUTO_INCREMENT id of an INSERT, else 0
  std::vector<std::string> columns;
  std::vector<Row> rows;
};

// A leased connection. Every statement is prepared (and cached per connection); SQL text
// never contains values.
class Connection {
 public:
  virtual ~Connection() = default;
  [[nodiscard]] virtual Result<ExecResult> execute(std::string_view sql, std::span<const Value> params) = 0;
  [[nodiscard]] Result<ExecResult> execute(std::string_view sql, std::initializer_list<Value> params = {}) {
    return execute(sql, std::span<const Value>(params.begin(), params.size()));
  }
  // MySQL error number of the last failure (0 after success); used by retry policies.
  [[nodiscard]] virtual unsigned last_errno() const = 0;
};

struct PoolOptions {
  // How long acquire() waits for a free connection before failing with kUnavailable.
  std::chrono::milliseconds acquire_timeout{2000};
  // Attempts of a transaction that failed with deadlock (1213) or lock wait timeout (1205).
  int max_transaction_attempts = 5;
  std::chrono::milliseconds retry_initial_backoff{5};
  std::chrono::milliseconds retry_max_backoff{200};
};

class Database {
 public:
  // Connections are opened lazily (up to settings.pool_size); nothing connects here.
  Database(MySqlSettings settings, PoolOptions options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  class Lease {
   public:
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Connection& operator*() const;
    Connection* operator->() const;

   private:
    friend class Database;
    struct Slot;
    Lease(Database* db, Slot* slot) : db_(db), slot_(slot) {}
    Database* db_;
    Slot* slot_;
  };

  // Waits up to options.acquire_timeout for a free connection, (re)connecting it if it was
  // never opened or was lost. Errors: kUnavailable.
  [[nodiscard]] Result<Lease> acquire();

  // Autocommit statement on a leased connection.
  [[nodiscard]] Result<ExecResult> execute(std::string_view sql, std::span<const Value> params);
  [[nodiscard]] Result<ExecResult> execute(std::string_view sql, std::initializer_list<Value> params = {}) {
    return execute(sql, std::span<const Value>(params.begin(), params.size()));
  }

  // Runs `fn` inside BEGIN..COMMIT on one connection. `fn` returning an error rolls back.
  // Deadlock (1213) and lock wait timeout (1205) roll back and re-run `fn` from the start,
  // up to options.max_transaction_attempts, then fail with kUnavailable. So `fn` must have
  // no effects outside the transaction.
  template <class T>
  [[nodiscard]] Result<T> transaction(const std::function<Result<T>(Connection&)>& fn) {
    std::optional<Result<T>> out;
    Status st = run_transaction([&](Connection& c) -> Status {
      out.emplace(fn(c));
      if (!*out) return std::unexpected(out->error());
      return {};
    });
    if (!st) return std::unexpected(st.error());
    // Not reached: a committed transaction ran `fn`, which set `out`.
    if (!out) return std::unexpected(Error(ErrorCode::kInternal, "transaction committed without a result"));
    return std::move(*out);
  }
  [[nodiscard]] Status transaction(const std::function<Status(Connection&)>& fn) { return run_transaction(fn); }

  [[nodiscard]] const MySqlSettings& settings() const { return settings_; }
  // Transactions that were retried after deadlock / lock wait timeout (for metrics, tests).
  [[nodiscard]] std::uint64_t transaction_retries() const;

 private:
  struct Impl;
  [[nodiscard]] Status run_transaction(const std::function<Status(Connection&)>& fn);
  void release(Lease::Slot* slot);

  MySqlSettings settings_;
  PoolOptions options_;
  std::unique_ptr<Impl> impl_;
};

// The MySQL error numbers the retry policy cares about.
inline constexpr unsigned kErLockWaitTimeout = 1205;
inline constexpr unsigned kErLockDeadlock = 1213;
inline constexpr unsigned kErDupEntry = 1062;

// Maps a MySQL / client error number to the code callers act on.
[[nodiscard]] ErrorCode map_mysql_errno(unsigned err);

}  // namespace earshot::storage
