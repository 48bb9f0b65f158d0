#pragma once
// The data lifecycle of every business, run by earshot-sync (docs/storage.md "Data
// lifecycle"): retention deletes the calls started more than `retention_days` ago with
// everything derived from them, and phone hashing replaces the customer number of finished
// calls by its peppered hash when the business set `hash_phone_after_analysis`.
//
// One sweep visits every business (enabled or not: retention applies to both). Per business:
// - it takes the business's "lifecycle" run lock (a MariaDB named lock), so replicas of the
//   sync worker never sweep one business at once; a business locked elsewhere is skipped;
// - retention, in batches of `batch_size` calls (oldest first), at most `max_batches` per
//   sweep: each batch's recordings are deleted from the object store first (only objects under
//   the business's own prefix; an absent object is already gone), then the batch's rows in one
//   transaction (transcript, metrics, analyses, events, notes, escalations, category matches,
//   embeddings, the deliveries quoting the call and their attempts), then one `calls.purged`
//   live event per batch tells the gateways to drop the calls from their search indexes. A call
//   whose recording the store could not delete now keeps its rows (the next sweep retries);
// - phone hashing, in batches of `batch_size`, at most `max_batches`, of calls `notified`
//   (the pipeline, CRM write-back included, is done with the number);
// - one log line (bid, counts, cutoff, whether work is left for the next sweep).
// Metrics: earshot_lifecycle_runs_total{outcome}, earshot_lifecycle_calls_purged_total,
// earshot_lifecycle_objects_deleted_total, earshot_lifecycle_phones_hashed_total,
// earshot_lifecycle_errors_total{step}, earshot_lifecycle_last_run_timestamp_seconds and
// earshot_lifecycle_last_success_timestamp_seconds (0 until a sweep succeeds).
//
// LifecycleScheduler runs a sweep when started and then every `interval` on its own thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "earshot/cache/live_events.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/core/service.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/storage/repositories.hpp"
#include "earshot/storage/run_locks.hpp"

namespace earshot::sync {

struct LifecycleOptions {
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  int batch_size = 500;   // 1..10000
  int max_batches = 200;  // per business and step in one sweep
};

struct LifecycleDeps {
  storage::BusinessRepository& businesses;
  storage::PipelineConfigRepository& configs;
  storage::CallRepository& calls;
  storage::RunLocks& locks;
  objectstore::ObjectStore& objects;
  cache::LiveEvents* events;  // may be null (no index updates announced)
  Metrics& metrics;
  const Clock& clock;
};

// What one sweep did for one business.
struct BusinessSweep {
  std::string bid;
  bool skipped = false;  // locked by another process
  std::int64_t calls_purged = 0;
  std::int64_t objects_deleted = 0;
  std::int64_t phones_hashed = 0;
  bool more_left = false;  // max_batches reached: the next sweep goes on
  std::vector<std::string> errors;
};

class LifecycleSweeper {
 public:
  LifecycleSweeper(LifecycleDeps deps, LifecycleOptions options);

  // Every business once; kUnavailable when the list of businesses cannot be read.
  [[nodiscard]] Result<std::vector<BusinessSweep>> run_once();
  // One business (takes its lock).
  [[nodiscard]] BusinessSweep sweep(const std::string& bid);
  // Makes a sweep in progress stop after its current batch (shutdown); final.
  void cancel() { cancelled_ = true; }

 private:
  void purge(const storage::TenantId& t, int retention_days, BusinessSweep& out);
  void hash_phones(const storage::TenantId& t, BusinessSweep& out);
  void error(BusinessSweep& out, std::string_view step, const std::string& message);

  LifecycleDeps d_;
  LifecycleOptions o_;
  std::atomic<bool> cancelled_{false};
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Counter& purged_;
  prometheus::Counter& objects_deleted_;
  prometheus::Counter& phones_hashed_;
  prometheus::Gauge& last_run_;
  prometheus::Gauge& last_success_;
};

class LifecycleScheduler final : public Component {
 public:
  LifecycleScheduler(LifecycleSweeper& sweeper, std::chrono::milliseconds interval)
      : sweeper_(sweeper), interval_(interval) {}
  ~LifecycleScheduler() override;

  [[nodiscard]] std::string name() const override { return "lifecycle"; }
  [[nodiscard]] Status start() override;
  void stop_intake() override;
  void stop() override;
  // Sweeps finished since start (for tests).
  [[nodiscard]] std::int64_t sweeps() const;

 private:
  void loop();

  LifecycleSweeper& sweeper_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::int64_t sweeps_ = 0;
  std::thread thread_;
};

}  // namespace earshot::sync
