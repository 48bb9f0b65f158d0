#pragma once
// The provider adapters (wire formats in docs/providers.md of the shared docs). Usually built
// through make_provider(); constructible directly for tests. Each keeps references to the
// HttpClient and Clock, which must outlive it; a transcription in flight holds what it needs
// by value, so the adapter itself may be destroyed before its callbacks run.

#include <memory>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/stt/provider.hpp"
#include "earshot/stt/provider_config.hpp"

namespace earshot::stt {

// Sarvam AI: POST /speech-to-text (multipart) for audio of at most 30 s that needs no
// diarization; otherwise the batch job API (create with diarization -> upload-files -> PUT
// the bytes to the returned URL -> start -> poll status -> download-files -> GET output).
// Translation (SttJob::translate, speech to English): with a `saaras:v3` model the same
// endpoints with mode=translate; otherwise POST /speech-to-text-translate (model
// saaras:v2.5) and the batch job API under /speech-to-text-translate/job/v1.
class SarvamProvider final : public SttProvider {
 public:
  static constexpr std::chrono::milliseconds kSyncLimit{30'000};
  SarvamProvider(ProviderConfig config, http::HttpClient& client, const Clock& clock);
  [[nodiscard]] std::string_view name() const override { return "sarvam"; }
  [[nodiscard]] bool supports_translation() const override { return true; }
  void transcribe(SttJob job, TranscribeCallback done) override;

 private:
  std::shared_ptr<const ProviderConfig> config_;
  http::HttpClient& client_;
  const Clock& clock_;
};

// Deepgram pre-recorded: POST /v1/listen with the raw audio; utterances carry speakers
// (diarize) or channels (multichannel=true for per-channel jobs, natively).
class DeepgramProvider final : public SttProvider {
 public:
  DeepgramProvider(ProviderConfig config, http::HttpClient& client, const Clock& clock);
  [[nodiscard]] std::string_view name() const override { return "deepgram"; }
  [[nodiscard]] bool supports_multichannel() const override { return true; }
  // The file is the request body as it is: sent from SttJob::audio_file when set.
  [[nodiscard]] bool streams_files() const override { return true; }
  void transcribe(SttJob job, TranscribeCallback done) override;

 private:
  std::shared_ptr<const ProviderConfig> config_;
  http::HttpClient& client_;
  const Clock& clock_;
};

// OpenAI-compatible POST /v1/audio/transcriptions (verbose_json, segment and word
// timestamps; no speakers: segments are "unknown" unless per channel), or whisper.cpp's
// POST /inference (verbose_json; `speaker` on segments when it diarizes stereo input).
class OpenAiSttProvider final : public SttProvider {
 public:
  enum class Mode { kOpenAi, kWhisperCpp };
  OpenAiSttProvider(ProviderConfig config, http::HttpClient& client, const Clock& clock, Mode mode = Mode::kOpenAi);
  [[nodiscard]] std::string_view name() const override { return mode_ == Mode::kOpenAi ? "openai" : "whisper_cpp"; }
  void transcribe(SttJob job, TranscribeCallback done) override;

 private:
  std::shared_ptr<const ProviderConfig> config_;
  http::HttpClient& client_;
  const Clock& clock_;
  Mode mode_;
};

// Per-channel jobs for providers without a multichannel option: decodes the stereo file,
// writes each channel as a mono 16-bit WAV and transcribes both through `inner` (no
// diarization), labelling segments "ch0" / "ch1" and merging them by start time. Other jobs
// pass straight through. The decode runs on the calling thread (a few ms per minute of
// audio): call it from a worker thread, not from an HTTP callback, for long recordings.
class ChannelSplitProvider final : public SttProvider {
 public:
  explicit ChannelSplitProvider(std::unique_ptr<SttProvider> inner);
  [[nodiscard]] std::string_view name() const override { return inner_->name(); }
  [[nodiscard]] bool supports_multichannel() const override { return true; }
  [[nodiscard]] bool supports_translation() const override { return inner_->supports_translation(); }
  void transcribe(SttJob job, TranscribeCallback done) override;

 private:
  std::shared_ptr<SttProvider> inner_;
};

}  // namespace earshot::stt
