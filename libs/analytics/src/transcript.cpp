#include "earshot/analytics/transcript.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <sstream>

namespace earshot::analytics {
namespace {

int words_in(const std::string& text) {
  std::istringstream in(text);
  std::string w;
  int n = 0;
  while (in >> w) ++n;
  return n;
}

constexpr std::array<std::string_view, 16> kInterrogatives = {"what",  "when", "where", "which", "who",   "whom",
                                                              "whose", "why",  "how",   "can",   "could", "would",
                                                              "will",  "do",   "does",  "is"};

}  // namespace

bool is_question(const std::string& text) {
  auto end = text.find_last_not_of(" \t\r\n");
  if (end != std::string::npos && text[end] == '?') return true;
  std::istringstream in(text);
  std::string first;
  in >> first;
  for (auto& c : first) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!first.empty() && std::ispunct(static_cast<unsigned char>(first.back())) != 0) first.pop_back();
  // "is" and "do"-type openers count only with a following subject-like word; keep it
  // simple and exact for the common wh-words, and accept auxiliaries at the start.
  return std::find(kInterrogatives.begin(), kInterrogatives.end(), first) != kInterrogatives.end();
}

SentimentTimeline sentiment_timeline_of_scores(const std::vector<TranscriptSegment>& segments, std::int64_t duration_ms,
                                               std::span<const double> scores) {
  SentimentTimeline out;
  struct Acc {
    double weighted = 0, weight = 0;
    std::array<double, 4> q_sum{};
    std::array<int, 4> q_n{};
  } acc[2];
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    const double score = i < scores.size() ? scores[i] : 0.0;
    out.segment.push_back(score);
    auto& a = acc[s.role == Role::kAgent ? 0 : 1];
    const auto len = static_cast<double>(std::max<std::int64_t>(1, s.end_ms - s.start_ms));
    a.weighted += score * len;
    a.weight += len;
    if (duration_ms > 0) {
      const double mid = static_cast<double>(s.start_ms + s.end_ms) / 2.0;
      const int q = std::clamp(static_cast<int>(mid * 4.0 / static_cast<double>(duration_ms)), 0, 3);
      a.q_sum[static_cast<std::size_t>(q)] += score;
      ++a.q_n[static_cast<std::size_t>(q)];
    }
  }
  for (int r = 0; r < 2; ++r) {
    auto& dst = r == 0 ? out.agent : out.customer;
    if (acc[r].weight > 0) dst.call = acc[r].weighted / acc[r].weight;
    for (std::size_t q = 0; q < 4; ++q) {
      if (acc[r].q_n[q] > 0) dst.quarter[q] = acc[r].q_sum[q] / acc[r].q_n[q];
    }
  }
  const auto& first = out.customer.quarter[0];
  const auto& last = out.customer.quarter[3];
  if (first && last) out.customer_change = *last - *first;
  return out;
}

SentimentTimeline sentiment_timeline(const std::vector<TranscriptSegment>& segments, std::int64_t duration_ms,
                                     const SentimentAnalyzer& analyzer) {
  std::vector<double> scores;
  scores.reserve(segments.size());
  for (const auto& s : segments) scores.push_back(analyzer.score(s.text).compound);
  return sentiment_timeline_of_scores(segments, duration_ms, scores);
}

TalkSpeed talk_speed(const std::vector<TranscriptSegment>& segments, std::int64_t agent_talk_ms,
                     std::int64_t customer_talk_ms) {
  TalkSpeed out;
  int agent_words = 0, customer_words = 0;
  std::int64_t agent_seg_ms = 0, customer_seg_ms = 0;
  for (const auto& s : segments) {
    const int w = words_in(s.text);
    if (s.role == Role::kAgent) {
      agent_words += w;
      agent_seg_ms += std::max<std::int64_t>(0, s.end_ms - s.start_ms);
      if (is_question(s.text)) ++out.agent_questions;
    } else {
      customer_words += w;
      customer_seg_ms += std::max<std::int64_t>(0, s.end_ms - s.start_ms);
    }
  }
  if (agent_talk_ms <= 0) agent_talk_ms = agent_seg_ms;
  if (customer_talk_ms <= 0) customer_talk_ms = customer_seg_ms;
  if (agent_talk_ms > 0) {
    out.agent_wpm = agent_words / (static_cast<double>(agent_talk_ms) / 60000.0);
    out.agent_questions_per_hour = out.agent_questions / (static_cast<double>(agent_talk_ms) / 3'600'000.0);
  }
  if (customer_talk_ms > 0) out.customer_wpm = customer_words / (static_cast<double>(customer_talk_ms) / 60000.0);
  return out;
}

void intervals_from_segments(const std::vector<TranscriptSegment>& segments, std::vector<Interval>& agent,
                             std::vector<Interval>& customer) {
  for (const auto& s : segments) {
    if (s.end_ms <= s.start_ms) continue;
    (s.role == Role::kAgent ? agent : customer).push_back({s.start_ms, s.end_ms});
  }
}

}  // namespace earshot::analytics
