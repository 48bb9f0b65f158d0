// The analyze stage's language steps (docs/analyze.md "Language"): which text the English
// analyzers read, the LLM translation when no English rendering exists, the optional LLM
// sentiment pass.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "earshot/analytics/language.hpp"
#include "earshot/core/json_ms.hpp"
#include "earshot/core/log.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/builtin_analyzers.hpp"
#include "earshot/pipeline/call_language.hpp"

namespace earshot::pipeline {

using nlohmann::json;

namespace {

// Stored English segments; nullopt when they are not the expected JSON.
std::optional<std::vector<analytics::TranscriptSegment>> parse_english(const std::string& text) {
  const auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<analytics::TranscriptSegment> out;
  for (const auto& s : j) {
    if (!s.is_object() || !s.contains("text") || !s["text"].is_string()) return std::nullopt;
    analytics::TranscriptSegment seg;
    seg.role = json_str(s, "speaker") == "customer" ? analytics::Role::kCustomer : analytics::Role::kAgent;
    seg.start_ms = json_ms(s, "start_ms", 0);
    seg.end_ms = json_ms(s, "end_ms", seg.start_ms);
    seg.text = s["text"].get<std::string>();
    out.push_back(std::move(seg));
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<const BusinessLlm>> AnalyzeStage::business_chain(const storage::TenantId& t,
                                                                        storage::PipelineConfig& config,
                                                                        std::string& why) {
  if (!llm_) {
    why = "no LLM in this worker";
    return nullptr;
  }
  auto got = llm_->configs.get(t);
  if (!got) {
    const auto code = got.error().code;
    if (code == ErrorCode::kNotFound || code == ErrorCode::kFailedPrecondition || code == ErrorCode::kInvalidArgument) {
      why = code == ErrorCode::kNotFound ? "no pipeline config" : "pipeline config unusable: " + got.error().message;
      return nullptr;
    }
    return std::unexpected(got.error());
  }
  config = std::move(*got);
  auto business = llm_->providers.for_business(t.bid(), config);
  if (!business) {
    why = business.error().message;
    return nullptr;
  }
  if ((*business)->chain.empty()) {
    why = "no LLM chain";
    return nullptr;
  }
  return std::move(*business);
}

Result<AnalyzeStage::LanguagePlan> AnalyzeStage::prepare_language(
    const storage::TenantId& t, storage::CallRecord& call, const storage::Transcript& transcript,
    const std::vector<analytics::TranscriptSegment>& segments) {
  LanguagePlan plan;
  if (!transcript.language_source.empty()) {
    plan.tag = transcript.language;
    plan.source = transcript.language_source;
  } else {
    // A transcript that arrived as text (or was stored before languages were kept): the
    // detector reads it; its stored language (the call's) is the fallback.
    std::string text;
    for (const auto& s : segments) text.append(s.text).push_back('\n');
    auto lang = resolve_call_language("", text, transcript.language.empty() ? call.language : transcript.language);
    plan.tag = std::move(lang.tag);
    plan.source = std::move(lang.source);
    // Kept on the transcript (and the call, when it had none) so the detail and the list say it;
    // the agents' prompts read the call's language, the same now as on a re-analysis.
    if (!plan.tag.empty()) {
      if (auto st = d_.transcripts.put_language(t, transcript.call_id, plan.tag, plan.source); !st) {
        return std::unexpected(st.error());
      }
      if (call.language.empty()) call.language = plan.tag;
    }
  }
  if (analytics::is_english(plan.tag)) {
    plan.english = segments;
    plan.english_source = "original";
    return plan;
  }
  if (!transcript.english_segments_json.empty()) {
    if (auto english = parse_english(transcript.english_segments_json); english && english->size() == segments.size()) {
      plan.english = std::move(*english);
      plan.english_source = transcript.english_source;
      return plan;
    }
    log::warn("stored English rendering unusable: ignored", {{"language", plan.tag}});
  }
  // The business's LLM chain translates the redacted original (agents never see raw PII).
  storage::PipelineConfig config;
  std::string why;
  auto business = business_chain(t, config, why);
  if (!business) return std::unexpected(business.error());
  if (*business && llm_ && !segments.empty()) {
    const AnalyzeLlmDeps& deps = *llm_;
    const auto redacted = scan_pii(segments).redacted;
    const auto turns = static_cast<std::int64_t>(segments.size());
    auto agent = translation_agent(plan.tag, static_cast<int>(std::max<std::int64_t>(4096, 64 * turns)));
    auto results = deps.agents.run(**business, {agent}, turns_input(redacted), deps.wait);
    const auto& r = results.front();
    if (r.ok) {
      if (auto texts = parse_translation(r.output, redacted); texts) {
        plan.english = redacted;
        for (std::size_t i = 0; i < texts->size(); ++i) plan.english[i].text = std::move((*texts)[i]);
        plan.english_source = "llm";
        if (auto st = d_.transcripts.put_english(t, transcript.call_id, english_segments_json(plan.english), "llm");
            !st) {
          return std::unexpected(st.error());
        }
        return plan;
      } else {
        plan.translation_error = texts.error().message;
      }
    } else {
      plan.translation_error = r.failure_reason;
    }
    log::warn("LLM translation failed: the English analyzers skip the call",
              {{"language", plan.tag}, {"reason", plan.translation_error}});
  } else if (!*business) {
    plan.translation_error = why;
  }
  plan.reason = not_analyzed_reason(plan.tag);
  return plan;
}

json AnalyzeStage::llm_sentiment_pass(const storage::TenantId& t,
                                      const std::vector<analytics::TranscriptSegment>& segments,
                                      std::int64_t duration_ms, analytics::SentimentTimeline& timeline) {
  if (!llm_ || segments.empty()) return nullptr;
  const AnalyzeLlmDeps& deps = *llm_;
  storage::PipelineConfig config;
  std::string why;
  auto business = business_chain(t, config, why);
  if (!config.llm_sentiment) return nullptr;
  const auto redacted = scan_pii(segments).redacted;
  if (!business || !*business) {
    const std::string reason = business ? why : business.error().message;
    return {{"scorer", "lexicon"}, {"fallback", true}, {"reason", "LLM sentiment unavailable: " + reason}};
  }
  const auto turns = static_cast<std::int64_t>(redacted.size());
  auto agent = sentiment_agent(static_cast<int>(std::max<std::int64_t>(2048, 40 * turns)));
  auto results = deps.agents.run(**business, {agent}, turns_input(redacted), deps.wait);
  const auto& r = results.front();
  std::string failure;
  if (r.ok) {
    if (auto parsed = parse_llm_sentiment(r.output, redacted.size()); parsed) {
      timeline = analytics::sentiment_timeline_of_scores(redacted, duration_ms, parsed->scores);
      return {{"scorer", "llm"}, {"fallback", false}, {"provider", r.provider}, {"labels", parsed->labels}};
    } else {
      failure = parsed.error().message;
    }
  } else {
    failure = r.failure_reason;
  }
  log::warn("LLM sentiment failed: lexicon scores kept", {{"reason", failure}});
  return {{"scorer", "lexicon"}, {"fallback", true}, {"reason", "LLM sentiment failed: " + failure}};
}

}  // namespace earshot::pipeline
