// Built-in analyzers on hand-written transcripts: transcript metrics, sentiment timeline,
// PII, the categories rule engine (every rule type, windows, negate) and QA scorecards.
#include <gtest/gtest.h>

#include "earshot/analytics/categories.hpp"
#include "earshot/analytics/pii.hpp"
#include "earshot/analytics/transcript.hpp"

namespace earshot::analytics {
namespace {

const SentimentLexicon& lexicon() {
  static const SentimentLexicon lex = [] {
    auto l =
        SentimentLexicon::load_file(std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt");
    EXPECT_TRUE(l) << l.error().to_string();
    return l ? std::move(*l) : *SentimentLexicon::parse("good\t1.9\t0.9\t[]");
  }();
  return lex;
}

// A 60 s call: greeting, complaint, a 6 s hold at 20-26 s, resolution, a happy customer.
CallFacts sample_call() {
  CallFacts f;
  f.duration_ms = 60000;
  f.segments = {
      {Role::kAgent, 0, 4000, "Thank you for calling Acme, how can I help you today?"},
      {Role::kCustomer, 4500, 12000, "My blender arrived broken and I am really angry about it."},
      {Role::kAgent, 12500, 20000, "I am so sorry. Please hold while I check your order."},
      {Role::kAgent, 26000, 34000, "I have refunded the full amount to your card."},
      {Role::kCustomer, 34500, 40000, "That is great, thank you so much!"},
      {Role::kAgent, 52000, 58000, "Is there anything else I can help with?"},
  };
  SentimentAnalyzer a(lexicon());
  for (const auto& s : f.segments) f.segment_sentiment.push_back(a.score(s.text).compound);
  f.silences = {{20000, 26000}, {40000, 52000}};
  f.customer_interruption_ms = 1200;
  return f;
}

Category category(const std::string& rules) {
  auto c = parse_category("c", rules);
  EXPECT_TRUE(c) << c.error().to_string();
  return c ? *c : Category{};
}

bool matches(const std::string& rules) {
  return match_category(category(rules), sample_call()).has_value();
}

TEST(TranscriptMetrics, QuestionsAndTalkSpeed) {
  auto f = sample_call();
  EXPECT_TRUE(is_question("how can I help"));
  EXPECT_TRUE(is_question("You received it?"));
  EXPECT_FALSE(is_question("I have refunded the full amount."));
  auto t = talk_speed(f.segments, 0, 0);
  EXPECT_EQ(t.agent_questions, 2);
  // Agent: 11 + 11 + 9 + 8 = 39 words in 4 + 7.5 + 8 + 6 = 25.5 s.
  ASSERT_TRUE(t.agent_wpm);
  EXPECT_NEAR(*t.agent_wpm, 39 / (25.5 / 60.0), 0.01);
  ASSERT_TRUE(t.agent_questions_per_hour);
  EXPECT_NEAR(*t.agent_questions_per_hour, 2 / (25.5 / 3600.0), 0.01);
}

TEST(SentimentTimeline, QuartersCallLevelAndChange) {
  auto f = sample_call();
  SentimentAnalyzer a(lexicon());
  auto tl = sentiment_timeline(f.segments, f.duration_ms, a);
  ASSERT_EQ(tl.segment.size(), f.segments.size());
  EXPECT_LT(tl.segment[1], -0.3);  // angry complaint
  EXPECT_GT(tl.segment[4], 0.5);   // thanks
  // Customer segments: midpoints 8.25 s (Q1) and 37.25 s (Q3); no Q4 -> no change.
  EXPECT_TRUE(tl.customer.quarter[0]);
  EXPECT_FALSE(tl.customer.quarter[1]);
  EXPECT_TRUE(tl.customer.quarter[2]);
  EXPECT_FALSE(tl.customer_change);
  // Duration-weighted: 7.5 s of the complaint, 5.5 s of the thanks.
  ASSERT_TRUE(tl.customer.call);
  EXPECT_NEAR(*tl.customer.call, (tl.segment[1] * 7500 + tl.segment[4] * 5500) / 13000, 1e-9);
  auto shifted = f.segments;
  shifted[4].start_ms = 50000;
  shifted[4].end_ms = 56000;
  tl = sentiment_timeline(shifted, f.duration_ms, a);
  ASSERT_TRUE(tl.customer_change);
  EXPECT_NEAR(*tl.customer_change, tl.segment[4] - tl.segment[1], 1e-9);
}

TEST(Pii, FindsAndRedactsEveryKind) {
  const std::string text =
      "Email me at jane.doe+calls@example.co.uk or call 415-555-0132, my card is "
      "4111 1111 1111 1111 and the code is four one one one, thanks.";
  auto found = find_pii(text);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].type, PiiType::kEmail);
  EXPECT_EQ(found[1].type, PiiType::kPhone);
  EXPECT_EQ(found[2].type, PiiType::kCard);
  EXPECT_DOUBLE_EQ(found[2].confidence, 0.99);  // a cue and a valid Luhn check
  EXPECT_EQ(found[3].type, PiiType::kCvv);
  EXPECT_EQ(redact(text, found),
            "Email me at [EMAIL] or call [PHONE], my card is [CARD] and the code is [CVV], thanks.");
}

TEST(Pii, LuhnDecidesCardsAndOrdinaryNumbersAreLeftAlone) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_TRUE(aba_routing_valid("021000021"));
  EXPECT_FALSE(aba_routing_valid("021000022"));
  EXPECT_FALSE(aba_routing_valid("02100002"));
  // A reference number is not personal data, even when it is long.
  EXPECT_TRUE(find_pii("ref 4111 1111 1111 1112 ok").empty());
  EXPECT_TRUE(find_pii("I waited 45 minutes on 3 calls in 2024").empty());
  EXPECT_TRUE(find_pii("my 4G router and the 10am slot").empty());
  EXPECT_TRUE(find_pii("it was forty nine ninety nine and it came in two three days").empty());
  EXPECT_TRUE(find_pii("the order number is four four five nine one two three").empty());
  EXPECT_TRUE(find_pii("the tracking number i have is one z nine nine eight seven seven six").empty());
  EXPECT_EQ(find_pii("+1 (415) 555-0132").size(), 1u);
  EXPECT_EQ(find_pii("one two three").size(), 0u);
  // Nine digits with no cue and no shape: a digit run of unknown meaning.
  auto spoken = find_pii("it is nine eight double seven six five four three two");
  ASSERT_EQ(spoken.size(), 1u);
  EXPECT_EQ(spoken[0].type, PiiType::kSpokenDigits);
  EXPECT_DOUBLE_EQ(spoken[0].confidence, 0.5);
  EXPECT_TRUE(find_pii("not an email: a@b and user@ and @home").empty());
}

