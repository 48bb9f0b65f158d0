#include "mysql_connection.hpp"

#include <errmsg.h>
#include <fmt/format.h>
#include <mysqld_error.h>

#include <cstring>
#include <mutex>
#include <vector>

namespace earshot::storage {

ErrorCode map_mysql_errno(unsigned err) {
  switch (err) {
    case ER_DUP_ENTRY:
    case ER_DUP_KEY:
      return ErrorCode::kAlreadyExists;
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK:
    case ER_CON_COUNT_ERROR:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_QUERY_INTERRUPTED:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_UNKNOWN_HOST:
    case CR_COMMANDS_OUT_OF_SYNC:
      return ErrorCode::kUnavailable;
    case ER_STATEMENT_TIMEOUT:
      return ErrorCode::kTimeout;
    case ER_BAD_NULL_ERROR:
    case ER_NO_DEFAULT_FOR_FIELD:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_DATA_TOO_LONG:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case ER_NO_REFERENCED_ROW_2:
    case ER_ROW_IS_REFERENCED_2:
    case ER_CONSTRAINT_FAILED:
    case ER_WRONG_VALUE_COUNT_ON_ROW:
    case ER_INVALID_CHARACTER_STRING:
    case ER_DIVISION_BY_ZERO:
    case ER_WRONG_VALUE:
      return ErrorCode::kInvalidArgument;
    case ER_NO_SUCH_TABLE:
    case ER_BAD_FIELD_ERROR:
    case ER_BAD_DB_ERROR:
      return ErrorCode::kFailedPrecondition;
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_TABLEACCESS_DENIED_ERROR:
      return ErrorCode::kPermissionDenied;
    default:
      return ErrorCode::kInternal;
  }
}

namespace detail {
namespace {

void library_init() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

unsigned int seconds_ceil(std::chrono::milliseconds d) {
  return static_cast<unsigned int>(std::max<std::int64_t>(1, (d.count() + 999) / 1000));
}

std::string_view sql_head(std::string_view sql) {
  return sql.substr(0, std::min<std::size_t>(sql.size(), 60));
}

MYSQL_TIME to_mysql_time(Timestamp t) {
  using namespace std::chrono;
  MYSQL_TIME out{};
  const auto day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss hms(t - day);
  out.year = static_cast<unsigned>(static_cast<int>(ymd.year()));
  out.month = static_cast<unsigned>(ymd.month());
  out.day = static_cast<unsigned>(ymd.day());
  out.hour = static_cast<unsigned>(hms.hours().count());
  out.minute = static_cast<unsigned>(hms.minutes().count());
  out.second = static_cast<unsigned>(hms.seconds().count());
  out.second_part = static_cast<unsigned long>(hms.subseconds().count()) * 1000UL;
  out.time_type = MYSQL_TIMESTAMP_DATETIME;
  return out;
}

Timestamp from_mysql_time(const MYSQL_TIME& t) {
  using namespace std::chrono;
  const sys_days day = year(static_cast<int>(t.year)) / month(t.month) / std::chrono::day(t.day);
  return time_point_cast<milliseconds>(day) + hours(t.hour) + minutes(t.minute) + seconds(t.second) +
         milliseconds(t.second_part / 1000);
}

enum class Slot { kInt, kDouble, kTime, kBytes };

Slot slot_for(enum_field_types type) {
  switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
      return Slot::kInt;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
      return Slot::kDouble;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_DATE:
      return Slot::kTime;
    default:
      return Slot::kBytes;
  }
}

}  // namespace

bool is_connection_error(unsigned err) {
  switch (err) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_COMMANDS_OUT_OF_SYNC:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
      return true;
    default:
      return false;
  }
}

