#include "earshot/analytics/call_center_sentiment.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace earshot::analytics {
namespace {

// A pattern is a space-separated sequence of slots matched against lowercased word tokens:
//   "a|b"  one of the alternatives;  "x~"  a token starting with x;  "*"  any one token;
//   "..."  zero to three tokens.
enum class Kind {
  kMask,     // routine formula: blanked out before VADER
  kFailure,  // negative evidence
  kGood,     // positive evidence (becomes negative evidence when negated)
  kSarcasm,  // a sarcastic formula: positive words turn negative
};

struct Rule {
  Kind kind;
  std::string_view pattern;
  double weight = 0;
  // The rule does not fire when one of these tokens ("|"-separated) is among the four
  // tokens before the match ("the fee was waived" vs "a cancellation fee").
  std::string_view unless_before{};
};

constexpr double kStrong = 2.0;
constexpr double kMild = 1.5;
constexpr double kWeak = 0.5;

// clang-format off
constexpr std::array kRules = {
    // Routine politeness and verbs that look like sentiment words.
    Rule{Kind::kMask, "thank|thanks for calling|holding|waiting|contacting|choosing"},
    Rule{Kind::kMask, "thank|thanks you for calling|holding|waiting|contacting|choosing"},
    Rule{Kind::kMask, "thank|thanks for your patience"},
    Rule{Kind::kMask, "thank you for your patience"},
    Rule{Kind::kMask, "appreciate your patience"},
    Rule{Kind::kMask, "please"},
    Rule{Kind::kMask, "how can|may i help|assist"},
    Rule{Kind::kMask, "help|assist you"},
    Rule{Kind::kMask, "help with"},
    Rule{Kind::kMask, "help me"},
    Rule{Kind::kMask, "can|could|would|will help"},
    Rule{Kind::kMask, "happy|glad|pleased to help|assist"},
    Rule{Kind::kMask, "be happy|glad to"},
    Rule{Kind::kMask, "best|good number|email|time|way|address|day|contact"},
    Rule{Kind::kMask, "would|i'd|you'd|we'd like"},
    Rule{Kind::kMask, "like to"},
    Rule{Kind::kMask, "looks|seems|sounds|look|seem|sound like"},
    Rule{Kind::kMask, "sorry|apologies|apologize|apologise for|about the wait|delay|inconvenience|trouble|confusion|hold"},
    Rule{Kind::kMask, "i|we apologize|apologise for the inconvenience|wait|delay|confusion|trouble"},
    Rule{Kind::kMask, "i|we apologize|apologise"},
    Rule{Kind::kMask, "sorry to hear|about that"},
    Rule{Kind::kMask, "my apologies"},
    Rule{Kind::kMask, "i understand"},
    Rule{Kind::kMask, "that must be frustrating|annoying|difficult|stressful"},
    Rule{Kind::kMask, "understand your frustration|concern"},
    Rule{Kind::kMask, "have a good|great|nice|lovely|wonderful|fantastic|brilliant day|one|evening|weekend|night|afternoon|morning"},
    Rule{Kind::kMask, "good morning|afternoon|evening"},
    Rule{Kind::kMask, "take care"},
    Rule{Kind::kMask, "you're welcome"},
    Rule{Kind::kMask, "you are welcome"},
    Rule{Kind::kMask, "definitely|certainly"},
    Rule{Kind::kMask, "support"},
    Rule{Kind::kMask, "no problem|worries|trouble"},
    Rule{Kind::kMask, "not a problem"},
    Rule{Kind::kMask, "my pleasure"},
    Rule{Kind::kMask, "customer|health care|service"},
    Rule{Kind::kMask, "credit card|score|check|limit|report|union|rating"},
    Rule{Kind::kMask, "interest rate|charge|charges"},
    Rule{Kind::kMask, "toll free"},
    Rule{Kind::kMask, "pretty much|sure"},
    Rule{Kind::kMask, "as well"},
    Rule{Kind::kMask, "okay|ok|alright|sure|yes|yeah|yep|yup"},
    Rule{Kind::kMask, "is it okay|ok|alright"},
    Rule{Kind::kMask, "are you happy|ok|okay for|with|to"},
    Rule{Kind::kMask, "that's|thats fine"},
    // Sarcasm.
    Rule{Kind::kSarcasm, "thanks|thank for nothing", kStrong},
    Rule{Kind::kSarcasm, "thanks|thank you for nothing", kStrong},
    Rule{Kind::kSarcasm, "thanks a lot for wasting|nothing|ruining", kStrong},
    Rule{Kind::kSarcasm, "love|loving how", kStrong},
    Rule{Kind::kSarcasm, "just great|perfect|brilliant|wonderful|fantastic|lovely|marvelous|marvellous", kStrong},
    Rule{Kind::kSarcasm, "yeah right", kStrong},
    Rule{Kind::kSarcasm, "like that's|that going to happen", kStrong},
    // Waiting and holds.
    Rule{Kind::kFailure, "on hold for|since|again", kStrong},
    Rule{Kind::kFailure, "been|kept ... on hold", kStrong},
    Rule{Kind::kFailure, "been waiting", kStrong},
    Rule{Kind::kFailure, "waiting|waited since", kStrong},
    Rule{Kind::kFailure, "still waiting", kStrong},
    Rule{Kind::kFailure, "wait|waiting|waited another|all|over|hours|days|weeks|months", kStrong},
    Rule{Kind::kFailure, "for nothing", kStrong},
    Rule{Kind::kFailure, "waste|wasting|wasted ... time|afternoon|morning|day|evening", kStrong},
    Rule{Kind::kFailure, "lost ... day|day's|morning|afternoon|pay|data", kStrong},
    Rule{Kind::kFailure, "missed", kMild},
    Rule{Kind::kFailure, "stuck", kMild},
    Rule{Kind::kFailure, "running ... late", kStrong},
    Rule{Kind::kFailure, "hours|days|weeks|months late", kStrong},
    Rule{Kind::kFailure, "is|was|are|were late", kMild},
    // Repeat contacts.
    Rule{Kind::kFailure, "second|third|fourth|fifth|sixth|2nd|3rd|4th|5th time", kStrong},
    Rule{Kind::kFailure, "second|third|fourth|fifth|sixth|2nd|3rd|4th|5th call", kStrong},
    Rule{Kind::kFailure, "called|rang|phoned ... last|yesterday|twice|before|already|times", kStrong},
    Rule{Kind::kFailure, "every time i call|ring", kStrong},
    Rule{Kind::kFailure, "call|calling|ring every", kStrong},
    Rule{Kind::kFailure, "keep|kept calling|ringing", kStrong},
    Rule{Kind::kFailure, "how many times", kStrong},
    Rule{Kind::kFailure, "explained ... already|times|twice|again|different", kStrong},
    Rule{Kind::kFailure, "asked ... twice|times|again", kStrong},
    Rule{Kind::kFailure, "transferred ... times|around|from", kStrong},
    Rule{Kind::kFailure, "different answer", kStrong},
    Rule{Kind::kFailure, "start over|again", kStrong},
    Rule{Kind::kFailure, "same problem|issue|thing|fault", kMild},
    Rule{Kind::kFailure, "so now i|we", kMild},
    Rule{Kind::kFailure, "you said that|this|the ... last|before|too", kStrong},
    Rule{Kind::kFailure, "keep|kept saying", kStrong},
    // Missed appointments, things that never happened.
    Rule{Kind::kFailure, "never showed|turned|came|arrived|happened|called|got|received|left|fixed|worked|came", kStrong},
    Rule{Kind::kFailure, "didn't|hasn't|haven't|wasn't|weren't|hadn't show|turn|come|arrive|arrived|shown|turned|received|receive|get|got|call|called|fix|fixed|work|worked|happen|happened|deliver|delivered|tell|mention|explain|warn", kStrong},
    Rule{Kind::kFailure, "did|has|have|was|were not show|turn|come|arrive|arrived|shown|turned|received|receive|get|got|call|called|fix|fixed|work|worked|happen|happened|deliver|delivered", kStrong},
    Rule{Kind::kFailure, "no-show|no show", kStrong},
    Rule{Kind::kFailure, "nobody|no-one", kMild},
    Rule{Kind::kFailure, "no one", kMild},
    Rule{Kind::kFailure, "appointment|order|flight|booking|delivery|visit|reservation|installation ... cancelled|canceled", kStrong},
    Rule{Kind::kFailure, "cancelled|canceled my|the|our appointment|order|flight|booking|delivery|visit|reservation", kStrong},
    // Billing.
    Rule{Kind::kFailure, "twice", kMild},
    Rule{Kind::kFailure, "two times", kMild},
    Rule{Kind::kFailure, "double charged|charge|billed|billing|charging", kStrong},
    Rule{Kind::kFailure, "duplicate charge|payment|transaction", kStrong},
    Rule{Kind::kFailure, "doubled", kStrong},
    Rule{Kind::kFailure, "overcharged|overcharging|overbilled", kStrong},
    Rule{Kind::kFailure, "bill|price|prices|payment|premium|rate|bills|charges ... went|gone|jumped|doubled|increased|rose|up", kStrong},
    Rule{Kind::kFailure, "hidden charges|fees|fee|charge|costs", kStrong},
    Rule{Kind::kFailure, "never authorized|authorised|agreed|signed|ordered", kStrong},
    Rule{Kind::kFailure, "unauthorized|unauthorised", kStrong},
    Rule{Kind::kFailure, "charged|billed|charging|paying for ... didn't|never|cancelled|canceled|don't|wasn't|nothing|not", kStrong},
    Rule{Kind::kFailure, "late|cancellation|returned|penalty|termination|overdraft fee", kMild, "waived|waive|removed|remove|refunded|refund|no|without"},
    Rule{Kind::kFailure, "declined|denied|bounced|lapsed|suspended|expired|frozen|froze", kMild},
    // Orders and deliveries.
    Rule{Kind::kFailure, "not|isn't here", kStrong},
    Rule{Kind::kFailure, "still hasn't|haven't|not|isn't|no|broken|says|shows|down", kStrong},
    Rule{Kind::kFailure, "missing", kMild},
    Rule{Kind::kFailure, "lost|losing", kMild},
    Rule{Kind::kFailure, "wrong", kMild},
    Rule{Kind::kFailure, "out of stock", kMild},
    Rule{Kind::kFailure, "discontinued|backorder|backordered|back-ordered", kMild},
    Rule{Kind::kFailure, "earliest|next ... weeks|months", kMild},
    Rule{Kind::kFailure, "weeks|months from now", kMild},
    Rule{Kind::kFailure, "in six|five|four|three|eight weeks|months", kMild},
    Rule{Kind::kFailure, "said|says|shown|showed ... since", kMild},
    // Broken promises.
    Rule{Kind::kFailure, "promised", kStrong},
    Rule{Kind::kFailure, "was|were told", kMild},
    Rule{Kind::kFailure, "you said ... would|someone|it|you'd|you'll", kStrong},
    Rule{Kind::kFailure, "supposed to", kMild},
    Rule{Kind::kFailure, "nothing ever|happened|changes|changed|happens", kStrong},
    // Cancellation, switching, complaints, escalation.
    Rule{Kind::kFailure, "cancelling|canceling my|the service|account|subscription|contract|plan|policy|membership|line|broadband", kStrong},
    Rule{Kind::kFailure, "cancel my|the service|account|subscription|contract|plan|policy|membership|line|broadband", kStrong},
    Rule{Kind::kFailure, "switch|switching|switched|leave|leaving ... another|different|competitor|someone|elsewhere", kStrong},
    Rule{Kind::kFailure, "move|moving|go|going to|with another|someone|a competitor", kStrong},
    Rule{Kind::kFailure, "different|another bank|provider|company|network|supplier|carrier|insurer", kStrong},
    Rule{Kind::kFailure, "elsewhere", kStrong},
    Rule{Kind::kFailure, "close|closing ... account|accounts", kStrong},
    Rule{Kind::kFailure, "i'm leaving|done", kStrong},
    Rule{Kind::kFailure, "speak|talk to ... supervisor|manager|boss|senior", kStrong},
    Rule{Kind::kFailure, "lawyer|attorney|solicitor|regulator|ombudsman|sue|court", kStrong},
    Rule{Kind::kFailure, "file|filing|make|lodge|raise ... complaint", kStrong},
    Rule{Kind::kFailure, "report you|this|them", kStrong},
    Rule{Kind::kFailure, "money back", kStrong},
    Rule{Kind::kFailure, "unless you", kMild},
    Rule{Kind::kFailure, "fed up", kStrong},
    Rule{Kind::kFailure, "had enough", kStrong},
    Rule{Kind::kFailure, "can't|cannot believe", kStrong},
    Rule{Kind::kFailure, "excuses", kStrong},
    Rule{Kind::kFailure, "nightmare|joke|shambles|farce|rip-off|ripoff|scam|disgrace", kStrong},
    Rule{Kind::kFailure, "don't appreciate", kStrong},
    Rule{Kind::kFailure, "do not appreciate", kStrong},
    Rule{Kind::kFailure, "been a ... customer", kStrong},
    Rule{Kind::kFailure, "how you treat", kStrong},
    Rule{Kind::kFailure, "been with you for", kMild},
    Rule{Kind::kFailure, "not my problem|fault", kStrong},
    // The service not working.
    Rule{Kind::kFailure, "not|isn't|doesn't|don't|won't|stopped|never|wasn't working|work|works", kStrong},
    Rule{Kind::kFailure, "won't|can't|cannot|couldn't let|turn|connect|load|log|get|access|open", kStrong},
    Rule{Kind::kFailure, "can't|cannot|unable|couldn't ... refund|offer|transfer|replace|waive|remove|access|connect", kMild},
    Rule{Kind::kFailure, "not able to refund|offer|transfer|replace|waive|remove|access|connect", kMild},
    Rule{Kind::kFailure, "keeps|keep dropping|crashing|cutting|freezing|failing|getting|going|disconnecting|buffering", kStrong},
    Rule{Kind::kFailure, "cut off", kMild},
    Rule{Kind::kFailure, "outage|outages", kStrong},
    Rule{Kind::kFailure, "down again", kStrong},
    Rule{Kind::kFailure, "is|are|was|were|went down", kMild},
    Rule{Kind::kFailure, "goes|went|is dead", kStrong},
    Rule{Kind::kFailure, "no|without internet|signal|service|power|heating|heat|water|connection|tone|wifi|wi-fi", kStrong},
    Rule{Kind::kFailure, "without a working", kStrong},
    Rule{Kind::kFailure, "broken|damaged|cracked|faulty|defective", kMild},
    Rule{Kind::kFailure, "exactly the same", kMild},
    Rule{Kind::kFailure, "slower|slow", kMild},
    Rule{Kind::kFailure, "just spins|spinning", kMild},
    Rule{Kind::kFailure, "without any|telling|warning|notice", kStrong},
    // Favourable outcomes.
    Rule{Kind::kGood, "approved", kStrong},
    Rule{Kind::kGood, "waived|waive", kStrong},
    Rule{Kind::kGood, "removed|remove the|that fee|charge", kStrong},
    Rule{Kind::kGood, "fee has been removed", kStrong},
    Rule{Kind::kGood, "went|gone through", kMild},
    Rule{Kind::kGood, "working again", kStrong},
    Rule{Kind::kGood, "is|are back", kMild, "problem|issue|fault|error|noise"},
    Rule{Kind::kGood, "back on", kMild},
    Rule{Kind::kGood, "fixed|resolved|sorted|restored", kMild},
    Rule{Kind::kGood, "no extra|additional cost|charge", kStrong},
    Rule{Kind::kGood, "at|for no cost|charge", kStrong},
    Rule{Kind::kGood, "free of charge", kStrong},
    Rule{Kind::kGood, "won't be charged", kStrong},
    Rule{Kind::kGood, "in your favour|favor", kStrong},
    Rule{Kind::kGood, "upgraded you", kMild},
    Rule{Kind::kGood, "discount", kMild},
    Rule{Kind::kGood, "found the|your package|order|parcel", kMild},
    Rule{Kind::kGood, "earlier flight|appointment|slot|delivery", kMild},
    Rule{Kind::kGood, "in stock", kMild},
    Rule{Kind::kGood, "qualify|qualifies", kMild},
    Rule{Kind::kGood, "kind of you", kStrong},
    Rule{Kind::kGood, "works|working now", kMild},
    Rule{Kind::kGood, "genius|legend", kStrong},
    Rule{Kind::kGood, "so|very|really kind", kStrong},
};
// clang-format on

constexpr std::array<std::string_view, 20> kNegators = {
    "not",     "never", "no",    "nobody", "didn't",   "doesn't", "don't",   "isn't",  "wasn't", "hasn't",
    "haven't", "won't", "can't", "cannot", "couldn't", "unable",  "weren't", "aren't", "hadn't", "without"};

// Words an acknowledgement or closing is made of ("okay, sounds good, talk to you then").
constexpr std::array<std::string_view, 57> kAckWords = {
    "okay",   "ok",     "alright", "all",     "right",      "sure",   "yes",       "yeah",  "yep",  "yup",
    "great",  "good",   "fine",    "perfect", "lovely",     "cool",   "excellent", "super", "nice", "brilliant",
    "sounds", "that's", "that",    "it",      "is",         "thanks", "thank",     "you",   "bye",  "goodbye",
    "cheers", "then",   "talk",    "to",      "later",      "see",    "soon",      "have",  "a",    "day",
    "one",    "too",    "no",      "nope",    "everything", "for",    "today",     "got",   "will", "do",
    "and",    "oh",     "hi",      "hello",   "understood", "speak",  "the"};

constexpr std::array<std::string_view, 19> kQuestionOpeners = {
    "what", "when", "where", "which", "who", "whom", "how",    "can", "could", "would",
    "will", "do",   "does",  "did",   "is",  "are",  "should", "may", "shall"};

constexpr std::array<std::string_view, 12> kInterjections = {"great",      "wonderful", "perfect",   "fantastic",
                                                             "brilliant",  "lovely",    "awesome",   "marvelous",
                                                             "marvellous", "super",     "excellent", "nice"};

struct Token {
  std::string word;                // lowercase, curly apostrophes made straight
  std::size_t begin = 0, end = 0;  // byte span in the original text
};

bool word_char(unsigned char c) {
  return std::isalnum(c) != 0 || c == '\'' || c == '-' || c >= 0x80;
}

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!word_char(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    Token t;
    t.begin = i;
    while (i < text.size() && word_char(static_cast<unsigned char>(text[i]))) {
      // U+2019 (e2 80 99) is an apostrophe.
      if (text.compare(i, 3, "\xe2\x80\x99") == 0) {
        t.word += '\'';
        i += 3;
        continue;
      }
      t.word += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
      ++i;
    }
    t.end = i;
    while (!t.word.empty() && (t.word.back() == '\'' || t.word.back() == '-')) t.word.pop_back();
    while (!t.word.empty() && (t.word.front() == '\'' || t.word.front() == '-')) t.word.erase(0, 1);
    if (!t.word.empty()) out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto next = s.find(sep, pos);
    const auto end = next == std::string_view::npos ? s.size() : next;
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return out;
}

// A rule's pattern split once: each slot is "*" (any token), "..." (a gap of up to three
// tokens) or "|"-separated alternatives, an alternative ending in "~" matching as a prefix.
struct Alternative {
  std::string_view text;
  bool prefix = false;
};
struct Slot {
  bool any = false;
  bool gap = false;
  std::vector<Alternative> alternatives;
};
struct CompiledRule {
  const Rule* rule = nullptr;
  std::vector<Slot> slots;
  std::vector<std::string_view> unless_before;
};

struct RuleIndex {
  std::vector<CompiledRule> rules;
  // Rules by the words their first slot names; the others (a first slot that is "*", a gap
  // or has a prefix alternative) may start anywhere.
  std::unordered_map<std::string_view, std::vector<std::size_t>> by_first_word;
  std::vector<std::size_t> anywhere;
};

const std::vector<CompiledRule>& compiled_rules();

const RuleIndex& rule_index() {
  static const RuleIndex index = [] {
    RuleIndex out;
    out.rules = compiled_rules();
    for (std::size_t i = 0; i < out.rules.size(); ++i) {
      const auto& slots = out.rules[i].slots;
      const bool by_word = !slots.empty() && !slots[0].any && !slots[0].gap &&
                           std::none_of(slots[0].alternatives.begin(), slots[0].alternatives.end(),
                                        [](const Alternative& a) { return a.prefix; });
      if (!by_word) {
        out.anywhere.push_back(i);
        continue;
      }
      for (const auto& alt : slots[0].alternatives) out.by_first_word[alt.text].push_back(i);
    }
    return out;
  }();
  return index;
}

const std::vector<CompiledRule>& compiled_rules() {
  static const std::vector<CompiledRule> rules = [] {
    std::vector<CompiledRule> out;
    out.reserve(kRules.size());
    for (const auto& rule : kRules) {
      CompiledRule c;
      c.rule = &rule;
      for (auto text : split(rule.pattern, ' ')) {
        Slot slot;
        slot.any = text == "*";
        slot.gap = text == "...";
        if (!slot.any && !slot.gap) {
          for (auto alt : split(text, '|')) {
            const bool prefix = alt.ends_with('~');
            if (prefix) alt.remove_suffix(1);
            slot.alternatives.push_back({alt, prefix});
          }
        }
        c.slots.push_back(std::move(slot));
      }
      c.unless_before = split(rule.unless_before, '|');
      out.push_back(std::move(c));
    }
    return out;
  }();
  return rules;
}

bool slot_matches(const Slot& slot, std::string_view word) {
  if (slot.any) return true;
  for (const auto& alt : slot.alternatives) {
    if (alt.prefix ? word.starts_with(alt.text) : alt.text == word) return true;
  }
  return false;
}

// Matches slots[si..] at tokens[ti..]; returns one past the last matched token, or npos.
std::size_t match_at(const std::vector<Slot>& slots, std::size_t si, const std::vector<Token>& tokens, std::size_t ti) {
  if (si == slots.size()) return ti;
  if (slots[si].gap) {
    for (std::size_t skip = 0; skip <= 3 && ti + skip <= tokens.size(); ++skip) {
      const auto end = match_at(slots, si + 1, tokens, ti + skip);
      if (end != std::string_view::npos) return end;
    }
    return std::string_view::npos;
  }
  if (ti >= tokens.size() || !slot_matches(slots[si], tokens[ti].word)) return std::string_view::npos;
  return match_at(slots, si + 1, tokens, ti + 1);
}

bool any_of(std::string_view word, auto const& list) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

bool preceded_by(const std::vector<Token>& tokens, std::size_t start, const std::vector<std::string_view>& words) {
  if (words.empty()) return false;
  for (std::size_t k = start >= 4 ? start - 4 : 0; k < start; ++k) {
    if (any_of(tokens[k].word, words)) return true;
  }
  return false;
}

bool negated(const std::vector<Token>& tokens, std::size_t start) {
  for (std::size_t k = start >= 3 ? start - 3 : 0; k < start; ++k) {
    if (any_of(tokens[k].word, kNegators)) return true;
  }
  return false;
}

// VADER's normalisation and its inverse.
constexpr double kAlpha = 15.0;
double normalize(double s) {
  return std::clamp(s / std::sqrt(s * s + kAlpha), -1.0, 1.0);
}
double denormalize(double c) {
  c = std::clamp(c, -0.9999, 0.9999);
  return c * std::sqrt(kAlpha / (1 - c * c));
}

}  // namespace

