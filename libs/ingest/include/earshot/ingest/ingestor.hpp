#pragma once
// Push ingestion: calls that arrive with their recording (upload API, telephony callbacks)
// or with their transcript (transcript feeds, the transcript upload API).
//
// Audio: the content is checked by what it is, never by its name or MIME type (format
// detection from the bytes, then a full decode: size, duration, channels, sample rate),
// written to the object store under a key derived from the business, the external id and
// the content, and the call is created idempotently on (bid, external_id): sending the same
// external id again returns the existing call (created = false) and stores nothing. A new
// call is published to transcribe.{bid}; an existing call still pending (its first publish
// failed, or its sender retried early) is published again, so a client retry after an error
// always gets the call moving. The stages skip work already done, so a second message is
// harmless.
//
// Transcript: the call is created, its transcript stored and the call walked to transcribed,
// then analyze.{bid} gets its message (the analyze stage measures a text call from its
// segments).
//
// Failures carry what went wrong for the HTTP layer: bad metadata 400, too large 413, not
// audio 415, audio that cannot be used (corrupt, empty, too long) 422; otherwise the error's
// own code (503 for an unavailable database or broker); an object store that refuses or fails
// the write is 503 "object store unavailable: <the store's reason>" (kStoreUnavailable).

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/error.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/http/address_policy.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/repositories.hpp"
#include "earshot/stt/transcript.hpp"

namespace earshot::ingest {

// Configuration of push ingestion (EARSHOT_INGEST_*).
struct IngestSettings {
  std::int64_t max_audio_bytes = 64LL << 20;
  std::chrono::milliseconds max_duration = std::chrono::hours(4);
  // Public base URL of the gateway as the telephony provider calls it (e.g.
  // "https://calls.example.com"); Twilio signs the full URL it called. Empty: taken from the
  // request's Host header over http (only right without a TLS-terminating proxy).
  std::string public_url;
  std::chrono::milliseconds fetch_timeout = std::chrono::seconds(120);
  // Where recording downloads may connect: the binary's egress policy (the gateway sets it
  // from egress_allow; an on-premise PBX is named there). Not a config key of its own.
  http::AddressPolicy fetch_policy;
  // Recordings of one business being checked and stored at once by this gateway (uploads
  // and telephony callbacks); one more is refused with 429 and Retry-After, other
  // businesses unaffected. 0: no cap.
  std::int64_t max_concurrent_uploads = 4;

  // Declares ingest_max_audio_bytes, ingest_max_duration, ingest_public_url,
  // ingest_fetch_timeout, ingest_max_concurrent_uploads.
  void declare(ConfigSpec& spec);
};

// Why an ingestion was refused; the HTTP layer answers with `http_status()`.
enum class Problem {
  kInvalid,           // 400: metadata missing or malformed, empty file
  kTooLarge,          // 413
  kUnsupportedMedia,  // 415: not a recognised audio format
  kUnprocessable,     // 422: recognised but unusable audio (corrupt, silent length, too long)
  kStoreUnavailable,  // 503: the object store refused or failed the write (its reason shown)
  kError,             // the error's own code decides (http_status(error.code))
};

struct IngestError {
  Problem problem = Problem::kError;
  Error error;
  [[nodiscard]] int http_status() const;
  // "invalid_argument", "payload_too_large", "unsupported_media_type", "unprocessable_content"
  // or the error code's name.
  [[nodiscard]] std::string code() const;
};

template <class T>
using IngestResult = std::expected<T, IngestError>;

// What the caller says about the call. Strings are trimmed of nothing: they are stored as
// given, after the length checks of validate().
struct CallMetadata {
  std::string external_id;  // required, 1-128 characters
  std::string agent_id;     // the human agent's external id (created on first use)
  std::string agent_name;
  std::string customer_phone;  // normalised to E.164 with the business's default country code
  std::string customer_name;
  std::string language;                          // e.g. "en" or "en-US"
  std::optional<storage::Timestamp> started_at;  // default: now
  storage::CallDirection direction = storage::CallDirection::kUnknown;
  std::string city;
  std::string issue_category;
  std::string call_context;
  std::string note;                                 // stored as a note on a new call
  std::string source = "upload";                    // "upload", "twilio", "feed", ...
  nlohmann::json extra = nlohmann::json::object();  // merged into the call's metadata

