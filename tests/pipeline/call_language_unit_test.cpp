// Calls that are not in English, hermetically: the call's language from the provider, the
// detector or the setting; English pieces aligned to the original's segments; the LLM
// translation and sentiment contracts validated; per-turn scores turned into a timeline; and
// the analyze stage over the storage fakes and an in-process chat provider: a Hinglish call
// translated by the LLM gets English analyses and real scores, one with no translation source
// gets "not analyzed: language hi" and null metrics, a stored rendering is read without
// asking the LLM again, and the LLM sentiment pass replaces the lexicon's scores or falls back with the reason.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyze_fixture.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/pipeline/call_language.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/llm/chat_provider_fake.hpp"
#include "fakes/pipeline/business_llm_fake.hpp"
#include "fakes/storage/agent_configs_fake.hpp"
#include "fakes/storage/analyses_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/category_matches_fake.hpp"
#include "fakes/storage/escalations_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"
#include "fakes/storage/pipeline_configs_fake.hpp"
#include "fakes/storage/rule_sets_fake.hpp"
#include "fakes/storage/transcripts_fake.hpp"
#include "stage_outcome.hpp"

namespace earshot::pipeline {
namespace {

namespace fakes = earshot::testing;
using nlohmann::json;
using storage::TenantId;

// ---- pure functions ----

TEST(CallLanguage, ProviderThenDetectorThenSetting) {
  auto a = resolve_call_language("hi-IN", "Thank you for calling, how can I help you?", "en");
  EXPECT_EQ(a.tag, "hi-IN");
  EXPECT_EQ(a.source, "provider");
  auto b = resolve_call_language("", "Mera order abhi tak nahi aaya hai, kya aap check kar sakte hain?", "en");
  EXPECT_EQ(b.tag, "hi-Latn");
  EXPECT_EQ(b.source, "detected");
  auto c = resolve_call_language("unknown", "Okay.", "ta-IN");
  EXPECT_EQ(c.tag, "ta-IN");
  EXPECT_EQ(c.source, "configured");
  auto d = resolve_call_language("", "", "");
  EXPECT_EQ(d.tag, "en");
  EXPECT_EQ(resolve_call_language("Hindi", "", "en").tag, "hi");  // Whisper's full names
  // "English" echoed over Hinglish text is not believed; over English text it is.
  auto e = resolve_call_language("en-IN", "Mera order abhi tak nahi aaya hai, kya aap check kar sakte hain?", "en");
  EXPECT_EQ(e.tag, "hi-Latn");
  EXPECT_EQ(e.source, "detected");
  EXPECT_EQ(resolve_call_language("en-IN", "Thank you for calling, how can I help you?", "en").source, "provider");
}

TEST(CallLanguage, AnalyzersDeclareEnglishOnly) {
  for (const auto& a : kAnalyzerLanguages) {
    EXPECT_TRUE(analyzer_supports(a.analyzer, "en-IN")) << a.analyzer;
    EXPECT_FALSE(analyzer_supports(a.analyzer, "hi-IN")) << a.analyzer;
    EXPECT_FALSE(analyzer_supports(a.analyzer, "hi-Latn")) << a.analyzer;
  }
  EXPECT_EQ(not_analyzed_reason("hi-Latn"), "not analyzed: language hi");
  EXPECT_EQ(not_analyzed_reason("ta-IN"), "not analyzed: language ta");
  EXPECT_EQ(not_analyzed_reason(""), "not analyzed: language und");
}

stt::Segment seg(std::string speaker, std::int64_t start, std::int64_t end, std::string text) {
  stt::Segment s;
  s.speaker = std::move(speaker);
  s.start_ms = start;
  s.end_ms = end;
  s.text = std::move(text);
  return s;
}

TEST(CallLanguage, EnglishPiecesTakeTheOriginalsSpeakersAndTimes) {
  const std::vector<stt::Segment> original = {seg("agent", 0, 3000, "Namaste, kaise madad karun?"),
                                              seg("customer", 3500, 9000, "Mera bill do baar aaya hai."),
                                              seg("agent", 9500, 12000, "Main check karti hoon.")};
  // The translation job cut the speech differently: two pieces in the customer's turn, one
  // piece slightly outside any segment (nearest wins), none for the last turn.
  const std::vector<stt::Segment> english = {
      seg("SPEAKER_01", 100, 2900, "Hello, how can I help?"), seg("SPEAKER_00", 3600, 6000, "My bill came"),
      seg("SPEAKER_00", 6000, 8800, "twice."), seg("SPEAKER_01", 9300, 9400, "I will")};
  const auto out = align_english(original, english);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].speaker, "agent");
  EXPECT_EQ(out[0].text, "Hello, how can I help?");
  EXPECT_EQ(out[1].speaker, "customer");
  EXPECT_EQ(out[1].start_ms, 3500);
  EXPECT_EQ(out[1].end_ms, 9000);
  EXPECT_EQ(out[1].text, "My bill came twice.");
  EXPECT_EQ(out[2].text, "I will");  // its midpoint 9350 is nearer 9500 than 9000
  EXPECT_TRUE(align_english({}, english).empty());
}

