#include "worker_kit.hpp"

#include <string>

namespace earshot::fleet {

void WorkerKit::declare(ConfigSpec& spec) {
  deps_.declare(spec);
  topology_.declare(spec);
  http_settings_.declare(spec);
  worker_settings_.declare(spec);
  spec.set_default("worker_handler_threads", std::to_string(profile_.handler_threads));
  spec.set_default("worker_business_in_flight", std::to_string(profile_.business_in_flight));
  if (profile_.max_in_flight > 0) {
    spec.add_int("worker_max_in_flight", &max_in_flight_, profile_.max_in_flight, 1, 20000,
                 "Messages this process works on at once, over every business (waiting on providers included).");
  }
  if (const auto& old = profile_.legacy_prefix; !old.empty()) {
    spec.add_alias(old + "_handler_threads", "worker_handler_threads");
    spec.add_alias(old + "_per_business_in_flight", "worker_business_in_flight");
    if (profile_.max_in_flight > 0) spec.add_alias(old + "_max_in_flight", "worker_max_in_flight");
  }
}

Status WorkerKit::wire(Runtime& runtime) {
  if (auto st = deps_.wire(runtime); !st) return st;
  if (auto st = topology_.resolve(); !st) return st;
  db_ = std::make_unique<storage::Database>(deps_.mysql);
  if (!deps_.keyring) return make_error(ErrorCode::kInternal, "the keyring was not loaded");
  keyring_ = &*deps_.keyring;
  repositories_ = std::make_unique<storage::MySqlRepositories>(*db_, *keyring_);
  directory_ = std::make_unique<StorageBusinessDirectory>(repos().businesses);
  auto redis = cache::RedisClient::make(deps_.redis);
  if (!redis) return std::unexpected(redis.error().with_context("EARSHOT_REDIS_URL"));
  redis_ = std::move(*redis);
  live_ = std::make_unique<cache::LiveEvents>(*redis_, runtime.clock(), &runtime.metrics());
  provider_error_store_ = std::make_unique<cache::RedisProviderErrorStore>(*redis_);
  provider_errors_ =
      std::make_unique<cache::ProviderErrorRecorder>(*provider_error_store_, runtime.clock(), &runtime.metrics());
  // Requests in flight finish while the components added later (the worker) drain.
  auto& http_client = http::HttpClientComponent::add_to(runtime, http_settings_);
  http_client_ = &http_client;
  // Every request made on a tenant's behalf (providers, webhooks, CRM, source databases,
  // recordings) goes out under the egress policy.
  auto policy = deps_.egress_policy;
  if (profile_.operator_urls) {
    for (const auto& url : profile_.operator_urls()) {
      if (!url.empty()) http::allow_operator_url(policy, url);
    }
  }
  tenant_http_ = std::make_unique<http::TenantHttpClient>(http_client, std::move(policy));
  return {};
}

queue::StageWorkerOptions WorkerKit::worker_options() const {
  auto options = worker_settings_.options(profile_.stage);
  if (profile_.max_in_flight > 0) options.max_in_flight = static_cast<std::size_t>(max_in_flight_);
  return options;
}

template <typename Handler>
queue::StageWorker& WorkerKit::add(Runtime& runtime, Handler& handler) {
  auto worker = std::make_unique<queue::StageWorker>(deps_.amqp, topology_, worker_options(), handler, *directory_,
                                                     recorder_, runtime.metrics(), runtime.clock());
  auto& added = *worker;
  runtime.add_component(std::move(worker));
  return added;
}

queue::StageWorker& WorkerKit::add_worker(Runtime& runtime, queue::StageHandler& handler) {
  return add(runtime, handler);
}

queue::StageWorker& WorkerKit::add_worker(Runtime& runtime, queue::AsyncStageHandler& handler) {
  return add(runtime, handler);
}

queue::StageWorker& WorkerKit::add_side_worker(Runtime& runtime, queue::Stage stage, queue::StageHandler& handler,
                                               std::size_t handler_threads) {
  auto options = worker_settings_.options(stage);
  options.handler_threads = handler_threads;
  options.per_business_in_flight = 1;
  auto worker = std::make_unique<queue::StageWorker>(deps_.amqp, topology_, options, handler, *directory_, recorder_,
                                                     runtime.metrics(), runtime.clock());
  auto& added = *worker;
  runtime.add_component(std::move(worker));
  return added;
}

int run_worker(int argc, char** argv, WorkerKit& kit, StageWiring stage) {
  ServiceDefinition def;
  def.name = std::move(stage.name);
  def.summary = std::move(stage.summary);
  def.default_admin_port = stage.default_admin_port;
  def.declare = [&kit, declare = std::move(stage.declare)](ConfigSpec& spec) {
    kit.declare(spec);
    if (declare) declare(spec);
  };
  def.wire = [&kit, wire = std::move(stage.wire)](Runtime& runtime) -> Status {
    if (auto st = kit.wire(runtime); !st) return st;
    return wire ? wire(runtime) : Status{};
  };
  return run_service(argc, argv, def);
}

}  // namespace earshot::fleet
