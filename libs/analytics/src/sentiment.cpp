#include "earshot/analytics/sentiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "earshot/analytics/call_center_sentiment.hpp"

namespace earshot::analytics {
namespace {

// Constants of the reference implementation.
constexpr double kBoostIncrement = 0.293;
constexpr double kBoostDecrement = -0.293;
constexpr double kCapsIncrement = 0.733;
constexpr double kNegationScalar = -0.74;
constexpr double kNormalizationAlpha = 15.0;

constexpr std::array<std::string_view, 59> kNegations = {
    "aint",    "arent",    "cannot",  "cant",    "couldnt", "darent",   "didnt",   "doesnt",    "ain't",    "aren't",
    "can't",   "couldn't", "daren't", "didn't",  "doesn't", "dont",     "hadnt",   "hasnt",     "havent",   "isnt",
    "mightnt", "mustnt",   "neither", "don't",   "hadn't",  "hasn't",   "haven't", "isn't",     "mightn't", "mustn't",
    "neednt",  "needn't",  "never",   "none",    "nope",    "nor",      "not",     "nothing",   "nowhere",  "oughtnt",
    "shant",   "shouldnt", "uhuh",    "wasnt",   "werent",  "oughtn't", "shan't",  "shouldn't", "uh-uh",    "wasn't",
    "weren't", "without",  "wont",    "wouldnt", "won't",   "wouldn't", "rarely",  "seldom",    "despite"};

struct Booster {
  std::string_view word;
  double value;
};

constexpr std::array<Booster, 83> kBoosters = {{
    {"absolutely", kBoostIncrement},    {"amazingly", kBoostIncrement},    {"awfully", kBoostIncrement},
    {"completely", kBoostIncrement},    {"considerable", kBoostIncrement}, {"considerably", kBoostIncrement},
    {"decidedly", kBoostIncrement},     {"deeply", kBoostIncrement},       {"effing", kBoostIncrement},
    {"enormous", kBoostIncrement},      {"enormously", kBoostIncrement},   {"entirely", kBoostIncrement},
    {"especially", kBoostIncrement},    {"exceptional", kBoostIncrement},  {"exceptionally", kBoostIncrement},
    {"extreme", kBoostIncrement},       {"extremely", kBoostIncrement},    {"fabulously", kBoostIncrement},
    {"flipping", kBoostIncrement},      {"flippin", kBoostIncrement},      {"frackin", kBoostIncrement},
    {"fracking", kBoostIncrement},      {"fricking", kBoostIncrement},     {"frickin", kBoostIncrement},
    {"frigging", kBoostIncrement},      {"friggin", kBoostIncrement},      {"fully", kBoostIncrement},
    {"fuckin", kBoostIncrement},        {"fucking", kBoostIncrement},      {"fuggin", kBoostIncrement},
    {"fugging", kBoostIncrement},       {"greatly", kBoostIncrement},      {"hella", kBoostIncrement},
    {"highly", kBoostIncrement},        {"hugely", kBoostIncrement},       {"incredible", kBoostIncrement},
    {"incredibly", kBoostIncrement},    {"intensely", kBoostIncrement},    {"major", kBoostIncrement},
    {"majorly", kBoostIncrement},       {"more", kBoostIncrement},         {"most", kBoostIncrement},
    {"particularly", kBoostIncrement},  {"purely", kBoostIncrement},       {"quite", kBoostIncrement},
    {"really", kBoostIncrement},        {"remarkably", kBoostIncrement},   {"so", kBoostIncrement},
    {"substantially", kBoostIncrement}, {"thoroughly", kBoostIncrement},   {"total", kBoostIncrement},
    {"totally", kBoostIncrement},       {"tremendous", kBoostIncrement},   {"tremendously", kBoostIncrement},
    {"uber", kBoostIncrement},          {"unbelievably", kBoostIncrement}, {"unusually", kBoostIncrement},
    {"utter", kBoostIncrement},         {"utterly", kBoostIncrement},      {"very", kBoostIncrement},
    {"almost", kBoostDecrement},        {"barely", kBoostDecrement},       {"hardly", kBoostDecrement},
    {"just enough", kBoostDecrement},   {"kind of", kBoostDecrement},      {"kinda", kBoostDecrement},
    {"kindof", kBoostDecrement},        {"kind-of", kBoostDecrement},      {"less", kBoostDecrement},
    {"little", kBoostDecrement},        {"marginal", kBoostDecrement},     {"marginally", kBoostDecrement},
    {"occasional", kBoostDecrement},    {"occasionally", kBoostDecrement}, {"partly", kBoostDecrement},
    {"scarce", kBoostDecrement},        {"scarcely", kBoostDecrement},     {"slight", kBoostDecrement},
    {"slightly", kBoostDecrement},      {"somewhat", kBoostDecrement},     {"sort of", kBoostDecrement},
    {"sorta", kBoostDecrement},         {"sortof", kBoostDecrement},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const Booster* booster(std::string_view lower_word) {
  for (const auto& b : kBoosters) {
    if (b.word == lower_word) return &b;
  }
  return nullptr;
}

bool is_negation(std::string_view lower_word) {
  if (std::find(kNegations.begin(), kNegations.end(), lower_word) != kNegations.end()) return true;
  return lower_word.find("n't") != std::string_view::npos;
}

bool all_caps(std::string_view w) {
  bool any_alpha = false;
  for (char c : w) {
    if (std::islower(static_cast<unsigned char>(c)) != 0) return false;
    any_alpha = any_alpha || std::isalpha(static_cast<unsigned char>(c)) != 0;
  }
  return any_alpha;
}

bool is_punct(char c) {
  return std::ispunct(static_cast<unsigned char>(c)) != 0;
}

// Whitespace tokens with surrounding punctuation removed, unless that leaves two characters
// or fewer (emoticons such as ":)" survive); single characters are dropped.
std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string tok;
  while (in >> tok) {
    std::size_t b = 0, e = tok.size();
    while (b < e && is_punct(tok[b])) ++b;
    while (e > b && is_punct(tok[e - 1])) --e;
    std::string stripped = tok.substr(b, e - b);
    const std::string& keep = stripped.size() <= 2 ? tok : stripped;
    if (keep.size() > 1) out.push_back(keep);
  }
  return out;
}

double scalar_inc_dec(const std::string& word, double valence, bool cap_diff) {
  const Booster* b = booster(lower(word));
  if (b == nullptr) return 0.0;
  double scalar = b->value;
  if (valence < 0) scalar = -scalar;
  if (all_caps(word) && cap_diff) scalar += valence > 0 ? kCapsIncrement : -kCapsIncrement;
  return scalar;
}

double normalize(double score) {
  const double n = score / std::sqrt(score * score + kNormalizationAlpha);
  return std::clamp(n, -1.0, 1.0);
}

}  // namespace

Result<SentimentLexicon> SentimentLexicon::parse(std::string_view text) {
  SentimentLexicon lex;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto tab = line.find('\t');
    const auto tab2 = tab == std::string_view::npos ? tab : line.find('\t', tab + 1);
    if (tab == std::string_view::npos || tab == 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("sentiment lexicon line {} has no token and valence", line_no));
    }
    const auto value = line.substr(tab + 1, tab2 == std::string_view::npos ? std::string_view::npos : tab2 - tab - 1);
    double v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < -4.0 || v > 4.0) {
      return make_error(
          ErrorCode::kInvalidArgument,
          fmt::format("sentiment lexicon line {}: valence '{}' is not a number in -4..4", line_no, value));
    }
    lex.valence_[std::string(line.substr(0, tab))] = v;
  }
  if (lex.valence_.empty()) return make_error(ErrorCode::kInvalidArgument, "sentiment lexicon is empty");
  return lex;
}