  // kInvalidArgument naming the first bad field.
  [[nodiscard]] Status validate() const;
};

struct MediaInfo {
  std::string format;  // "wav", "mp3", "flac", "ogg", "aiff"
  std::string codec;
  std::int64_t duration_ms = 0;
  int channels = 0;
  int sample_rate = 0;
  std::uint64_t bytes = 0;
  [[nodiscard]] nlohmann::json to_json() const;
};

struct Ingested {
  storage::CallRecord call;
  bool created = false;
  std::optional<MediaInfo> media;  // audio calls (for an existing call: as first stored)
};

// Checks a recording without storing it: 400 empty, 413 above the limit, 415 not audio,
// 422 not decodable or outside the duration limits.
[[nodiscard]] IngestResult<MediaInfo> inspect_audio(std::span<const std::uint8_t> bytes, const IngestSettings& limits);

// Parses transcript segments as the API takes them:
//   [{"speaker": "agent"|"customer", "start_ms": 0, "end_ms": 1200, "text": "..."}, ...]
// (1-5000 segments, times in order within a segment, text 1-10000 characters).
[[nodiscard]] Result<std::vector<stt::Segment>> parse_segments(const nlohmann::json& segments);

struct IngestorDeps {
  storage::CallRepository& calls;
  storage::TranscriptRepository& transcripts;
  storage::NoteRepository& notes;
  storage::HumanAgentRepository& agents;
  storage::PipelineConfigRepository& configs;  // the business's default country code
  objectstore::ObjectStore& store;
  // Publishes and waits for the broker's confirmation.
  std::function<Status(std::vector<queue::OutgoingMessage>)> publish;
  queue::TopologySettings topology;
  const Clock& clock;
  // earshot_ingest_calls_total{source,result}, earshot_ingest_orphaned_recordings_total
  Metrics* metrics = nullptr;
  // Called for each created call (e.g. live events "call.status"); must not throw.
  std::function<void(const std::string& bid, const nlohmann::json& data)> on_call_created;
};

class Ingestor {
 public:
  Ingestor(IngestorDeps deps, IngestSettings settings);

  [[nodiscard]] IngestResult<Ingested> ingest_audio(const storage::TenantId& t, const CallMetadata& meta,
                                                    std::span<const std::uint8_t> audio);
  // `provider` names where the text came from (e.g. "upload", "feed:acme-support").
  [[nodiscard]] IngestResult<Ingested> ingest_transcript(const storage::TenantId& t, const CallMetadata& meta,
                                                         const std::vector<stt::Segment>& segments,
                                                         std::string_view provider);

  [[nodiscard]] const IngestSettings& settings() const { return settings_; }

 private:
  [[nodiscard]] IngestResult<storage::CallInput> call_input(const storage::TenantId& t, const CallMetadata& meta);
  void count(const std::string& source, std::string_view result);
  // Deletes a recording this ingest stored but no call keeps (`why`: for the log). One that
  // cannot be deleted is logged with its URI and counted, so it can be found and removed.
  void drop_recording(const storage::TenantId& t, const std::string& uri, std::string_view why);
  [[nodiscard]] Status publish_transcribe(const std::string& bid, const storage::CallRecord& c);
  [[nodiscard]] Status publish_analyze(const std::string& bid, storage::Id call_id);

  // A place among the business's concurrent uploads (settings_.max_concurrent_uploads), or
  // kRateLimited saying so; the place is given back when the returned guard goes.
  [[nodiscard]] Result<std::shared_ptr<void>> upload_slot(const std::string& bid);

  IngestorDeps d_;
  IngestSettings settings_;
  std::mutex uploads_mu_;
  std::map<std::string, std::int64_t> uploads_;  // bid -> uploads in progress
  prometheus::Family<prometheus::Counter>* calls_ = nullptr;
  prometheus::Family<prometheus::Counter>* orphans_ = nullptr;
};

}  // namespace earshot::ingest
