#include "earshot/pipeline/call_language.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "earshot/analytics/language.hpp"

namespace earshot::pipeline {

using nlohmann::json;

CallLanguage resolve_call_language(std::string_view reported, std::string_view text, std::string_view configured) {
  auto guess = analytics::detect_language(text);
  if (auto tag = analytics::normalize_language_tag(reported); !tag.empty()) {
    // A provider may echo the language it was asked for: "English" over text in an Indian
    // script or in Hinglish is not believed (English analyzers must not read Hindi).
    const bool contradicted =
        analytics::is_english(tag) && !guess.tag.empty() && guess.tag != "und" && !analytics::is_english(guess.tag);
    if (!contradicted) return {std::move(tag), "provider", fmt::format("reported as {}", reported)};
  }
  if (!guess.tag.empty()) return {std::move(guess.tag), "detected", std::move(guess.evidence)};
  auto tag = analytics::normalize_language_tag(configured);
  return {tag.empty() ? std::string("en") : std::move(tag), "configured", "too little text to tell"};
}

bool analyzer_supports(std::string_view analyzer, std::string_view tag) {
  const auto lang = analytics::primary_language(tag);
  std::string_view languages = "en";
  for (const auto& a : kAnalyzerLanguages) {
    if (a.analyzer == analyzer) languages = a.languages;
  }
  while (!languages.empty()) {
    const auto comma = languages.find(',');
    if (languages.substr(0, comma) == lang) return true;
    if (comma == std::string_view::npos) break;
    languages.remove_prefix(comma + 1);
  }
  return false;
}

std::string not_analyzed_reason(std::string_view tag) {
  auto lang = analytics::primary_language(tag);
  return "not analyzed: language " + (lang.empty() ? std::string("und") : lang);
}

std::vector<stt::Segment> align_english(const std::vector<stt::Segment>& original,
                                        const std::vector<stt::Segment>& english) {
  std::vector<stt::Segment> out;
  out.reserve(original.size());
  for (const auto& s : original) {
    stt::Segment e;
    e.speaker = s.speaker;
    e.start_ms = s.start_ms;
    e.end_ms = s.end_ms;
    out.push_back(std::move(e));
  }
  if (out.empty()) return out;
  for (const auto& piece : english) {
    if (piece.text.empty()) continue;
    const auto mid = (piece.start_ms + piece.end_ms) / 2;
    std::size_t best = 0;
    std::int64_t best_gap = -1;
    for (std::size_t i = 0; i < original.size(); ++i) {
      const auto& s = original[i];
      const std::int64_t gap = mid < s.start_ms ? s.start_ms - mid : mid > s.end_ms ? mid - s.end_ms : 0;
      if (best_gap < 0 || gap < best_gap) {
        best = i;
        best_gap = gap;
      }
      if (gap == 0) break;
    }
    auto& text = out[best].text;
    if (!text.empty()) text += ' ';
    text += piece.text;
  }
  return out;
}

std::string english_segments_json(const std::vector<stt::Segment>& segments) {
  json out = json::array();
  for (const auto& s : segments) {
    out.push_back({{"speaker", s.speaker}, {"start_ms", s.start_ms}, {"end_ms", s.end_ms}, {"text", s.text}});
  }
  return out.dump();
}

std::string english_segments_json(const std::vector<analytics::TranscriptSegment>& segments) {
  json out = json::array();
  for (const auto& s : segments) {
    out.push_back(
        {{"speaker", analytics::role_name(s.role)}, {"start_ms", s.start_ms}, {"end_ms", s.end_ms}, {"text", s.text}});
  }
  return out.dump();
}

llm::AgentInput turns_input(const std::vector<analytics::TranscriptSegment>& segments) {
  json turns = json::array();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    turns.push_back({{"i", i}, {"speaker", analytics::role_name(segments[i].role)}, {"text", segments[i].text}});
  }
  llm::AgentInput in;
  in.metadata = json{{"turns", turns}}.dump();
  in.metrics = "{}";
  in.lead = "{}";
  return in;
}

namespace {

constexpr std::string_view kSystem =
    "You are a careful assistant for a call-center analytics platform. Answer with one JSON object that follows "
    "the given JSON Schema exactly, with no text before or after it.";

}  // namespace

llm::AgentConfig translation_agent(std::string_view language, int max_tokens) {
  llm::AgentConfig a;
  a.name = "language.translate";
  a.prompt_version = "language.translate@1";
  a.system = std::string(kSystem);
  a.prompt_template = fmt::format(
      "Task: translate\nTranslate each turn of this customer-service call from {} (it may mix in English words, "
      "and romanised Hindi is written in Latin letters) into plain English. Keep the meaning and the tone "
      "(complaints stay complaints, thanks stay thanks); keep numbers, names and product words as they are; do "
      "not summarise, merge or drop turns. Answer {{\"segments\": [{{\"i\": <turn index>, \"text\": <English>}}]}} "
      "with one entry per turn, every index once.\n\nTurns (JSON): {{{{metadata}}}}",
      language);
  a.output_schema = R"({"type": "object", "required": ["segments"], "additionalProperties": false,
  "properties": {"segments": {"type": "array", "items": {"type": "object", "required": ["i", "text"],
    "additionalProperties": false,
    "properties": {"i": {"type": "integer", "minimum": 0}, "text": {"type": "string", "maxLength": 4000}}}}}})";
  a.max_tokens = max_tokens;
  a.transcript_token_budget = 1 << 30;  // the turns travel in metadata, whole
  return a;
}

