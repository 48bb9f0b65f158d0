// RunLocks over MariaDB named locks: GET_LOCK / RELEASE_LOCK on one pooled connection.
#include <fmt/format.h>

#include "earshot/core/log.hpp"
#include "earshot/crypto/base64.hpp"
#include "earshot/storage/mysql_run_locks.hpp"

namespace earshot::storage {

namespace {

// GET_LOCK locks belong to the session that took them: the connection stays leased (out of
// the pool) for as long as the lock is held, and is returned to the pool after the release.
class MySqlRunLock final : public RunLock {
 public:
  MySqlRunLock(Database::Lease lease, std::string name) : lease_(std::move(lease)), name_(std::move(name)) {}
  MySqlRunLock(const MySqlRunLock&) = delete;
  MySqlRunLock& operator=(const MySqlRunLock&) = delete;
  ~MySqlRunLock() override {
    // Nothing to hand an error to from a destructor. A failure almost always means the
    // session is gone, and MariaDB releases a session's GET_LOCK locks when it ends;
    // otherwise the next run of this job finds the lock taken and skips until the session
    // closes.
    if (auto r = lease_->execute("SELECT RELEASE_LOCK(?)", {name_}); !r) {
      log::warn("run lock not released", {{"lock", name_}, {"error", r.error().to_string()}});
    }
  }

 private:
  Database::Lease lease_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<RunLock>> MySqlRunLocks::try_acquire(const TenantId& t, std::string_view job) {
  // Lock names are server-wide and limited to 64 characters: a digest of the database (two
  // databases on one server do not share locks), the business and the job.
  const auto digest =
      crypto::hex_encode(crypto::sha256(fmt::format("{}|{}|{}", db_.settings().database, t.bid(), job)));
  std::string name = "earshot_sync_" + digest.substr(0, 40);
  auto lease = db_.acquire();
  if (!lease) return std::unexpected(lease.error());
  auto r = (*lease)->execute("SELECT GET_LOCK(?, 0)", {name});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty() || r->rows[0][0].as_int() != 1) return std::unique_ptr<RunLock>();
  return std::unique_ptr<RunLock>(std::make_unique<MySqlRunLock>(std::move(*lease), std::move(name)));
}

}  // namespace earshot::storage
