// earshot-stt: consumes transcribe.{bid}; decodes and measures call audio, transcribes it,
// stores transcript and metrics, publishes call.status live events, and hands the call to
// analyze.{bid}. Jobs run asynchronously: hundreds wait on speech providers at once, on the
// HTTP client's event loop, while a few work threads decode, measure and write.
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/pipeline/transcribe_stage.hpp"
#include "worker_kit.hpp"

namespace {

using namespace earshot;

struct Stt {
  fleet::WorkerKit kit{{.stage = queue::Stage::kTranscribe,
                        .handler_threads = 2,
                        .business_in_flight = 250,
                        .max_in_flight = 500,
                        .legacy_prefix = "stt"}};
  objectstore::ObjectStoreSettings object_store;
  pipeline::TranscribeStageSettings settings;
  std::int64_t max_audio_bytes = 0;
  std::chrono::milliseconds max_audio_duration{0};
  std::chrono::milliseconds fetch_timeout{0};
  std::unique_ptr<objectstore::ObjectStores> store;
  std::optional<objectstore::HttpAudioStore> fetcher;
  std::optional<pipeline::ProviderTranscriberFactory> transcribers;
  std::optional<cache::RedisProviderJobStore> provider_jobs;
  std::optional<pipeline::TranscribeStage> stage;

  void declare(ConfigSpec& spec) {
    object_store.declare(spec);
    spec.add_duration("audio_fetch_timeout", &fetch_timeout, std::chrono::minutes(2), std::chrono::seconds(1),
                      std::chrono::hours(1), "Deadline to download one recording.");
    settings.declare(spec);
    spec.add_int("audio_max_bytes", &max_audio_bytes, 200LL << 20, 1024, 4LL << 30, "Largest accepted recording.");
    spec.add_duration("audio_max_duration", &max_audio_duration, std::chrono::hours(4), std::chrono::seconds(1),
                      std::chrono::hours(24), "Longest accepted recording.");
  }

  Status wire(Runtime& rt) {
    auto objects = objectstore::ObjectStores::make(object_store, &kit.operator_http(), rt.clock());
    if (!objects) return std::unexpected(objects.error());
    store = std::move(*objects);
    // Speech providers and audio URLs are the tenant's (egress_allow names the operator's own
    // whisper.cpp or similar).
    transcribers.emplace(kit.tenant_http(), rt.clock(), rt.metrics(), &kit.provider_errors());
    fetcher.emplace(kit.tenant_http(), *store,
                    objectstore::HttpAudioStore::Options{.policy = kit.egress_policy(), .timeout = fetch_timeout});
    auto options = settings.options();
    options.live_events = &kit.live_events();
    auto& r = kit.repos();
    const audio::DecodeLimits limits{.max_bytes = static_cast<std::uint64_t>(max_audio_bytes),
                                     .max_duration = max_audio_duration};
    provider_jobs.emplace(kit.redis());
    stage.emplace(
        pipeline::TranscribeStageDeps{r.calls, r.transcripts, r.metrics, r.pipeline_configs, r.events, *fetcher,
                                      *transcribers, rt.metrics(), rt.clock(), kit.topology(), limits, &*provider_jobs},
        options);
    // The stage's work threads stop after the worker (nothing new starts) and before the HTTP
    // client, so no step outlives the client or the repositories.
    rt.add_component(
        std::make_unique<fleet::FunctionComponent>("transcribe-stage", nullptr, [this] { stage->shutdown(); }));
    kit.add_worker(rt, static_cast<queue::AsyncStageHandler&>(*stage));
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  Stt stt;
  return fleet::run_worker(
      argc, argv, stt.kit,
      {.name = "stt",
       .summary = "decodes and measures call audio and transcribes it (transcribe.{bid} -> analyze.{bid})",
       .default_admin_port = 18092,
       .declare = [&](ConfigSpec& spec) { stt.declare(spec); },
       .wire = [&](Runtime& rt) { return stt.wire(rt); }});
}
