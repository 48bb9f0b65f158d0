#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "earshot/core/backoff.hpp"
#include "earshot/core/log.hpp"
#include "earshot/storage/sql.hpp"
#include "mysql_connection.hpp"

namespace earshot::storage {

struct Database::Lease::Slot {
  std::unique_ptr<detail::MySqlConnection> conn;
};

struct Database::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Lease::Slot>> slots;
  std::vector<Lease::Slot*> free;
  std::atomic<std::uint64_t> retries{0};
};

namespace {
// A connection idle longer than this is pinged before it is handed out: the server (or a
// proxy) may have closed it in the meantime.
constexpr auto kPingAfterIdle = std::chrono::seconds(10);
}  // namespace

Database::Database(MySqlSettings settings, PoolOptions options)
    : settings_(std::move(settings)), options_(options), impl_(std::make_unique<Impl>()) {
  const auto n = static_cast<std::size_t>(std::max<std::int64_t>(1, settings_.pool_size));
  for (std::size_t i = 0; i < n; ++i) {
    impl_->slots.push_back(std::make_unique<Lease::Slot>());
    impl_->free.push_back(impl_->slots.back().get());
  }
}

Database::~Database() = default;

Database::Lease::Lease(Lease&& other) noexcept : db_(other.db_), slot_(other.slot_) {
  other.db_ = nullptr;
  other.slot_ = nullptr;
}

Database::Lease::~Lease() {
  if (db_ != nullptr && slot_ != nullptr) db_->release(slot_);
}

Connection& Database::Lease::operator*() const {
  return *slot_->conn;
}
Connection* Database::Lease::operator->() const {
  return slot_->conn.get();
}

void Database::release(Lease::Slot* slot) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->free.push_back(slot);
  }
  impl_->cv.notify_one();
}

Result<Database::Lease> Database::acquire() {
  Lease::Slot* slot = nullptr;
  {
    std::unique_lock lock(impl_->mu);
    const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
    if (!impl_->cv.wait_until(lock, deadline, [&] { return !impl_->free.empty(); })) {
      return make_error(ErrorCode::kUnavailable, fmt::format("mysql pool: no free connection within {} ms ({} in use)",
                                                             options_.acquire_timeout.count(), impl_->slots.size()));
    }
    slot = impl_->free.back();
    impl_->free.pop_back();
  }
  Lease lease(this, slot);  // returns the slot to the pool on every path below
  if (!slot->conn) slot->conn = std::make_unique<detail::MySqlConnection>(settings_);
  auto& c = *slot->conn;
  if (!c.broken() && std::chrono::steady_clock::now() - c.last_used > kPingAfterIdle) {
    (void)c.ping();
  }
  if (c.broken()) {
    if (auto st = c.connect(); !st) return std::unexpected(st.error());
  }
  return lease;
}

Result<ExecResult> Database::execute(std::string_view sql, std::span<const Value> params) {
  auto lease = acquire();
  if (!lease) return std::unexpected(lease.error());
  return (*lease)->execute(sql, params);
}

std::uint64_t Database::transaction_retries() const {
  return impl_->retries.load();
}

Status Database::run_transaction(const std::function<Status(Connection&)>& fn) {
  Backoff backoff(options_.retry_initial_backoff, options_.retry_max_backoff);
  for (int attempt = 1;; ++attempt) {
    Status st;
    unsigned err = 0;
    {
      auto lease = acquire();
      if (!lease) return std::unexpected(lease.error());
      auto& conn = static_cast<detail::MySqlConnection&>(**lease);
      st = conn.begin();
      if (st) st = fn(conn);
      if (st) st = conn.commit();
      if (st) return {};
      err = conn.last_errno();
      conn.rollback();
    }  // the connection goes back to the pool before any backoff
    const bool retryable = err == kErLockDeadlock || err == kErLockWaitTimeout;
    if (!retryable) return st;
    if (attempt >= options_.max_transaction_attempts) {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("transaction gave up after {} attempts: {}", attempt, st.error().message));
    }
    impl_->retries.fetch_add(1);
    const auto delay = backoff.next();
    // A degraded mode, not an error: the caller only hears about it if retries run out.
    log::warn("mysql transaction retried", {{"errno", std::to_string(err)},
                                            {"attempt", std::to_string(attempt)},
                                            {"delay_ms", std::to_string(delay.count())}});
    std::this_thread::sleep_for(delay);
  }
}

}  // namespace earshot::storage
