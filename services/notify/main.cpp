// earshot-notify: consumes notify.{bid}; turns an analyzed call into webhook deliveries,
// CRM write-back and escalation alerts in the durable delivery schedule, marks the call
// notified, and runs the dispatcher that delivers (signed, retried, paused when failing).
#include <memory>

#include "business_directory.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/core/log.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/notify/dispatcher.hpp"
#include "earshot/notify/notify_stage.hpp"
#include "earshot/notify/smtp.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/sql.hpp"
#include "fleet_dependencies.hpp"

namespace {

struct Notify {
  earshot::fleet::Dependencies deps;
  earshot::queue::TopologySettings topology;
  earshot::notify::NotifySettings settings;
  std::int64_t handler_threads = 4;
  std::int64_t per_business_in_flight = 2;

  std::unique_ptr<earshot::http::CurlHttpClient> http;
  std::unique_ptr<earshot::http::TenantHttpClient> tenant_http;
  std::unique_ptr<earshot::storage::Database> db;
  std::unique_ptr<earshot::storage::MySqlBusinessRepository> businesses;
  std::unique_ptr<earshot::storage::MySqlCallRepository> calls;
  std::unique_ptr<earshot::storage::MySqlAnalysisRepository> analyses;
  std::unique_ptr<earshot::storage::MySqlAgentConfigRepository> agent_configs;
  std::unique_ptr<earshot::storage::MySqlCategoryMatchRepository> matches;
  std::unique_ptr<earshot::storage::MySqlRuleSetRepository> categories;
  std::unique_ptr<earshot::storage::MySqlHumanAgentRepository> agents;
  std::unique_ptr<earshot::storage::MySqlCrmLeadRepository> leads;
  std::unique_ptr<earshot::storage::MySqlPipelineConfigRepository> configs;
  std::unique_ptr<earshot::storage::MySqlProcessingEventRepository> events;
  std::unique_ptr<earshot::storage::MySqlEscalationRepository> escalations;
  std::unique_ptr<earshot::storage::MySqlDeliveryRepository> deliveries;
  std::unique_ptr<earshot::notify::CurlSmtpSender> smtp;
  std::unique_ptr<earshot::cache::RedisClient> redis;
  std::unique_ptr<earshot::cache::LiveEvents> live;
  std::unique_ptr<earshot::fleet::StorageBusinessDirectory> directory;
  std::unique_ptr<earshot::notify::NotifyStage> stage;
  earshot::notify::Dispatcher* dispatcher = nullptr;
  earshot::queue::NoOutcomeRecorder recorder;

  void declare(earshot::ConfigSpec& spec) {
    deps.declare(spec);
    topology.declare(spec);
    settings.declare(spec);
    spec.add_int("notify_handler_threads", &handler_threads, 4, 1, 256, "Calls handled at once by this process.");
    spec.add_int("notify_per_business_in_flight", &per_business_in_flight, 2, 1, 256,
                 "Calls of one business handled at once by this process.");
  }

  earshot::Status wire(earshot::Runtime& rt) {
    using namespace earshot;
    using storage::MySqlRuleSetRepository;
    if (auto st = deps.wire(rt); !st) return st;
    if (auto st = topology.resolve(); !st) return st;
    if (settings.lease <= settings.request_timeout) {
      return make_error(ErrorCode::kInvalidArgument, "EARSHOT_NOTIFY_LEASE must exceed EARSHOT_NOTIFY_REQUEST_TIMEOUT");
    }
    http = std::make_unique<http::CurlHttpClient>();
    // Webhooks, chat hooks and CRM write-back go to the business's URLs: every request
    // goes out under the egress policy.
    tenant_http = std::make_unique<http::TenantHttpClient>(*http, deps.egress_policy);
    db = std::make_unique<storage::Database>(deps.mysql);
    businesses = std::make_unique<storage::MySqlBusinessRepository>(*db);
    calls = std::make_unique<storage::MySqlCallRepository>(*db);
    analyses = std::make_unique<storage::MySqlAnalysisRepository>(*db);
    agent_configs = std::make_unique<storage::MySqlAgentConfigRepository>(*db);
    matches = std::make_unique<storage::MySqlCategoryMatchRepository>(*db);
    categories = std::make_unique<MySqlRuleSetRepository>(*db, MySqlRuleSetRepository::Kind::kCategories);
    agents = std::make_unique<storage::MySqlHumanAgentRepository>(*db);
    leads = std::make_unique<storage::MySqlCrmLeadRepository>(*db);
    configs = std::make_unique<storage::MySqlPipelineConfigRepository>(*db, *deps.keyring);
    events = std::make_unique<storage::MySqlProcessingEventRepository>(*db);
    escalations = std::make_unique<storage::MySqlEscalationRepository>(*db);
    deliveries = std::make_unique<storage::MySqlDeliveryRepository>(*db, *deps.keyring);
    if (!settings.smtp_url.empty()) {
      smtp = std::make_unique<notify::CurlSmtpSender>(
          notify::SmtpOptions{settings.smtp_url, settings.smtp_from, settings.smtp_username, settings.smtp_password,
                              settings.request_timeout});
    }
    auto redis_client = cache::RedisClient::make(deps.redis);
    if (!redis_client) return std::unexpected(redis_client.error().with_context("live events"));
    redis = std::move(*redis_client);
    live = std::make_unique<cache::LiveEvents>(*redis, rt.clock(), &rt.metrics());
    notify::EventPublisher publish = [this](const std::string& bid, std::string_view type, nlohmann::json data) {
      (void)live->publish(bid, type, std::move(data));
    };
    auto disp = std::make_unique<notify::Dispatcher>(
        settings,
        notify::DispatcherDeps{*deliveries, *tenant_http, *configs, smtp.get(), rt.metrics(), rt.clock(), publish});
    dispatcher = disp.get();
    directory = std::make_unique<fleet::StorageBusinessDirectory>(*businesses);
    stage = std::make_unique<notify::NotifyStage>(
        settings, notify::NotifyStageDeps{*deliveries, *calls, *analyses, *agent_configs, *matches, *categories,
                                          *agents, *leads, *configs, *events, *escalations, rt.metrics(), rt.clock(),
                                          [this] { dispatcher->wake(); }, publish});
    queue::StageWorkerOptions opts;
    opts.stage = queue::Stage::kNotify;
    opts.handler_threads = static_cast<std::size_t>(handler_threads);
    opts.per_business_in_flight = static_cast<std::size_t>(per_business_in_flight);
    // Started in order, stopped in reverse: the stage stops taking calls, then the
    // dispatcher finishes the attempts in flight.
    rt.add_component(std::move(disp));
    rt.add_component(std::make_unique<queue::StageWorker>(deps.amqp, topology, opts, *stage, *directory, recorder,
                                                          rt.metrics(), rt.clock()));
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  Notify notify;
  earshot::ServiceDefinition def;
  def.name = "notify";
  def.summary = "delivers webhooks, CRM write-back, alerts and live events (notify.{bid})";
  def.default_admin_port = 18094;
  def.declare = [&](earshot::ConfigSpec& spec) { notify.declare(spec); };
  def.wire = [&](earshot::Runtime& runtime) { return notify.wire(runtime); };
  return earshot::run_service(argc, argv, def);
}