// The text a finding covers, for readable expectations.
std::string span(std::string_view text, const PiiFinding& f) {
  return std::string(text.substr(f.begin, f.end - f.begin));
}

TEST(Pii, SpokenFormsOfEveryType) {
  struct Case {
    std::string text;
    PiiType type;
    std::string covered;
  };
  const std::vector<Case> cases = {
      {"my card is four one one one, one one one one, one one one one, one one one one", PiiType::kCard,
       "four one one one, one one one one, one one one one, one one one one"},
      {"call me at double four seven, triple five, oh one nine two", PiiType::kPhone,
       "double four seven, triple five, oh one nine two"},
      {"the expiry is oh nine twenty seven", PiiType::kExpiry, "oh nine twenty seven"},
      {"expiration September 2027, thanks", PiiType::kExpiry, "September 2027"},
      {"and the security code is seven one four", PiiType::kCvv, "seven one four"},
      {"the routing number is zero two one zero zero zero zero two one", PiiType::kRoutingNumber,
       "zero two one zero zero zero zero two one"},
      {"my checking account number is three three four four five five six six", PiiType::kBankAccount,
       "three three four four five five six six"},
      {"my social is five three one, two two, eight oh four nine", PiiType::kSsn,
       "five three one, two two, eight oh four nine"},
      {"SSN 419-52-7731.", PiiType::kSsn, "419-52-7731"},
      {"sure, jane dot miller at example dot com", PiiType::kEmail, "jane dot miller at example dot com"},
      {"it's j a n e underscore d o e at gmail dot com", PiiType::kEmail, "j a n e underscore d o e at gmail dot com"},
      {"I live at 42 Oak Avenue apartment 5, near the park", PiiType::kAddress, "42 Oak Avenue apartment 5"},
      {"it's one two three main street", PiiType::kAddress, "one two three main street"},
      {"I was born on March fourth, nineteen eighty two.", PiiType::kDateOfBirth, "March fourth, nineteen eighty two"},
      {"hi this is raj from acme billing", PiiType::kPersonName, "raj"},
      {"my name is jane miller and I need help", PiiType::kPersonName, "jane miller"},
      {"Thank you, Mr. Jenkins.", PiiType::kPersonName, "Jenkins"},
  };
  for (const auto& c : cases) {
    const auto found = find_pii(c.text);
    ASSERT_EQ(found.size(), 1u) << c.text;
    EXPECT_EQ(found[0].type, c.type) << c.text;
    EXPECT_EQ(span(c.text, found[0]), c.covered) << c.text;
    EXPECT_GT(found[0].confidence, 0.0);
    EXPECT_LE(found[0].confidence, 1.0);
  }
  // Not names: "this is" followed by ordinary words.
  EXPECT_TRUE(find_pii("this is really frustrating").empty());
  EXPECT_TRUE(find_pii("this is the third time I am calling").empty());
  EXPECT_TRUE(find_pii("yes this is she").empty());
}