Result<SentimentLexicon> SentimentLexicon::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("sentiment lexicon '{}' not found (scripts/fetch-assets.sh installs it)", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str());
}

const double* SentimentLexicon::find(std::string_view lower_token) const {
  auto it = valence_.find(std::string(lower_token));
  return it == valence_.end() ? nullptr : &it->second;
}

SentimentScore SentimentAnalyzer::score(std::string_view text) const {
  if (model_ == SentimentModel::kVader) return vader(text);
  const auto reading = read_call_center(text);
  auto out = vader(reading.vader_text);
  out.compound = call_center_compound(reading, out.compound);
  return out;
}

SentimentScore SentimentAnalyzer::vader(std::string_view text) const {
  SentimentScore out;
  const auto words = tokenize(text);
  if (words.empty()) {
    out.neutral = 1.0;
    return out;
  }
  std::vector<std::string> low;
  low.reserve(words.size());
  for (const auto& w : words) low.push_back(lower(w));
  std::size_t caps = 0;
  for (const auto& w : words) caps += all_caps(w) ? 1 : 0;
  const bool cap_diff = caps > 0 && caps < words.size();

  std::vector<double> sentiments;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& lw = low[i];
    // Boosters carry no valence of their own; "kind of" likewise.
    if (booster(lw) != nullptr || (lw == "kind" && i + 1 < words.size() && low[i + 1] == "of")) {
      sentiments.push_back(0.0);
      continue;
    }
    const double* base = lex_.find(lw);
    if (base == nullptr) {
      sentiments.push_back(0.0);
      continue;
    }
    double valence = *base;
    // "no" as a determiner before a lexicon word ("no problem") negates that word instead.
    if (lw == "no" && i + 1 < words.size() && lex_.find(low[i + 1]) != nullptr) valence = 0.0;
    if ((i > 0 && low[i - 1] == "no") || (i > 1 && low[i - 2] == "no") ||
        (i > 2 && low[i - 3] == "no" && (low[i - 1] == "or" || low[i - 1] == "nor"))) {
      valence = *base * kNegationScalar;
    }
    if (all_caps(words[i]) && cap_diff) valence += valence > 0 ? kCapsIncrement : -kCapsIncrement;
    for (std::size_t start = 0; start < 3; ++start) {
      if (i <= start) break;
      const std::size_t j = i - (start + 1);
      if (lex_.find(low[j]) != nullptr) continue;  // a sentiment word does not boost another
      double s = scalar_inc_dec(words[j], valence, cap_diff);
      if (start == 1) s *= 0.95;
      if (start == 2) s *= 0.9;
      valence += s;
      // Negation within three words.
      if (start == 0) {
        if (is_negation(low[i - 1])) valence *= kNegationScalar;
      } else if (start == 1) {
        if (low[i - 2] == "never" && (low[i - 1] == "so" || low[i - 1] == "this")) {
          valence *= 1.25;
        } else if (is_negation(low[i - 2])) {
          valence *= kNegationScalar;
        }
      } else {
        if (low[i - 3] == "never" &&
            (low[i - 2] == "so" || low[i - 2] == "this" || low[i - 1] == "so" || low[i - 1] == "this")) {
          valence *= 1.25;
        } else if (is_negation(low[i - 3])) {
          valence *= kNegationScalar;
        }
      }
    }
    // "least" before a word dampens and flips it ("least favourite"), unless "at least".
    if (i > 0 && low[i - 1] == "least" && lex_.find(low[i - 1]) == nullptr && !(i > 1 && low[i - 2] == "at")) {
      valence *= kNegationScalar;
    }
    sentiments.push_back(valence);
  }

  // "but": the clause before counts half, the clause after one and a half.
  if (auto it = std::find(low.begin(), low.end(), "but"); it != low.end()) {
    const auto bi = static_cast<std::size_t>(it - low.begin());
    for (std::size_t k = 0; k < sentiments.size(); ++k) {
      if (k < bi)
        sentiments[k] *= 0.5;
      else if (k > bi)
        sentiments[k] *= 1.5;
    }
  }

  double sum = 0;
  for (double s : sentiments) sum += s;
  // Punctuation emphasis.
  const auto bangs = std::min<std::ptrdiff_t>(std::count(text.begin(), text.end(), '!'), 4);
  const auto qmarks = std::count(text.begin(), text.end(), '?');
  double emphasis = static_cast<double>(bangs) * 0.292;
  if (qmarks > 1) emphasis += qmarks <= 3 ? static_cast<double>(qmarks) * 0.18 : 0.96;
  if (sum > 0)
    sum += emphasis;
  else if (sum < 0)
    sum -= emphasis;
  out.compound = normalize(sum);

  double pos = 0, neg = 0;
  std::size_t neutral_count = 0;
  for (double s : sentiments) {
    if (s > 0)
      pos += s + 1;
    else if (s < 0)
      neg += s - 1;
    else
      ++neutral_count;
  }
  if (pos > std::fabs(neg))
    pos += emphasis;
  else if (pos < std::fabs(neg))
    neg -= emphasis;
  const double total = pos + std::fabs(neg) + static_cast<double>(neutral_count);
  if (total > 0) {
    out.positive = std::fabs(pos / total);
    out.negative = std::fabs(neg / total);
    out.neutral = std::fabs(static_cast<double>(neutral_count) / total);
  }
  return out;
}

}  // namespace earshot::analytics
