#pragma once
// Speech-to-text providers behind one asynchronous interface.
//
// Adapters (Sarvam, Deepgram, OpenAI-compatible, whisper.cpp) run every request on an
// http::HttpClient: transcribe() returns at once and the callback runs later on the
// client's loop thread, so one process holds many jobs in flight without a thread each.
// Failures come back as Errors whose code says what to do next (see retry.hpp):
// kRateLimited / kUnavailable / kTimeout are worth retrying later; kUnauthenticated,
// kPermissionDenied, kFailedPrecondition (quota exhausted) and kInvalidArgument are not.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "earshot/core/error.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/stt/transcript.hpp"

namespace earshot::stt {

// Jobs a provider runs on its own side (Sarvam's batch API) survive the worker that started
// them: a provider names each such job here once it is running, under the SttJob's `id`, and
// a job already named here is resumed (polled for its result) instead of being uploaded and
// paid for again, as when a call is redelivered after its worker died.
class JobLedger {
 public:
  virtual ~JobLedger() = default;
  // The provider's job for `key`, if one was named. Called on the thread that called
  // transcribe(); must not block.
  [[nodiscard]] virtual std::optional<std::string> recall(const std::string& key) const = 0;
  // Names the provider's job for `key`. Called on the HTTP loop thread; must not block (a
  // ledger that writes somewhere slow hands the write to another thread). Best effort.
  virtual void remember(const std::string& key, const std::string& provider_job) = 0;
};

struct SttJob {
  std::string audio;  // the encoded file as received (WAV, FLAC, OGG, MP3...): sniffed, not named
  // When set (only for a provider whose streams_files() is true), the file is sent from here
  // as it is read, and `audio` holds only its first bytes (enough to tell its format).
  std::shared_ptr<const http::FileBody> audio_file;
  int channels = 1;
  std::chrono::milliseconds duration{0};
  std::string language;  // BCP-47 ("hi-IN", "en-US"); empty: the provider config's default
  // Stereo only: transcribe each channel on its own (one speaker per channel, labelled
  // "ch0"/"ch1"), natively when the provider can, else by splitting into two mono WAVs.
  bool separate_channels = false;
  bool diarize = true;   // ask for speaker labels (ignored per channel)
  int num_speakers = 2;  // expected speakers when diarizing; 0: let the provider decide
  std::string id;        // for logs, and the key of its provider job in `ledger`
  // Where a provider that runs jobs on its side names them (may be null: none).
  std::shared_ptr<JobLedger> ledger;
  // Speech to English instead of a transcript in the spoken language (providers whose
  // supports_translation() is true; others refuse the job with kFailedPrecondition).
  bool translate = false;
};

using TranscribeCallback = std::function<void(Result<Transcript>)>;

class SttProvider {
 public:
  virtual ~SttProvider() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // True when the provider transcribes each channel of a multichannel file natively.
  [[nodiscard]] virtual bool supports_multichannel() const { return false; }
  // True when the provider renders speech in English directly (SttJob::translate).
  [[nodiscard]] virtual bool supports_translation() const { return false; }
  // True when the provider sends the file as it is and takes it from SttJob::audio_file.
  [[nodiscard]] virtual bool streams_files() const { return false; }
  // Calls `done` exactly once: on the HTTP loop thread, or on the calling thread when the
  // job is refused before any request. Segment speakers are provider labels: "ch0"/"ch1"
  // per channel, the provider's own labels when diarized, "unknown" when the provider gave
  // none; map_speakers() turns them into agent/customer.
  virtual void transcribe(SttJob job, TranscribeCallback done) = 0;
};

// "audio/wav", "audio/mpeg", ... from the bytes; "application/octet-stream" when unknown.
[[nodiscard]] std::string_view audio_content_type(std::string_view audio);
// "wav", "mp3", ... file extension for the same.
[[nodiscard]] std::string_view audio_extension(std::string_view audio);

}  // namespace earshot::stt