TEST(Pii, TheTurnBeforeTypesTheAnswer) {
  const std::vector<std::string> call = {
      "thanks, my name is Sarah. what's the expiration date and the code on the back?",
      "oh nine twenty seven and four four one",
      "great, and can I have your full name?",
      "sure, it's linda okafor",
      "thank you linda, what's your date of birth?",
      "twelve four ninety",
  };
  const auto found = find_pii_in_turns(call);
  std::vector<std::pair<std::size_t, std::string>> got;
  got.reserve(found.size());
  for (const auto& f : found)
    got.emplace_back(f.segment, std::string(pii_name(f.type)) + ":" + span(call[f.segment], f));
  const std::vector<std::pair<std::size_t, std::string>> want = {
      {0, "person_name:Sarah"},        {1, "expiry:oh nine twenty seven"}, {1, "cvv:four four one"},
      {3, "person_name:linda okafor"}, {4, "person_name:linda"},           {5, "date_of_birth:twelve four ninety"},
  };
  EXPECT_EQ(got, want);
  // Alone, the same answers mean nothing.
  EXPECT_TRUE(find_pii("oh nine twenty seven and four four one").empty());
  EXPECT_TRUE(find_pii("twelve four ninety").empty());
  EXPECT_EQ(redact(call[1], {found[1], found[2]}), "[EXPIRY] and [CVV]");
}

TEST(Pii, NoCrashAndSaneSpansOnAnyInput) {
  std::vector<std::string> inputs = {"",
                                     " ",
                                     "+",
                                     "(",
                                     "$",
                                     "@",
                                     "at",
                                     "at dot com",
                                     "a at b dot com",
                                     "my name is",
                                     "this is",
                                     "mr.",
                                     "1/2/",
                                     "double",
                                     "triple triple",
                                     "\xE2\x80\x99",
                                     "the expiry is",
                                     "one hundred thousand thousand hundred"};
  std::uint32_t x = 12345;
  const std::string alphabet = "0123456789 ,.-/()+@$#abcdefghijklmnopqrstuvwxyz\xC3\xA9";
  const std::vector<std::string> words = {"one",    "oh", "double", "twenty", "hundred", "dot",    "at",   "com",
                                          "street", "is", "this",   "name",   "card",    "expiry", "born", "4111"};
  for (int n = 0; n < 300; ++n) {
    std::string s;
    for (int k = 0; k < 40; ++k) {
      x = x * 1664525u + 1013904223u;
      if (n % 2 == 0) {
        s += alphabet[(x >> 8) % alphabet.size()];
      } else {
        s += words[(x >> 8) % words.size()];
        s += (x & 1) != 0 ? " " : ", ";
      }
    }
    inputs.push_back(s);
  }
  const auto all = find_pii_in_turns(inputs);
  for (const auto& f : all) {
    ASSERT_LT(f.segment, inputs.size());
    EXPECT_LT(f.begin, f.end);
    EXPECT_LE(f.end, inputs[f.segment].size());
  }
  for (std::size_t i = 1; i < all.size(); ++i) {
    if (all[i].segment == all[i - 1].segment) {
      EXPECT_GE(all[i].begin, all[i - 1].end);
    }
  }
  for (const auto& s : inputs) (void)redact(s, find_pii(s));
}