std::vector<analytics::TranscriptSegment> turns(const std::vector<std::pair<analytics::Role, std::string>>& t) {
  std::vector<analytics::TranscriptSegment> out;
  std::int64_t at = 0;
  for (const auto& [role, text] : t) {
    out.push_back({role, at, at + 4000, text});
    at += 5000;
  }
  return out;
}

TEST(CallLanguage, TranslationContractIsValidated) {
  const auto segs =
      turns({{analytics::Role::kAgent, "Namaste ji"}, {analytics::Role::kCustomer, "Mera order nahi aaya"}});
  auto ok = parse_translation(R"({"segments":[{"i":1,"text":"My order has not come"},{"i":0,"text":"Hello"}]})", segs);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(*ok, (std::vector<std::string>{"Hello", "My order has not come"}));
  for (const char* bad : {R"({"segments":[{"i":0,"text":"Hello"}]})",                                    // missing
                          R"({"segments":[{"i":0,"text":"a"},{"i":0,"text":"b"},{"i":1,"text":"c"}]})",  // repeated
                          R"({"segments":[{"i":0,"text":"a"},{"i":2,"text":"c"}]})",                     // range
                          R"({"segments":[{"i":0,"text":""},{"i":1,"text":"c"}]})",                      // empty
                          R"({"segments":[{"i":"0","text":"a"},{"i":1,"text":"c"}]})",                   // type
                          R"({"turns":[]})", "not json"}) {
    EXPECT_FALSE(parse_translation(bad, segs)) << bad;
  }
}

TEST(CallLanguage, SentimentContractIsValidated) {
  auto ok = parse_llm_sentiment(
      R"({"turns":[{"i":0,"label":"neutral","score":0.0},{"i":1,"label":"negative","score":-0.8}]})", 2);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->scores, (std::vector<double>{0.0, -0.8}));
  EXPECT_EQ(ok->labels, (std::vector<std::string>{"neutral", "negative"}));
  for (const char* bad :
       {R"({"turns":[{"i":0,"label":"neutral","score":0.0}]})",                                            // missing
        R"({"turns":[{"i":0,"label":"happy","score":0.5},{"i":1,"label":"negative","score":-0.8}]})",      // label
        R"({"turns":[{"i":0,"label":"neutral","score":0},{"i":1,"label":"negative","score":-1.5}]})",      // range
        R"({"turns":[{"i":0,"label":"positive","score":-0.4},{"i":1,"label":"negative","score":-0.8}]})",  // sign
        R"({"turns":[{"i":0,"label":"neutral","score":0},{"i":0,"label":"neutral","score":0}]})",          // repeated
        R"({"turns":[{"i":0,"label":"neutral","score":0},{"i":5,"label":"neutral","score":0}]})",          // range
        R"({"segments":[]})", "[1, 2"}) {
    EXPECT_FALSE(parse_llm_sentiment(bad, 2)) << bad;
  }
}

TEST(CallLanguage, TimelineFromScoresFollowsTheLexiconDefinitions) {
  // A 20 s call: the customer speaks in the first and the last quarter.
  const std::vector<analytics::TranscriptSegment> segs = {{analytics::Role::kCustomer, 0, 4000, "a"},
                                                          {analytics::Role::kAgent, 5000, 9000, "b"},
                                                          {analytics::Role::kAgent, 10000, 14000, "c"},
                                                          {analytics::Role::kCustomer, 16000, 20000, "d"}};
  const std::vector<double> scores = {-0.6, 0.5, 0.3, 0.2};
  const auto tl = analytics::sentiment_timeline_of_scores(segs, 20000, scores);
  EXPECT_EQ(tl.segment, scores);
  EXPECT_NEAR(*tl.agent.call, 0.4, 1e-9);
  EXPECT_NEAR(*tl.customer.call, -0.2, 1e-9);
  EXPECT_NEAR(*tl.customer.quarter[0], -0.6, 1e-9);
  EXPECT_NEAR(*tl.customer.quarter[3], 0.2, 1e-9);
  EXPECT_FALSE(tl.customer.quarter[1].has_value());
  ASSERT_TRUE(tl.customer_change.has_value());
  EXPECT_NEAR(*tl.customer_change, 0.8, 1e-9);
}

