#pragma once
// Pulling calls into the pipeline (docs/sync.md): the source-database sync, the LeadSquared
// lead sync and the transcript feeds. Each `run_once(bid)` does one incremental pass for one
// business and is safe to repeat or interrupt at any point: calls are upserted on
// (bid, external_id), messages are published with confirms, and a watermark is advanced only
// after the database commit and the broker's confirms of everything before it.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "earshot/cache/live_events.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/repositories.hpp"
#include "earshot/storage/run_locks.hpp"
#include "earshot/sync/sync_config.hpp"
#include "earshot/sync/throttle.hpp"

namespace earshot::sync {

// Watermark sources (sync_watermarks.source).
inline constexpr std::string_view kDbSource = "db";
inline constexpr std::string_view kCrmSource = "crm";
// The lead filter's state; its position is "ok: ..." or "blocked: <reason>", shown by the
// gateway's pipeline status with the watermarks.
inline constexpr std::string_view kLeadFilterSource = "lead_filter";
// The outcome of the source database's last pass: "ok: ..." or "error: <reason>" (a bad
// query or mapping, an unreachable source), shown by the pipeline status like the others.
inline constexpr std::string_view kDbStatusSource = "db_status";
[[nodiscard]] std::string feed_source(std::string_view feed_name);  // "feed:<name>"

// Declares a business's stage queues before messages are published to them (mandatory
// publishes to an undeclared queue fail). Thread-safe; remembers what it declared.
class QueueDeclarer {
 public:
  virtual ~QueueDeclarer() = default;
  [[nodiscard]] virtual Status ensure(queue::Stage stage, const std::string& bid) = 0;
};

class TopologyDeclarer final : public QueueDeclarer {
 public:
  TopologyDeclarer(queue::AmqpSettings amqp, queue::TopologySettings topology);
  [[nodiscard]] Status ensure(queue::Stage stage, const std::string& bid) override;

 private:
  std::mutex mu_;
  queue::TopologyAdmin admin_;
  std::set<std::pair<queue::Stage, std::string>> done_;
};

struct SyncDeps {
  // One lock per business and source, held for the whole pass, so the worker and an
  // on-demand `earshot sync --once` never run the same pass at once.
  storage::RunLocks& run_locks;
  storage::PipelineConfigRepository& configs;
  storage::CallRepository& calls;
  storage::HumanAgentRepository& agents;
  storage::TranscriptRepository& transcripts;
  storage::WatermarkRepository& watermarks;
  storage::CrmLeadRepository& leads;
  queue::Publisher& publisher;
  QueueDeclarer& declarer;
  queue::TopologySettings topology;
  Metrics& metrics;
  Clock& clock;
  http::HttpClient* http = nullptr;  // CRM and feeds; null: those report kFailedPrecondition
  // Waits (interruptibly) between HTTP attempts and for the CRM throttle; returns false when
  // the caller should give up (shutting down). Default: sleeps.
  std::function<bool(std::chrono::milliseconds)> sleep;
  // When set, a `call.status` live event for every call created (and every call the sync
  // fails); publishing failures are logged and counted there, never fail the pass.
  cache::LiveEvents* live = nullptr;
  // The binary's egress policy for the business's source database: the host is resolved,
  // every address checked (port included) and the connection made to the checked IP (no
  // second resolution); a refused destination fails the pass with "destination not allowed"
  // and network failures read "source database unreachable" (the detail is logged only).
  // The worker always sets it (with `http` a TenantHttpClient under the same policy); unset:
  // no check (in-process tests and the operator's own CLI).
  std::optional<http::AddressPolicy> egress;
};

struct SyncReport {
  std::string source;
  bool configured = true;
  bool blocked = false;      // require mode without leads
  std::int64_t rows = 0;     // rows read from the source
  std::int64_t created = 0;  // new calls
  std::int64_t updated = 0;  // calls that existed
  std::int64_t published = 0;
  std::int64_t skipped = 0;   // filtered out (lead filter) or rejected (malformed)
  std::int64_t rejected = 0;  // malformed rows / leads (subset of skipped)
  std::int64_t leads = 0;     // CRM: leads stored
  std::int64_t requests = 0;  // CRM / feed: HTTP requests sent
  std::string position;       // watermark after the run
  std::string note;
  // Where a source-database pass spent its time: reading the source; writing batches (upserts,
  // failures, announcements; summed over batches, of which two are written at once, so it can
  // exceed the pass); waiting for the oldest batch to be committed and confirmed before the
  // next could start or the pass could end.
  std::int64_t read_ms = 0;
  std::int64_t write_ms = 0;
  std::int64_t publish_wait_ms = 0;
};

// Counters and gauges shared by the sync jobs.
struct SyncMetrics {
  explicit SyncMetrics(Metrics& m);
  prometheus::Family<prometheus::Counter>* synced;    // earshot_calls_synced_total{source}
  prometheus::Family<prometheus::Counter>* rejected;  // earshot_sync_rows_rejected_total{source}
  prometheus::Family<prometheus::Counter>* runs;      // earshot_sync_runs_total{source,result}
  prometheus::Family<prometheus::Gauge>* blocked;     // earshot_sync_lead_filter_blocked{bid}
  prometheus::Family<prometheus::Counter>* leads;     // earshot_crm_leads_synced_total
  prometheus::Family<prometheus::Counter>* http;      // earshot_sync_http_requests_total{source,status}
};

class SourceDbSync {
 public:
  explicit SourceDbSync(SyncDeps deps);
  ~SourceDbSync();
  // One incremental pass: every source row up to (source clock - safety lag), in batches.
  [[nodiscard]] Result<SyncReport> run_once(const storage::TenantId& t);
  // Stops a pass between batches (shutdown).
  void cancel() { cancelled_ = true; }

