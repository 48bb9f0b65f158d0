#include "earshot/analytics/sentiment.hpp"

#include <gtest/gtest.h>

#include "earshot/analytics/call_center_sentiment.hpp"

namespace earshot::analytics {
namespace {

// The pinned VADER lexicon that scripts/fetch-assets.sh installs (scripts/test.sh runs it).
const SentimentLexicon& lexicon() {
  static const SentimentLexicon lex = [] {
    auto l =
        SentimentLexicon::load_file(std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt");
    EXPECT_TRUE(l) << l.error().to_string();
    return l ? std::move(*l) : *SentimentLexicon::parse("good\t1.9\t0.9\t[]");
  }();
  return lex;
}

TEST(Sentiment, LexiconIsThePinnedOne) {
  // 7,517 lines; 14 tokens appear twice (e.g. "lol", "ok"), the later line wins.
  EXPECT_EQ(lexicon().size(), 7503u);
  ASSERT_NE(lexicon().find("good"), nullptr);
  EXPECT_DOUBLE_EQ(*lexicon().find("good"), 1.9);
  EXPECT_EQ(lexicon().find("blender"), nullptr);
}

// Reference scores published with VADER for these sentences.
TEST(Sentiment, MatchesTheReferenceImplementation) {
  const std::vector<std::pair<std::string, double>> cases = {
      {"VADER is smart, handsome, and funny.", 0.8316},
      {"VADER is smart, handsome, and funny!", 0.8439},
      {"VADER is very smart, handsome, and funny.", 0.8545},
      {"VADER is VERY SMART, handsome, and FUNNY.", 0.9227},
      {"VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342},
      {"VADER is not smart, handsome, nor funny.", -0.7424},
      {"The book was good.", 0.4404},
      {"The plot was good, but the characters are uncompelling and the dialog is not great.", -0.7042},
      {"Today SUX!", -0.5461},
      {"Make sure you :) or :D today!", 0.8633},
      {"Not bad at all", 0.431},
  };
  SentimentAnalyzer a(lexicon(), SentimentModel::kVader);
  for (const auto& [text, want] : cases) {
    EXPECT_NEAR(a.score(text).compound, want, 0.01) << text;
  }
}

TEST(Sentiment, RulesMoveTheScoreTheRightWay) {
  SentimentAnalyzer a(lexicon(), SentimentModel::kVader);
  const double good = a.score("the service was good").compound;
  EXPECT_GT(good, 0.3);
  EXPECT_LT(a.score("the service was not good").compound, 0);
  EXPECT_GT(a.score("the service was very good").compound, good);
  EXPECT_LT(a.score("the service was barely good").compound, good);
  EXPECT_GT(a.score("the service was good!!!").compound, good);
  EXPECT_LT(a.score("the food was good but the service was terrible").compound, 0);
  EXPECT_GT(a.score("the service was terrible but the food was good").compound, 0);
  EXPECT_LT(a.score("I am very unhappy and angry about this refund").compound, -0.5);
  EXPECT_DOUBLE_EQ(a.score("my call is about the invoice from tuesday").compound, 0.0);
  EXPECT_DOUBLE_EQ(a.score("").compound, 0.0);
  auto s = a.score("great service, terrible wait");
  EXPECT_NEAR(s.positive + s.negative + s.neutral, 1.0, 1e-9);
}

TEST(Sentiment, ScoresStayInRangeOnAnyInput) {
  SentimentAnalyzer a(lexicon(), SentimentModel::kVader);
  std::string worst;
  for (int i = 0; i < 200; ++i) worst += "HORRIBLE TERRIBLE awful!!! ";
  EXPECT_GE(a.score(worst).compound, -1.0);
  EXPECT_LE(a.score(std::string(10000, '!')).compound, 1.0);
  EXPECT_DOUBLE_EQ(a.score(std::string("\0\xff\xfe", 3)).compound, 0.0);
}

TEST(SentimentLexicon, MalformedLinesAreRejectedByNumber) {
  auto bad = SentimentLexicon::parse("good\t1.9\t0.9\t[]\nbad line without tab\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos);
  EXPECT_FALSE(SentimentLexicon::parse("word\tnotanumber\n"));
  EXPECT_FALSE(SentimentLexicon::parse("word\t9.5\n"));
  EXPECT_EQ(SentimentLexicon::load_file("/nonexistent/lexicon.txt").error().code, ErrorCode::kNotFound);
}

// The call-center layer on the examples of the accuracy report that motivated it.
TEST(CallCenterSentiment, ServiceFailuresSarcasmAndFormulas) {
  const SentimentAnalyzer layered(lexicon());
  const SentimentAnalyzer vader(lexicon(), SentimentModel::kVader);
  EXPECT_EQ(layered.model(), SentimentModel::kCallCenter);
  for (const char* neg : {"I've been on hold for forty five minutes", "the technician never showed up",
                          "my bill doubled and nobody told me why", "Oh great, another outage",
                          "I'm not happy with the new plan", "This is the third time I'm calling about this",
                          "You charged me twice", "Thanks for nothing", "I want to cancel my account"}) {
    EXPECT_LE(layered.score(neg).compound, -0.05) << neg;
  }
  for (const char* neu : {"Is this the best number to reach you?", "Please hold while I check.",
                          "Thank you for calling, have a great day.", "Sounds good. Talk to you then.",
                          "Would you like me to email that to you?", "I'm sorry for the wait."}) {
    EXPECT_GT(layered.score(neu).compound, -0.05) << neu;
    EXPECT_LT(layered.score(neu).compound, 0.05) << neu;
  }
  for (const char* pos : {"Good news, the refund has been approved.", "I've waived the late fee for you.",
                          "Thank you so much, you've been really helpful.", "That's very kind of you."}) {
    EXPECT_GE(layered.score(pos).compound, 0.05) << pos;
  }
  // VADER alone misses them, which is why the layer exists.
  EXPECT_GT(vader.score("Oh great, another outage").compound, 0.05);
  EXPECT_DOUBLE_EQ(vader.score("the technician never showed up").compound, 0.0);
  EXPECT_GT(vader.score("Is this the best number to reach you?").compound, 0.05);
  // vader() is VADER alone whatever the model.
  EXPECT_DOUBLE_EQ(layered.vader("Oh great, another outage").compound,
                   vader.score("Oh great, another outage").compound);
}

TEST(CallCenterSentiment, ReadingNamesItsEvidence) {
  auto r = read_call_center("Oh great, another outage");
  EXPECT_TRUE(r.sarcasm);
  EXPECT_LT(r.negative, 0);
  ASSERT_FALSE(r.cues.empty());
  EXPECT_EQ(r.cues.front(), "failure:outage|outages");
  // Formulas are blanked out of the text VADER reads; the length stays.
  const std::string formula = "Please hold, is this the best number?";
  r = read_call_center(formula);
  EXPECT_EQ(r.vader_text.size(), formula.size());
  EXPECT_EQ(r.vader_text.find("Please"), std::string::npos);
  EXPECT_EQ(r.vader_text.find("best"), std::string::npos);
  EXPECT_TRUE(r.question);
  // A favourable outcome negated is a failure.
  r = read_call_center("The refund was never approved");
  EXPECT_EQ(r.positive, 0);
  EXPECT_LT(r.negative, 0);
  // A complaint phrased as a question is not an information question.
  EXPECT_FALSE(read_call_center("Why was I charged twice?").question);
  EXPECT_TRUE(read_call_center("Okay, thanks, bye.").acknowledgement);
}

TEST(CallCenterSentiment, AnyInputIsSafe) {
  const SentimentAnalyzer layered(lexicon());
  std::string worst;
  for (int i = 0; i < 200; ++i) worst += "on hold for never showed up charged twice!!! ";
  EXPECT_GE(layered.score(worst).compound, -1.0);
  EXPECT_DOUBLE_EQ(layered.score("").compound, 0.0);
  EXPECT_DOUBLE_EQ(layered.score(std::string("\0\xff\xfe\xe2\x80", 5)).compound, 0.0);
  EXPECT_DOUBLE_EQ(layered.score("'''  --- ???").compound, 0.0);
  // Curly apostrophes read like straight ones.
  EXPECT_LE(layered.score("I\xe2\x80\x99ve been on hold for an hour").compound, -0.05);
}

}  // namespace
}  // namespace earshot::analytics
