#pragma once
// The wiring every stage worker binary (earshot-stt, -analyze, -sync, -notify) shares, so a
// main holds only what is particular to its stage.
//
// WorkerKit::declare adds, in this order, the backing services (fleet::Dependencies), the
// queue topology, the outgoing HTTP client and the stage worker's settings: the same keys in
// every worker (worker_handler_threads, worker_business_in_flight, worker_prefetch,
// worker_reconcile_interval, queue_depth_interval, queue_publish_window,
// queue_publish_timeout, and worker_max_in_flight where the handler is asynchronous), with
// defaults sized per stage and the stage's older names still accepted.
// WorkerKit::wire builds, once: the Database and every repository (storage::MySqlRepositories),
// the Redis client and live events, the business directory, and the HTTP client (a component
// stopped after every component added later) with the tenant client over it under the egress
// policy. The stage's own wiring follows and ends with add_worker(), which adds the
// StageWorker last: started after everything it needs, stopped first.
// Everything the kit returns references lives as long as the kit, which must outlive the
// Runtime (run_worker keeps both in that order).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "business_directory.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/provider_errors.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/core/service.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/http/http_client_component.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/repository_set.hpp"
#include "earshot/storage/sql.hpp"
#include "fleet_dependencies.hpp"

namespace earshot::fleet {

// What differs between the workers' harnesses: the stage and the defaults of its concurrency.
struct WorkerProfile {
  queue::Stage stage = queue::Stage::kSync;
  std::int64_t handler_threads = 4;
  std::int64_t business_in_flight = 2;
  // > 0: the handler is asynchronous (queue::AsyncStageHandler) and worker_max_in_flight,
  // with this default, caps the messages started and not yet finished.
  std::int64_t max_in_flight = 0;
  // Older names of the keys, still accepted: {prefix}_handler_threads,
  // {prefix}_per_business_in_flight, {prefix}_max_in_flight. Empty: none.
  std::string legacy_prefix{};
  // Destinations this binary's own configuration names (read after the config loaded): the
  // tenant HTTP client lets them through the egress policy.
  std::function<std::vector<std::string>()> operator_urls{};
};

class WorkerKit {
 public:
  explicit WorkerKit(WorkerProfile profile) : profile_(std::move(profile)) {}
  WorkerKit(const WorkerKit&) = delete;
  WorkerKit& operator=(const WorkerKit&) = delete;

  void declare(ConfigSpec& spec);
  [[nodiscard]] Status wire(Runtime& runtime);

  // Set by wire().
  [[nodiscard]] storage::Repositories& repos() { return repositories_->repos(); }
  [[nodiscard]] const crypto::Keyring& keyring() const { return *keyring_; }
  [[nodiscard]] const http::AddressPolicy& egress_policy() const { return deps_.egress_policy; }
  [[nodiscard]] const queue::AmqpSettings& amqp() const { return deps_.amqp; }
  [[nodiscard]] const queue::TopologySettings& topology() const { return topology_; }
  [[nodiscard]] cache::RedisClient& redis() { return *redis_; }
  [[nodiscard]] cache::LiveEvents& live_events() { return *live_; }
  // Failed provider requests per business, in Redis (what the gateway's pipeline status shows).
  [[nodiscard]] cache::ProviderErrorRecorder& provider_errors() { return *provider_errors_; }
  [[nodiscard]] http::TenantHttpClient& tenant_http() { return *tenant_http_; }
  // The same client without the egress policy: only for the operator's own destinations
  // (the object store's S3 endpoint), never a tenant's.
  [[nodiscard]] http::HttpClient& operator_http() { return *http_client_; }
  // The stage worker's options from the settings (publish window and timeout included).
  [[nodiscard]] queue::StageWorkerOptions worker_options() const;

  // Adds the stage worker as the last component (call it at the end of the stage's wiring).
  queue::StageWorker& add_worker(Runtime& runtime, queue::StageHandler& handler);
  queue::StageWorker& add_worker(Runtime& runtime, queue::AsyncStageHandler& handler);
  // A second stage worker in the same binary, consuming `stage` (e.g. earshot-analyze's embed
  // worker): the same settings but `handler_threads` threads, one message per business at a
  // time. Add it before add_worker (the main stage's worker stays the last component).
  queue::StageWorker& add_side_worker(Runtime& runtime, queue::Stage stage, queue::StageHandler& handler,
                                      std::size_t handler_threads);

 private:
  template <typename Handler>
  queue::StageWorker& add(Runtime& runtime, Handler& handler);

  WorkerProfile profile_;
  Dependencies deps_;
  const crypto::Keyring* keyring_ = nullptr;  // deps_'s, set by wire()
  queue::TopologySettings topology_;
  http::HttpClientSettings http_settings_;
  queue::StageWorkerSettings worker_settings_;
  std::int64_t max_in_flight_ = 0;

  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::MySqlRepositories> repositories_;
  std::unique_ptr<StorageBusinessDirectory> directory_;
  std::unique_ptr<cache::RedisClient> redis_;
  std::unique_ptr<cache::LiveEvents> live_;
  std::unique_ptr<cache::RedisProviderErrorStore> provider_error_store_;
  std::unique_ptr<cache::ProviderErrorRecorder> provider_errors_;
  http::HttpClient* http_client_ = nullptr;  // owned by the runtime's HTTP client component
  std::unique_ptr<http::TenantHttpClient> tenant_http_;
  queue::NoOutcomeRecorder recorder_;  // the stages record their own processing_events
};

// A component made of functions, for a part with its own start and stop (the sync
// publisher, the transcribe stage's work threads). An empty `start` starts nothing.
class FunctionComponent final : public Component {
 public:
  FunctionComponent(std::string name, std::function<void()> start, std::function<void()> stop)
      : name_(std::move(name)), start_(std::move(start)), stop_(std::move(stop)) {}
  [[nodiscard]] std::string name() const override { return name_; }
  [[nodiscard]] Status start() override {
    if (start_) start_();
    return {};
  }
  void stop() override { stop_(); }

 private:
  std::string name_;
  std::function<void()> start_, stop_;
};

// A stage's own part of a worker binary: its keys (declared after the kit's) and its wiring
// (run after the kit's).
struct StageWiring {
  std::string name;  // short name: "stt"; the binary is earshot-<name>
  std::string summary;
  std::int64_t default_admin_port = 0;
  std::function<void(ConfigSpec&)> declare;
  std::function<Status(Runtime&)> wire;
};

// Runs a worker binary: the kit's keys and wiring, then the stage's.
int run_worker(int argc, char** argv, WorkerKit& kit, StageWiring stage);

}  // namespace earshot::fleet
