#pragma once
// Messages as the queue fabric sees them: a JSON body plus an envelope of AMQP headers.
//
// Envelope headers on every stage message (see docs/queue.md):
//   x-bid            business id          x-stage          stage name
//   x-trace-id       trace id             x-schema-version integer, the body's schema version
//   x-attempt        1 on first publish, +1 for every retry
//   x-published-at   unix milliseconds of the latest publish (set by the Publisher)
// The message id travels in the AMQP message-id property. Messages are persistent.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::queue {

// kEmbed: knowledge-base documents to embed (embed.{bid}), consumed by earshot-analyze.
enum class Stage { kSync, kTranscribe, kAnalyze, kNotify, kEmbed };

inline constexpr Stage kAllStages[] = {Stage::kSync, Stage::kTranscribe, Stage::kAnalyze, Stage::kNotify,
                                       Stage::kEmbed};

[[nodiscard]] std::string_view stage_name(Stage stage);
[[nodiscard]] std::optional<Stage> parse_stage(std::string_view name);

// A header value: text or integer (the only kinds the fabric writes; other AMQP field kinds
// received from the broker, such as x-death arrays, are not kept).
using HeaderValue = std::variant<std::string, std::int64_t>;
using Headers = std::map<std::string, HeaderValue, std::less<>>;

[[nodiscard]] std::optional<std::string> header_string(const Headers& h, std::string_view key);
[[nodiscard]] std::optional<std::int64_t> header_int(const Headers& h, std::string_view key);

namespace header {
inline constexpr std::string_view kBid = "x-bid";
inline constexpr std::string_view kStage = "x-stage";
inline constexpr std::string_view kTraceId = "x-trace-id";
inline constexpr std::string_view kSchemaVersion = "x-schema-version";
inline constexpr std::string_view kAttempt = "x-attempt";
// Unix milliseconds when the Publisher last sent the message (each retry, dead-letter and
// replay copy gets a fresh stamp); the worker measures a message's queue age from it.
inline constexpr std::string_view kPublishedAt = "x-published-at";
// Dead-letter headers.
inline constexpr std::string_view kErrorCode = "x-error-code";
inline constexpr std::string_view kErrorReason = "x-error-reason";
inline constexpr std::string_view kAttempts = "x-attempts";
inline constexpr std::string_view kFailedAt = "x-failed-at";
}  // namespace header

// What the broker is asked to do with one message.
struct OutgoingMessage {
  std::string exchange;  // "" is the default exchange (routing key = queue name)
  std::string routing_key;
  std::string message_id;  // generated when empty
  std::string body;        // JSON text
  Headers headers;
  bool mandatory = true;  // unroutable -> the publish fails
  std::optional<std::chrono::milliseconds> expiration;
};

// Envelope fields of a stage message.
struct Envelope {
  std::string bid{};
  Stage stage = Stage::kSync;
  std::string message_id{};
  std::string trace_id{};
  int schema_version = 1;
  int attempt = 1;
};

[[nodiscard]] Headers encode_envelope(const Envelope& env);
// kInvalidArgument naming the header when one is missing or malformed. `message_id` comes
// from the AMQP property.
[[nodiscard]] Result<Envelope> decode_envelope(const Headers& headers, std::string message_id);

// A message received from a work queue.
struct IncomingMessage {
  Envelope envelope{};
  std::string body{};
  Headers headers{};  // every decodable header, envelope included
  bool redelivered = false;
};

// Sets x-published-at to `at` (unix milliseconds), replacing an older stamp.
void stamp_published_at(Headers& headers, std::chrono::system_clock::time_point at);
// How long ago the message was published (x-published-at), as of `now`: nullopt when the
// header is absent or not an integer (messages of older builds); zero when the stamp lies in
// the future (clocks of two hosts apart).
[[nodiscard]] std::optional<std::chrono::milliseconds> message_age(const Headers& headers,
                                                                   std::chrono::system_clock::time_point now);

// Business ids: 1-64 of [a-z0-9_-] (they are part of queue names).
[[nodiscard]] bool is_valid_bid(std::string_view bid);

// A random 128-bit id as 32 lower-case hex digits.
[[nodiscard]] std::string new_message_id();

// ISO 8601 UTC with milliseconds, "2026-11-21T09:40:00.123Z".
[[nodiscard]] std::string format_utc(std::chrono::system_clock::time_point t);

}  // namespace earshot::queue
