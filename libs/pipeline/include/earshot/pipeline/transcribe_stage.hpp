#pragma once
// The transcribe stage (transcribe.{bid} -> analyze.{bid}), run by earshot-stt.
//
// For each message: load the call (tenant-scoped), skip it when it is already past this
// stage (at-least-once delivery: a redelivered message does nothing twice, but re-publishes
// the analyze message if the call stopped right after being transcribed), move it to
// transcribing, read and decode the audio, measure the conversation from the audio (stereo,
// with the business's channel-to-role mapping) or from the transcript (mono), transcribe,
// store transcript and metrics, move it to transcribed and hand analyze.{bid} its message.
// Bad audio fails the call with the reason and dead-letters the message; an unavailable
// database or store is retried.
//
// It runs asynchronously (queue::AsyncStageHandler): decoding, voice activity, measuring and
// the offline engine run on a small CPU pool, repository calls on a database pool (blocking
// I/O, sized like the connection pool); downloads and speech
// providers run on the HTTP client's event loop, so hundreds of calls wait on providers at
// once without a thread each. At most `provider_in_flight` jobs hold one speech provider at
// once (the rest wait for a slot, holding nothing heavy, the oldest job first); the
// per-business share is the stage worker's. A job's steps run before those of every job
// started after it, so a backlog finishes job by job in the order it started. handle() is the blocking form of the same
// (tests, tools): never call it from a work thread.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "earshot/analytics/audio_metrics.hpp"
#include "earshot/audio/audio.hpp"
#include "earshot/audio/vad.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/provider_jobs.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/pipeline/provider_errors.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/repositories.hpp"
#include "earshot/stt/provider.hpp"
#include "earshot/stt/transcript.hpp"

namespace earshot::pipeline {

// Turns decoded audio into a transcript (speakers already "agent"/"customer"). One
// implementation per engine; `speech` gives the voice activity per role for stereo calls.
class Transcriber {
 public:
  virtual ~Transcriber() = default;
  struct Input {
    const audio::AudioBuffer* audio = nullptr;
    bool stereo = false;
    int agent_channel = 0;
    int customer_channel = 1;
    const std::vector<audio::Interval>* agent_speech = nullptr;     // stereo only
    const std::vector<audio::Interval>* customer_speech = nullptr;  // stereo only
    std::string language;
    std::string_view encoded;  // the file as stored, for providers that take it as is
    // Where `encoded` is stored on this machine, when it is (the local object store): a
    // provider that sends files as they are reads it from there instead of copying it.
    std::optional<std::string> file;
    // Where a provider that runs jobs on its side names them, so that a redelivered call
    // resumes its job (stt::JobLedger); null: none.
    std::shared_ptr<stt::JobLedger> ledger;
  };
  [[nodiscard]] virtual Result<stt::Transcript> transcribe(const Input& in) = 0;

  // The asynchronous form: `done` runs once, on any thread (a provider's HTTP loop). `in` and
  // what it points to are needed only until this call returns. The default runs transcribe()
  // here, on the calling (work) thread.
  using Callback = std::function<void(Result<stt::Transcript>)>;
  virtual void transcribe_async(const Input& in, Callback done) {
    auto callback = std::move(done);  // by value: overrides keep it past this call
    callback(transcribe(in));
  }
};

// The transcript's language, unless a transcriber set it: what the provider reported, else
// the offline detector over its text, else `configured` (call_language.hpp).
void set_language(stt::Transcript& t, std::string_view configured);

// A mono call measured by its transcript (speakers "agent" and "customer"; other voices do
// not count towards talk metrics).
[[nodiscard]] analytics::AudioMeasurement measure_by_transcript(const audio::AudioBuffer& audio,
                                                                const std::vector<stt::Segment>& segments);

// Picks the transcriber for a business's configured provider: "pocketsphinx" / "local"
// (the offline engine), "none", or a speech provider ("sarvam", "deepgram", "openai",
// "whisper_cpp") whose options are the config's stt_options_json and whose key is the
// secret "stt_api_key". kFailedPrecondition for a provider this factory cannot run,
// kInvalidArgument for bad provider options.
class TranscriberFactory {
 public:
  virtual ~TranscriberFactory() = default;
  [[nodiscard]] virtual Result<std::shared_ptr<Transcriber>> for_config(const storage::PipelineConfig& config) = 0;
  // The same for a job of business `bid` (what the stage asks): a factory that records
  // provider errors per business records them under `bid`.
  [[nodiscard]] virtual Result<std::shared_ptr<Transcriber>> for_business(const std::string& bid,
                                                                          const storage::PipelineConfig& config) {
    (void)bid;
    return for_config(config);
  }
};

// The offline engine (one decoder per calling thread, created on first use) and "none".
class LocalTranscriberFactory : public TranscriberFactory {
 public:
  [[nodiscard]] Result<std::shared_ptr<Transcriber>> for_config(const storage::PipelineConfig& config) override;
};

// The offline engine plus the HTTP speech providers over `client`. A provider call blocks
// the calling handler thread until its callback (the HTTP work itself runs on the client's
// event loop), bounded by the provider config's job deadline.
class ProviderTranscriberFactory final : public LocalTranscriberFactory {
 public:
  // `errors` may be null; else each failed provider request of a job is recorded there as
  // kind "stt" under the job's business.
  ProviderTranscriberFactory(http::HttpClient& client, const Clock& clock, Metrics& metrics,
                             cache::ProviderErrorRecorder* errors = nullptr);
  [[nodiscard]] Result<std::shared_ptr<Transcriber>> for_config(const storage::PipelineConfig& config) override;
  [[nodiscard]] Result<std::shared_ptr<Transcriber>> for_business(const std::string& bid,
                                                                  const storage::PipelineConfig& config) override;