Result<std::vector<std::string>> parse_translation(const std::string& output,
                                                   const std::vector<analytics::TranscriptSegment>& segs) {
  const auto j = json::parse(output, nullptr, false);
  if (!j.is_object() || !j.contains("segments") || !j["segments"].is_array()) {
    return make_error(ErrorCode::kInvalidArgument, "translation: no segments array");
  }
  std::vector<std::optional<std::string>> texts(segs.size());
  for (const auto& e : j["segments"]) {
    if (!e.is_object() || !e.contains("i") || !e["i"].is_number_integer() || !e.contains("text") ||
        !e["text"].is_string()) {
      return make_error(ErrorCode::kInvalidArgument, "translation: an entry lacks an integer i or a text");
    }
    const auto i = e["i"].get<std::int64_t>();
    if (i < 0 || static_cast<std::size_t>(i) >= segs.size()) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("translation: index {} out of range", i));
    }
    auto& slot = texts[static_cast<std::size_t>(i)];
    if (slot) return make_error(ErrorCode::kInvalidArgument, fmt::format("translation: index {} repeated", i));
    slot = e["text"].get<std::string>();
  }
  std::vector<std::string> out;
  out.reserve(segs.size());
  for (std::size_t i = 0; i < segs.size(); ++i) {
    std::optional<std::string> text = std::move(texts[i]);
    if (!text) return make_error(ErrorCode::kInvalidArgument, fmt::format("translation: turn {} missing", i));
    if (text->empty() && !segs[i].text.empty()) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("translation: turn {} is empty", i));
    }
    out.push_back(std::move(*text));
  }
  return out;
}

llm::AgentConfig sentiment_agent(int max_tokens) {
  llm::AgentConfig a;
  a.name = "sentiment.llm";
  a.prompt_version = "sentiment.llm@1";
  a.system = std::string(kSystem);
  a.prompt_template =
      "Task: sentiment\nRate the sentiment of each turn of this customer-service call as a QA reviewer would. "
      "A complaint is negative even without emotional words (long holds, missed appointments, double charges, "
      "repeat calls, broken promises, wanting to cancel); sarcasm is negative; polite formulas and plain "
      "questions are neutral. label is positive, negative or neutral; score is from -1 (very negative) to 1 "
      "(very positive), above 0 for positive, below 0 for negative, near 0 for neutral. Answer "
      "{\"turns\": [{\"i\": <turn index>, \"label\": ..., \"score\": ...}]} with every turn once.\n\n"
      "Turns (JSON): {{metadata}}";
  a.output_schema = R"({"type": "object", "required": ["turns"], "additionalProperties": false,
  "properties": {"turns": {"type": "array", "items": {"type": "object", "required": ["i", "label", "score"],
    "additionalProperties": false,
    "properties": {"i": {"type": "integer", "minimum": 0},
                   "label": {"type": "string", "enum": ["positive", "negative", "neutral"]},
                   "score": {"type": "number", "minimum": -1, "maximum": 1}}}}}})";
  a.max_tokens = max_tokens;
  a.transcript_token_budget = 1 << 30;
  return a;
}

Result<TurnSentiment> parse_llm_sentiment(const std::string& output, std::size_t turns) {
  const auto j = json::parse(output, nullptr, false);
  if (!j.is_object() || !j.contains("turns") || !j["turns"].is_array()) {
    return make_error(ErrorCode::kInvalidArgument, "sentiment: no turns array");
  }
  std::vector<std::optional<std::pair<std::string, double>>> got(turns);
  for (const auto& e : j["turns"]) {
    if (!e.is_object() || !e.contains("i") || !e["i"].is_number_integer() || !e.contains("label") ||
        !e["label"].is_string() || !e.contains("score") || !e["score"].is_number()) {
      return make_error(ErrorCode::kInvalidArgument, "sentiment: a turn lacks an integer i, a label or a score");
    }
    const auto i = e["i"].get<std::int64_t>();
    if (i < 0 || static_cast<std::size_t>(i) >= turns) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("sentiment: index {} out of range", i));
    }
    const auto label = e["label"].get<std::string>();
    const double score = e["score"].get<double>();
    if (label != "positive" && label != "negative" && label != "neutral") {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("sentiment: turn {} has label '{}'", i, label));
    }
    if (!std::isfinite(score) || score < -1.0 || score > 1.0) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("sentiment: turn {} score out of [-1, 1]", i));
    }
    if ((label == "positive" && score <= 0) || (label == "negative" && score >= 0) ||
        (label == "neutral" && std::abs(score) > 0.5)) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("sentiment: turn {} score {} contradicts label {}", i, score, label));
    }
    auto& slot = got[static_cast<std::size_t>(i)];
    if (slot) return make_error(ErrorCode::kInvalidArgument, fmt::format("sentiment: turn {} repeated", i));
    slot.emplace(label, score);
  }
  TurnSentiment out;
  for (std::size_t i = 0; i < turns; ++i) {
    const auto& turn = got[i];
    if (!turn) return make_error(ErrorCode::kInvalidArgument, fmt::format("sentiment: turn {} missing", i));
    out.labels.push_back(turn->first);
    out.scores.push_back(turn->second);
  }
  return out;
}

}  // namespace earshot::pipeline