// ---- the stage ----

// A Hinglish complaint written for this test (original, then what a translator would give).
struct Turn {
  const char* speaker;
  std::int64_t start_ms;
  std::int64_t end_ms;
  const char* hinglish;
  const char* english;
};
const std::vector<Turn>& broadband_call() {
  static const std::vector<Turn> t = {
      {"agent", 0, 4000, "Namaste, Acme Fibre se Priya baat kar rahi hoon, bataiye main kya madad karun?",
       "Hello, this is Priya from Acme Fibre, tell me how I can help."},
      {"customer", 4500, 11000, "Mera internet teen din se band hai aur koi complaint ka jawab nahi de raha.",
       "My internet has been down for three days and nobody is answering my complaint. This is terrible."},
      {"agent", 11500, 16000, "Sorry sir, main abhi aapka connection check karti hoon, ek minute dijiye.",
       "Sorry sir, I will check your connection right now, please give me a minute."},
      {"customer", 16500, 22000, "Pichli baar bhi aapne yahi bola tha, yeh bilkul bekaar service hai.",
       "You said the same thing last time too, this is a useless, awful service."},
  };
  return t;
}

json hinglish_segments() {
  json out = json::array();
  for (const auto& t : broadband_call()) out.push_back(testing::turn(t.speaker, t.start_ms, t.end_ms, t.hinglish));
  return out;
}

std::string translation_reply() {
  json segs = json::array();
  for (std::size_t i = 0; i < broadband_call().size(); ++i) {
    segs.push_back({{"i", i}, {"text", broadband_call()[i].english}});
  }
  return json{{"segments", segs}}.dump();
}

class LanguageStageUnit : public ::testing::Test {
 protected:
  LanguageStageUnit() {
    EXPECT_TRUE(topology.resolve());
    stage = std::make_unique<AnalyzeStage>(AnalyzeStageDeps{calls, transcripts, metrics_repo, agents, categories,
                                                            scorecards, matches, analyses, events, testing::lexicon(),
                                                            metrics, clock, topology});
  }

  void enable_llm(bool llm_sentiment = false) {
    storage::PipelineConfig pc;
    pc.llm_chain_json = R"([{"provider":"ollama","model":"m"}])";
    pc.llm_sentiment = llm_sentiment;
    ASSERT_TRUE(configs.put(acme, pc));
    stage->enable_llm({configs, providers, llm, nullptr, nullptr, std::chrono::seconds(10)});
  }

  storage::Id call(const json& segments) {
    return testing::transcribed_call(calls, transcripts, acme,
                                     testing::call_input("c" + std::to_string(++n), storage::to_timestamp(clock.now())),
                                     segments);
  }

  void analyze(storage::Id id) { (void)testing::next_messages(stage->handle(testing::analyze_message(acme, id))); }

  std::map<std::string, json> outputs(storage::Id id) {
    std::map<storage::Id, std::string> names;
    const auto stored = agents.list(acme, false).value();
    for (const auto& c : stored) names[c.id] = c.name;
    std::map<std::string, json> out;
    const auto list = analyses.list_for_call(acme, id, true).value();
    for (const auto& a : list) {
      out[names[a.agent_config_id]] = json::parse(a.output_json);
    }
    return out;
  }

  const TenantId acme = *TenantId::make("acme");
  int n = 0;
  fakes::FakeClock clock;
  fakes::FakeCallRepository calls{&clock};
  fakes::FakeMetricsRepository metrics_repo{calls};
  fakes::FakeProcessingEventRepository events{calls};
  fakes::FakeTranscriptRepository transcripts{calls, metrics_repo, events};
  fakes::FakeAgentConfigRepository agents;
  fakes::FakeRuleSetRepository categories;
  fakes::FakeRuleSetRepository scorecards;
  fakes::FakeCategoryMatchRepository matches{calls};
  fakes::FakeEscalationRepository escalations{calls};
  fakes::FakeAnalysisRepository analyses{calls, escalations};
  Metrics metrics{"language-unit-test", "0", "test"};
  queue::TopologySettings topology;
  std::unique_ptr<AnalyzeStage> stage;
  fakes::FakePipelineConfigRepository configs;
  fakes::FakeChatProvider chat;
  fakes::FakeBusinessLlmSource providers{&chat, nullptr};
  LlmSettings settings;
  LlmAgents llm{nullptr, metrics, clock, settings};
};

