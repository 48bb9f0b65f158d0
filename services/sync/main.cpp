// earshot-sync: pulls calls in. Per business, on the schedules of its pipeline config: the
// source-database sync (calls -> transcribe.{bid}), the CRM lead sync (crm_leads, lead
// filter) and the transcript feeds (transcribed calls -> analyze.{bid}). Businesses are the
// ones its sync.{bid} consumer follows (control events + directory reconciliation); a message
// on sync.{bid} asks for an immediate pass.
// It also runs the data lifecycle (retention, phone hashing: earshot/sync/lifecycle.hpp):
// the one binary already scheduling per-business work on timers, light on CPU, and with the
// database at hand; its per-business run locks keep replicas from sweeping a business twice.
#include "earshot/objectstore/object_store.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/sync/lifecycle.hpp"
#include "earshot/sync/scheduler.hpp"
#include "worker_kit.hpp"

namespace {

using namespace earshot;

struct Sync {
  fleet::WorkerKit kit{{.stage = queue::Stage::kSync, .handler_threads = 4, .business_in_flight = 2}};
  sync::SchedulerOptions scheduler_options;
  std::int64_t threads = 2;
  std::optional<queue::Publisher> publisher;
  std::optional<sync::TopologyDeclarer> declarer;
  std::optional<sync::SyncTriggerHandler> handler;
  objectstore::ObjectStoreSettings object_store;
  sync::LifecycleOptions lifecycle_options;
  bool lifecycle_enabled = true;
  std::int64_t lifecycle_batch = 500;
  std::int64_t lifecycle_max_batches = 200;
  std::unique_ptr<objectstore::ObjectStores> store;
  std::optional<sync::LifecycleSweeper> sweeper;
  queue::StageWorker* worker = nullptr;

  void declare(ConfigSpec& spec) {
    using std::chrono::seconds;
    object_store.declare(spec);
    spec.add_bool("lifecycle_enabled", &lifecycle_enabled, true,
                  "Run the data lifecycle (retention and phone hashing of every business) in this process.");
    spec.add_duration("lifecycle_interval", &lifecycle_options.interval, std::chrono::hours(1), seconds(1),
                      std::chrono::hours(24), "Time between two data-lifecycle sweeps (the first runs at start).");
    spec.add_int("lifecycle_batch_size", &lifecycle_batch, 500, 1, 10000,
                 "Calls per retention batch (one transaction) and phones per hashing batch.");
    spec.add_int("lifecycle_max_batches", &lifecycle_max_batches, 200, 1, 100000,
                 "Batches per business and step in one sweep; the rest waits for the next sweep.");
    spec.add_int("sync_threads", &threads, 2, 1, 64, "Sync passes (business x source) run at once.");
    spec.add_duration("sync_config_refresh", &scheduler_options.config_refresh, seconds(30), seconds(1),
                      std::chrono::hours(1), "How often a business's sync schedule is re-read from its config.");
    spec.add_duration("sync_retry_after_failure", &scheduler_options.retry_after_failure, seconds(30), seconds(1),
                      std::chrono::hours(1),
                      "Wait before a failed sync pass is tried again (at most the source's interval).");
  }

  Status wire(Runtime& rt) {
    const auto wo = kit.worker_options();
    publisher.emplace(kit.amqp(),
                      queue::PublisherOptions{.window = wo.publish_window, .confirm_timeout = wo.publish_timeout},
                      &rt.metrics());
    declarer.emplace(kit.amqp(), kit.topology());
    // Started after the HTTP client and before the scheduler, stopped in reverse: a pass in
    // flight can finish. CRM, feeds and source databases are the business's destinations.
    rt.add_component(std::make_unique<fleet::FunctionComponent>(
        "publisher", [this] { publisher->start(); }, [this] { publisher->stop(); }));
    auto& r = kit.repos();
    sync::SyncDeps sd{r.run_locks,
                      r.pipeline_configs,
                      r.calls,
                      r.human_agents,
                      r.transcripts,
                      r.watermarks,
                      r.crm_leads,
                      *publisher,
                      *declarer,
                      kit.topology(),
                      rt.metrics(),
                      rt.clock(),
                      &kit.tenant_http(),
                      {},
                      &kit.live_events(),
                      kit.egress_policy()};
    if (lifecycle_enabled) {
      auto objects = objectstore::ObjectStores::make(object_store, &kit.operator_http(), rt.clock());
      if (!objects) return std::unexpected(objects.error());
      store = std::move(*objects);
      lifecycle_options.batch_size = static_cast<int>(lifecycle_batch);
      lifecycle_options.max_batches = static_cast<int>(lifecycle_max_batches);
      sweeper.emplace(sync::LifecycleDeps{r.businesses, r.pipeline_configs, r.calls, r.run_locks, *store,
                                          &kit.live_events(), rt.metrics(), rt.clock()},
                      lifecycle_options);
      rt.add_component(std::make_unique<sync::LifecycleScheduler>(*sweeper, lifecycle_options.interval));
    }
    scheduler_options.threads = static_cast<std::size_t>(threads);
    auto scheduler = std::make_unique<sync::SyncScheduler>(
        sd, scheduler_options, [this] { return worker ? worker->consuming() : std::vector<std::string>{}; });
    handler.emplace(*scheduler);
    rt.add_component(std::move(scheduler));
    worker = &kit.add_worker(rt, *handler);
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  Sync s;
  return fleet::run_worker(
      argc, argv, s.kit,
      {.name = "sync",
       .summary = "pulls calls from source databases, CRM leads and transcript feeds into the pipeline",
       .default_admin_port = 18091,
       .declare = [&](ConfigSpec& spec) { s.declare(spec); },
       .wire = [&](Runtime& rt) { return s.wire(rt); }});
}
