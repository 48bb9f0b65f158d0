#include "earshot/analytics/language.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <map>
#include <unordered_set>
#include <vector>

namespace earshot::analytics {
namespace {

struct Script {
  char32_t first;
  char32_t last;
  std::string_view name;
  std::string_view tag;
};

// Unicode blocks of the scripts of India's languages (and Arabic script, for Urdu).
constexpr std::array<Script, 10> kScripts = {{
    {0x0900, 0x097F, "Devanagari", "hi-IN"},
    {0x0980, 0x09FF, "Bengali", "bn-IN"},
    {0x0A00, 0x0A7F, "Gurmukhi", "pa-IN"},
    {0x0A80, 0x0AFF, "Gujarati", "gu-IN"},
    {0x0B00, 0x0B7F, "Odia", "or-IN"},
    {0x0B80, 0x0BFF, "Tamil", "ta-IN"},
    {0x0C00, 0x0C7F, "Telugu", "te-IN"},
    {0x0C80, 0x0CFF, "Kannada", "kn-IN"},
    {0x0D00, 0x0D7F, "Malayalam", "ml-IN"},
    {0x0600, 0x06FF, "Arabic", "ur-IN"},
}};

// Function words of romanised Hindi that are not English words (or rare ones): a Hinglish
// sentence carries several ("mera order abhi tak nahi aaya hai").
const std::unordered_set<std::string_view>& hinglish_words() {
  static const std::unordered_set<std::string_view> words = {
      "hai",     "hain",     "hoon",       "hun",    "tha",    "thi",    "nahi",   "nahin",   "nhi",     "kya",
      "kyun",    "kyon",     "kaise",      "kaisa",  "kaisi",  "kab",    "kahan",  "kaun",    "kitna",   "kitne",
      "kitni",   "mera",     "meri",       "mere",   "mujhe",  "mujhko", "aap",    "aapka",   "aapki",   "aapke",
      "aapko",   "apna",     "apni",       "apne",   "hum",    "hamara", "hamari", "humko",   "hume",    "humein",
      "tum",     "tumhara",  "yeh",        "ye",     "woh",    "wo",     "ko",     "ka",      "ki",      "ke",
      "se",      "mein",     "bhi",        "toh",    "haan",   "ji",     "accha",  "acha",    "achha",   "theek",
      "thik",    "abhi",     "aaj",        "kal",    "bahut",  "bohot",  "lekin",  "aur",     "raha",    "rahi",
      "rahe",    "gaya",     "gayi",       "gaye",   "hua",    "hui",    "hue",    "kar",     "karo",    "karna",
      "karke",   "kariye",   "kiya",       "kiye",   "diya",   "dijiye", "kijiye", "chahiye", "sakta",   "sakte",
      "sakti",   "wala",     "wali",       "wale",   "kuch",   "sab",    "koi",    "yahan",   "wahan",   "hoga",
      "hogi",    "honge",    "sirf",       "phir",   "dobara", "jaldi",  "batao",  "bataiye", "bataye",  "samajh",
      "pata",    "nahiin",   "ek",         "tak",    "liye",   "wapas",  "paisa",  "paise",   "bhai",    "matlab",
      "aaya",    "aayi",     "aaye",       "milega", "milegi", "mila",   "mili",   "dena",    "lena",    "dekhiye",
      "dekho",   "suniye",   "boliye",     "bolo",   "bola",   "abhee",  "jabki",  "tabhi",   "agar",    "magar",
      "kyunki",  "isliye",   "uska",       "uski",   "unka",   "unki",   "iska",   "iski",    "inka",    "vaala",
      "karunga", "karenge",  "karti",      "karta",  "karte",  "karega", "karegi", "chalo",   "chaliye", "ruko",
      "rukiye",  "shukriya", "dhanyavaad",
  };
  return words;
}

// English function words (none of them Hinglish).
const std::unordered_set<std::string_view>& english_words() {
  static const std::unordered_set<std::string_view> words = {
      "the",   "a",     "an",    "is",    "are",   "was",    "were",  "be",     "been", "i",     "you",   "he",
      "she",   "it",    "we",    "they",  "me",    "him",    "her",   "us",     "them", "my",    "your",  "our",
      "their", "this",  "that",  "these", "those", "of",     "to",    "in",     "on",   "at",    "for",   "with",
      "from",  "by",    "about", "and",   "or",    "but",    "not",   "no",     "yes",  "do",    "does",  "did",
      "have",  "has",   "had",   "can",   "could", "will",   "would", "should", "what", "when",  "where", "why",
      "how",   "which", "who",   "there", "here",  "please", "thank", "thanks", "if",   "so",    "just",  "then",
      "am",    "any",   "some",  "all",   "over",  "into",   "out",   "up",     "down", "again", "still", "yet",
  };
  return words;
}

// Devanagari words that tell Marathi from Hindi.
const std::unordered_set<std::string_view>& marathi_words() {
  static const std::unordered_set<std::string_view> words = {"आहे",   "आहेत", "नाही", "आणि", "मला",
                                                             "तुम्ही", "झाले", "होते",  "माझे", "माझा"};
  return words;
}
const std::unordered_set<std::string_view>& hindi_words() {
  static const std::unordered_set<std::string_view> words = {"है",   "हैं",  "नहीं", "और", "मैं", "मेरा",
                                                             "क्या", "आप", "का",  "की", "के", "हूं"};
  return words;
}

// One code point from `s` at `i` (advanced); U+FFFD for a malformed sequence (one byte taken).
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) -> int {
    if (i + k >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[i + k]);
    return (b & 0xC0U) == 0x80U ? static_cast<int>(b & 0x3FU) : -1;
  };
  if (b0 < 0x80U) {
    ++i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0U) == 0xC0U) {
    len = 2;
    cp = b0 & 0x1FU;
  } else if ((b0 & 0xF0U) == 0xE0U) {
    len = 3;
    cp = b0 & 0x0FU;
  } else if ((b0 & 0xF8U) == 0xF0U) {
    len = 4;
    cp = b0 & 0x07U;
  } else {
    ++i;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) {
    const int c = cont(static_cast<std::size_t>(k));
    if (c < 0) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6U) | static_cast<char32_t>(c);
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