TEST(Categories, TranscriptRulesWithSpeakerWindowFormsAndNegate) {
  EXPECT_TRUE(matches(R"([{"type":"transcript","phrases":["refunded"]}])"));
  EXPECT_FALSE(matches(R"([{"type":"transcript","phrases":["refund"]}])"));  // exact word only
  EXPECT_TRUE(matches(R"([{"type":"transcript","phrases":["refund"],"match":"forms"}])"));
  EXPECT_TRUE(matches(R"([{"type":"transcript","phrases":["full amount"],"speaker":"agent"}])"));
  EXPECT_FALSE(matches(R"([{"type":"transcript","phrases":["full amount"],"speaker":"customer"}])"));
  EXPECT_TRUE(matches(R"([{"type":"transcript","phrases":["thank you for calling"],"window":{"first_ms":5000}}])"));
  EXPECT_FALSE(matches(R"([{"type":"transcript","phrases":["refunded"],"window":{"first_ms":20000}}])"));
  EXPECT_TRUE(matches(R"([{"type":"transcript","phrases":["anything else"],"window":{"last_ms":10000}}])"));
  EXPECT_TRUE(matches(R"([{"type":"transcript","phrases":["broken"],"window":{"start_pct":0,"end_pct":25}}])"));
  EXPECT_FALSE(matches(R"([{"type":"transcript","phrases":["broken"],"window":{"start_pct":50,"end_pct":100}}])"));
  EXPECT_TRUE(matches(R"([{"type":"transcript","phrases":["supervisor"],"negate":true}])"));
  EXPECT_FALSE(matches(R"([{"type":"transcript","phrases":["broken"],"negate":true}])"));
}

TEST(Categories, NonTalkInterruptionAndSentimentRules) {
  EXPECT_TRUE(matches(R"([{"type":"non_talk","min_ms":5000}])"));
  EXPECT_FALSE(matches(R"([{"type":"non_talk","min_ms":15000}])"));
  EXPECT_TRUE(matches(R"([{"type":"non_talk","min_ms":5000,"window":{"start_pct":25,"end_pct":50}}])"));
  EXPECT_FALSE(matches(R"([{"type":"non_talk","min_ms":7000,"window":{"start_pct":0,"end_pct":50}}])"));
  EXPECT_TRUE(matches(R"([{"type":"interruption","speaker":"customer","min_ms":1000}])"));
  EXPECT_FALSE(matches(R"([{"type":"interruption","speaker":"agent","min_ms":0}])"));
  EXPECT_TRUE(matches(R"([{"type":"interruption","speaker":"agent","min_ms":0,"negate":true}])"));
  EXPECT_TRUE(matches(R"([{"type":"sentiment","speaker":"customer","value":"negative","window":{"first_ms":15000}}])"));
  EXPECT_TRUE(matches(R"([{"type":"sentiment","speaker":"customer","value":"positive","window":{"last_ms":30000}}])"));
  EXPECT_TRUE(matches(R"([{"type":"sentiment","speaker":"customer","value":"mixed"}])"));
  EXPECT_FALSE(matches(R"([{"type":"sentiment","speaker":"customer","value":"neutral"}])"));
}

