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

#include <memory>
#include <string>

#include "earshot/audio/audio.hpp"
#include "earshot/audio/vad.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/pipeline/audio_store.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/repositories.hpp"
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
  };
  [[nodiscard]] virtual Result<stt::Transcript> transcribe(const Input& in) = 0;
};

// Picks the transcriber for a business's configured provider: "pocketsphinx" / "local"
// (the offline engine), "none", or a speech provider ("sarvam", "deepgram", "openai",
// "whisper_cpp") whose options are the config's stt_options_json and whose key is the
// secret "stt_api_key". kFailedPrecondition for a provider this factory cannot run,
// kInvalidArgument for bad provider options.
class TranscriberFactory {
 public:
  virtual ~TranscriberFactory() = default;
  [[nodiscard]] virtual Result<std::shared_ptr<Transcriber>> for_config(
      const storage::PipelineConfig& config) = 0;
};

// The offline engine (one decoder per calling thread, created on first use) and "none".
class LocalTranscriberFactory : public TranscriberFactory {
 public:
  [[nodiscard]] Result<std::shared_ptr<Transcriber>> for_config(
      const storage::PipelineConfig& config) override;
};

// The offline engine plus the HTTP speech providers over `client`. A provider call blocks
// the calling handler thread until its callback (the HTTP work itself runs on the client's
// event loop), bounded by the provider config's job deadline.
class ProviderTranscriberFactory final : public LocalTranscriberFactory {
 public:
  ProviderTranscriberFactory(http::HttpClient& client, const Clock& clock, Metrics& metrics);
  [[nodiscard]] Result<std::shared_ptr<Transcriber>> for_config(
      const storage::PipelineConfig& config) override;

 private:
  http::HttpClient& client_;
  const Clock& clock_;
  prometheus::Family<prometheus::Counter>* requests_;
};

struct TranscribeStageDeps {
  storage::CallRepository& calls;
  storage::TranscriptRepository& transcripts;
  storage::MetricsRepository& metrics;
  storage::PipelineConfigRepository& configs;
  storage::ProcessingEventRepository& events;
  AudioStore& store;
  TranscriberFactory& transcribers;
  Metrics& prometheus;
  Clock& clock;
  queue::TopologySettings topology;
  audio::DecodeLimits limits;
};

class TranscribeStage final : public queue::StageHandler {
 public:
  explicit TranscribeStage(TranscribeStageDeps deps);
  [[nodiscard]] queue::HandlerResult handle(const queue::IncomingMessage& message) override;

 private:
  TranscribeStageDeps d_;
  prometheus::Family<prometheus::Counter>* transcribed_;
  prometheus::Family<prometheus::Counter>* failed_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Counter* audio_seconds_;
};

}  // namespace earshot::pipeline
