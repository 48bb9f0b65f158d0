#pragma once
// Which businesses a stage worker consumes. The business directory is the source of truth:
// it is read at start and every reconcile_interval, and again on each control event (so a
// stale or foreign event cannot start or stop consumption on its own; only when the
// directory cannot answer does the event decide). A business whose consumer was lost
// (channel closed, consumer cancelled by the broker) is reconciled again within a second.
// The reconciler also refreshes the queue depth gauge every depth_interval.
//
// The decisions are pure functions (plan_reconcile, wanted_by_events); BusinessReconciler
// applies them through ReconcilerActions on its own thread (the worker's manager thread).
// step() is that thread's body, callable with any time by tests.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/queue/control.hpp"
#include "earshot/queue/messages.hpp"

namespace earshot::queue::detail {

struct ReconcilePlan {
  std::vector<std::string> start;  // listed and not consumed (sorted, unique)
  std::vector<std::string> stop;   // consumed and no longer listed (sorted)
};

// What to start and stop so that `consumed` becomes the directory's `listed`.
[[nodiscard]] ReconcilePlan plan_reconcile(const std::set<std::string>& consumed,
                                           const std::vector<std::string>& listed);

struct Wanted {
  std::string bid;
  bool consume = false;
};

// For each control event in order, whether its business should be consumed: as `listed`
// says when the directory answered, else as the event says (anything but kDisabled).
[[nodiscard]] std::vector<Wanted> wanted_by_events(const std::vector<BusinessEvent>& events,
                                                   const std::optional<std::vector<std::string>>& listed);

// The side effects, carried out by the worker (topology admin, consumer channels, metrics).
// Called on the reconciler's thread only.
class ReconcilerActions {
 public:
  virtual ~ReconcilerActions() = default;
  // Declares the business's queues (work, retry tiers, dead letter).
  [[nodiscard]] virtual Status declare(const std::string& bid) = 0;
  virtual void consume(const std::string& bid) = 0;
  // Stops consuming and forgets the business's depth series.
  virtual void cancel(const std::string& bid) = 0;
  virtual void measure_depth(const std::string& bid) = 0;
};

struct ReconcilerOptions {
  std::chrono::milliseconds reconcile_interval{10'000};
  std::chrono::milliseconds depth_interval{15'000};
};

class BusinessReconciler {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  BusinessReconciler(BusinessDirectory& directory, ReconcilerActions& actions, ReconcilerOptions options);
  ~BusinessReconciler();  // stop()
  BusinessReconciler(const BusinessReconciler&) = delete;
  BusinessReconciler& operator=(const BusinessReconciler&) = delete;

  // From any thread.
  void on_event(BusinessEvent event);
  void on_lost(const std::string& bid);
  // A retry or dead-letter copy of `bid` could not be published: declare its queues again
  // at the next step.
  void on_copy_failed(const std::string& bid);
  // Reconciling ends for good (the worker stops consuming).
  void stop_intake();

  // Runs step() on a thread: at once, then whenever an event or a lost consumer arrives or
  // the next pass is due.
  void start();
  void stop();

  // One pass at `now`: declares again after copy failures, forgets lost consumers, follows
  // events, reconciles and measures when due. Returns when the next pass is due.
  TimePoint step(TimePoint now);

  // Businesses consumed (as far as the reconciler knows); the reconciler's thread or tests.
  [[nodiscard]] const std::set<std::string>& consumed() const { return consumed_; }

 private:
  void run();
  void ensure(const std::string& bid);
  void drop(const std::string& bid);
  void reconcile();
  void follow(const std::vector<BusinessEvent>& events);

  BusinessDirectory& directory_;
  ReconcilerActions& actions_;
  ReconcilerOptions opt_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<BusinessEvent> events_;
  std::set<std::string> lost_;
  std::set<std::string> redeclare_;
  bool intake_stopped_ = false;
  bool stopping_ = false;
  std::thread thread_;

  // step() only.
  std::set<std::string> consumed_;
  std::optional<TimePoint> next_reconcile_;
  TimePoint next_depth_{};
};

}  // namespace earshot::queue::detail
