#include "earshot/stt/vocabulary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <sstream>

namespace earshot::stt {
namespace {

constexpr std::array<std::string_view, 39> kPhones = {
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F",  "G", "HH", "IH", "IY", "JH", "K",
    "L",  "M",  "N",  "NG", "OW", "OY", "P", "R",  "S", "SH", "T",  "TH", "UH", "UW", "V", "W",  "Y",  "Z",  "ZH"};

constexpr std::size_t kMaxWordChars = 32;
constexpr std::size_t kMaxSoundsLikeWords = 6;
constexpr std::size_t kMaxPhones = 30;

std::vector<std::string> split(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool is_vowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

Result<VocabularyWord> parse_entry(const nlohmann::json& j, std::size_t index) {
  const auto bad = [index](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("stt options: vocabulary[{}] {}", index, why));
  };
  VocabularyWord v;
  if (j.is_string()) {
    v.word = j.get<std::string>();
  } else if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (key == "word" || key == "sounds_like" || key == "pronunciation") {
        if (!value.is_string()) return bad(fmt::format("{} must be a string", key));
        (key == "word" ? v.word : key == "sounds_like" ? v.sounds_like : v.pronunciation) = value.get<std::string>();
      } else if (key == "boost") {
        if (!value.is_number() || value.get<double>() < 1 || value.get<double>() > 1000) {
          return bad("boost must be a number in [1, 1000]");
        }
        v.boost = value.get<double>();
      } else {
        return bad(fmt::format("has an unknown key '{}' (word, sounds_like, pronunciation, boost)", key));
      }
    }
  } else {
    return bad("must be a word or an object {word, sounds_like, pronunciation, boost}");
  }
  if (v.word.empty() || v.word.size() > kMaxWordChars) {
    return bad(fmt::format("word must have 1 to {} characters", kMaxWordChars));
  }
  bool has_letter = false;
  for (auto& c : v.word) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u) != 0) {
      has_letter = true;
      c = static_cast<char>(std::tolower(u));
    } else if (std::isdigit(u) == 0 && c != '\'' && c != '-') {
      return bad(fmt::format("word '{}' may only hold letters, digits, ' and - (one word per entry)", v.word));
    }
  }
  if (!has_letter) return bad(fmt::format("word '{}' needs a letter", v.word));
  if (!v.sounds_like.empty() && !v.pronunciation.empty()) return bad("has both sounds_like and pronunciation");
  if (!v.sounds_like.empty()) {
    auto words = split(v.sounds_like);
    if (words.empty() || words.size() > kMaxSoundsLikeWords) {
      return bad(fmt::format("sounds_like must have 1 to {} words", kMaxSoundsLikeWords));
    }
    for (auto& w : words) {
      for (auto& c : w) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalpha(u) == 0 && c != '\'') return bad(fmt::format("sounds_like word '{}' is not a word", w));
        c = static_cast<char>(std::tolower(u));
      }
    }
    v.sounds_like.clear();
    for (const auto& w : words) v.sounds_like += (v.sounds_like.empty() ? "" : " ") + w;
  }
  if (!v.pronunciation.empty()) {
    auto phones = split(v.pronunciation);
    if (phones.empty() || phones.size() > kMaxPhones) {
      return bad(fmt::format("pronunciation must have 1 to {} phones", kMaxPhones));
    }
    v.pronunciation.clear();
    for (auto p : phones) {
      std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      // Stress marks of dictionary notation (AH0, EY1) are accepted and dropped.
      if (!p.empty() && p.back() >= '0' && p.back() <= '2') p.pop_back();
      if (!is_cmu_phone(p)) return bad(fmt::format("pronunciation has '{}', which is not a CMU phone", p));
      v.pronunciation += (v.pronunciation.empty() ? "" : " ") + p;
    }
  }
  return v;
}

}  // namespace

bool is_cmu_phone(std::string_view phone) {
  return std::find(kPhones.begin(), kPhones.end(), phone) != kPhones.end();
}

Result<LocalSttOptions> parse_local_stt_options(std::string_view text) {
  const auto j = nlohmann::json::parse(text.empty() ? std::string_view("{}") : text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "stt options: not a JSON object");
  }
  LocalSttOptions out;
  for (const auto& [key, value] : j.items()) {
    if (key != "vocabulary") {
      return make_error(
          ErrorCode::kInvalidArgument,
          fmt::format("stt options: '{}' is not a known key of the pocketsphinx engine (vocabulary)", key));
    }
    if (!value.is_array()) return make_error(ErrorCode::kInvalidArgument, "stt options: vocabulary must be a list");
    if (value.size() > kMaxVocabularyWords) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("stt options: vocabulary has {} words, at most {}",
                                                                 value.size(), kMaxVocabularyWords));
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      auto v = parse_entry(value[i], i);
      if (!v) return std::unexpected(v.error());
      for (const auto& prior : out.vocabulary) {
        if (prior.word == v->word) {
          return make_error(ErrorCode::kInvalidArgument,
                            fmt::format("stt options: vocabulary[{}] repeats the word '{}'", i, v->word));
        }
      }
      out.vocabulary.push_back(std::move(*v));
    }
  }
  return out;
}

