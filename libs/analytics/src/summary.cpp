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
  struct Found {
    std::string why;
    bool present = false;
  } request, threat, churn, repeat, ending;
  auto at = [](const TranscriptSegment& seg) { return static_cast<double>(seg.start_ms) / 1000.0; };
  auto first_of = [](const std::string& l, const std::vector<std::string>& phrases) -> const std::string* {
    for (const auto& p : phrases) {
      if (l.find(lower(p)) != std::string::npos) return &p;
    }
    return nullptr;
  };
  for (const auto& seg : segments) {
    if (seg.role != Role::kCustomer) continue;
    const auto l = lower(seg.text);
    auto note = [&](Found& f, const char* what, const std::string& phrase) {
      if (f.present) return;
      f.present = true;
      f.why = fmt::format("customer {} (\"{}\" at {:.1f} s)", what, phrase, at(seg));
    };
    if (const auto* p = first_of(l, o.request_phrases)) {
      // Asked for, not mentioned ("my manager asked me to call") nor withdrawn ("no need
      // for a supervisor").
      const bool asked = contains_any(l, {"speak", "talk", "put me", "transfer me", "get me", "want", "need", "prefer",
                                          "ask for", "escalat", "call from"});
      const bool theirs = contains_any(l, {"my manager", "my boss", "office manager", "my supervisor"});
      const bool withdrawn = contains_any(l, {"no need", "don't need", "do not need", "never mind"});
      if (asked && !theirs && !withdrawn) note(request, "asked for a manager or an escalation", *p);
    }
    if (const auto* p = first_of(l, o.threat_phrases)) note(threat, "made a legal or complaint threat", *p);
    if (const auto* p = first_of(l, o.churn_phrases)) note(churn, "threatened to leave", *p);
    if (const auto* p = first_of(l, o.repeat_phrases)) note(repeat, "had contacted before", *p);
  }
  // How the customer ends: the mean of their last two segments, the last one negative too.
  std::vector<double> last;
  for (std::size_t i = segments.size(); i-- > 0 && last.size() < 2;) {
    if (segments[i].role == Role::kCustomer && i < sentiment.segment.size()) last.push_back(sentiment.segment[i]);
  }
  if (!last.empty()) {
    double mean = 0;
    for (double v : last) mean += v;
    mean /= static_cast<double>(last.size());
    if (mean <= o.end_threshold && last.front() <= -0.05) {
      ending.present = true;
      ending.why = fmt::format("customer ended negative ({:.2f} over the last {} segments", mean, last.size());
      if (sentiment.customer.call) ending.why += fmt::format(", {:.2f} over the call", *sentiment.customer.call);
      if (sentiment.customer_change && *sentiment.customer_change < 0) {
        ending.why += fmt::format(", fell by {:.2f}", -*sentiment.customer_change);
      }
      ending.why += ")";
    }
  }
  bool category = false;
  std::string category_why;
  for (const auto& c : matched_categories) {
    if (lower(c).find("escalat") == std::string::npos) continue;
    category = true;
    if (!category_why.empty()) category_why += "; ";
    category_why += fmt::format("category \"{}\" matched", c);
  }
  d.escalate = request.present || threat.present || ending.present || category;
  if (!d.escalate) return d;
  const int kinds =
      int{request.present} + int{threat.present} + int{churn.present} + int{repeat.present} + int{ending.present};
  d.high = threat.present || kinds >= 2;
  for (const auto* f : {&request, &threat, &churn, &repeat, &ending}) {
    if (!f->present) continue;
    if (!d.reason.empty()) d.reason += "; ";
    d.reason += f->why;
  }
  if (category) d.reason += (d.reason.empty() ? "" : "; ") + category_why;
  return d;
}

}  // namespace earshot::analytics
