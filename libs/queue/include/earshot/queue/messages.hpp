#pragma once
// The bodies of the messages on the work and control exchanges: one struct per message type,
// each with its only JSON encoding (`to_json`) and decoding (`parse`). Every producer and
// every consumer goes through these; nothing else writes or reads a message body.
//
// The wire format is proto/messages/<type>.v<N>.schema.json (docs/queue.md). `parse` checks
// the body against that schema (the same compiled-in validator the worker runs on receipt)
// before reading it, so a body parses exactly when the worker would let it through, and a
// body written by an earlier build of the same schema version still parses. Its errors are
// kInvalidArgument (dead-letter) naming the field: "transcribe message: $.audio.format: must
// be one of [...]". A schema_version this build has no type for is refused as the worker
// refuses it: "... unknown schema version".
//
// `to_json` writes the fields as they are; a struct that breaks its schema (a bid that is not
// a business id, an empty call id) makes a body that consumers dead-letter. The message
// tests (tests/queue/messages_test.cpp) check every type's output against its schema, and
// that every compiled-in schema has a type here.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/topology.hpp"

namespace earshot::queue {

// The recording format a transcribe message names, from a URI's or file name's extension:
// "wav" | "mp3" | "flac" | "ogg", lower-cased, with any query string and fragment ignored
// ("https://x/a.WAV?sig=x" -> "wav"). Anything else is "wav": the field is a hint, the stt
// worker detects the real format from the bytes.
[[nodiscard]] std::string audio_format_of(std::string_view uri_or_name);

// sync.v1: fetch a call's recording and metadata from its source (sync.{bid}).
struct SyncRequest {
  static constexpr Stage kStage = Stage::kSync;
  static constexpr int kSchemaVersion = 1;
  struct Source {
    std::string provider{};
    std::string external_id{};
    std::optional<std::string> recording_url{};
    friend bool operator==(const Source&, const Source&) = default;
  };

  std::string bid{};
  std::string call_id{};
  Source source{};
  std::optional<std::string> requested_at{};

  [[nodiscard]] std::string to_json() const;
  [[nodiscard]] static Result<SyncRequest> parse(std::string_view body);
  friend bool operator==(const SyncRequest&, const SyncRequest&) = default;
};

// transcribe.v1: transcribe a stored recording (transcribe.{bid}).
struct TranscribeRequest {
  static constexpr Stage kStage = Stage::kTranscribe;
  static constexpr int kSchemaVersion = 1;
  struct Audio {
    std::string uri{};
    std::string format = "wav";  // "wav" | "mp3" | "flac" | "ogg" (audio_format_of)
    std::optional<int> sample_rate{};
    std::optional<int> channels{};
    friend bool operator==(const Audio&, const Audio&) = default;
  };

  std::string bid{};
  std::string call_id{};
  Audio audio{};
  std::optional<std::string> language{};

  // The request for call `call_id` of `bid` as every producer writes it: the call id in
  // decimal, the format from the URI (audio_format_of), `channels` when 1-8 and `language`
  // when not empty.
  [[nodiscard]] static TranscribeRequest for_call(std::string bid, std::int64_t call_id, std::string audio_uri,
                                                  int channels = 0, std::string language = {});
  [[nodiscard]] std::string to_json() const;
  [[nodiscard]] static Result<TranscribeRequest> parse(std::string_view body);
  friend bool operator==(const TranscribeRequest&, const TranscribeRequest&) = default;
};

// analyze.v1: analyze a finished transcript (analyze.{bid}).
struct AnalyzeRequest {
  static constexpr Stage kStage = Stage::kAnalyze;
  static constexpr int kSchemaVersion = 1;

  std::string bid{};
  std::string call_id{};
  std::string transcript_id{};
  std::optional<std::vector<std::string>> analyses{};