Status MySqlConnection::connect() {
  library_init();
  close();
  conn_ = mysql_init(nullptr);
  if (conn_ == nullptr) return make_error(ErrorCode::kInternal, "mysql_init failed");
  unsigned int ct = seconds_ceil(settings_.connect_timeout);
  unsigned int rt = seconds_ceil(settings_.read_timeout);
  unsigned int wt = seconds_ceil(settings_.write_timeout);
  my_bool no = 0;
  mysql_optionsv(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
  mysql_optionsv(conn_, MYSQL_OPT_READ_TIMEOUT, &rt);
  mysql_optionsv(conn_, MYSQL_OPT_WRITE_TIMEOUT, &wt);
  mysql_optionsv(conn_, MYSQL_OPT_RECONNECT, &no);  // we reconnect ourselves, knowingly
  mysql_optionsv(conn_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  const char* db = settings_.database.empty() ? nullptr : settings_.database.c_str();
  if (mysql_real_connect(conn_, settings_.host.c_str(), settings_.user.c_str(), settings_.password.c_str(), db,
                         static_cast<unsigned int>(settings_.port), nullptr, CLIENT_FOUND_ROWS) == nullptr) {
    last_errno_ = mysql_errno(conn_);
    Error e(last_errno_ == ER_BAD_DB_ERROR ? ErrorCode::kFailedPrecondition : ErrorCode::kUnavailable,
            fmt::format("mysql {}:{}: {}", settings_.host, settings_.port, mysql_error(conn_)));
    close();
    return std::unexpected(std::move(e));
  }
  broken_ = false;
  // Stored DATETIMEs are UTC; CURRENT_TIMESTAMP must agree.
  // READ COMMITTED: writers lock the rows they touch, not the gaps between index entries, so
  // concurrent transactions appending next to each other (analyses of different calls of one
  // agent) do not deadlock on gap locks. Every invariant here rests on explicit row locks
  // (SELECT ... FOR UPDATE, guarded UPDATEs), which this level keeps.
  // A read-only session (the read replica's pool): a write fails with 1792 instead of landing
  // where replication would overwrite it or break on it.
  std::vector<const char*> session = {"SET time_zone = '+00:00'",
                                      "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"};
  if (settings_.read_only) session.push_back("SET SESSION TRANSACTION READ ONLY");
  for (const char* stmt : session) {
    if (auto r = execute(stmt, {}); !r) {
      close();
      return std::unexpected(r.error());
    }
  }
  last_used = std::chrono::steady_clock::now();
  return {};
}

void MySqlConnection::clear_statements() {
  for (auto& [sql, stmt] : statements_) mysql_stmt_close(stmt);
  statements_.clear();
}

void MySqlConnection::close() {
  clear_statements();
  if (conn_ != nullptr) {
    mysql_close(conn_);
    conn_ = nullptr;
  }
}

bool MySqlConnection::ping() {
  if (conn_ == nullptr) return false;
  if (mysql_ping(conn_) != 0) {
    broken_ = true;
    return false;
  }
  return true;
}

std::unexpected<Error> MySqlConnection::fail_conn(std::string_view what) {
  last_errno_ = mysql_errno(conn_);
  if (is_connection_error(last_errno_)) broken_ = true;
  return std::unexpected(
      Error(map_mysql_errno(last_errno_), fmt::format("mysql {}: {} ({})", what, mysql_error(conn_), last_errno_)));
}

std::unexpected<Error> MySqlConnection::fail_stmt(MYSQL_STMT* stmt, std::string_view sql) {
  last_errno_ = mysql_stmt_errno(stmt);
  if (is_connection_error(last_errno_)) broken_ = true;
  return std::unexpected(
      Error(map_mysql_errno(last_errno_),
            fmt::format("mysql: {} ({}) in \"{}...\"", mysql_stmt_error(stmt), last_errno_, sql_head(sql))));
}

void MySqlConnection::drop_statement(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    mysql_stmt_close(it->second);
    statements_.erase(it);
  }
}

Result<MYSQL_STMT*> MySqlConnection::prepared(std::string_view sql) {
  if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
  // Bounded cache: batch statements vary with the batch size.
  if (statements_.size() >= 256) clear_statements();
  MYSQL_STMT* stmt = mysql_stmt_init(conn_);
  if (stmt == nullptr) return fail_conn("stmt_init");
  if (mysql_stmt_prepare(stmt, sql.data(), sql.size()) != 0) {
    auto err = fail_stmt(stmt, sql);
    mysql_stmt_close(stmt);
    return err;
  }
  statements_.emplace(std::string(sql), stmt);
  return stmt;
}

Result<ExecResult> MySqlConnection::execute(std::string_view sql, std::span<const Value> params) {
  last_errno_ = 0;
  if (broken()) {
    last_errno_ = CR_SERVER_GONE_ERROR;
    return make_error(ErrorCode::kUnavailable, "mysql: connection lost");
  }
  last_used = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    auto stmt_or = prepared(sql);
    if (!stmt_or) return std::unexpected(stmt_or.error());
    MYSQL_STMT* stmt = *stmt_or;
    if (mysql_stmt_param_count(stmt) != params.size()) {
      return make_error(ErrorCode::kInternal, fmt::format("statement \"{}...\" takes {} parameters, {} given",
                                                          sql_head(sql), mysql_stmt_param_count(stmt), params.size()));
    }

    // Parameter buffers live until execute returns.
    std::vector<MYSQL_BIND> binds(params.size());
    std::vector<MYSQL_TIME> times(params.size());
    std::vector<unsigned long> lengths(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      MYSQL_BIND& b = binds[i];
      std::memset(&b, 0, sizeof b);
      const auto& v = params[i].storage();
      if (std::holds_alternative<std::monostate>(v)) {
        b.buffer_type = MYSQL_TYPE_NULL;
      } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = const_cast<std::int64_t*>(n);
      } else if (const auto* d = std::get_if<double>(&v)) {
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = const_cast<double*>(d);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = const_cast<char*>(s->data());
        lengths[i] = s->size();
        b.buffer_length = s->size();
        b.length = &lengths[i];
      } else if (const auto* t = std::get_if<Timestamp>(&v)) {
        times[i] = to_mysql_time(*t);
        b.buffer_type = MYSQL_TYPE_DATETIME;
        b.buffer = &times[i];
      }
    }
    if (!binds.empty() && mysql_stmt_bind_param(stmt, binds.data()) != 0) {
      return fail_stmt(stmt, sql);
    }
    if (mysql_stmt_execute(stmt) != 0) {
      // The server asks for a re-prepare after some schema changes; do it once.
      if (mysql_stmt_errno(stmt) == ER_NEED_REPREPARE && attempt == 0) {
        drop_statement(sql);
        continue;
      }
      auto err = fail_stmt(stmt, sql);
      if (broken_) clear_statements();
      return err;
    }

    ExecResult out;
    MYSQL_RES* meta = mysql_stmt_result_metadata(stmt);
    if (meta != nullptr) {
      my_bool update_max = 1;
      mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
      if (mysql_stmt_store_result(stmt) != 0) {
        mysql_free_result(meta);
        return fail_stmt(stmt, sql);
      }
      const unsigned n = mysql_num_fields(meta);
      MYSQL_FIELD* fields = mysql_fetch_fields(meta);
      std::vector<MYSQL_BIND> rb(n);
      std::vector<std::int64_t> ints(n);
      std::vector<double> doubles(n);
      std::vector<MYSQL_TIME> rtimes(n);
      std::vector<std::string> bytes(n);
      std::vector<unsigned long> rlen(n);
      std::vector<my_bool> nulls(n);
      std::vector<my_bool> errors(n);
      std::vector<Slot> slots(n);
      out.columns.reserve(n);
      for (unsigned i = 0; i < n; ++i) {
        out.columns.emplace_back(fields[i].name, fields[i].name_length);
        MYSQL_BIND& b = rb[i];
        std::memset(&b, 0, sizeof b);
        slots[i] = slot_for(fields[i].type);
        switch (slots[i]) {
          case Slot::kInt:
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = &ints[i];
            b.is_unsigned = static_cast<my_bool>((fields[i].flags & UNSIGNED_FLAG) != 0);
            break;
          case Slot::kDouble:
            b.buffer_type = MYSQL_TYPE_DOUBLE;
            b.buffer = &doubles[i];
            break;
          case Slot::kTime:
            b.buffer_type = MYSQL_TYPE_DATETIME;
            b.buffer = &rtimes[i];
            break;
          case Slot::kBytes:
            bytes[i].resize(std::max<unsigned long>(fields[i].max_length, 1));
            b.buffer_type = MYSQL_TYPE_BLOB;
            b.buffer = bytes[i].data();
            b.buffer_length = bytes[i].size();
            break;
        }
        b.length = &rlen[i];
        b.is_null = &nulls[i];
        b.error = &errors[i];
      }
      if (n > 0 && mysql_stmt_bind_result(stmt, rb.data()) != 0) {
        mysql_free_result(meta);
        mysql_stmt_free_result(stmt);
        return fail_stmt(stmt, sql);
      }
      out.rows.reserve(mysql_stmt_num_rows(stmt));
      while (true) {
        const int rc = mysql_stmt_fetch(stmt);
        if (rc == MYSQL_NO_DATA) break;
        if (rc == 1) {
          mysql_free_result(meta);
          auto err = fail_stmt(stmt, sql);
          mysql_stmt_free_result(stmt);
          return err;
        }
        Row row(n);
        for (unsigned i = 0; i < n; ++i) {
          if (nulls[i]) continue;
          switch (slots[i]) {
            case Slot::kInt:
              row[i] = Value(ints[i]);
              break;
            case Slot::kDouble:
              row[i] = Value(doubles[i]);
              break;
            case Slot::kTime:
              row[i] = Value(from_mysql_time(rtimes[i]));
              break;
            case Slot::kBytes:
              if (rlen[i] > bytes[i].size()) {  // max_length was not enough: fetch the rest
                std::string big(rlen[i], '\0');
                MYSQL_BIND fb;
                std::memset(&fb, 0, sizeof fb);
                fb.buffer_type = MYSQL_TYPE_BLOB;
                fb.buffer = big.data();
                fb.buffer_length = big.size();
                mysql_stmt_fetch_column(stmt, &fb, i, 0);
                row[i] = Value(std::move(big));
              } else {
                row[i] = Value(std::string(bytes[i].data(), rlen[i]));
              }
              break;
          }
        }
        out.rows.push_back(std::move(row));
      }
      mysql_free_result(meta);
      mysql_stmt_free_result(stmt);
    }
    const auto affected = mysql_stmt_affected_rows(stmt);
    out.affected_rows = affected == static_cast<my_ulonglong>(-1) ? 0 : affected;
    out.insert_id = mysql_stmt_insert_id(stmt);
    return out;
  }
}

Status MySqlConnection::begin() {
  last_errno_ = 0;
  if (broken()) return make_error(ErrorCode::kUnavailable, "mysql: connection lost");
  // One statement: autocommit stays on, and COMMIT or ROLLBACK ends the transaction (a
  // SET autocommit before and after cost each transaction two more round trips).
  static constexpr std::string_view kBegin = "START TRANSACTION";
  if (mysql_real_query(conn_, kBegin.data(), kBegin.size()) != 0) return fail_conn("begin");
  return {};
}

Status MySqlConnection::commit() {
  last_errno_ = 0;
  if (broken()) return make_error(ErrorCode::kUnavailable, "mysql: connection lost");
  if (mysql_commit(conn_) != 0) return fail_conn("commit");
  return {};
}

void MySqlConnection::rollback() {
  if (broken()) return;
  if (mysql_rollback(conn_) != 0) {
    // A connection that cannot roll back must not be reused.
    broken_ = true;
  }
}

}  // namespace detail
}  // namespace earshot::storage