 private:
  http::HttpClient& client_;
  const Clock& clock_;
  cache::ProviderErrorRecorder* errors_;
  prometheus::Family<prometheus::Counter>* requests_;
};

struct TranscribeStageDeps {
  storage::CallRepository& calls;
  storage::TranscriptRepository& transcripts;
  storage::MetricsRepository& metrics;
  storage::PipelineConfigRepository& configs;
  storage::ProcessingEventRepository& events;
  objectstore::AudioStore& store;
  TranscriberFactory& transcribers;
  Metrics& prometheus;
  Clock& clock;
  queue::TopologySettings topology;
  audio::DecodeLimits limits;
  // Where a Sarvam call's batch jobs are named, so a redelivery resumes them (may be null:
  // every delivery starts its own).
  cache::ProviderJobStore* provider_jobs = nullptr;
};

struct TranscribeStageOptions {
  std::size_t work_threads = 2;          // CPU: decoding, measuring, the offline engine
  std::size_t db_threads = 2;            // blocking I/O: repositories, the local object store
  std::size_t provider_in_flight = 500;  // jobs holding one speech provider at once
  // Jobs holding a recording before its provider has it (read, decoded, measured): bounds
  // the worker's memory when its CPU threads fall behind (a 5-minute stereo call is about
  // 26 MB while decoded).
  std::size_t audio_in_flight = 4;
  // How long a business's pipeline config is reused before it is read again (0: every call).
  std::chrono::milliseconds config_ttl{std::chrono::seconds(5)};
  // call.status events on the call's transitions (transcribing, transcribed, failed); null:
  // none. Publishing failures are logged and counted by LiveEvents, never fail the call.
  cache::LiveEvents* live_events = nullptr;
};

// The transcribe stage's config keys (stt_provider_in_flight, stt_audio_in_flight, stt_work_threads,
// stt_db_threads, stt_config_cache_ttl). The stage worker's caps around it (messages in
// flight, per business, handler threads) are the worker's keys, which earshot-stt declares.
struct TranscribeStageSettings {
  std::int64_t provider_in_flight = 500;
  std::int64_t audio_in_flight = 4;
  std::int64_t work_threads = 2;
  std::int64_t db_threads = 2;
  std::chrono::milliseconds config_ttl{std::chrono::seconds(5)};

  void declare(ConfigSpec& spec);
  [[nodiscard]] TranscribeStageOptions options() const;
};

class TranscribeStage final : public queue::StageHandler, public queue::AsyncStageHandler {
 public:
  explicit TranscribeStage(TranscribeStageDeps deps, TranscribeStageOptions options = {});
  // Runs the jobs already on the work threads to their end (their completions go nowhere
  // once the worker has stopped), then joins.
  ~TranscribeStage() override;
  TranscribeStage(const TranscribeStage&) = delete;
  TranscribeStage& operator=(const TranscribeStage&) = delete;

  // Runs the steps already queued on the work threads, then joins them; steps posted later
  // (answers arriving afterwards) are dropped. Call it after the stage worker stopped and
  // before the HTTP client and repositories go away. The destructor calls it.
  void shutdown();

  void start(const queue::IncomingMessage& message, queue::StageCompletion done) override;
  [[nodiscard]] queue::HandlerResult handle(const queue::IncomingMessage& message) override;

  struct Shared;
  struct Job;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace earshot::pipeline