  // The request for call `call_id` of `bid`: a call has one transcript, named by the call id.
  [[nodiscard]] static AnalyzeRequest for_call(std::string bid, std::int64_t call_id);
  [[nodiscard]] std::string to_json() const;
  [[nodiscard]] static Result<AnalyzeRequest> parse(std::string_view body);
  friend bool operator==(const AnalyzeRequest&, const AnalyzeRequest&) = default;
};

enum class NotifyEvent { kCallAnalyzed, kCallFailed };
// "call.analyzed" | "call.failed"
[[nodiscard]] std::string_view notify_event_name(NotifyEvent event);

// notify.v1: tell a business's subscribers about a call (notify.{bid}).
struct NotifyRequest {
  static constexpr Stage kStage = Stage::kNotify;
  static constexpr int kSchemaVersion = 1;

  std::string bid{};
  std::string call_id{};
  NotifyEvent event = NotifyEvent::kCallAnalyzed;
  std::optional<std::string> analysis_id{};

  [[nodiscard]] std::string to_json() const;
  [[nodiscard]] static Result<NotifyRequest> parse(std::string_view body);
  friend bool operator==(const NotifyRequest&, const NotifyRequest&) = default;
};

enum class EmbedKind { kDocument, kReembed };
// "document" | "reembed"
[[nodiscard]] std::string_view embed_kind_name(EmbedKind kind);

// embed.v1: embed one knowledge-base document (kind document: `id` is the document id,
// `version` the content version to embed; an older version than the stored one is skipped),
// or re-embed every document and analysed call of the business that another embedder than
// its current one embedded (kind reembed: `id` names the embedder the change selected;
// `after`, on the steps the worker sends itself, the call id the previous step ended at;
// `call`: that one analysed call only, no documents, sent by the analyze stage when the
// embedder changed while it analysed the call) (embed.{bid}).
struct EmbedRequest {
  static constexpr Stage kStage = Stage::kEmbed;
  static constexpr int kSchemaVersion = 1;

  std::string bid{};
  EmbedKind kind = EmbedKind::kDocument;
  std::string id{};
  std::optional<std::int64_t> version{};
  std::optional<std::int64_t> after{};
  std::optional<std::int64_t> call{};

  [[nodiscard]] static EmbedRequest for_document(std::string bid, std::int64_t document_id, std::int64_t version);
  [[nodiscard]] std::string to_json() const;
  [[nodiscard]] static Result<EmbedRequest> parse(std::string_view body);
  friend bool operator==(const EmbedRequest&, const EmbedRequest&) = default;
};

enum class BusinessEventType { kRegistered, kEnabled, kDisabled };

// control.v1, on the control exchange: a business was registered, enabled or disabled
// (docs/queue.md, Live business discovery). `at` travels with millisecond precision.
struct BusinessEvent {
  static constexpr int kSchemaVersion = 1;

  BusinessEventType type = BusinessEventType::kEnabled;
  std::string bid{};
  std::chrono::system_clock::time_point at{};

  // {"schema_version":1,"type":"business_enabled","bid":"acme","at":"2026-...Z"}
  [[nodiscard]] std::string to_json() const;
  // Also refuses an `at` that is not "YYYY-MM-DDTHH:MM:SS[.fff]Z".
  [[nodiscard]] static Result<BusinessEvent> parse(std::string_view body);
  friend bool operator==(const BusinessEvent&, const BusinessEvent&) = default;
};

template <class M>
concept StageRequest = requires(const M& m) {
  { M::kStage } -> std::convertible_to<Stage>;
  { M::kSchemaVersion } -> std::convertible_to<int>;
  { m.bid } -> std::convertible_to<std::string>;
  { m.to_json() } -> std::convertible_to<std::string>;
};

// `request` as a stage message to {stage}.{bid} on the work exchange for request.bid, with
// its schema version in the envelope and the given trace id (a fresh one by default).
template <StageRequest M>
[[nodiscard]] OutgoingMessage make_stage_message(const TopologySettings& topology, const M& request,
                                                 std::string trace_id = new_message_id()) {
  Envelope env{.bid = request.bid, .stage = M::kStage, .schema_version = M::kSchemaVersion};
  env.trace_id = std::move(trace_id);
  return make_stage_message(topology, std::move(env), request.to_json());
}

}  // namespace earshot::queue
