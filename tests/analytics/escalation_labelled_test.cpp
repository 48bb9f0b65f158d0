// Escalation precision and recall on calls written for this project, labelled yes/no with a
// reason (tests/analytics/data/escalation_tune.txt, on which the rules were developed, and
// escalation_heldout.txt, written before and never tuned on). Segment times come from the
// word count (400 ms a word, 500 ms between turns); sentiment is the default model (VADER
// with the call-center layer), as in the pipeline.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "earshot/analytics/sentiment.hpp"
#include "earshot/analytics/summary.hpp"

namespace earshot::analytics {
namespace {

struct LabelledCall {
  std::string id;
  bool escalate = false;
  std::string reason;
  std::vector<TranscriptSegment> segments;
  std::int64_t duration_ms = 0;
};

std::vector<LabelledCall> load_calls(const std::string& name) {
  std::ifstream in(std::string(EARSHOT_SOURCE_DIR) + "/tests/analytics/data/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<LabelledCall> out;
  std::string line;
  std::int64_t t = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("=== ")) {
      const auto bar = line.find(" | ");
      const auto bar2 = bar == std::string::npos ? bar : line.find(" | ", bar + 3);
      if (bar2 == std::string::npos) {
        ADD_FAILURE() << "not '=== ID | yes|no | reason': " << line;
        continue;
      }
      const std::string verdict = line.substr(bar + 3, bar2 - bar - 3);
      EXPECT_TRUE(verdict == "yes" || verdict == "no") << line;
      out.push_back({line.substr(4, bar - 4), verdict == "yes", line.substr(bar2 + 3), {}, 0});
      t = 0;
      continue;
    }
    if (out.empty() || line.size() < 4 || (line[0] != 'A' && line[0] != 'C') || line.compare(1, 2, ": ") != 0) {
      ADD_FAILURE() << "not a turn: " << line;
      continue;
    }
    TranscriptSegment s;
    s.role = line[0] == 'A' ? Role::kAgent : Role::kCustomer;
    s.text = line.substr(3);
    std::istringstream words(s.text);
    std::string w;
    std::int64_t n = 0;
    while (words >> w) ++n;
    s.start_ms = t;
    s.end_ms = t + 400 * n;
    t = s.end_ms + 500;
    out.back().duration_ms = s.end_ms;
    out.back().segments.push_back(std::move(s));
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

struct PrecisionRecall {
  double precision = 0;
  double recall = 0;
};

PrecisionRecall measure(const std::vector<LabelledCall>& calls, const char* title) {
  const SentimentAnalyzer analyzer(lexicon());
  int tp = 0, fp = 0, fn = 0, tn = 0, high = 0;
  for (const auto& c : calls) {
    const auto tl = sentiment_timeline(c.segments, c.duration_ms, analyzer);
    const auto d = detect_escalation(c.segments, tl, {});
    if (d.escalate && c.escalate) ++tp;
    if (d.escalate && !c.escalate) ++fp;
    if (!d.escalate && c.escalate) ++fn;
    if (!d.escalate && !c.escalate) ++tn;
    high += d.escalate && d.high ? 1 : 0;
    if (d.escalate != c.escalate) {
      std::printf("  miss %s (labelled %s: %s) -> %s\n", c.id.c_str(), c.escalate ? "yes" : "no", c.reason.c_str(),
                  d.escalate ? d.reason.c_str() : "no escalation");
    }
  }
  PrecisionRecall pr;
  pr.precision = tp + fp > 0 ? static_cast<double>(tp) / (tp + fp) : 0.0;
  pr.recall = tp + fn > 0 ? static_cast<double>(tp) / (tp + fn) : 0.0;
  std::printf("%s: %zu calls, tp %d fp %d fn %d tn %d, precision %.3f recall %.3f, %d of %d escalations high\n", title,
              calls.size(), tp, fp, fn, tn, pr.precision, pr.recall, high, tp + fp);
  return pr;
}

TEST(EscalationLabelled, PrecisionAndRecallAboveFloor) {
  const auto tune = load_calls("escalation_tune.txt");
  const auto held = load_calls("escalation_heldout.txt");
  ASSERT_GE(tune.size() + held.size(), 60u);
  const auto t = measure(tune, "escalation, tuning part");
  const auto h = measure(held, "escalation, held-out part");
  auto all = tune;
  all.insert(all.end(), held.begin(), held.end());
  const auto a = measure(all, "escalation, all calls");
  RecordProperty("precision", std::to_string(a.precision));
  RecordProperty("recall", std::to_string(a.recall));
  EXPECT_GE(a.precision, 0.95);
  EXPECT_GE(a.recall, 0.95);
  EXPECT_GE(t.precision, 0.95);
  EXPECT_GE(t.recall, 0.95);
  EXPECT_GE(h.precision, 0.9);
  EXPECT_GE(h.recall, 0.9);
}

TEST(EscalationLabelled, AFriendlyCallThatEndsNeutralDoesNotEscalate) {
  // The report's example: a very positive first quarter, "Sounds good. Talk to you then." last.
  const auto tune = load_calls("escalation_tune.txt");
  ASSERT_FALSE(tune.empty());
  const auto& call = tune.front();
  ASSERT_EQ(call.id, "t01");
  const SentimentAnalyzer analyzer(lexicon());
  const auto tl = sentiment_timeline(call.segments, call.duration_ms, analyzer);
  EXPECT_LT(tl.customer_change.value_or(0.0), -0.5);  // the fall that used to fire
  EXPECT_FALSE(detect_escalation(call.segments, tl, {}).escalate);
}

TEST(EscalationLabelled, SeverityFollowsTheEvidence) {
  const SentimentAnalyzer analyzer(lexicon());
  auto decide = [&](std::vector<TranscriptSegment> segs) {
    std::int64_t t = 0;
    for (auto& s : segs) {
      s.start_ms = t;
      s.end_ms = t + 3000;
      t += 3500;
    }
    return detect_escalation(segs, sentiment_timeline(segs, t, analyzer), {});
  };
  // A calm request for a supervisor: medium.
  auto d = decide({{Role::kCustomer, 0, 0, "Could I speak to a supervisor please?"},
                   {Role::kAgent, 0, 0, "Of course, one moment."},
                   {Role::kCustomer, 0, 0, "Thanks."}});
  EXPECT_TRUE(d.escalate);
  EXPECT_FALSE(d.high);
  EXPECT_NE(d.reason.find("supervisor"), std::string::npos);
  // A legal threat: high on its own.
  d = decide({{Role::kCustomer, 0, 0, "My lawyer will be in touch."}, {Role::kAgent, 0, 0, "I understand."}});
  EXPECT_TRUE(d.escalate);
  EXPECT_TRUE(d.high);
  // A repeated contact that ends negative: two kinds of evidence, high.
  d = decide({{Role::kCustomer, 0, 0, "This is the third time I'm calling about the bill."},
              {Role::kAgent, 0, 0, "I'm sorry, the fix is scheduled for next week."},
              {Role::kCustomer, 0, 0, "That's ridiculous, I'm really angry."}});
  EXPECT_TRUE(d.escalate);
  EXPECT_TRUE(d.high);
  EXPECT_NE(d.reason.find("contacted before"), std::string::npos);
  EXPECT_NE(d.reason.find("ended negative"), std::string::npos);
  // A withdrawn request and a mentioned manager do not escalate.
  EXPECT_FALSE(decide({{Role::kCustomer, 0, 0, "It's sorted now, no need for a supervisor."}}).escalate);
  EXPECT_FALSE(decide({{Role::kCustomer, 0, 0, "My manager asked me to order two more lines."}}).escalate);
  // A churn threat that ends well (retained) does not escalate.
  EXPECT_FALSE(decide({{Role::kCustomer, 0, 0, "I'm cancelling, it's too expensive."},
                       {Role::kAgent, 0, 0, "I can offer you the loyalty rate, twenty less a month."},
                       {Role::kCustomer, 0, 0, "Oh, that's great, I'll stay, thank you."}})
                   .escalate);
  // An escalation category still opens one.
  EXPECT_TRUE(detect_escalation({}, SentimentTimeline{}, {"Escalation risk"}).escalate);
}

}  // namespace
}  // namespace earshot::analytics