TEST_F(LanguageStageUnit, HinglishCallWithoutTranslationSourceIsNotAnalyzedInsteadOfScored) {
  storage::RuleSet any;
  any.name = "Anything said";
  any.rules_json = R"([{"type":"non_talk","min_ms":1}])";
  ASSERT_TRUE(categories.create(acme, any));
  const auto id = call(hinglish_segments());
  analyze(id);
  EXPECT_EQ(testing::status_of(calls, acme, id), storage::CallStatus::kAnalyzed);
  const auto out = outputs(id);
  for (const auto& a : kAnalyzerLanguages) {
    const auto it = out.find(std::string(a.analyzer));
    ASSERT_NE(it, out.end()) << a.analyzer;
    EXPECT_EQ(it->second["analyzed"], false) << a.analyzer;
    EXPECT_EQ(it->second["reason"], "not analyzed: language hi") << a.analyzer;
    EXPECT_EQ(it->second["language"], "hi-Latn") << a.analyzer;
  }
  const auto m = metrics_repo.get(acme, id).value();
  EXPECT_FALSE(m.customer_sentiment.has_value());
  EXPECT_FALSE(m.agent_sentiment.has_value());
  EXPECT_FALSE(m.sentiment_change.has_value());
  EXPECT_FALSE(m.question_rate_per_hour.has_value());
  EXPECT_GT(m.agent_talk_ms, 0);  // time-based metrics still measured
  EXPECT_TRUE(matches.list_for_call(acme, id).value().empty());
  EXPECT_FALSE(calls.get(acme, id)->qa_score.has_value());
  EXPECT_TRUE(escalations.list(acme, std::nullopt, 10).value().empty());
}

TEST_F(LanguageStageUnit, HinglishCallTranslatedByTheLlmGetsEnglishAnalysesAndRealScores) {
  enable_llm();
  chat.set_reply_for("Task: translate", translation_reply());
  const auto id = call(hinglish_segments());
  analyze(id);
  ASSERT_EQ(chat.requests().size(), 1u);  // one request for the whole call
  const auto prompt = fakes::FakeChatProvider::prompt_of(chat.requests()[0]);
  EXPECT_NE(prompt.find("from hi-Latn"), std::string::npos);
  EXPECT_NE(prompt.find("Mera internet teen din se band hai"), std::string::npos);
  const auto tr = transcripts.get(acme, id).value();
  EXPECT_EQ(tr.english_source, "llm");
  const auto english = json::parse(tr.english_segments_json);
  ASSERT_EQ(english.size(), broadband_call().size());
  for (std::size_t i = 0; i < english.size(); ++i) {
    EXPECT_EQ(english[i]["text"], broadband_call()[i].english);
    EXPECT_EQ(english[i]["speaker"], broadband_call()[i].speaker);
    EXPECT_EQ(english[i]["start_ms"], broadband_call()[i].start_ms);
  }
  const auto out = outputs(id);
  EXPECT_FALSE(out.at("builtin.sentiment").contains("analyzed"));
  EXPECT_EQ(out.at("builtin.sentiment")["text"], "llm");
  EXPECT_EQ(out.at("builtin.sentiment")["language"], "hi-Latn");
  const auto m = metrics_repo.get(acme, id).value();
  ASSERT_TRUE(m.customer_sentiment.has_value());
  EXPECT_LT(*m.customer_sentiment, -0.3) << "the customer's English turns are complaints";
  EXPECT_TRUE(m.question_rate_per_hour.has_value());
}

TEST_F(LanguageStageUnit, BadTranslationLeavesTheCallNotAnalyzed) {
  enable_llm();
  chat.set_reply_for("Task: translate", R"({"segments":[{"i":0,"text":"Hello"}]})");  // turns missing
  const auto id = call(hinglish_segments());
  analyze(id);
  EXPECT_EQ(outputs(id).at("builtin.sentiment")["reason"], "not analyzed: language hi");
  EXPECT_TRUE(transcripts.get(acme, id)->english_segments_json.empty());
}

