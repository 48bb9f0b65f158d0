#pragma once
// Calls that are not in English (docs/analyze.md "Language").
//
// - The call's language: what the speech provider reported, else the offline detector
//   (analytics/language.hpp) over the transcript, else the call's or business's setting.
// - The built-in analyzers declare the languages they read; a call that no source can give
//   them in such a language gets "not analyzed: language xx" instead of a number.
// - An English rendering beside the original transcript, with the original's speakers and
//   times: Sarvam's speech-to-English pieces aligned to the original's segments, or the
//   business's LLM chain (one request, JSON contract {"segments": [{"i", "text"}]}).
// - The optional LLM sentiment pass: one request per call, JSON contract
//   {"turns": [{"i", "label": "positive|negative|neutral", "score": -1..1}]}; the per-turn
//   scores replace the lexicon's in the timeline.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/analytics/transcript.hpp"
#include "earshot/core/error.hpp"
#include "earshot/llm/agent.hpp"
#include "earshot/stt/transcript.hpp"

namespace earshot::pipeline {

struct CallLanguage {
  std::string tag;     // BCP-47; "hi-Latn" for romanised Hindi (Hinglish); "und" when unknown
  std::string source;  // "provider" | "detected" | "configured"
  std::string evidence;
};

// `reported` (the provider's answer) when it names a language, unless it says English and the
// detector finds an Indian script or Hinglish in `text` (a provider may echo the language it
// was asked for); else the detector when it can tell; else `configured` ("" counts as
// English, the platform's default).
[[nodiscard]] CallLanguage resolve_call_language(std::string_view reported, std::string_view text,
                                                 std::string_view configured);

// The built-in analyzers and the languages (primary subtags) they read. Every one is English
// only today: lexicon sentiment, PII patterns, category and QA phrase rules, summary, outcome
// and escalation phrases, the question rate. Time-based metrics (talk time, interruptions,
// non-talk) read no words and run on every call.
struct AnalyzerLanguages {
  std::string_view analyzer;   // the analysis name ("builtin.sentiment", ...)
  std::string_view languages;  // comma-separated primary subtags
};
inline constexpr AnalyzerLanguages kAnalyzerLanguages[] = {
    {"builtin.sentiment", "en"}, {"builtin.pii", "en"},     {"builtin.categories", "en"},
    {"builtin.qa", "en"},        {"builtin.summary", "en"},
};
// True when `analyzer` reads `tag` (unknown analyzers read English only).
[[nodiscard]] bool analyzer_supports(std::string_view analyzer, std::string_view tag);
// "not analyzed: language hi" (the primary subtag of `tag`).
[[nodiscard]] std::string not_analyzed_reason(std::string_view tag);

// The English pieces `english` (a translation job's segments, with their own times) put on
// the original's segments: each piece goes to the original segment its midpoint falls in,
// else to the nearest one; pieces of one segment are joined in order. The result has the
// original's speakers and times; a segment that got no piece has empty text.
[[nodiscard]] std::vector<stt::Segment> align_english(const std::vector<stt::Segment>& original,
                                                      const std::vector<stt::Segment>& english);

// [{speaker, start_ms, end_ms, text}] of segments (what transcripts.english_segments holds).
[[nodiscard]] std::string english_segments_json(const std::vector<stt::Segment>& segments);
[[nodiscard]] std::string english_segments_json(const std::vector<analytics::TranscriptSegment>& segments);

// ---- LLM passes (run through LlmAgents, so the chain, limits, cache and metrics apply) ----

// The turns of a call as the passes send them: {"turns": [{"i", "speaker", "text"}]} as the
// input's metadata (the transcript variable stays empty: no trimming, every turn is sent).
[[nodiscard]] llm::AgentInput turns_input(const std::vector<analytics::TranscriptSegment>& segments);

// The translation agent: "Task: translate" from `language` to English.
[[nodiscard]] llm::AgentConfig translation_agent(std::string_view language, int max_tokens);
// The translated texts in segment order from a validated answer; kInvalidArgument when an
// index is missing, repeated or out of range, or a text is empty where the original was not.
[[nodiscard]] Result<std::vector<std::string>> parse_translation(const std::string& output,
                                                                 const std::vector<analytics::TranscriptSegment>& segs);

// The sentiment agent: "Task: sentiment", a label and score per turn.
[[nodiscard]] llm::AgentConfig sentiment_agent(int max_tokens);
struct TurnSentiment {
  std::vector<double> scores;       // per turn, in [-1, 1]
  std::vector<std::string> labels;  // positive | negative | neutral
};
// kInvalidArgument when a turn is missing or repeated, an index is out of range, a label is
// not one of the three or a score is outside [-1, 1] or contradicts its label's sign.
[[nodiscard]] Result<TurnSentiment> parse_llm_sentiment(const std::string& output, std::size_t turns);

}  // namespace earshot::pipeline
