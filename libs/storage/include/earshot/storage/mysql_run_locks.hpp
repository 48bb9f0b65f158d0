#pragma once
// RunLocks over MariaDB named locks (GET_LOCK): server-wide, so every process using the same
// database server shares them. A lock lives on one connection, taken from the pool for as
// long as the lock is held (a pool connection per running job) and returned when the lock
// is released; if that session ends, MariaDB releases its locks. Lock names are derived from
// the database name, the business and the job (64 characters at most).

#include "earshot/storage/run_locks.hpp"
#include "earshot/storage/sql.hpp"

namespace earshot::storage {

class MySqlRunLocks final : public RunLocks {
 public:
  explicit MySqlRunLocks(Database& db) : db_(db) {}
  Result<std::unique_ptr<RunLock>> try_acquire(const TenantId& t, std::string_view job) override;

 private:
  Database& db_;
};

}  // namespace earshot::storage
