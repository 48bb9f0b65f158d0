#include "earshot/analytics/sentiment.hpp"

#include <gtest/gtest.h>

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
  SentimentAnalyzer a(lexicon());
  for (const auto& [text, want] : cases) {
    EXPECT_NEAR(a.score(text).compound, want, 0.01) << text;
  }
}

TEST(Sentiment, RulesMoveTheScoreTheRightWay) {
  SentimentAnalyzer a(lexicon());
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
  SentimentAnalyzer a(lexicon());
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

}  // namespace
}  // namespace earshot::analytics