TEST_F(LanguageStageUnit, StoredRenderingIsReadWithoutAskingTheLlm) {
  enable_llm();
  const auto id = call(hinglish_segments());
  json english = json::array();
  for (const auto& t : broadband_call()) english.push_back(testing::turn(t.speaker, t.start_ms, t.end_ms, t.english));
  auto tr = transcripts.get(acme, id).value();
  tr.language = "hi-IN";
  tr.language_source = "provider";
  tr.english_segments_json = english.dump();
  tr.english_source = "sarvam";
  ASSERT_TRUE(transcripts.put(acme, tr));
  analyze(id);
  const auto out = outputs(id);
  EXPECT_EQ(out.at("builtin.sentiment")["text"], "sarvam");
  EXPECT_EQ(out.at("builtin.sentiment")["language"], "hi-IN");
  EXPECT_LT(*metrics_repo.get(acme, id)->customer_sentiment, -0.3);
  EXPECT_TRUE(chat.requests().empty());
}

// An English call for the sentiment pass: a complaint the lexicon reads as neutral.
json english_segments() {
  return json::array({testing::turn("agent", 0, 4000, "Thank you for calling Acme, how can I help?"),
                      testing::turn("customer", 4500, 11000, "I have been on hold for forty five minutes."),
                      testing::turn("agent", 11500, 16000, "I will look into it now."),
                      testing::turn("customer", 16500, 22000, "The technician never showed up either.")});
}

TEST_F(LanguageStageUnit, LlmSentimentScoresReplaceTheLexiconsInTheTimeline) {
  enable_llm(/*llm_sentiment=*/true);
  chat.set_reply_for("Task: sentiment", R"({"turns":[{"i":0,"label":"neutral","score":0.1},
      {"i":1,"label":"negative","score":-0.7},{"i":2,"label":"neutral","score":0.0},
      {"i":3,"label":"negative","score":-0.8}]})");
  const auto id = call(english_segments());
  analyze(id);
  const auto s = outputs(id).at("builtin.sentiment");
  EXPECT_EQ(s["segments"], json::parse("[0.1,-0.7,0.0,-0.8]"));
  EXPECT_EQ(s["llm"]["scorer"], "llm");
  EXPECT_EQ(s["llm"]["fallback"], false);
  EXPECT_EQ(s["llm"]["labels"], json::parse(R"(["neutral","negative","neutral","negative"])"));
  const auto m = metrics_repo.get(acme, id).value();
  ASSERT_TRUE(m.customer_sentiment.has_value());
  EXPECT_NEAR(*m.customer_sentiment, (-0.7 * 6500 + -0.8 * 5500) / 12000, 1e-9);  // duration-weighted
}

TEST_F(LanguageStageUnit, MalformedLlmSentimentFallsBackToTheLexiconAndSaysSo) {
  enable_llm(/*llm_sentiment=*/true);
  chat.set_reply_for("Task: sentiment", R"({"turns":[{"i":0,"label":"great","score":3}]})");
  const auto id = call(english_segments());
  analyze(id);
  const auto s = outputs(id).at("builtin.sentiment");
  EXPECT_EQ(s["llm"]["scorer"], "lexicon");
  EXPECT_EQ(s["llm"]["fallback"], true);
  EXPECT_NE(s["llm"]["reason"].get<std::string>().find("LLM sentiment failed"), std::string::npos) << s["llm"];
  // The lexicon's scores: the greeting formula is neutral there, the long hold negative.
  EXPECT_EQ(s["segments"][0].get<double>(), 0.0);
  EXPECT_LT(s["segments"][1].get<double>(), -0.2);
}

TEST_F(LanguageStageUnit, FailedLlmSentimentRequestFallsBackToTheLexicon) {
  enable_llm(/*llm_sentiment=*/true);
  chat.fail_for("Task: sentiment", Error(ErrorCode::kUnauthenticated, "bad key"));
  const auto id = call(english_segments());
  analyze(id);
  const auto s = outputs(id).at("builtin.sentiment");
  EXPECT_EQ(s["llm"]["fallback"], true);
  EXPECT_NE(s["llm"]["reason"].get<std::string>().find("bad key"), std::string::npos) << s["llm"];
  EXPECT_EQ(testing::status_of(calls, acme, id), storage::CallStatus::kAnalyzed);
}

TEST_F(LanguageStageUnit, SentimentPassIsOffByDefault) {
  enable_llm(/*llm_sentiment=*/false);
  const auto id = call(english_segments());
  analyze(id);
  EXPECT_TRUE(chat.requests().empty());
  EXPECT_TRUE(outputs(id).at("builtin.sentiment")["llm"].is_null());
}

}  // namespace
}  // namespace earshot::pipeline
