// earshot-stt: consumes transcribe.{bid}; decodes and measures call audio, transcribes it,
// stores transcript and metrics, publishes call.status live events, and hands the call to
// analyze.{bid}. Jobs run asynchronously: hundreds wait on speech providers at once, on the
// HTTP client's event loop, while a few work threads decode, measure and write.
#include <memory>

#include "business_directory.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/egress.hpp"
#include "earshot/http/http_client_component.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/pipeline/transcribe_stage.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/sql.hpp"
#include "fleet_dependencies.hpp"

namespace {

// Stops the stage's work threads after the worker stopped (nothing new starts) and before
// the HTTP client does, so no step outlives the client or the repositories.
class StageComponent final : public earshot::Component {
 public:
  explicit StageComponent(earshot::pipeline::TranscribeStage& stage) : stage_(stage) {}
  std::string name() const override { return "transcribe-stage"; }
  earshot::Status start() override { return {}; }
  void stop() override { stage_.shutdown(); }

 private:
  earshot::pipeline::TranscribeStage& stage_;
};

struct Stt {
  earshot::fleet::Dependencies deps;
  earshot::queue::TopologySettings topology;
  earshot::http::HttpClientSettings http_settings;
  earshot::objectstore::ObjectStoreSettings object_store;
  earshot::pipeline::TranscribeStageSettings stt_settings;
  std::int64_t max_audio_bytes = 0;
  std::chrono::milliseconds max_audio_duration{0};

  std::unique_ptr<earshot::storage::Database> db;
  std::unique_ptr<earshot::storage::MySqlBusinessRepository> businesses;
  std::unique_ptr<earshot::storage::MySqlCallRepository> calls;
  std::unique_ptr<earshot::storage::MySqlTranscriptRepository> transcripts;
  std::unique_ptr<earshot::storage::MySqlMetricsRepository> metrics;
  std::unique_ptr<earshot::storage::MySqlPipelineConfigRepository> configs;
  std::unique_ptr<earshot::storage::MySqlProcessingEventRepository> events;
  std::unique_ptr<earshot::objectstore::ObjectStores> store;
  std::unique_ptr<earshot::objectstore::HttpAudioStore> fetcher;
  std::unique_ptr<earshot::http::TenantHttpClient> tenant_http;
  std::chrono::milliseconds fetch_timeout{0};
  std::unique_ptr<earshot::pipeline::ProviderTranscriberFactory> transcribers;
  std::unique_ptr<earshot::fleet::StorageBusinessDirectory> directory;
  std::unique_ptr<earshot::cache::RedisClient> redis;
  std::unique_ptr<earshot::cache::LiveEvents> live;
  std::unique_ptr<earshot::pipeline::TranscribeStage> stage;
  earshot::queue::NoOutcomeRecorder recorder;

  void declare(earshot::ConfigSpec& spec) {
    deps.declare(spec);
    topology.declare(spec);
    http_settings.declare(spec);
    object_store.declare(spec);
    spec.add_duration("audio_fetch_timeout", &fetch_timeout, std::chrono::minutes(2), std::chrono::seconds(1),
                      std::chrono::hours(1), "Deadline to download one recording.");
    stt_settings.declare(spec);
    spec.add_int("audio_max_bytes", &max_audio_bytes, 200LL << 20, 1024, 4LL << 30, "Largest accepted recording.");
    spec.add_duration("audio_max_duration", &max_audio_duration, std::chrono::hours(4), std::chrono::seconds(1),
                      std::chrono::hours(24), "Longest accepted recording.");
  }

  earshot::Status wire(earshot::Runtime& rt) {
    using namespace earshot;
    if (auto st = deps.wire(rt); !st) return st;
    if (auto st = topology.resolve(); !st) return st;
    db = std::make_unique<storage::Database>(deps.mysql);
    businesses = std::make_unique<storage::MySqlBusinessRepository>(*db);
    calls = std::make_unique<storage::MySqlCallRepository>(*db);
    transcripts = std::make_unique<storage::MySqlTranscriptRepository>(*db);
    metrics = std::make_unique<storage::MySqlMetricsRepository>(*db);
    configs = std::make_unique<storage::MySqlPipelineConfigRepository>(*db, *deps.keyring);
    events = std::make_unique<storage::MySqlProcessingEventRepository>(*db);
    // Speech providers and downloads: in-flight requests finish while the worker drains.
    auto& http_client = http::HttpClientComponent::add_to(rt, http_settings);
    auto objects = objectstore::ObjectStores::make(object_store, &http_client, rt.clock());
    if (!objects) return std::unexpected(objects.error());
    store = std::move(*objects);
    // Speech providers and audio URLs are the tenant's: every request goes out under the
    // egress policy (egress_allow names the operator's own whisper.cpp or similar).
    tenant_http = std::make_unique<http::TenantHttpClient>(http_client, deps.egress_policy);
    transcribers = std::make_unique<pipeline::ProviderTranscriberFactory>(*tenant_http, rt.clock(), rt.metrics());
    objectstore::HttpAudioStore::Options fetch;
    fetch.policy = deps.egress_policy;
    fetch.timeout = fetch_timeout;
    fetcher = std::make_unique<objectstore::HttpAudioStore>(*tenant_http, *store, fetch);
    directory = std::make_unique<fleet::StorageBusinessDirectory>(*businesses);
    audio::DecodeLimits limits;
    limits.max_bytes = static_cast<std::uint64_t>(max_audio_bytes);
    limits.max_duration = max_audio_duration;
    auto r = cache::RedisClient::make(deps.redis);
    if (!r) return std::unexpected(r.error().with_context("EARSHOT_REDIS_URL"));
    redis = std::move(*r);
    live = std::make_unique<cache::LiveEvents>(*redis, rt.clock(), &rt.metrics());
    auto stage_options = stt_settings.options();
    stage_options.live_events = live.get();
    stage = std::make_unique<pipeline::TranscribeStage>(
        pipeline::TranscribeStageDeps{*calls, *transcripts, *metrics, *configs, *events, *fetcher, *transcribers,
                                      rt.metrics(), rt.clock(), topology, limits},
        stage_options);
    queue::StageWorkerOptions opts;
    opts.stage = queue::Stage::kTranscribe;
    stt_settings.apply(opts);
    rt.add_component(std::make_unique<StageComponent>(*stage));  // stopped after the worker
    queue::AsyncStageHandler& handler = *stage;
    rt.add_component(std::make_unique<queue::StageWorker>(deps.amqp, topology, opts, handler, *directory, recorder,
                                                          rt.metrics(), rt.clock()));
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  Stt stt;
  earshot::ServiceDefinition def;
  def.name = "stt";
  def.summary = "decodes and measures call audio and transcribes it (transcribe.{bid} -> analyze.{bid})";
  def.default_admin_port = 18092;
  def.declare = [&](earshot::ConfigSpec& spec) { stt.declare(spec); };
  def.wire = [&](earshot::Runtime& runtime) { return stt.wire(runtime); };
  return earshot::run_service(argc, argv, def);
}