bool is_latin_letter(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7);
}

// Separators between words: ASCII space and punctuation, the danda, general punctuation.
bool is_separator(char32_t c) {
  if (c < 0x80) return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  return c == 0x0964 || c == 0x0965 || (c >= 0x2000 && c <= 0x206F) || c == 0x00A0;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

LanguageGuess detect_language(std::string_view text) {
  std::array<int, kScripts.size()> script_letters{};
  int latin_letters = 0;
  int other_letters = 0;
  std::vector<std::string> words;
  std::string word;
  auto end_word = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t at = i;
    const char32_t c = next_code_point(text, i);
    if (is_separator(c)) {
      end_word();
      continue;
    }
    word.append(text.substr(at, i - at));
    if (is_latin_letter(c)) {
      ++latin_letters;
      continue;
    }
    bool found = false;
    for (std::size_t s = 0; s < kScripts.size(); ++s) {
      if (c >= kScripts[s].first && c <= kScripts[s].last) {
        ++script_letters[s];
        found = true;
        break;
      }
    }
    if (!found && c > 0x7F) ++other_letters;
  }
  end_word();

  // An Indian script carrying a third of the letters decides, whatever English words the
  // speakers mix in (code-mixed Hindi is still Hindi).
  const int letters = latin_letters + other_letters + [&] {
    int n = 0;
    for (int v : script_letters) n += v;
    return n;
  }();
  std::size_t best = 0;
  for (std::size_t s = 1; s < kScripts.size(); ++s) {
    if (script_letters[s] > script_letters[best]) best = s;
  }
  if (script_letters[best] >= 8 && script_letters[best] * 3 >= letters) {
    const double share = static_cast<double>(script_letters[best]) / letters;
    LanguageGuess g{std::string(kScripts[best].tag), share,
                    fmt::format("script {} {:.2f}", kScripts[best].name, share)};
    if (kScripts[best].name == "Devanagari") {
      int marathi = 0;
      int hindi = 0;
      for (const auto& w : words) {
        marathi += marathi_words().contains(w) ? 1 : 0;
        hindi += hindi_words().contains(w) ? 1 : 0;
      }
      if (marathi > hindi) {
        g.tag = "mr-IN";
        g.evidence += fmt::format(", Marathi words {} vs Hindi {}", marathi, hindi);
      }
    }
    return g;
  }

  // Latin letters: English or Hinglish by their function words.
  int n = 0;
  int hinglish = 0;
  int english = 0;
  for (const auto& w : words) {
    const auto lw = lower_ascii(w);
    if (lw.empty() || !std::isalpha(static_cast<unsigned char>(lw.front()))) continue;
    ++n;
    hinglish += hinglish_words().contains(lw) ? 1 : 0;
    english += english_words().contains(lw) ? 1 : 0;
  }
  if (n < 3) return {};
  const double h = static_cast<double>(hinglish) / n;
  const double e = static_cast<double>(english) / n;
  // Hinglish mixes English nouns and verbs into Hindi grammar: its Hindi function words are
  // the signal, and they outnumber the English ones.
  if (hinglish >= 2 && h >= 0.12 && hinglish >= english) {
    return {"hi-Latn", h, fmt::format("Hinglish words {:.2f}, English words {:.2f}", h, e)};
  }
  if (english >= 1 && e >= 0.1) return {"en", e, fmt::format("English words {:.2f}", e)};
  if (n >= 12) return {"und", 1.0 - e, fmt::format("Latin letters, English words {:.2f}", e)};
  return {};
}

std::string normalize_language_tag(std::string_view reported) {
  std::string s = lower_ascii(reported);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  if (s.empty() || s == "unknown" || s == "auto" || s == "und") return {};
  static const std::map<std::string_view, std::string_view> names = {
      {"english", "en"},  {"hindi", "hi"},   {"bengali", "bn"},  {"bangla", "bn"},     {"tamil", "ta"},
      {"telugu", "te"},   {"marathi", "mr"}, {"gujarati", "gu"}, {"kannada", "kn"},    {"malayalam", "ml"},
      {"punjabi", "pa"},  {"panjabi", "pa"}, {"odia", "or"},     {"oriya", "or"},      {"urdu", "ur"},
      {"assamese", "as"}, {"nepali", "ne"},  {"spanish", "es"},  {"french", "fr"},     {"german", "de"},
      {"arabic", "ar"},   {"chinese", "zh"}, {"japanese", "ja"}, {"portuguese", "pt"}, {"russian", "ru"},
  };
  if (auto it = names.find(s); it != names.end()) return std::string(it->second);
  for (auto& c : s) {
    if (c == '_') c = '-';
  }
  // Subtags after the first: a 2-letter region upper case, a 4-letter script title case.
  std::string out;
  std::size_t start = 0;
  bool first = true;
  while (start <= s.size()) {
    const auto dash = s.find('-', start);
    std::string part = s.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    if (!first && part.size() == 2) {
      for (auto& c : part) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (!first && part.size() == 4) {
      part[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(part[0])));
    }
    if (!out.empty()) out += '-';
    out += part;
    first = false;
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return out;
}

std::string primary_language(std::string_view tag) {
  return lower_ascii(tag.substr(0, tag.find_first_of("-_")));
}

}  // namespace earshot::analytics