TEST(Categories, AllRulesMustMatchAndSpansAreRecorded) {
  auto c = category(R"([{"type":"transcript","phrases":["refunded"],"speaker":"agent"},
                        {"type":"non_talk","min_ms":5000,"window":{"start_pct":0,"end_pct":50}}])");
  auto m = match_category(c, sample_call());
  ASSERT_TRUE(m);
  ASSERT_EQ(m->spans.size(), 2u);
  EXPECT_EQ(m->spans[0], (Interval{20000, 26000}));
  EXPECT_EQ(m->spans[1], (Interval{26000, 34000}));
  EXPECT_FALSE(matches(R"([{"type":"transcript","phrases":["refunded"]},{"type":"non_talk","min_ms":20000}])"));
}

TEST(Categories, ValidationNamesTheField) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[]", "rules"},
      {R"([{"type":"nope"}])", "rules[0].type"},
      {R"([{"type":"transcript"}])", "rules[0].phrases"},
      {R"([{"type":"transcript","phrases":["x"],"speaker":"boss"}])", "rules[0].speaker"},
      {R"([{"type":"transcript","phrases":["x"],"window":{"first_ms":-1}}])", "rules[0].window.first_ms"},
      {R"([{"type":"transcript","phrases":["x"],"window":{"start_pct":60,"end_pct":50}}])", "rules[0].window"},
      {R"([{"type":"transcript","phrases":["x"],"colour":"red"}])", "unknown field 'colour'"},
      {R"([{"type":"non_talk"}])", "rules[0].min_ms"},
      {R"([{"type":"sentiment","speaker":"customer","value":"angry"}])", "rules[0].value"},
      {R"([{"type":"sentiment","value":"negative"}])", "rules[0].speaker"},
      {"not json", "not valid JSON"},
      {"' OR 1=1 --", "not valid JSON"},
  };
  for (const auto& [rules, word] : bad) {
    auto r = parse_rules(rules);
    ASSERT_FALSE(r) << rules;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(word), std::string::npos) << r.error().message;
  }
  std::string many = "[";
  for (int i = 0; i < 21; ++i) many += std::string(i ? "," : "") + R"({"type":"non_talk","min_ms":1})";
  EXPECT_FALSE(parse_rules(many + "]"));
}

TEST(Scorecards, WeightedScoreWithNotApplicable) {
  auto card = parse_scorecard("qa", R"({"questions":[
      {"id":"greet","text":"Greeted","weight":2,"answer":{"kind":"rule","rules":[
          {"type":"transcript","phrases":["thank you for calling"],"speaker":"agent","window":{"first_ms":10000}}]}},
      {"id":"talk","text":"Talk ratio under 65%","weight":1,"answer":{"kind":"metric","metric":"agent_talk_ratio","op":"<=","value":0.65}},
      {"id":"hold","text":"No long hold","weight":1,"answer":{"kind":"rule","rules":[{"type":"non_talk","min_ms":5000,"negate":true}]}},
      {"id":"sop","text":"SOP followed","weight":3,"answer":{"kind":"agent","agent":"sop","field":"/followed","equals":true}},
      {"id":"wpm","text":"Speaks calmly","weight":1,"answer":{"kind":"metric","metric":"agent_wpm","op":"<","value":180}}]})");
  ASSERT_TRUE(card) << card.error().to_string();
  auto r = score_call(*card, sample_call(), {{"agent_talk_ratio", 0.7}}, {});
  // greet yes (2), talk no (1), hold no (1), sop n/a, wpm n/a: 2 / 4.
  ASSERT_TRUE(r.score);
  EXPECT_DOUBLE_EQ(*r.score, 0.5);
  EXPECT_EQ(r.answers[3].answer, Answer::kNotApplicable);
  r = score_call(*card, sample_call(), {{"agent_talk_ratio", 0.5}, {"agent_wpm", 150}},
                 {{"sop", R"({"followed":true})"}});
  EXPECT_DOUBLE_EQ(*r.score, 7.0 / 8.0);
  auto none = parse_scorecard(
      "qa", R"({"questions":[{"id":"x","weight":1,"answer":{"kind":"metric","metric":"m","op":"<","value":1}}]})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(score_call(*none, sample_call(), {}, {}).score.has_value());
  EXPECT_FALSE(parse_scorecard(
      "qa", R"({"questions":[{"id":"x","weight":0,"answer":{"kind":"metric","metric":"m","op":"<","value":1}}]})"));
  EXPECT_FALSE(parse_scorecard(
      "qa",
      R"({"questions":[{"id":"x","weight":1,"answer":{"kind":"agent","agent":"a","field":"/a~2","equals":1}}]})"));
}

