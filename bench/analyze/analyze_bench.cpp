// Built-in analyzers on 5-minute transcripts, one core: calls per second and latency
// percentiles of sentiment timeline + talk speed + PII + 4 categories + a scorecard +
// summary, outcome and escalation.
//
//   build/bin/analyze_bench [--calls N] [--lexicon FILE]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "earshot/analytics/categories.hpp"
#include "earshot/analytics/pii.hpp"
#include "earshot/analytics/summary.hpp"
#include "earshot/analytics/transcript.hpp"

using namespace earshot::analytics;

namespace {

const std::vector<std::string> kAgent = {
    "Thank you for calling Acme support, my name is Sarah, how can I help you today?",
    "I am sorry to hear that, let me check your account right now.",
    "Could you please confirm the email address on the account?",
    "I can see the order here, it was shipped last Tuesday.",
    "I have issued a full refund to your card, it should arrive in five days.",
    "Is there anything else I can help you with today?",
    "I completely understand your frustration and I will fix this for you.",
};
const std::vector<std::string> kCustomer = {
    "Hi, my internet has been really slow since last Monday and I am not happy.",
    "Sure, it is jane.doe@example.com and my number is 415 555 0132.",
    "This is the third time I am calling about the same problem!",
    "Okay, that sounds fair, thank you very much for your help.",
    "My card number is four one one one one one one one, can you check it?",
    "No, that is all, have a great day.",
};

std::vector<TranscriptSegment> five_minute_call(std::mt19937& rng) {
  std::vector<TranscriptSegment> out;
  std::int64_t t = 0;
  bool agent = true;
  while (t < 300000) {
    const auto& pool = agent ? kAgent : kCustomer;
    const auto& text = pool[rng() % pool.size()];
    const std::int64_t len = static_cast<std::int64_t>(std::count(text.begin(), text.end(), ' ') + 1) * 380;
    out.push_back({agent ? Role::kAgent : Role::kCustomer, t, t + len, text});
    t += len + 400 + static_cast<std::int64_t>(rng() % 1500);
    agent = !agent;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 2000;
  std::string lexicon_path = std::string(EARSHOT_SOURCE_DIR) + "/.local/assets/vader-1.1.3/vader_lexicon.txt";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--calls")
      calls = std::atoi(argv[i + 1]);
    else if (a == "--lexicon")
      lexicon_path = argv[i + 1];
  }
  auto lex = SentimentLexicon::load_file(lexicon_path);
  if (!lex) {
    fmt::print(stderr, "{}\n", lex.error().message);
    return 1;
  }
  const SentimentAnalyzer analyzer(*lex);
  std::vector<Category> cats;
  for (const auto& [name, rules] : std::vector<std::pair<std::string, std::string>>{
           {"Refund", R"([{"type":"transcript","phrases":["refund","money back"],"match":"forms"}])"},
           {"Repeat caller", R"([{"type":"transcript","phrases":["third time","again"],"speaker":"customer"}])"},
           {"Long hold", R"([{"type":"non_talk","min_ms":4000}])"},
           {"Angry", R"([{"type":"sentiment","speaker":"customer","value":"negative","window":{"last_ms":60000}}])"}}) {
    cats.push_back(*parse_category(name, rules));
  }
  auto card = *parse_scorecard("qa", R"({"questions":[
      {"id":"greet","weight":2,"answer":{"kind":"rule","rules":[{"type":"transcript","phrases":["thank you for calling"],"speaker":"agent","window":{"first_ms":10000}}]}},
      {"id":"talk","weight":1,"answer":{"kind":"metric","metric":"agent_talk_ratio","op":"<=","value":0.65}}]})");

  std::mt19937 rng(42);
  std::vector<std::vector<TranscriptSegment>> corpus;
  for (int i = 0; i < 64; ++i) corpus.push_back(five_minute_call(rng));
  std::size_t words = 0;
  for (const auto& s : corpus[0]) words += static_cast<std::size_t>(std::count(s.text.begin(), s.text.end(), ' ') + 1);

  std::vector<double> lat;
  lat.reserve(static_cast<std::size_t>(calls));
  std::size_t sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    const auto& segs = corpus[static_cast<std::size_t>(i) % corpus.size()];
    const auto c0 = std::chrono::steady_clock::now();
    const auto tl = sentiment_timeline(segs, 300000, analyzer);
    const auto speed = talk_speed(segs, 0, 0);
    std::size_t pii = 0;
    for (const auto& s : segs) pii += redact(s.text, find_pii(s.text)).size();
    CallFacts facts;
    facts.duration_ms = 300000;
    facts.segments = segs;
    facts.segment_sentiment = tl.segment;
    std::vector<std::string> matched;
    for (const auto& c : cats) {
      if (auto m = match_category(c, facts)) matched.push_back(m->name);
    }
    auto qa = score_call(card, facts, {{"agent_talk_ratio", 0.55}}, {});
    auto summary = summarize(segs);
    auto outcome = guess_outcome(segs, tl.customer.call);
    auto esc = detect_escalation(segs, tl, matched);
    sink += pii + matched.size() + summary.text.size() + outcome.outcome.size() + (esc.escalate ? 1 : 0) +
            (qa.score ? 1 : 0) + static_cast<std::size_t>(speed.agent_questions);
    lat.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c0).count());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat[static_cast<std::size_t>(p * static_cast<double>(lat.size() - 1))]; };
  fmt::print("built-in analyzers on 5-minute transcripts ({} segments, {} words each), {} calls, one core:\n",
             corpus[0].size(), words, calls);
  fmt::print("  {:.0f} calls/s; latency p50 {:.3f} ms, p99 {:.3f} ms (checksum {})\n", calls / secs, pct(0.5),
             pct(0.99), sink % 1000);
  return 0;
}
