// Calls that are not in English as the API serves them (docs/analyze.md, "Calls that are not in
// English"): the real gateway in process over HTTP, the real MariaDB and the real analyze stage.
//
// A Hinglish call with no English rendering is analysed: its detail names the detected
// language and lists every built-in analyzer under `not_analyzed` with "not analyzed: language
// hi", and its metrics carry no sentiment. A Hindi call whose English rendering came from the
// provider (as Sarvam's translate mode stores it) is analysed on the English: the detail
// serves the rendering beside the original with its source, nothing is listed as not analyzed,
// and a caller without pii:read reads the rendering redacted. The `llm_sentiment` setting is
// validated and kept per business.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "analyze_fixture.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/storage/repository_set.hpp"
#include "gateway_fixture.hpp"
#include "storage/test_main_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;

json segment(const char* speaker, int start_ms, int end_ms, const char* text) {
  return {{"speaker", speaker}, {"start_ms", start_ms}, {"end_ms", end_ms}, {"text", text}};
}

// Written for this test: a broadband complaint in romanised Hindi.
json hinglish() {
  return json::array(
      {segment("agent", 0, 3'800, "Namaste, Acme Fibre se Priya baat kar rahi hoon, bataiye main kya madad karun?"),
       segment("customer", 4'300, 9'500, "Mera internet teen din se band hai aur koi complaint ka jawab nahi de raha."),
       segment("agent", 10'000, 13'500, "Sorry sir, main abhi aapka connection check karti hoon, ek minute dijiye."),
       segment("customer", 14'000, 19'000, "Pichli baar bhi aapne yahi bola tha, yeh bilkul bekaar service hai.")});
}

// The same kind of call in Devanagari, and the English the provider returned for it.
json devanagari() {
  return json::array({segment("agent", 0, 3'800, "नमस्ते, मैं आपकी क्या मदद कर सकती हूँ?"),
                      segment("customer", 4'300, 9'500, "मेरा बिल दोगुना हो गया है और किसी ने नहीं बताया।"),
                      segment("customer", 10'000, 13'500, "मेरा ईमेल jane.miller@example.com है।")});
}
json devanagari_english() {
  return json::array({segment("agent", 0, 3'800, "Hello, how can I help you?"),
                      segment("customer", 4'300, 9'500, "My bill doubled and nobody told me why. This is terrible."),
                      segment("customer", 10'000, 13'500, "My email is jane.miller@example.com.")});
}

std::string text_of(const json& segs) {
  std::string out;
  for (const auto& s : segs) out += s["text"].get<std::string>() + "\n";
  return out;
}

class CallLanguageDetail : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& gw = gateway();
    bid = gw.new_business("lang");
    admin = gw.login("admin@" + bid + ".test", Gateway::kPassword);
    viewer = gw.user_token(bid, "viewer");
  }

  // A transcribed call with `segs` in `language` (empty: the analyze stage detects it), the
  // English rendering when given, then analysed by the real analyze stage.
  storage::Id analysed_call(const std::string& external, const json& segs, const std::string& language,
                            const json& english) {
    auto& db = StorageEnvironment::db();
    storage::MySqlRepositories repos(db, *gateway().keys);
    auto& r = repos.repos();
    const auto t = tenant(bid);
    storage::CallInput in;
    in.external_id = external;
    in.duration_ms = 20'000;
    in.started_at = storage::Timestamp(std::chrono::milliseconds(1'790'000'000'000LL));
    auto up = r.calls.upsert(t, in);
    EXPECT_TRUE(up);
    const auto id = up->id;
    EXPECT_TRUE(*r.calls.advance(t, id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
    storage::Transcript tr;
    tr.call_id = id;
    tr.segments_json = segs.dump();
    tr.full_text = text_of(segs);
    tr.provider = "test";
    tr.language = language;
    tr.language_source = language.empty() ? "" : "provider";
    storage::CallMetrics m;
    m.call_id = id;
    m.duration_ms = 20'000;
    storage::ProcessingEvent e;
    e.call_id = id;
    e.stage = "transcribe";
    e.outcome = storage::EventOutcome::kSucceeded;
    EXPECT_TRUE(r.transcripts.put_transcribed(t, tr, m, e));
    if (!english.is_null()) {
      EXPECT_TRUE(r.transcripts.put_english(t, id, english.dump(), "sarvam"));
    }
    queue::TopologySettings topology;
    EXPECT_TRUE(topology.resolve());
    Metrics metrics("lang-test", "0", "0");
    pipeline::AnalyzeStage stage(pipeline::testing::analyze_deps(r, metrics, SystemClock::instance(), topology));
    auto out = stage.handle(pipeline::testing::analyze_message(t, id));
    EXPECT_TRUE(out && std::holds_alternative<queue::Done>(*out));
    return id;
  }

  HttpReply detail(const std::string& token, storage::Id id) {
    return gateway().request("GET", "/api/v1/calls/" + std::to_string(id), token);
  }

  std::string bid, admin, viewer;
};

TEST_F(CallLanguageDetail, AHinglishCallWithoutEnglishIsListedAsNotAnalyzedWithItsLanguage) {
  const auto id = analysed_call("hinglish", hinglish(), "", nullptr);
  const auto d = detail(admin, id);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json["transcript"]["language"], "hi-Latn") << d.body;
  EXPECT_EQ(d.json["transcript"]["language_source"], "detected");
  EXPECT_TRUE(d.json["transcript"]["english"].is_null());
  EXPECT_EQ(d.json["transcript"]["segments"], hinglish());
  EXPECT_EQ(d.json["language"], "hi-Latn");  // the call takes the detected language too
  json reasons = json::object();
  for (const auto& n : d.json["not_analyzed"]) reasons[n["agent"].get<std::string>()] = n["reason"];
  for (const char* a : {"builtin.sentiment", "builtin.categories", "builtin.qa", "builtin.summary"}) {
    EXPECT_EQ(reasons.value(a, ""), "not analyzed: language hi") << a << ": " << d.json["not_analyzed"].dump();
  }
  // No misleading number: the sentiment metrics are null, not a neutral 0.
  EXPECT_TRUE(d.json["metrics"]["customer_sentiment"].is_null()) << d.json["metrics"].dump();
  EXPECT_TRUE(d.json["metrics"]["agent_sentiment"].is_null());
}

TEST_F(CallLanguageDetail, AnEnglishRenderingIsServedBesideTheOriginalAndRedactedForCallersWithoutPiiRead) {
  const auto id = analysed_call("hindi", devanagari(), "hi-IN", devanagari_english());
  const auto d = detail(admin, id);
  ASSERT_EQ(d.status, 200) << d.body;
  const auto& tr = d.json["transcript"];
  EXPECT_EQ(tr["language"], "hi-IN");
  EXPECT_EQ(tr["language_source"], "provider");
  EXPECT_EQ(tr["segments"], devanagari());
  ASSERT_TRUE(tr["english"].is_object()) << d.body;
  EXPECT_EQ(tr["english"]["source"], "sarvam");
  EXPECT_EQ(tr["english"]["segments"], devanagari_english());
  EXPECT_TRUE(d.json["not_analyzed"].empty()) << d.json["not_analyzed"].dump();
  // Scored on the English: the customer's complaint is negative.
  ASSERT_TRUE(d.json["metrics"]["customer_sentiment"].is_number()) << d.json["metrics"].dump();
  EXPECT_LT(d.json["metrics"]["customer_sentiment"].get<double>(), 0);

  const auto v = detail(viewer, id);
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(v.body.find("jane.miller@example.com"), std::string::npos) << v.body;
  const std::string english = v.json["transcript"]["english"]["segments"][2]["text"];
  EXPECT_NE(english.find("[EMAIL]"), std::string::npos) << english;
  EXPECT_EQ(v.json["transcript"]["english"]["segments"][1], devanagari_english()[1]);
}

TEST_F(CallLanguageDetail, TheLlmSentimentSettingIsValidatedAndKeptPerBusiness) {
  const std::string path = "/api/v1/admin/businesses/" + bid + "/pipeline-config";
  EXPECT_EQ(gateway().request("GET", path, admin).json["llm_sentiment"], false);  // the default
  for (const json& bad : {json("yes"), json(1), json::array()}) {
    auto r = gateway().request("PUT", path, admin, {{"llm_sentiment", bad}});
    EXPECT_EQ(r.status, 400) << bad.dump() << ": " << r.body;
    EXPECT_NE(r.body.find("llm_sentiment"), std::string::npos) << r.body;
  }
  auto on = gateway().request("PUT", path, admin, {{"llm_sentiment", true}});
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_EQ(gateway().request("GET", path, admin).json["llm_sentiment"], true);
  // A viewer cannot change it; another business's setting is untouched.
  EXPECT_EQ(gateway().request("PUT", path, viewer, {{"llm_sentiment", false}}).status, 403);
  const auto other = gateway().new_business("lang-other");
  const auto other_admin = gateway().login("admin@" + other + ".test", Gateway::kPassword);
  EXPECT_EQ(gateway()
                .request("GET", "/api/v1/admin/businesses/" + other + "/pipeline-config", other_admin)
                .json["llm_sentiment"],
            false);
  // Nor can one business's admin set it on another (404: the other business is not named to them).
  EXPECT_EQ(
      gateway()
          .request("PUT", "/api/v1/admin/businesses/" + other + "/pipeline-config", admin, {{"llm_sentiment", true}})
          .status,
      404);
  EXPECT_EQ(gateway()
                .request("GET", "/api/v1/admin/businesses/" + other + "/pipeline-config", other_admin)
                .json["llm_sentiment"],
            false);
}

}  // namespace
}  // namespace earshot::testing
