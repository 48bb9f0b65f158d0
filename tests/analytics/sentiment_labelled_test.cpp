// Polarity accuracy on call-center utterances written for this project, in two parts:
// tests/analytics/data/sentiment_tune.tsv (the call-center layer's rules were developed on it)
// and sentiment_heldout.tsv (written before the layer was tuned, never tuned on). The usual
// VADER thresholds decide the label: compound >= 0.05 positive, <= -0.05 negative, else
// neutral. For each part and each model (VADER alone, VADER with the call-center layer) the
// accuracy, the confusion matrix and per-class precision, recall and F1 are printed; the
// test fails below the floors, set a little under the figures reached.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "earshot/analytics/sentiment.hpp"

namespace earshot::analytics {
namespace {

constexpr std::array<const char*, 3> kNames = {"pos", "neg", "neu"};

struct Labelled {
  int label = 0;  // 0 pos, 1 neg, 2 neu
  bool agent = false;
  std::string text;
};

std::vector<Labelled> load_set(const std::string& name) {
  std::ifstream in(std::string(EARSHOT_SOURCE_DIR) + "/tests/analytics/data/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<Labelled> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    const auto tab2 = tab == std::string::npos ? tab : line.find('\t', tab + 1);
    if (tab2 == std::string::npos) {
      ADD_FAILURE() << "not label<TAB>speaker<TAB>text: " << line;
      continue;
    }
    const std::string label = line.substr(0, tab);
    const std::string speaker = line.substr(tab + 1, tab2 - tab - 1);
    const int l = label == "pos" ? 0 : label == "neg" ? 1 : label == "neu" ? 2 : -1;
    EXPECT_NE(l, -1) << "bad label in: " << line;
    EXPECT_TRUE(speaker == "agent" || speaker == "customer") << "bad speaker in: " << line;
    if (l >= 0) out.push_back({l, speaker == "agent", line.substr(tab2 + 1)});
  }
  return out;
}

const SentimentLexicon& lexicon() {
  static const SentimentLexicon lex = [] {
    auto l =
        SentimentLexicon::load_file(std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt");
    EXPECT_TRUE(l) << l.error().to_string() << " (scripts/fetch-assets.sh installs the lexicon)";
    return l ? std::move(*l) : *SentimentLexicon::parse("good\t1.9\t0.9\t[]");
  }();
  return lex;
}

struct Figures {
  double accuracy = 0;
  std::array<double, 3> f1{};
  std::array<std::array<int, 3>, 3> confusion{};  // rows truth, columns predicted
};

Figures measure(const std::vector<Labelled>& set, SentimentModel model, const char* title, bool print_misses) {
  const SentimentAnalyzer analyzer(lexicon(), model);
  Figures f;
  int correct = 0;
  std::string misses;
  for (const auto& u : set) {
    const double c = analyzer.score(u.text).compound;
    const int predicted = c >= 0.05 ? 0 : c <= -0.05 ? 1 : 2;
    ++f.confusion[static_cast<std::size_t>(u.label)][static_cast<std::size_t>(predicted)];
    if (predicted == u.label) {
      ++correct;
    } else if (print_misses) {
      misses += std::string("  miss (") + kNames[static_cast<std::size_t>(u.label)] + " -> " +
                kNames[static_cast<std::size_t>(predicted)] + ", " + std::to_string(c) + ", " +
                (u.agent ? "agent" : "customer") + "): " + u.text + "\n";
    }
  }
  f.accuracy = static_cast<double>(correct) / static_cast<double>(set.size());
  std::printf("%s: %d/%zu correct, accuracy %.3f\n", title, correct, set.size(), f.accuracy);
  std::printf("  confusion (rows truth pos/neg/neu, columns predicted pos/neg/neu):\n");
  for (const auto& row : f.confusion) std::printf("    %3d %3d %3d\n", row[0], row[1], row[2]);
  for (std::size_t k = 0; k < 3; ++k) {
    const int tp = f.confusion[k][k];
    int predicted = 0, actual = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      predicted += f.confusion[j][k];
      actual += f.confusion[k][j];
    }
    const double p = predicted > 0 ? static_cast<double>(tp) / predicted : 0.0;
    const double r = actual > 0 ? static_cast<double>(tp) / actual : 0.0;
    f.f1[k] = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
    std::printf("  %s: precision %.3f recall %.3f F1 %.3f\n", kNames[k], p, r, f.f1[k]);
  }
  std::printf("%s", misses.c_str());
  return f;
}

TEST(SentimentLabelled, TheSetIsLargeBalancedAndHasBothSpeakers) {
  const auto tune = load_set("sentiment_tune.tsv");
  const auto held = load_set("sentiment_heldout.tsv");
  EXPECT_GE(tune.size() + held.size(), 400u);
  EXPECT_GE(held.size(), 150u);
  for (const auto* set : {&tune, &held}) {
    std::array<int, 3> per_class{};
    int agent = 0;
    for (const auto& u : *set) {
      ++per_class[static_cast<std::size_t>(u.label)];
      agent += u.agent ? 1 : 0;
    }
    for (int n : per_class) EXPECT_GE(n * 4, static_cast<int>(set->size())) << "a class under a quarter";
    EXPECT_GE(agent * 5, static_cast<int>(set->size())) << "agents under a fifth";
  }
  // No utterance is in both parts.
  for (const auto& h : held) {
    for (const auto& t : tune) EXPECT_NE(h.text, t.text);
  }
}

TEST(SentimentLabelled, HeldOutAccuracyOfTheCallCenterLayerAboveFloor) {
  const auto held = load_set("sentiment_heldout.tsv");
  ASSERT_GE(held.size(), 150u);
  const auto vader = measure(held, SentimentModel::kVader, "held-out, VADER alone", false);
  const auto layered = measure(held, SentimentModel::kCallCenter, "held-out, VADER + call-center layer", true);
  RecordProperty("heldout_accuracy_vader", std::to_string(vader.accuracy));
  RecordProperty("heldout_accuracy_layered", std::to_string(layered.accuracy));
  EXPECT_GE(layered.accuracy, 0.92);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_GE(layered.f1[k], 0.9) << kNames[k];
  // The layer is what carries it: VADER alone is near the 60% a new user measured.
  EXPECT_GE(layered.accuracy - vader.accuracy, 0.25);
}

TEST(SentimentLabelled, TuningPartAccuracyAboveFloor) {
  const auto tune = load_set("sentiment_tune.tsv");
  ASSERT_GE(tune.size(), 250u);
  measure(tune, SentimentModel::kVader, "tuning part, VADER alone", false);
  const auto layered = measure(tune, SentimentModel::kCallCenter, "tuning part, VADER + call-center layer", true);
  EXPECT_GE(layered.accuracy, 0.97);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_GE(layered.f1[k], 0.95) << kNames[k];
}

}  // namespace
}  // namespace earshot::analytics