std::string letter_pronunciation(std::string_view word) {
  std::string w;
  for (char c : word) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u) != 0) w += static_cast<char>(std::tolower(u));
  }
  // Graphemes tried longest first at each position; context rules below.
  struct Rule {
    std::string_view letters;
    std::string_view phones;
  };
  static constexpr std::array<Rule, 46> kRules = {{
      {"tion", "SH AH N"}, {"sion", "ZH AH N"}, {"igh", "AY"},  {"tch", "CH"}, {"dge", "JH"}, {"sch", "S K"},
      {"ph", "F"},         {"sh", "SH"},        {"ch", "CH"},   {"th", "TH"},  {"ck", "K"},   {"ng", "NG"},
      {"qu", "K W"},       {"wh", "W"},         {"kn", "N"},    {"wr", "R"},   {"gh", "G"},   {"ee", "IY"},
      {"ea", "IY"},        {"oo", "UW"},        {"ou", "AW"},   {"ow", "OW"},  {"ai", "EY"},  {"ay", "EY"},
      {"ey", "IY"},        {"oa", "OW"},        {"oi", "OY"},   {"oy", "OY"},  {"au", "AO"},  {"aw", "AO"},
      {"ie", "IY"},        {"ei", "EY"},        {"ue", "UW"},   {"ew", "UW"},  {"er", "ER"},  {"ir", "ER"},
      {"ur", "ER"},        {"ar", "AA R"},      {"or", "AO R"}, {"x", "K S"},  {"j", "JH"},   {"y", "Y"},
      {"w", "W"},          {"z", "Z"},          {"v", "V"},     {"q", "K"},
  }};
  static constexpr std::array<Rule, 12> kSingles = {{{"b", "B"},
                                                     {"d", "D"},
                                                     {"f", "F"},
                                                     {"h", "HH"},
                                                     {"k", "K"},
                                                     {"l", "L"},
                                                     {"m", "M"},
                                                     {"n", "N"},
                                                     {"p", "P"},
                                                     {"r", "R"},
                                                     {"s", "S"},
                                                     {"t", "T"}}};
  std::vector<std::string_view> out;
  const auto push = [&out](std::string_view phones) {
    std::size_t start = 0;
    while (start < phones.size()) {
      const auto end = std::min(phones.find(' ', start), phones.size());
      // Doubled consonants (tt, ll) sound once.
      const auto p = phones.substr(start, end - start);
      if (out.empty() || out.back() != p || is_vowel(static_cast<char>(std::tolower(p[0])))) out.push_back(p);
      start = end + 1;
    }
  };
  const std::size_t n = w.size();
  for (std::size_t i = 0; i < n;) {
    const char c = w[i];
    const char next = i + 1 < n ? w[i + 1] : '\0';
    // A final e after a consonant is silent; vowel-consonant-e is a long vowel.
    if (c == 'e' && i + 1 == n && n > 2 && !is_vowel(w[i - 1])) break;
    if (is_vowel(c) && i + 2 < n && !is_vowel(next) && next != 'r' && next != 'w' && next != 'x' && next != 'y' &&
        w[i + 2] == 'e' && i + 3 == n) {
      static constexpr std::array<std::string_view, 5> kLong = {"EY", "IY", "AY", "OW", "UW"};
      push(kLong[static_cast<std::size_t>(std::string_view("aeiou").find(c))]);
      ++i;
      continue;
    }
    bool matched = false;
    for (const auto& r : kRules) {
      if (std::string_view(w).substr(i, r.letters.size()) == r.letters) {
        // y is a vowel after the first letter.
        if (r.letters == "y" && i > 0) {
          push(i + 1 == n ? "IY" : "IH");
        } else {
          push(r.phones);
        }
        i += r.letters.size();
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (c == 'c') {
      push(next == 'e' || next == 'i' || next == 'y' ? "S" : "K");
    } else if (c == 'g') {
      push(next == 'e' || next == 'i' || next == 'y' ? "JH" : "G");
    } else if (is_vowel(c)) {
      static constexpr std::array<std::string_view, 5> kShort = {"AE", "EH", "IH", "AA", "AH"};
      // A vowel ending the word or an open syllable is long (o in "zero", i in "tina").
      const bool open = i + 1 == n || (i + 2 < n && !is_vowel(next) && is_vowel(w[i + 2]));
      static constexpr std::array<std::string_view, 5> kOpen = {"AA", "IY", "IY", "OW", "UW"};
      const auto k = static_cast<std::size_t>(std::string_view("aeiou").find(c));
      push(open ? kOpen[k] : kShort[k]);
    } else {
      for (const auto& r : kSingles) {
        if (r.letters[0] == c) push(r.phones);
      }
    }
    ++i;
  }
  std::string result;
  for (auto p : out) result += (result.empty() ? "" : " ") + std::string(p);
  return result;
}

}  // namespace earshot::stt
