#pragma once
// Helpers shared by the MySQL repositories. Internal to libs/storage.

#include <fmt/format.h>

#include <array>
#include <bit>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earshot/storage/repositories.hpp"

namespace earshot::storage::detail {

// The columns of call_metrics in the order to_metrics reads them, each prefixed with
// `qualifier` ("m." or ""); without the series, loudness_series reads as '' (the call detail
// does not show it and it is the row's largest value).
std::string metric_columns(std::string_view qualifier, bool with_series);
// A metrics row whose columns start at `first` in `r`.
CallMetrics to_metrics(const Row& r, Id call_id, std::size_t first);

// Enum <-> SQL ENUM text, one table per enum.
template <class E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

template <class E, std::size_t N>
std::string_view to_name(const Names<E, N>& names, E e) {
  for (const auto& [v, n] : names) {
    if (v == e) return n;
  }
  return names[0].second;
}

template <class E, std::size_t N>
E from_name(const Names<E, N>& names, std::string_view s) {
  for (const auto& [v, n] : names) {
    if (n == s) return v;
  }
  return names[0].first;
}

inline constexpr Names<BusinessStatus, 2> kBusinessStatus{
    {{BusinessStatus::kActive, "active"}, {BusinessStatus::kDisabled, "disabled"}}};
inline constexpr Names<UserRole, 3> kUserRole{
    {{UserRole::kViewer, "viewer"}, {UserRole::kAdmin, "admin"}, {UserRole::kAnalyst, "analyst"}}};
inline constexpr Names<LeadFilterMode, 3> kLeadFilter{
    {{LeadFilterMode::kOff, "off"}, {LeadFilterMode::kPrefer, "prefer"}, {LeadFilterMode::kRequire, "require"}}};
inline constexpr Names<AgentKind, 2> kAgentKind{{{AgentKind::kBuiltin, "builtin"}, {AgentKind::kLlm, "llm"}}};
inline constexpr Names<CallDirection, 3> kDirection{{{CallDirection::kUnknown, "unknown"},
                                                     {CallDirection::kInbound, "inbound"},
                                                     {CallDirection::kOutbound, "outbound"}}};
inline constexpr Names<MetricsSource, 2> kMetricsSource{
    {{MetricsSource::kTranscript, "transcript"}, {MetricsSource::kAudio, "audio"}}};
inline constexpr Names<EscalationSeverity, 3> kSeverity{
    {{EscalationSeverity::kMedium, "medium"}, {EscalationSeverity::kLow, "low"}, {EscalationSeverity::kHigh, "high"}}};
inline constexpr Names<EscalationStatus, 3> kEscalationStatus{{{EscalationStatus::kOpen, "open"},
                                                               {EscalationStatus::kAcknowledged, "acknowledged"},
                                                               {EscalationStatus::kResolved, "resolved"}}};
inline constexpr Names<EventOutcome, 5> kOutcome{{{EventOutcome::kStarted, "started"},
                                                  {EventOutcome::kSucceeded, "succeeded"},
                                                  {EventOutcome::kFailed, "failed"},
                                                  {EventOutcome::kRetried, "retried"},
                                                  {EventOutcome::kSkipped, "skipped"}}};

[[nodiscard]] inline std::unexpected<Error> not_found(std::string_view what, Id id) {
  return std::unexpected(Error(ErrorCode::kNotFound, fmt::format("{} {} not found", what, id)));
}
[[nodiscard]] inline std::unexpected<Error> not_found(std::string_view what) {
  return std::unexpected(Error(ErrorCode::kNotFound, fmt::format("{} not found", what)));
}

// True when a guarded UPDATE/DELETE matched a row.
[[nodiscard]] inline Result<bool> matched(const Result<ExecResult>& r) {
  if (!r) return std::unexpected(r.error());
  return r->affected_rows > 0;
}

// kNotFound unless call `id` belongs to tenant `t`. With `lock`, the call row stays locked
// (SELECT ... FOR UPDATE) until the surrounding transaction ends.
[[nodiscard]] inline Status require_call(Connection& c, const TenantId& t, Id id, bool lock = false) {
  auto r = c.execute(lock ? "SELECT id FROM call_records WHERE id = ? AND bid = ? FOR UPDATE"
                          : "SELECT id FROM call_records WHERE id = ? AND bid = ?",
                     {id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("call", id);
  return {};
}

// "?, ?, ?" for an IN list of n values.
[[nodiscard]] inline std::string placeholders(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += i ? ", ?" : "?";
  return s;
}

// Vectors are stored as little-endian float32 arrays (call_embeddings, knowledge_chunks).
static_assert(std::endian::native == std::endian::little, "vectors are stored little-endian");
[[nodiscard]] inline std::string pack_vector(const std::vector<float>& v) {
  std::string out(v.size() * sizeof(float), '\0');
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}
[[nodiscard]] inline std::vector<float> unpack_vector(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// JSON array of strings <-> vector (for scopes, events).
[[nodiscard]] std::string to_json_array(const std::vector<std::string>& items);
[[nodiscard]] std::vector<std::string> from_json_array(std::string_view json);

}  // namespace earshot::storage::detail