 private:
  struct Source;
  [[nodiscard]] Result<SyncReport> run_pass(const storage::TenantId& t);
  void record_status(const storage::TenantId& t, const Result<SyncReport>& r);
  [[nodiscard]] Result<Source*> source_for(const storage::TenantId& t, const SourceDbConfig& cfg);
  SyncDeps d_;
  SyncMetrics m_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Source>> sources_;  // by bid
  std::atomic<bool> cancelled_{false};
};

// LeadSquared's limit (25 requests per 5 s), kept client-side per account. The window has a
// margin: the provider counts arrivals, and the first request of a window may arrive later
// (connection set-up) than the one that opens the next window.
inline constexpr int kLsqRequests = 25;
inline constexpr std::chrono::milliseconds kLsqWindow{5'500};

// LeadSquared lead sync into crm_leads; also refreshes the lead filter state.
class CrmSync {
 public:
  explicit CrmSync(SyncDeps deps);
  [[nodiscard]] Result<SyncReport> run_once(const storage::TenantId& t);

 private:
  Throttle& throttle_for(const std::string& key);
  SyncDeps d_;
  SyncMetrics m_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Throttle>> throttles_;
};

// HuggingFace datasets-server rows feeds: transcribed calls + analyze.{bid}.
class FeedSync {
 public:
  explicit FeedSync(SyncDeps deps);
  // Every configured feed (or only `feed` when not empty).
  [[nodiscard]] Result<std::vector<SyncReport>> run_once(const storage::TenantId& t, std::string_view feed = {});
  [[nodiscard]] Result<SyncReport> run_feed(const storage::TenantId& t, const storage::PipelineConfig& config,
                                            const FeedConfig& feed);

 private:
  SyncDeps d_;
  SyncMetrics m_;
};

// Lead filter state of a business (require mode with zero leads blocks the DB sync). Writes
// the kLeadFilterSource row and the blocked gauge; returns whether syncing is blocked.
[[nodiscard]] Result<bool> refresh_lead_filter_state(SyncDeps& d, SyncMetrics& m, const storage::TenantId& t,
                                                     storage::LeadFilterMode mode);

}  // namespace earshot::sync
