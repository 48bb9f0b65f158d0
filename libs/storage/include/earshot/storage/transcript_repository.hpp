#pragma once
// What the transcribe stage writes: a call's transcript and its conversation metrics.
// Contract (tenant scoping, errors): repository_common.hpp.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "earshot/storage/processing_event_repository.hpp"
#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

struct Transcript {
  Id call_id = 0;
  std::string segments_json = "[]";  // [{speaker, start_ms, end_ms, text, confidence}]
  std::string full_text;
  std::string provider;
  std::string language;           // BCP-47 ("hi-IN", "en", "hi-Latn" for romanised Hindi)
  std::int64_t version = 0;       // read-only: 1 on first write, +1 per rewrite
  std::string language_source{};  // "provider" | "detected" | "configured"; "" before migration 0015
  // The English rendering (same speakers and times as segments_json), "" when there is none;
  // english_source says who made it: "sarvam" (speech to English) or "llm".
  std::string english_segments_json{};
  std::string english_source{};
  // The redacted form the analyze stage stored (put_redaction), read-only; get() and the call
  // detail fill them. The segments, with every PII finding replaced by its placeholder (no
  // word timings): nullopt unless made from THIS version. The recording's redacted copy as
  // last written (empty: none), `redaction_current` when it was made from this version (only
  // then may it be served; a stale one is still the call's object to delete).
  std::optional<std::string> redacted_segments_json{};
  std::string redacted_audio_uri{};
  bool redaction_current = false;
};

// What the analyze stage stores beside transcript version `version` (put_redaction).
struct TranscriptRedaction {
  Id call_id = 0;
  std::int64_t version = 0;          // the transcript version it was made from
  std::string segments_json = "[]";  // the segments, text redacted, without word timings
  std::string full_text;             // the redacted texts joined by '\n' (as full_text is)
  std::string audio_uri;             // the recording's redacted copy; empty: none made
};

enum class MetricsSource { kAudio, kTranscript };

// The conversation metrics of a call (definitions: the shared metrics document).
struct CallMetrics {
  Id call_id = 0;
  MetricsSource source = MetricsSource::kTranscript;
  std::int64_t duration_ms = 0;
  std::int64_t agent_talk_ms = 0;
  std::int64_t customer_talk_ms = 0;
  std::optional<double> agent_talk_ratio;
  std::optional<double> agent_talk_pct_of_call;
  std::int64_t non_talk_ms = 0;
  std::string silences_json = "[]";
  std::int64_t overtalk_ms = 0;
  std::int64_t overtalk_count = 0;
  std::int64_t agent_interruptions = 0;
  std::int64_t agent_interruption_ms = 0;
  std::int64_t customer_interruptions = 0;
  std::int64_t customer_interruption_ms = 0;
  std::optional<double> agent_loudness_mean_dbfs;
  std::optional<double> agent_loudness_peak_dbfs;
  std::optional<double> customer_loudness_mean_dbfs;
  std::optional<double> customer_loudness_peak_dbfs;
  std::string loudness_series_json = "{}";
  std::int64_t longest_monologue_ms = 0;
  std::int64_t longest_customer_story_ms = 0;
  std::optional<double> interactivity_per_min;
  std::optional<double> patience_ms;
  std::optional<double> agent_wpm;
  std::optional<double> customer_wpm;
  std::optional<double> question_rate_per_hour;
  std::optional<double> agent_sentiment;
  std::optional<double> customer_sentiment;
  std::optional<double> agent_sentiment_q[4];
  std::optional<double> customer_sentiment_q[4];
  std::optional<double> sentiment_change;
};

class TranscriptRepository {
 public:
  virtual ~TranscriptRepository() = default;
  // Writes (or rewrites) the call's transcript. kNotFound when the call is not the tenant's.
  [[nodiscard]] virtual Status put(const TenantId& t, const Transcript& tr) = 0;
  // A transcription's result in one transaction: the transcript (as put()), the call's
  // metrics (as MetricsRepository::put), the call moved transcribing -> transcribed (when it
  // is transcribing) and `event` appended. True when the call moved; kNotFound when the call
  // is not the tenant's.
  [[nodiscard]] virtual Result<bool> put_transcribed(const TenantId& t, const Transcript& tr, const CallMetrics& m,
                                                     const ProcessingEvent& event) = 0;
  [[nodiscard]] virtual Result<Transcript> get(const TenantId& t, Id call_id) = 0;
  // Stores the redacted form of transcript version `r.version`. False (nothing written) when
  // the transcript is not at that version any more (rewritten meanwhile) or is not the
  // tenant's. A rewrite (put) clears the redacted segments and text; the audio URI stays
  // (its object is the call's until the call goes) but is served only while its version is
  // the transcript's.
  [[nodiscard]] virtual Result<bool> put_redaction(const TenantId& t, const TranscriptRedaction& r) = 0;
  // The redacted segments JSON of the tenant's calls among `call_ids` (at most 1000) whose
  // current transcript has one; the others are absent.
  [[nodiscard]] virtual Result<std::unordered_map<Id, std::string>> redacted_segments_of(
      const TenantId& t, std::span<const Id> call_ids) = 0;
  // Sets the call's English rendering (segments JSON, who made it) on its stored transcript.
  // kNotFound when the call has no transcript or is not the tenant's.
  [[nodiscard]] virtual Status put_english(const TenantId& t, Id call_id, const std::string& segments_json,
                                           const std::string& source) = 0;
  // Records a language the analyze stage detected on a transcript that came without one (an
  // ingested text): the transcript's language and source, and the call's language when it is
  // empty. A transcript whose language a provider or a configuration gave is left as it is.
  // kNotFound when the call has no transcript or is not the tenant's.
  [[nodiscard]] virtual Status put_language(const TenantId& t, Id call_id, const std::string& language,
                                            const std::string& source) = 0;
  // The segments JSON of the tenant's calls among `call_ids` in one query (at most 1000 ids,
  // else kInvalidArgument); a call without a transcript, or not the tenant's, is absent.
  [[nodiscard]] virtual Result<std::unordered_map<Id, std::string>> segments_of(const TenantId& t,
                                                                                std::span<const Id> call_ids) = 0;
  // Calls whose transcript contains every word of `text` (FULLTEXT), newest first.
  [[nodiscard]] virtual Result<std::vector<Id>> search(const TenantId& t, std::string_view text, int limit) = 0;
};

class MetricsRepository {
 public:
  virtual ~MetricsRepository() = default;
  // Writes the call's metrics and, in the same transaction, the values the call list filters
  // on (agent talk ratio, customer sentiment). kNotFound when the call is not the tenant's.
  [[nodiscard]] virtual Status put(const TenantId& t, const CallMetrics& m) = 0;
  [[nodiscard]] virtual Result<CallMetrics> get(const TenantId& t, Id call_id) = 0;
};

}  // namespace earshot::storage
