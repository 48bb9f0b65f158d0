#include "earshot/analytics/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <sstream>

namespace earshot::analytics {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int word_count(const std::string& s) {
  std::istringstream in(s);
  std::string w;
  int n = 0;
  while (in >> w) ++n;
  return n;
}

bool contains_any(const std::string& lower_text, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return lower_text.find(w) != std::string::npos; });
}

constexpr std::array<std::string_view, 14> kActionWords = {"refund", "replace",  "resolved", "fixed",    "issued",
                                                           "reset",  "send",     "sent",     "schedule", "credit",
                                                           "cancel", "discount", "escalat",  "process"};

}  // namespace

ExtractiveSummary summarize(const std::vector<TranscriptSegment>& segments) {
  ExtractiveSummary s;
  for (const auto& seg : segments) {
    if (seg.role == Role::kCustomer && word_count(seg.text) >= 5) {
      s.issue = seg.text;
      break;
    }
  }
  int best = 0;
  for (const auto& seg : segments) {
    if (seg.role != Role::kAgent) continue;
    const auto l = lower(seg.text);
    int score = 0;
    for (auto w : kActionWords) score += l.find(w) != std::string::npos ? 1 : 0;
    if (score > best) {
      best = score;
      s.resolution = seg.text;
    }
  }
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    if (it->role == Role::kCustomer && word_count(it->text) >= 3 && it->text != s.issue) {
      s.closing = it->text;
      break;
    }
  }
  for (const auto* part : {&s.issue, &s.resolution, &s.closing}) {
    if (part->empty()) continue;
    if (!s.text.empty()) s.text += " ";
    s.text += *part;
    if (!part->empty() && std::ispunct(static_cast<unsigned char>(part->back())) == 0) s.text += ".";
  }
  return s;
}

OutcomeGuess guess_outcome(const std::vector<TranscriptSegment>& segments,
                           std::optional<double> final_customer_sentiment) {
  OutcomeGuess g;
  // The latest decisive statement wins, so scan from the end of the call.
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    const auto l = lower(it->text);
    const bool agent = it->role == Role::kAgent;
    auto pick = [&](const char* outcome) {
      g.outcome = outcome;
      g.evidence = it->text;
    };
    if (agent && contains_any(l, {"refunded", "refund has been", "process a full refund", "processed a refund",
                                  "issued a refund", "issued a full refund"})) {
      pick("refunded");
    } else if (agent && contains_any(l, {"replacement", "send you a new"})) {
      pick("replacement");
    } else if (contains_any(l, {"cancelled your", "canceled your", "cancel your subscription", "account is closed"})) {
      pick("cancelled");
    } else if (!agent && contains_any(l, {"i will stay", "i'll stay", "sounds fair", "keep my"})) {
      pick("retained");
    } else if (agent && contains_any(l, {"transfer you to", "escalate", "my supervisor", "my manager"})) {
      pick("escalated");
    } else if (agent && contains_any(l, {"call you back", "callback", "follow up with you"})) {
      pick("callback_scheduled");
    } else if (agent && contains_any(l, {"resolved", "fixed", "reset your", "should work", "should be fast",
                                         "should be working"})) {
      pick("resolved");
    }
    if (g.outcome != "unknown") return g;
  }
  if (final_customer_sentiment && *final_customer_sentiment <= -0.3) {
    g.outcome = "unresolved";
    g.evidence = fmt::format("customer ended negative ({:.2f})", *final_customer_sentiment);
  }
  return g;
}

EscalationDecision detect_escalation(const std::vector<TranscriptSegment>& segments, const SentimentTimeline& sentiment,
                                     const std::vector<std::string>& matched_categories, const EscalationOptions& o) {
  EscalationDecision d;
  auto add = [&](const std::string& why, bool high) {
    d.escalate = true;
    d.high = d.high || high;
    if (!d.reason.empty()) d.reason += "; ";
    d.reason += why;
  };
  if (sentiment.customer.call && *sentiment.customer.call <= o.sentiment_threshold) {
    add(fmt::format("customer sentiment {:.2f} at or below {:.2f}", *sentiment.customer.call, o.sentiment_threshold),
        true);
  }
  if (sentiment.customer_change && *sentiment.customer_change <= o.change_threshold) {
    add(fmt::format("customer sentiment fell by {:.2f} from the first to the last quarter",
                    -*sentiment.customer_change),
        true);
  }
  for (const auto& seg : segments) {
    if (seg.role != Role::kCustomer) continue;
    const auto l = lower(seg.text);
    for (const auto& p : o.customer_phrases) {
      if (l.find(lower(p)) != std::string::npos) {
        add(fmt::format("customer said \"{}\" at {:.1f} s", p, static_cast<double>(seg.start_ms) / 1000.0), false);
        break;
      }
    }
  }
  for (const auto& c : matched_categories) {
    if (lower(c).find("escalat") != std::string::npos) add(fmt::format("category \"{}\" matched", c), false);
  }
  return d;
}

}  // namespace earshot::analytics
