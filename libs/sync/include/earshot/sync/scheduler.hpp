#pragma once
// The sync worker's schedule: for every business the worker consumes (StageWorker on
// sync.{bid}, which follows control events and reconciles with the directory), each
// configured source (the source database, the CRM, every feed) runs on its own interval from
// the business's pipeline config. Sources of one business run one at a time each; different
// businesses and sources run in parallel on `threads` threads. A failed pass is logged and
// counted and tried again after min(interval, retry_after_failure).
//
// The businesses come from `BusinessList` on every tick. When it fails (an error or an
// exception) the previous schedules are kept as they are (a directory outage must not stop
// every sync), the failure is logged (error, once per streak of failures and again when the
// reason changes) and counted in earshot_sync_business_list_failures_total.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "earshot/core/service.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/sync/sync.hpp"

namespace earshot::sync {

struct SchedulerOptions {
  std::size_t threads = 2;
  std::chrono::milliseconds tick{500};
  std::chrono::milliseconds config_refresh{30'000};  // re-read a business's config
  std::chrono::milliseconds retry_after_failure{30'000};
};

class SyncScheduler final : public Component {
 public:
  // The businesses to schedule; an error (or an exception) keeps the previous schedules.
  using BusinessList = std::function<Result<std::vector<std::string>>()>;
  SyncScheduler(SyncDeps deps, SchedulerOptions options, BusinessList businesses);
  ~SyncScheduler() override;

  [[nodiscard]] std::string name() const override { return "sync-scheduler"; }
  [[nodiscard]] Status start() override;
  void stop_intake() override;
  void drain(std::chrono::steady_clock::time_point deadline) override;
  void stop() override;

  // Runs every source of `bid` as soon as possible (re-reading its config first).
  void trigger(const std::string& bid);
  // Passes finished since start, per source kind ("db", "crm", "feed"), for tests.
  [[nodiscard]] std::int64_t passes(std::string_view kind) const;

 private:
  struct SourceState {
    std::chrono::milliseconds every{60'000};
    std::chrono::steady_clock::time_point next{};
    bool running = false;
  };
  struct BizState {
    std::chrono::steady_clock::time_point refresh{};
    std::map<std::string, SourceState> sources;  // "db", "crm", "feed:<name>"
  };
  struct Job {
    std::string bid;
    std::string source;
  };
  void loop();
  // The businesses of this tick; nullopt (logged and counted) when the list failed.
  std::optional<std::vector<std::string>> list_businesses();
  void work();
  void refresh(const std::string& bid, BizState& st, std::chrono::steady_clock::time_point now);
  Status run(const Job& job);
  bool sleep_for(std::chrono::milliseconds d);

  SyncDeps deps_;
  SchedulerOptions options_;
  BusinessList businesses_;
  prometheus::Family<prometheus::Counter>* list_failures_;  // earshot_sync_business_list_failures_total
  std::string last_list_error_;  // loop thread only: the failure streak being reported, empty when none
  SourceDbSync db_;
  CrmSync crm_;
  FeedSync feeds_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, BizState> state_;
  std::deque<Job> jobs_;
  std::map<std::string, std::int64_t, std::less<>> passes_;
  bool stopping_ = false;
  std::size_t running_ = 0;
  std::thread loop_;
  std::vector<std::thread> workers_;
};

// The sync.{bid} stage handler: a message asks for an immediate pass of the business.
class SyncTriggerHandler final : public queue::StageHandler {
 public:
  explicit SyncTriggerHandler(SyncScheduler& scheduler) : scheduler_(scheduler) {}
  [[nodiscard]] queue::HandlerResult handle(const queue::IncomingMessage& message) override;

 private:
  SyncScheduler& scheduler_;
};

}  // namespace earshot::sync
