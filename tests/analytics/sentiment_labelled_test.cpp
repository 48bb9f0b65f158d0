// Polarity accuracy of the VADER-style scorer on a labelled set of call-center utterances
// written for this project (tests/analytics/data/call_center_sentiment.tsv). The usual VADER
// thresholds decide the label: compound >= 0.05 positive, <= -0.05 negative, else neutral.
// The accuracy and the confusion matrix are printed; the test fails below the floor.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "earshot/analytics/sentiment.hpp"

namespace earshot::analytics {
namespace {

struct Labelled {
  int label = 0;  // 0 pos, 1 neg, 2 neu
  std::string text;
};

std::vector<Labelled> load_set() {
  std::ifstream in(std::string(EARSHOT_SOURCE_DIR) + "/tests/analytics/data/call_center_sentiment.tsv");
  std::vector<Labelled> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string label = line.substr(0, tab);
    const int l = label == "pos" ? 0 : label == "neg" ? 1 : label == "neu" ? 2 : -1;
    EXPECT_NE(l, -1) << "bad label in: " << line;
    if (l >= 0) out.push_back({l, line.substr(tab + 1)});
  }
  return out;
}

TEST(SentimentLabelled, CallCenterPolarityAccuracyAboveFloor) {
  auto lex =
      SentimentLexicon::load_file(std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt");
  ASSERT_TRUE(lex) << lex.error().to_string() << " (scripts/fetch-assets.sh installs the lexicon)";
  const SentimentAnalyzer analyzer(*lex);
  const auto set = load_set();
  ASSERT_GE(set.size(), 100u);
  std::array<std::array<int, 3>, 3> confusion{};
  int correct = 0;
  for (const auto& u : set) {
    const double c = analyzer.score(u.text).compound;
    const int predicted = c >= 0.05 ? 0 : c <= -0.05 ? 1 : 2;
    ++confusion[static_cast<std::size_t>(u.label)][static_cast<std::size_t>(predicted)];
    if (predicted == u.label) {
      ++correct;
    } else {
      std::printf("  miss (%s -> %s, %+.3f): %s\n",
                  u.label == 0   ? "pos"
                  : u.label == 1 ? "neg"
                                 : "neu",
                  predicted == 0   ? "pos"
                  : predicted == 1 ? "neg"
                                   : "neu",
                  c, u.text.c_str());
    }
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(set.size());
  std::printf("call-center polarity: %d/%zu correct, accuracy %.3f\n", correct, set.size(), accuracy);
  std::printf("confusion (rows truth pos/neg/neu, columns predicted pos/neg/neu):\n");
  for (const auto& row : confusion) std::printf("  %3d %3d %3d\n", row[0], row[1], row[2]);
  RecordProperty("accuracy", std::to_string(accuracy));
  EXPECT_GE(accuracy, 0.80);
  // Each class on its own, so a scorer that labels everything one way cannot pass.
  for (std::size_t k = 0; k < 3; ++k) {
    const int total = confusion[k][0] + confusion[k][1] + confusion[k][2];
    EXPECT_GE(static_cast<double>(confusion[k][k]) / total, 0.6) << "class " << k;
  }
}

}  // namespace
}  // namespace earshot::analytics