CallCenterReading read_call_center(std::string_view text) {
  CallCenterReading r;
  r.vader_text = std::string(text);
  const auto tokens = tokenize(text);
  if (tokens.empty()) return r;

  std::vector<bool> masked(tokens.size(), false);
  static const std::vector<std::string_view> kHypothetical = {"if", "case"};
  // Where each rule may start: (rule, token) pairs, in rule order then token order, so the
  // rules below run exactly as if each were tried at every token.
  const RuleIndex& index = rule_index();
  std::vector<std::pair<std::size_t, std::size_t>> starts;
  for (std::size_t ti = 0; ti < tokens.size(); ++ti) {
    if (auto it = index.by_first_word.find(tokens[ti].word); it != index.by_first_word.end()) {
      for (const auto ri : it->second) starts.emplace_back(ri, ti);
    }
    for (const auto ri : index.anywhere) starts.emplace_back(ri, ti);
  }
  std::sort(starts.begin(), starts.end());
  for (std::size_t at = 0; at < starts.size();) {
    const std::size_t ri = starts[at].first;
    std::size_t group_end = at;
    while (group_end < starts.size() && starts[group_end].first == ri) ++group_end;
    const auto& compiled = index.rules[ri];
    const Rule& rule = *compiled.rule;
    for (; at < group_end; ++at) {
      const std::size_t ti = starts[at].second;
      const auto end = match_at(compiled.slots, 0, tokens, ti);
      if (end == std::string_view::npos) continue;
      if (rule.kind != Kind::kMask && masked[ti]) continue;
      if (preceded_by(tokens, ti, compiled.unless_before)) continue;
      // Hypotheticals are not evidence ("the best number if we get cut off").
      if (rule.kind != Kind::kMask && preceded_by(tokens, ti, kHypothetical)) continue;
      std::string cue(rule.pattern);
      switch (rule.kind) {
        case Kind::kMask:
          for (std::size_t k = ti; k < end; ++k) masked[k] = true;
          continue;  // a formula may occur more than once; no cue
        case Kind::kSarcasm:
          r.sarcasm = true;
          r.negative -= rule.weight;
          r.cues.push_back("sarcasm:" + cue);
          break;
        case Kind::kFailure:
          r.negative -= rule.weight;
          r.cues.push_back("failure:" + cue);
          break;
        case Kind::kGood:
          if (negated(tokens, ti)) {
            r.negative -= rule.weight;
            r.cues.push_back("negated:" + cue);
          } else {
            r.positive += rule.weight;
            r.cues.push_back("good:" + cue);
          }
          break;
      }
      break;  // each evidence rule counts once per utterance
    }
    at = group_end;
  }

  // A positive interjection opening an utterance that reports a failure is sarcastic
  // ("Oh great, another outage", "Fantastic, another bill I can't explain").
  std::size_t first = 0;
  while (first < tokens.size() && (tokens[first].word == "oh" || tokens[first].word == "well")) ++first;
  if (first < tokens.size() && any_of(tokens[first].word, kInterjections)) {
    const bool another = std::any_of(tokens.begin(), tokens.end(), [](const Token& t) { return t.word == "another"; });
    const bool again = std::any_of(tokens.begin(), tokens.end(), [](const Token& t) { return t.word == "again"; });
    if (another || (again && r.positive == 0) || r.negative < 0) {
      r.sarcasm = true;
      if (another) r.negative -= kMild;
      r.cues.emplace_back("sarcasm:interjection opening a failure");
    }
  }

  // Questions: information questions versus complaints phrased as questions.
  const auto last = text.find_last_not_of(" \t\r\n\"'");
  const bool qmark = last != std::string_view::npos && text[last] == '?';
  const bool opener = any_of(tokens.front().word, kQuestionOpeners);
  const bool complaint = tokens.front().word == "why" || r.negative < 0 ||
                         (tokens.size() > 1 && tokens[0].word == "how" && tokens[1].word == "come");
  r.question = (qmark || opener) && !complaint;

  r.acknowledgement =
      r.negative == 0 && r.positive == 0 &&
      std::all_of(tokens.begin(), tokens.end(), [](const Token& t) { return any_of(t.word, kAckWords); });

  for (std::size_t k = 0; k < tokens.size(); ++k) {
    if (!masked[k]) continue;
    for (std::size_t c = tokens[k].begin; c < tokens[k].end; ++c) r.vader_text[c] = ' ';
  }
  return r;
}

double call_center_compound(const CallCenterReading& reading, double vader_compound) {
  if (reading.acknowledgement) return 0.0;
  double raw = denormalize(vader_compound);
  // One weak lexicon word ("number", "want", "pay") is not sentiment.
  if (std::fabs(raw) < kWeak) raw = 0;
  double positive = reading.positive;
  if (reading.question) {
    raw *= 0.1;
    positive *= 0.1;
  }
  if (reading.sarcasm) {
    raw = -std::fabs(raw);
  } else if (reading.negative < 0 && raw > 0) {
    raw *= 0.25;  // "great, but I've been on hold for an hour": the event decides
  }
  return normalize(raw + reading.negative + positive);
}

}  // namespace earshot::analytics
