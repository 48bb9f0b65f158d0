// earshot-stt: consumes transcribe.{bid}; decodes and measures call audio, transcribes it,
// stores transcript and metrics, and hands the call to analyze.{bid}.
#include <memory>

#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/pipeline/audio_store.hpp"
#include "earshot/pipeline/business_directory.hpp"
#include "earshot/pipeline/transcribe_stage.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/sql.hpp"
#include "fleet_dependencies.hpp"

namespace {

// Outcomes are recorded per call by the stage itself (processing_events); the harness's
// recorder only needs to exist.
class NoopRecorder final : public earshot::queue::OutcomeRecorder {
 public:
  earshot::Status record(const earshot::queue::OutcomeEvent&) override { return {}; }
};

// The speech providers' HTTP event loop, started before the worker and stopped after it
// (components stop in reverse order), so in-flight provider calls can finish while draining.
class HttpClientComponent final : public earshot::Component {
 public:
  std::string name() const override { return "http-client"; }
  earshot::Status start() override {
    if (!client) client = std::make_unique<earshot::http::CurlHttpClient>();
    return {};
  }
  void stop() override {
    if (client) client->shutdown();
  }
  std::unique_ptr<earshot::http::CurlHttpClient> client;
};

struct Stt {
  earshot::fleet::Dependencies deps;
  earshot::queue::TopologySettings topology;
  std::string object_store_dir;
  std::int64_t handler_threads = 2;
  std::int64_t per_business_in_flight = 2;
  std::int64_t max_audio_bytes = 0;
  std::chrono::milliseconds max_audio_duration{0};

  std::unique_ptr<earshot::storage::Database> db;
  std::unique_ptr<earshot::storage::MySqlBusinessRepository> businesses;
  std::unique_ptr<earshot::storage::MySqlCallRepository> calls;
  std::unique_ptr<earshot::storage::MySqlTranscriptRepository> transcripts;
  std::unique_ptr<earshot::storage::MySqlMetricsRepository> metrics;
  std::unique_ptr<earshot::storage::MySqlPipelineConfigRepository> configs;
  std::unique_ptr<earshot::storage::MySqlProcessingEventRepository> events;
  std::unique_ptr<earshot::pipeline::LocalObjectStore> store;
  std::unique_ptr<earshot::pipeline::HttpAudioStore> fetcher;
  bool fetch_allow_private = false;
  std::chrono::milliseconds fetch_timeout{0};
  std::unique_ptr<earshot::pipeline::ProviderTranscriberFactory> transcribers;
  HttpClientComponent* http = nullptr;
  std::unique_ptr<earshot::pipeline::StorageBusinessDirectory> directory;
  std::unique_ptr<earshot::pipeline::TranscribeStage> stage;
  NoopRecorder recorder;

  void declare(earshot::ConfigSpec& spec) {
    deps.declare(spec);
    topology.declare(spec);
    spec.add_string("object_store_dir", &object_store_dir, "./.local/objects",
                    "Directory of the local object store (store:// audio locations).");
    spec.add_bool("audio_fetch_allow_private", &fetch_allow_private, false,
                  "Allow audio URLs that resolve to private, loopback or link-local addresses.");
    spec.add_duration("audio_fetch_timeout", &fetch_timeout, std::chrono::minutes(2), std::chrono::seconds(1),
                      std::chrono::hours(1), "Deadline to download one recording.");
    spec.add_int("stt_handler_threads", &handler_threads, 2, 1, 256,
                  "Calls transcribed at once by this process.");
    spec.add_int("stt_per_business_in_flight", &per_business_in_flight, 2, 1, 256,
                  "Calls of one business transcribed at once by this process.");
    spec.add_int("audio_max_bytes", &max_audio_bytes, 200LL << 20, 1024, 4LL << 30,
                  "Largest accepted recording.");
    spec.add_duration("audio_max_duration", &max_audio_duration, std::chrono::hours(4),
                      std::chrono::seconds(1), std::chrono::hours(24), "Longest accepted recording.");
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
    store = std::make_unique<pipeline::LocalObjectStore>(object_store_dir);
    auto http_component = std::make_unique<HttpClientComponent>();
    http = http_component.get();
    if (auto st = http->start(); !st) return st;  // the factory needs the client now
    rt.add_component(std::move(http_component));
    transcribers = std::make_unique<pipeline::ProviderTranscriberFactory>(*http->client, rt.clock(), rt.metrics());
    pipeline::HttpAudioStore::Options fetch;
    if (fetch_allow_private) {
      fetch.policy.allow_private = true;
      fetch.policy.allow_loopback = true;
      fetch.policy.allow_link_local = true;
    }
    fetch.timeout = fetch_timeout;
    fetcher = std::make_unique<pipeline::HttpAudioStore>(*http->client, *store, fetch);
    directory = std::make_unique<pipeline::StorageBusinessDirectory>(*businesses);
    audio::DecodeLimits limits;
    limits.max_bytes = static_cast<std::uint64_t>(max_audio_bytes);
    limits.max_duration = max_audio_duration;
    stage = std::make_unique<pipeline::TranscribeStage>(pipeline::TranscribeStageDeps{
        *calls, *transcripts, *metrics, *configs, *events, *fetcher, *transcribers, rt.metrics(),
        rt.clock(), topology, limits});
    queue::StageWorkerOptions opts;
    opts.stage = queue::Stage::kTranscribe;
    opts.handler_threads = static_cast<std::size_t>(handler_threads);
    opts.per_business_in_flight = static_cast<std::size_t>(per_business_in_flight);
    rt.add_component(std::make_unique<queue::StageWorker>(deps.amqp, topology, opts, *stage, *directory,
                                                          recorder, rt.metrics(), rt.clock()));
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
