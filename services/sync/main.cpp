// earshot-sync: pulls calls in. Per business, on the schedules of its pipeline config: the
// source-database sync (calls -> transcribe.{bid}), the CRM lead sync (crm_leads, lead
// filter) and the transcript feeds (transcribed calls -> analyze.{bid}). Businesses are the
// ones its sync.{bid} consumer follows (control events + directory reconciliation); a message
// on sync.{bid} asks for an immediate pass.
#include <memory>

#include "business_directory.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/http/http_client_component.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/mysql_run_locks.hpp"
#include "earshot/storage/sql.hpp"
#include "earshot/sync/scheduler.hpp"
#include "fleet_dependencies.hpp"

namespace {

class PublisherComponent final : public earshot::Component {
 public:
  explicit PublisherComponent(earshot::queue::Publisher& p) : publisher_(p) {}
  std::string name() const override { return "publisher"; }
  earshot::Status start() override {
    publisher_.start();
    return {};
  }
  void stop() override { publisher_.stop(); }

 private:
  earshot::queue::Publisher& publisher_;
};

struct Sync {
  earshot::fleet::Dependencies deps;
  earshot::queue::TopologySettings topology;
  earshot::http::HttpClientSettings http_settings;
  earshot::queue::StageWorkerSettings worker_settings;
  std::int64_t threads = 2;
  std::chrono::milliseconds config_refresh{0};
  std::chrono::milliseconds retry_after_failure{0};

  std::unique_ptr<earshot::storage::Database> db;
  std::unique_ptr<earshot::storage::MySqlBusinessRepository> businesses;
  std::unique_ptr<earshot::storage::MySqlPipelineConfigRepository> configs;
  std::unique_ptr<earshot::storage::MySqlCallRepository> calls;
  std::unique_ptr<earshot::storage::MySqlHumanAgentRepository> agents;
  std::unique_ptr<earshot::storage::MySqlTranscriptRepository> transcripts;
  std::unique_ptr<earshot::storage::MySqlWatermarkRepository> watermarks;
  std::unique_ptr<earshot::storage::MySqlCrmLeadRepository> leads;
  std::unique_ptr<earshot::storage::MySqlRunLocks> run_locks;
  std::unique_ptr<earshot::queue::Publisher> publisher;
  std::unique_ptr<earshot::sync::TopologyDeclarer> declarer;
  std::unique_ptr<earshot::cache::RedisClient> redis;
  std::unique_ptr<earshot::cache::LiveEvents> live;
  std::unique_ptr<earshot::fleet::StorageBusinessDirectory> directory;
  std::unique_ptr<earshot::http::TenantHttpClient> tenant_http;
  std::unique_ptr<earshot::sync::SyncTriggerHandler> handler;
  earshot::sync::SyncScheduler* scheduler = nullptr;
  earshot::queue::StageWorker* worker = nullptr;
  earshot::queue::NoOutcomeRecorder recorder;

  void declare(earshot::ConfigSpec& spec) {
    deps.declare(spec);
    topology.declare(spec);
    http_settings.declare(spec);
    worker_settings.declare(spec);
    spec.add_int("sync_threads", &threads, 2, 1, 64, "Sync passes (business x source) run at once.");
    spec.add_duration("sync_config_refresh", &config_refresh, std::chrono::seconds(30), std::chrono::seconds(1),
                      std::chrono::hours(1), "How often a business's sync schedule is re-read from its config.");
    spec.add_duration("sync_retry_after_failure", &retry_after_failure, std::chrono::seconds(30),
                      std::chrono::seconds(1), std::chrono::hours(1),
                      "Wait before a failed sync pass is tried again (at most the source's interval).");
  }

  earshot::Status wire(earshot::Runtime& rt) {
    using namespace earshot;
    if (auto st = deps.wire(rt); !st) return st;
    if (auto st = topology.resolve(); !st) return st;
    db = std::make_unique<storage::Database>(deps.mysql);
    businesses = std::make_unique<storage::MySqlBusinessRepository>(*db);
    configs = std::make_unique<storage::MySqlPipelineConfigRepository>(*db, *deps.keyring);
    calls = std::make_unique<storage::MySqlCallRepository>(*db);
    agents = std::make_unique<storage::MySqlHumanAgentRepository>(*db);
    transcripts = std::make_unique<storage::MySqlTranscriptRepository>(*db);
    watermarks = std::make_unique<storage::MySqlWatermarkRepository>(*db);
    leads = std::make_unique<storage::MySqlCrmLeadRepository>(*db);
    run_locks = std::make_unique<storage::MySqlRunLocks>(*db);
    queue::PublisherOptions popts;
    popts.window = static_cast<std::size_t>(worker_settings.publish_window);
    popts.confirm_timeout = worker_settings.publish_timeout;
    publisher = std::make_unique<queue::Publisher>(deps.amqp, popts, &rt.metrics());
    declarer = std::make_unique<sync::TopologyDeclarer>(deps.amqp, topology);
    directory = std::make_unique<fleet::StorageBusinessDirectory>(*businesses);
    auto redis_client = cache::RedisClient::make(deps.redis);
    if (!redis_client) return std::unexpected(redis_client.error());
    redis = std::move(*redis_client);
    live = std::make_unique<cache::LiveEvents>(*redis, rt.clock(), &rt.metrics());

    // Started before the scheduler and stopped after it, so a pass in flight can finish.
    auto& http_client = http::HttpClientComponent::add_to(rt, http_settings);
    rt.add_component(std::make_unique<PublisherComponent>(*publisher));

    // CRM, transcript feeds and source databases are the business's destinations: all go out
    // under the egress policy.
    tenant_http = std::make_unique<http::TenantHttpClient>(http_client, deps.egress_policy);
    sync::SyncDeps sd{*run_locks, *configs,          *calls,   *agents,      *transcripts, *watermarks,       *leads,
                      *publisher, *declarer,         topology, rt.metrics(), rt.clock(),   tenant_http.get(), {},
                      live.get(), deps.egress_policy};
    sync::SchedulerOptions so;
    so.threads = static_cast<std::size_t>(threads);
    so.config_refresh = config_refresh;
    so.retry_after_failure = retry_after_failure;
    auto sched = std::make_unique<sync::SyncScheduler>(
        sd, so, [this] { return worker ? worker->consuming() : std::vector<std::string>{}; });
    scheduler = sched.get();
    rt.add_component(std::move(sched));
    handler = std::make_unique<sync::SyncTriggerHandler>(*scheduler);
    auto w = std::make_unique<queue::StageWorker>(deps.amqp, topology, worker_settings.options(queue::Stage::kSync),
                                                  *handler, *directory, recorder, rt.metrics(), rt.clock());
    worker = w.get();
    rt.add_component(std::move(w));
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  Sync sync;
  earshot::ServiceDefinition def;
  def.name = "sync";
  def.summary = "pulls calls from source databases, CRM leads and transcript feeds into the pipeline";
  def.default_admin_port = 18091;
  def.declare = [&](earshot::ConfigSpec& spec) { sync.declare(spec); };
  def.wire = [&](earshot::Runtime& runtime) { return sync.wire(runtime); };
  return earshot::run_service(argc, argv, def);
}
