#pragma once
// Locks held for the whole of one run of a job (a sync pass), so two processes (the worker
// and an operator's on-demand run) never run the same job of the same business at once.
// Implementation: MySqlRunLocks (mysql_run_locks.hpp), server-wide MariaDB named locks;
// fake: tests/fakes/storage/run_locks_fake.hpp.

#include <memory>
#include <string_view>

#include "earshot/core/error.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::storage {

// A held lock; destroying it releases the lock.
class RunLock {
 public:
  virtual ~RunLock() = default;
};

class RunLocks {
 public:
  virtual ~RunLocks() = default;
  // Takes the lock of job `job` (e.g. "db", "crm", "feed:<name>") of business `t` without
  // waiting. nullptr when someone else holds it (the run should be skipped); kUnavailable when
  // the lock service cannot be reached. Locks of different businesses or jobs are independent.
  [[nodiscard]] virtual Result<std::unique_ptr<RunLock>> try_acquire(const TenantId& t, std::string_view job) = 0;
};

}  // namespace earshot::storage
