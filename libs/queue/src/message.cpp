#include "earshot/queue/message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <limits>
#include <random>

namespace earshot::queue {

namespace {
constexpr std::array<std::pair<Stage, std::string_view>, 5> kStageNames{{
    {Stage::kSync, "sync"},
    {Stage::kTranscribe, "transcribe"},
    {Stage::kAnalyze, "analyze"},
    {Stage::kNotify, "notify"},
    {Stage::kEmbed, "embed"},
}};
}  // namespace

std::string_view stage_name(Stage stage) {
  for (const auto& [s, n] : kStageNames) {
    if (s == stage) return n;
  }
  return "sync";
}

std::optional<Stage> parse_stage(std::string_view name) {
  for (const auto& [s, n] : kStageNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

std::optional<std::string> header_string(const Headers& h, std::string_view key) {
  auto it = h.find(key);
  if (it == h.end()) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  return std::nullopt;
}

std::optional<std::int64_t> header_int(const Headers& h, std::string_view key) {
  auto it = h.find(key);
  if (it == h.end()) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(&it->second)) return *i;
  return std::nullopt;
}

Headers encode_envelope(const Envelope& env) {
  Headers h;
  h[std::string(header::kBid)] = env.bid;
  h[std::string(header::kStage)] = std::string(stage_name(env.stage));
  h[std::string(header::kTraceId)] = env.trace_id;
  h[std::string(header::kSchemaVersion)] = std::int64_t{env.schema_version};
  h[std::string(header::kAttempt)] = std::int64_t{env.attempt};
  return h;
}

void stamp_published_at(Headers& headers, std::chrono::system_clock::time_point at) {
  headers[std::string(header::kPublishedAt)] =
      std::int64_t{std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count()};
}

std::optional<std::chrono::milliseconds> message_age(const Headers& headers,
                                                     std::chrono::system_clock::time_point now) {
  auto at = header_int(headers, header::kPublishedAt);
  if (!at) return std::nullopt;
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  // The stamp is any 64-bit integer a publisher wrote: a stamp far in the past would overflow
  // the subtraction (the age is then as old as it gets).
  if (*at >= now_ms) return std::chrono::milliseconds(0);
  std::int64_t age = 0;
  if (__builtin_sub_overflow(now_ms, *at, &age)) age = std::numeric_limits<std::int64_t>::max();
  return std::chrono::milliseconds(age);
}

namespace {
Error bad(std::string_view what) {
  return Error(ErrorCode::kInvalidArgument, fmt::format("invalid envelope: {}", what));
}

}  // namespace

bool is_valid_bid(std::string_view bid) {
  if (bid.empty() || bid.size() > 64) return false;
  for (char c : bid) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<Envelope> decode_envelope(const Headers& headers, std::string message_id) {
  Envelope env;
  if (message_id.empty()) return std::unexpected(bad("missing message id"));
  env.message_id = std::move(message_id);
  auto bid = header_string(headers, header::kBid);
  if (!bid) return std::unexpected(bad("missing x-bid"));
  if (!is_valid_bid(*bid)) return std::unexpected(bad("x-bid is not a valid business id"));
  env.bid = *bid;
  auto stage = header_string(headers, header::kStage);
  if (!stage) return std::unexpected(bad("missing x-stage"));
  auto st = parse_stage(*stage);
  if (!st) return std::unexpected(bad("x-stage names no stage"));
  env.stage = *st;
  env.trace_id = header_string(headers, header::kTraceId).value_or("");
  auto version = header_int(headers, header::kSchemaVersion);
  if (!version) return std::unexpected(bad("missing or non-integer x-schema-version"));
  if (*version < 1 || *version > 1000) return std::unexpected(bad("x-schema-version out of range"));
  env.schema_version = static_cast<int>(*version);
  auto attempt = header_int(headers, header::kAttempt);
  if (!attempt) return std::unexpected(bad("missing or non-integer x-attempt"));
  if (*attempt < 1 || *attempt > 1'000'000) return std::unexpected(bad("x-attempt out of range"));
  env.attempt = static_cast<int>(*attempt);
  return env;
}

std::string new_message_id() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

std::string format_utc(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

}  // namespace earshot::queue