TEST(Categories, AFieldOfAnotherJsonTypeIsAClearErrorNotAnException) {
  // Found by fuzzing (tests/fuzz/rules.cpp): json::value() threw type_error out of the parser.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"([{"type":"transcript","phrases":["x"],"match":7}])", "rules[0].match: must be a string"},
      {R"([{"type":"sentiment","speaker":"customer","value":1}])", "rules[0].value: must be a string"},
      {R"([{"type":"sentiment","speaker":"customer","value":null}])", "rules[0].value: must be a string"},
  };
  for (const auto& [rules, want] : bad) {
    auto r = parse_rules(rules);
    ASSERT_FALSE(r) << rules;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
  }
}

TEST(Scorecards, AnAgentOutputWithoutTheFieldIsNotApplicableWhateverItHolds) {
  // Found while fuzzing (tests/fuzz/rules.cpp): a field naming an array index beyond size_t
  // made json::contains() throw out of score_call when the agent's output was an array.
  auto card = parse_scorecard("qa", R"({"questions":[{"id":"x","weight":1,"answer":{"kind":"agent","agent":"a",)"
                                    R"("field":"/99999999999999999999999","equals":1}}]})");
  ASSERT_TRUE(card) << card.error().to_string();
  for (const char* output : {"[1,2]", "[[1]]", "\"text\"", "not json"}) {
    const auto r = score_call(*card, sample_call(), {}, {{"a", output}});
    ASSERT_EQ(r.answers.size(), 1u);
    EXPECT_EQ(r.answers[0].answer, Answer::kNotApplicable) << output;
  }
  EXPECT_EQ(score_call(*card, sample_call(), {}, {{"a", R"({"99999999999999999999999":1})"}}).answers[0].answer,
            Answer::kYes);
  EXPECT_EQ(score_call(*card, sample_call(), {}, {{"a", R"({"99999999999999999999999":2})"}}).answers[0].answer,
            Answer::kNo);
}

TEST(Scorecards, AFieldOfAnotherJsonTypeIsAClearErrorNotAnException) {
  const std::string metric = R"("answer":{"kind":"metric","metric":"m","op":"<","value":1})";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"questions":[{"id":5,"weight":1,)" + metric + "}]}", "questions[0].id: must be a string"},
      {R"({"questions":[{"id":"x","text":["a"],"weight":1,)" + metric + "}]}", "questions[0].text: must be a string"},
      {R"({"questions":[{"id":"x","weight":1,"answer":{"kind":true}}]})", "questions[0].answer.kind: must be a string"},
      {R"({"questions":[{"id":"x","weight":1,"answer":{"kind":"metric","metric":1,"op":"<","value":1}}]})",
       "questions[0].answer.metric: must be a string"},
      {R"({"questions":[{"id":"x","weight":1,"answer":{"kind":"metric","metric":"m","op":2,"value":1}}]})",
       "questions[0].answer.op: must be a string"},
      {R"({"questions":[{"id":"x","weight":1,"answer":{"kind":"agent","agent":{},"field":"/a","equals":1}}]})",
       "questions[0].answer.agent: must be a string"},
      {R"({"questions":[{"id":"x","weight":1,"answer":{"kind":"agent","agent":"a","field":3,"equals":1}}]})",
       "questions[0].answer.field: must be a string"},
  };
  for (const auto& [card, want] : bad) {
    auto r = parse_scorecard("qa", card);
    ASSERT_FALSE(r) << card;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace earshot::analytics
