#include "earshot/analytics/pii.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace earshot::analytics {
namespace {

// ---------------------------------------------------------------------------------------
// Word classes

enum WordFlag : std::uint32_t {
  kUnitW = 1U << 0,        // zero, oh, one .. nine (value)
  kTeenW = 1U << 1,        // ten .. nineteen
  kTensW = 1U << 2,        // twenty .. ninety
  kHundredW = 1U << 3,     // hundred
  kThousandW = 1U << 4,    // thousand
  kRepeatW = 1U << 5,      // double (2), triple (3)
  kOrdinalW = 1U << 6,     // first .. thirty-first pieces (value)
  kMonthW = 1U << 7,       // january .. december (value)
  kStopW = 1U << 8,        // never part of a name, a street name or an e-mail's local part
  kSuffixW = 1U << 9,      // street, avenue, ...
  kQuantityW = 1U << 10,   // dollars, minutes, ... after a number: a quantity, not PII
  kDirW = 1U << 11,        // north, south, ...
  kUnitDesigW = 1U << 12,  // apartment, unit, suite, ...
  kHonorificW = 1U << 13,  // mr, mrs, ms, ...
  kConnW = 1U << 14,       // dot, underscore, dash, ... inside a spoken e-mail
  kTldW = 1U << 15,        // com, net, org, ...
  kProviderW = 1U << 16,   // gmail, yahoo, ...
  kCommonW = 1U << 17,     // first names that are also words: propagated only when capitalised
  kFillerW = 1U << 18,     // words before an answer: yeah, sure, it's ...
  kRunSepW = 1U << 19,     // dash, slash, hyphen between spoken number groups
  kBankW = 1U << 20,       // routing, checking, savings, bank, deposit, ...: a banking call
  kCueStartW = 1U << 21,   // the first word of a cue phrase
};
struct WordInfo {
  std::uint32_t flags = 0;
  int value = 0;
  int kw = 0;  // index + 1 into kKeywords: words the rules compare against
};

// Words compared by the rules, looked up once per token instead of compared as strings.
constexpr std::string_view kKeywords[] = {"i",      "the", "speaking", "is",    "i'm",  "with", "at",      "and",
                                          "this",   "on",  "of",       "name",  "here", "from", "calling", "a",
                                          "um",     "uh",  "speak",    "slash", "plus", "oh",   "number",  "names",
                                          "name's", "may", "last",     "four",  "dr",   "dot",  "dash"};
consteval int kw_id(std::string_view w) {
  for (std::size_t i = 0; i < std::size(kKeywords); ++i) {
    if (kKeywords[i] == w) return static_cast<int>(i) + 1;
  }
  throw "not a keyword";
}

using Lexicon = std::unordered_map<std::string_view, WordInfo>;

void add_words(Lexicon& lex, std::string_view words, std::uint32_t flag) {
  std::size_t i = 0;
  while (i < words.size()) {
    while (i < words.size() && words[i] == ' ') ++i;
    std::size_t j = i;
    while (j < words.size() && words[j] != ' ') ++j;
    if (j > i) lex[words.substr(i, j - i)].flags |= flag;
    i = j;
  }
}
void add_valued(Lexicon& lex, std::string_view words, std::uint32_t flag, int first, int step = 1) {
  std::size_t i = 0;
  int v = first;
  while (i < words.size()) {
    while (i < words.size() && words[i] == ' ') ++i;
    std::size_t j = i;
    while (j < words.size() && words[j] != ' ') ++j;
    if (j > i) {
      auto& w = lex[words.substr(i, j - i)];
      w.flags |= flag;
      w.value = v;
      v += step;
    }
    i = j;
  }
}

const Lexicon& lexicon() {
  static const Lexicon lex = [] {
    Lexicon l;
    for (std::size_t i = 0; i < std::size(kKeywords); ++i) l[kKeywords[i]].kw = static_cast<int>(i) + 1;
    add_valued(l, "zero one two three four five six seven eight nine", kUnitW, 0);
    add_valued(l, "oh", kUnitW, 0);
    add_valued(l, "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen", kTeenW, 10);
    add_valued(l, "twenty thirty forty fifty sixty seventy eighty ninety", kTensW, 20, 10);
    add_words(l, "hundred", kHundredW);
    add_words(l, "thousand", kThousandW);
    add_valued(l, "double", kRepeatW, 2);
    add_valued(l, "triple", kRepeatW, 3);
    add_valued(l, "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth",
               kOrdinalW, 1);
    add_valued(l, "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth", kOrdinalW, 14);
    add_valued(l, "thirtieth", kOrdinalW, 30);
    add_valued(l, "january february march april may june july august september october november december", kMonthW, 1);
    add_valued(l, "jan feb mar apr", kMonthW, 1);
    add_valued(l, "jun jul aug sep sept", kMonthW, 6);
    l["sept"].value = 9;
    add_valued(l, "oct nov dec", kMonthW, 10);
    add_words(l,
              "street st avenue ave road rd drive dr lane ln boulevard blvd court ct way place pl terrace circle "
              "parkway pkwy highway hwy trail square crescent alley loop plaza walk path pike crossing",
              kSuffixW);
    add_words(l, "north south east west northeast northwest southeast southwest n s e w", kDirW);
    add_words(l, "apartment apt unit suite ste flat", kUnitDesigW);
    add_words(l, "mr mrs ms miss mister dr doctor", kHonorificW);
    add_words(l, "dot period underscore dash hyphen plus", kConnW);
    add_words(l, "dash slash hyphen", kRunSepW);
    add_words(l, "com net org edu gov io co uk us ca info biz me de in au", kTldW);
    add_words(l, "gmail yahoo hotmail outlook icloud aol protonmail live msn comcast mail", kProviderW);
    add_words(l,
              "dollar dollars bucks buck cents cent percent minute minutes min mins hour hours hrs day days week "
              "weeks month months year years times time calls customers items item boxes box each gigabytes gig "
              "gigs gb megabits mbps mb kilowatt kwh miles pounds lbs people seconds am pm o'clock business "
              "ounces inches feet euros",
              kQuantityW);
    add_words(l, "routing checking savings bank deposit debit wire ach iban transfer", kBankW);
    add_words(l,
              "order ticket case claim confirmation reference ref tracking invoice serial model extension ext item "
              "sku part promo discount coupon meter flight room policy card credit debit long expiry expiration "
              "expires expiring exp valid good cvv cvc c security verification code digit digits routing aba "
              "transit sort account checking savings bank iban social ssn s phone reach callback call mobile cell "
              "telephone contact your best text zip postal postcode post address live delivered date birth "
              "birthdate born birthday dob d email e full last first holder's speaking who's who name",
              kCueStartW);
    add_words(l,
              "yeah yes yep sure it's its it is this my name that's thats um uh ok okay hi hello so oh i'm well "
              "right the name's",
              kFillerW);
    add_words(l,
              "bill will may june april august mark sue pat rose hope joy art frank rich grant chase dean drew gene "
              "guy jean jack ray summer dawn ivy lily grace faith sky victor earl penny holly glen",
              kCommonW);
    add_words(l,
              "a an the this that these those there here it it's its is are was were be been being am i i'm i've "
              "i'll i'd me my mine we we're our us you you're your yours you've he he's him his she she's her they "
              "they're them their what what's who who's whom whose which when where why how and or but nor so yet "
              "if then than because as at by for from in into of off on onto out over to under up with without "
              "about after before between during through around against along across near can can't could "
              "couldn't would wouldn't will won't shall should shouldn't may might must do does did don't doesn't "
              "didn't have has had having not no yes yeah yep nope ok okay sure hi hello hey thanks thank please "
              "well um uh oh ah right correct just also too very really so quite still again already only even "
              "now today tomorrow yesterday tonight soon later here there speaking calling sorry great good fine "
              "nice perfect awesome excellent bad terrible frustrating ridiculous unacceptable absolutely "
              "definitely probably actually basically honestly exactly usually always never sometimes all any "
              "some every each both either neither other another one ones two three four five six seven eight "
              "nine ten first second third fourth last next new old same time line department team number numbers "
              "account card code phone email address date birth name names calling call called calls going "
              "trying looking wondering glad happy sad mad upset urgent important about regarding re via per "
              "like just let let's get got go goes went come came need needs want wants know think see say said "
              "tell told ask asked help helping check checking update updated confirm verify give gave put take "
              "make made pay paid send sent bought order ordered happening wrong fixed broken down working "
              "problem issue question thing things something nothing anything everything someone anyone nobody "
              "everyone person customer agent manager supervisor representative rep service support billing "
              "sales technical tech desk office store company bank insurance our team's end part way back "
              "home work more most less least much many few lot lots bit little big small long short high low "
              "full whole half hold wait moment second minute please mm hmm mhm huh gonna wanna gotta kind sort "
              "type calling speaking reached reaching she's he'd she'd it'd that'd who'd there's here's "
              "what're where's doing done being getting having making taking coming trying",
              kStopW);
    l.max_load_factor(0.5F);
    l.rehash(l.size() * 4);
    return l;
  }();
  return lex;
}

// ---------------------------------------------------------------------------------------
// Tokens

enum class Kind { kWord, kNum, kAlnum, kPunct };

struct Token {
  std::size_t b = 0, e = 0;
  Kind kind = Kind::kPunct;
  std::string low;  // lower-case text; the character for punctuation
  WordInfo info;
  bool upper = false;        // first character upper-case
  bool space_before = true;  // whitespace (or the start) before it
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u >= 0x80;
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::vector<Token> tokenize(std::string_view t) {
  std::vector<Token> out;
  out.reserve(t.size() / 4 + 4);
  const auto& lex = lexicon();
  std::size_t i = 0;
  bool space = true;
  while (i < t.size()) {
    const char c = t[i];
    if (is_space(c)) {
      space = true;
      ++i;
      continue;
    }
    Token tok;
    tok.b = i;
    tok.space_before = space;
    space = false;
    if (is_alpha_byte(c) || is_digit(c)) {
      bool has_alpha = false;
      bool has_digit = false;
      std::size_t j = i;
      while (j < t.size()) {
        const char d = t[j];
        if (is_alpha_byte(d) || is_digit(d)) {
          // U+2019 (right single quotation mark) between letters is an apostrophe.
          if (d == '\xE2' && j + 2 < t.size() && t[j + 1] == '\x80' && t[j + 2] == '\x99') {
            if (j + 3 < t.size() && is_alpha_byte(t[j + 3]) && j > i) {
              tok.low += '\'';
              j += 3;
              continue;
            }
            break;
          }
          if (is_digit(d)) {
            // Digits stop a word ("cvv2" stays one token) only when they start the token.
            has_digit = true;
          } else {
            has_alpha = true;
          }
          tok.low += lower(d);
          ++j;
          continue;
        }
        if (d == '\'' && j > i && j + 1 < t.size() && is_alpha_byte(t[j + 1]) && has_alpha) {
          tok.low += '\'';
          ++j;
          continue;
        }
        break;
      }
      if (j == i) {  // a lone U+2019
        tok.low = std::string(1, c);
        tok.e = i + 1;
        tok.kind = Kind::kPunct;
        out.push_back(std::move(tok));
        ++i;
        continue;
      }
      tok.e = j;
      tok.kind = has_alpha ? (has_digit ? Kind::kAlnum : Kind::kWord) : Kind::kNum;
      tok.upper = c >= 'A' && c <= 'Z';
      if (tok.kind == Kind::kWord) {
        if (auto it = lex.find(tok.low); it != lex.end()) tok.info = it->second;
      }
      out.push_back(std::move(tok));
      i = j;
      continue;
    }
    tok.e = i + 1;
    tok.low = std::string(1, c);
    tok.kind = Kind::kPunct;
    out.push_back(std::move(tok));
    ++i;
  }
  return out;
}

bool is_kw(const Token& t, int id) {
  return t.info.kw == id;
}
bool has(const Token& t, std::uint32_t flag) {
  return (t.info.flags & flag) != 0;
}
bool punct(const Token& t, char c) {
  return t.kind == Kind::kPunct && t.low[0] == c;
}
bool single_letter(const Token& t) {
  return t.kind == Kind::kWord && t.low.size() == 1;
}
// A clause break: sentence punctuation, or a comma.
bool breaks(const Token& t) {
  return t.kind == Kind::kPunct && (t.low[0] == '.' || t.low[0] == ',' || t.low[0] == '?' || t.low[0] == '!' ||
                                    t.low[0] == ';' || t.low[0] == ':');
}

// ---------------------------------------------------------------------------------------
// Cues

enum class Cue {
  kNotPii,  // order, ticket, case, ... numbers
  kCard,
  kExpiry,
  kCvv,
  kRouting,
  kAccount,
  kSsn,
  kPhone,
  kZip,
  kAddress,
  kDob,
  kEmail,
  kNameRequest,
};

struct CuePhrase {
  std::vector<std::string> words;
  Cue cue;
};

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// First word -> phrases starting with it, longest first.
const std::unordered_map<std::string, std::vector<CuePhrase>>& cue_table() {
  static const auto table = [] {
    const std::vector<std::pair<std::string_view, Cue>> phrases = {
        {"order", Cue::kNotPii},
        {"ticket", Cue::kNotPii},
        {"case number", Cue::kNotPii},
        {"case", Cue::kNotPii},
        {"claim", Cue::kNotPii},
        {"confirmation", Cue::kNotPii},
        {"reference", Cue::kNotPii},
        {"ref", Cue::kNotPii},
        {"tracking", Cue::kNotPii},
        {"invoice", Cue::kNotPii},
        {"serial", Cue::kNotPii},
        {"model", Cue::kNotPii},
        {"extension", Cue::kNotPii},
        {"ext", Cue::kNotPii},
        {"item", Cue::kNotPii},
        {"sku", Cue::kNotPii},
        {"part number", Cue::kNotPii},
        {"promo", Cue::kNotPii},
        {"discount code", Cue::kNotPii},
        {"coupon", Cue::kNotPii},
        {"meter", Cue::kNotPii},
        {"flight", Cue::kNotPii},
        {"room", Cue::kNotPii},
        {"policy number", Cue::kNotPii},
        {"card", Cue::kCard},
        {"card number", Cue::kCard},
        {"credit card", Cue::kCard},
        {"debit card", Cue::kCard},
        {"card ending in", Cue::kCard},
        {"long number", Cue::kCard},
        {"expiry", Cue::kExpiry},
        {"expiration", Cue::kExpiry},
        {"expires", Cue::kExpiry},
        {"expiring", Cue::kExpiry},
        {"exp", Cue::kExpiry},
        {"valid thru", Cue::kExpiry},
        {"valid through", Cue::kExpiry},
        {"good thru", Cue::kExpiry},
        {"cvv", Cue::kCvv},
        {"cvc", Cue::kCvv},
        {"cvv2", Cue::kCvv},
        {"c v v", Cue::kCvv},
        {"security code", Cue::kCvv},
        {"verification code", Cue::kCvv},
        {"code on the back", Cue::kCvv},
        {"digit code", Cue::kCvv},
        {"digits on the back", Cue::kCvv},
        {"digits on the front", Cue::kCvv},
        {"code", Cue::kCvv},
        {"routing", Cue::kRouting},
        {"aba", Cue::kRouting},
        {"transit number", Cue::kRouting},
        {"sort code", Cue::kRouting},
        {"account number", Cue::kAccount},
        {"checking account", Cue::kAccount},
        {"savings account", Cue::kAccount},
        {"bank account", Cue::kAccount},
        {"checking", Cue::kAccount},
        {"savings", Cue::kAccount},
        {"iban", Cue::kAccount},
        {"social", Cue::kSsn},
        {"social security", Cue::kSsn},
        {"ssn", Cue::kSsn},
        {"s s n", Cue::kSsn},
        {"phone", Cue::kPhone},
        {"phone number", Cue::kPhone},
        {"reach you", Cue::kPhone},
        {"callback", Cue::kPhone},
        {"call back number", Cue::kPhone},
        {"callback number", Cue::kPhone},
        {"mobile", Cue::kPhone},
        {"cell", Cue::kPhone},
        {"telephone", Cue::kPhone},
        {"contact number", Cue::kPhone},
        {"your number", Cue::kPhone},
        {"best number", Cue::kPhone},
        {"call me at", Cue::kPhone},
        {"text me at", Cue::kPhone},
        {"zip", Cue::kZip},
        {"zip code", Cue::kZip},
        {"postal code", Cue::kZip},
        {"postcode", Cue::kZip},
        {"post code", Cue::kZip},
        {"address", Cue::kAddress},
        {"live at", Cue::kAddress},
        {"delivered to", Cue::kAddress},
        {"date of birth", Cue::kDob},
        {"birth date", Cue::kDob},
        {"birthdate", Cue::kDob},
        {"born", Cue::kDob},
        {"birthday", Cue::kDob},
        {"dob", Cue::kDob},
        {"d o b", Cue::kDob},
        {"email", Cue::kEmail},
        {"e mail", Cue::kEmail},
        {"your name", Cue::kNameRequest},
        {"name", Cue::kNameRequest},
        {"full name", Cue::kNameRequest},
        {"last name", Cue::kNameRequest},
        {"first name", Cue::kNameRequest},
        {"holder's name", Cue::kNameRequest},
        {"speaking with", Cue::kNameRequest},
        {"who's calling", Cue::kNameRequest},
        {"who is calling", Cue::kNameRequest},
        {"name please", Cue::kNameRequest},
    };
    std::unordered_map<std::string, std::vector<CuePhrase>> t;
    for (const auto& [p, c] : phrases) {
      auto words = split_words(p);
      t[words.front()].push_back({std::move(words), c});
    }
    for (auto& [k, v] : t) {
      std::sort(v.begin(), v.end(),
                [](const CuePhrase& a, const CuePhrase& b) { return a.words.size() > b.words.size(); });
    }
    return t;
  }();
  return table;
}

struct CueHit {
  Cue cue = Cue::kNotPii;
  std::size_t tb = 0, te = 0;  // token range
  bool used = false;
};

// ---------------------------------------------------------------------------------------
// Numbers: written digits and spoken number words, as digit strings.

struct Run {
  std::size_t tb = 0, te = 0;  // token range
  std::string digits;
  std::vector<std::string> chunks;  // one per written token or spoken number
  std::vector<int> groups;          // digits per group (groups split by , - / . ( ) or "dash")
  char group_sep = 0;               // the first separator between groups
  bool spoken = false;
  bool plus = false;
  bool money = false;    // after '$' or before "dollars", "minutes", ...
  bool code = false;     // joined to letters: "c l four five", "INV-2024"
  bool decimal = false;  // "49.99"
};

bool number_word(const Token& t) {
  return t.kind == Kind::kWord && (t.info.flags & (kUnitW | kTeenW | kTensW)) != 0;
}

// A small cardinal at i: unit (1-9), teen, or tens [unit]; returns value and tokens used.
std::optional<std::pair<int, std::size_t>> small_cardinal(const std::vector<Token>& tk, std::size_t i,
                                                          std::size_t end) {
  if (i >= end || tk[i].kind != Kind::kWord) return std::nullopt;
  const auto& w = tk[i];
  if (has(w, kTensW)) {
    if (i + 1 < end && has(tk[i + 1], kUnitW) && tk[i + 1].info.value > 0 && !is_kw(tk[i + 1], kw_id("oh")) &&
        tk[i + 1].space_before) {
      return std::pair{w.info.value + tk[i + 1].info.value, std::size_t{2}};
    }
    return std::pair{w.info.value, std::size_t{1}};
  }
  if (has(w, kTeenW)) return std::pair{w.info.value, std::size_t{1}};
  if (has(w, kUnitW) && w.info.value > 0) return std::pair{w.info.value, std::size_t{1}};
  return std::nullopt;
}

// A cardinal with "hundred" or "thousand" at i ("four hundred twelve", "two hundred eleven
// thousand four hundred"), or nothing.
std::optional<std::pair<long long, std::size_t>> big_cardinal(const std::vector<Token>& tk, std::size_t i,
                                                              std::size_t end) {
  long long total = 0;
  std::size_t j = i;
  bool big = false;
  for (int part = 0; part < 2; ++part) {
    auto s = small_cardinal(tk, j, end);
    if (!s) break;
    long long v = s->first;
    std::size_t k = j + s->second;
    bool hundred = false;
    if (k < end && has(tk[k], kHundredW)) {
      hundred = true;
      big = true;
      v *= 100;
      ++k;
      std::size_t m = k;
      if (m < end && is_kw(tk[m], kw_id("and"))) ++m;
      if (auto rest = small_cardinal(tk, m, end)) {
        v += rest->first;
        k = m + rest->second;
      }
    }
    if (k < end && has(tk[k], kThousandW) && part == 0) {
      big = true;
      total = v * 1000;
      j = k + 1;
      if (j < end && is_kw(tk[j], kw_id("and"))) ++j;
      continue;
    }
    if (!hundred && part == 0) break;
    total += v;
    j = k;
    break;
  }
  if (!big || j == i) return std::nullopt;
  return std::pair{total, j - i};
}

// The separator between two tokens of a run, or 0 when they cannot join: ' ' for plain
// whitespace, the punctuation character otherwise.
std::vector<Run> find_runs(const std::vector<Token>& tk, const std::vector<bool>& claimed) {
  std::vector<Run> out;
  std::size_t i = 0;
  const std::size_t n = tk.size();
  auto starts_number = [&](std::size_t k) {
    if (k >= n || claimed[k]) return false;
    if (tk[k].kind == Kind::kNum) return true;
    if (number_word(tk[k])) return true;
    return has(tk[k], kRepeatW) && k + 1 < n && number_word(tk[k + 1]);
  };
  while (i < n) {
    if (!starts_number(i)) {
      ++i;
      continue;
    }
    Run r;
    r.tb = i;
    if (i > 0 && punct(tk[i - 1], '(') && !tk[i].space_before) r.tb = i - 1;
    if (r.tb > 0 && punct(tk[r.tb - 1], '+') && !tk[r.tb].space_before) {
      r.plus = true;
      --r.tb;
    }
    if (r.tb > 0 && tk[r.tb - 1].kind == Kind::kWord && is_kw(tk[r.tb - 1], kw_id("plus"))) {
      r.plus = true;
      --r.tb;
    }
    if (i > 0 && punct(tk[i - 1], '$')) r.money = true;
    // Joined to letters before: "c l four", "INV-2024", "z nine".
    if (i > 0) {
      const auto& p = tk[i - 1];
      if ((single_letter(p) && !is_kw(p, kw_id("a")) && !is_kw(p, kw_id("i"))) || p.kind == Kind::kAlnum) r.code = true;
      if ((punct(p, '-') || punct(p, '#')) && !tk[i].space_before && i > 1 && !p.space_before &&
          (tk[i - 2].kind == Kind::kWord || tk[i - 2].kind == Kind::kAlnum))
        r.code = true;
    }
    int group = 0;
    std::size_t k = i;
    while (k < n && !claimed[k]) {
      const auto& t = tk[k];
      std::string chunk;
      std::size_t used = 1;
      if (t.kind == Kind::kNum) {
        chunk = t.low;
        if (k + 1 < n && tk[k + 1].kind == Kind::kAlnum) r.code = true;
      } else if (auto big = big_cardinal(tk, k, n)) {
        chunk = std::to_string(big->first);
        used = big->second;
        r.spoken = true;
      } else if (has(t, kRepeatW) && k + 1 < n && has(tk[k + 1], kUnitW)) {
        chunk.assign(static_cast<std::size_t>(t.info.value), static_cast<char>('0' + tk[k + 1].info.value));
        used = 2;
        r.spoken = true;
      } else if (has(t, kRepeatW) && k + 1 < n && number_word(tk[k + 1])) {
        auto s = small_cardinal(tk, k + 1, n);
        const std::string v = s ? std::to_string(s->first) : "";
        for (int rep = 0; rep < t.info.value; ++rep) chunk += v;
        used = 1 + (s ? s->second : 0);
        r.spoken = true;
      } else if (has(t, kUnitW)) {
        chunk = std::string(1, static_cast<char>('0' + t.info.value));
        r.spoken = true;
      } else if (auto s = small_cardinal(tk, k, n)) {
        chunk = std::to_string(s->first);
        used = s->second;
        r.spoken = true;
      } else {
        break;
      }
      r.chunks.push_back(chunk);
      r.digits += chunk;
      group += static_cast<int>(chunk.size());
      k += used;
      r.te = k;
      // What joins the next number?
      if (k >= n) break;
      std::size_t next = k;
      char sep = ' ';
      if (tk[next].kind == Kind::kPunct) {
        const char c = tk[next].low[0];
        const bool no_space_after = next + 1 < n && !tk[next + 1].space_before;
        const bool ok = c == ',' || c == '-' || c == '/' || c == '(' || c == ')' || (c == '.' && no_space_after);
        if (!ok) break;
        if (c == '.' && no_space_after && tk[next + 1].kind == Kind::kNum && !r.spoken) r.decimal = true;
        sep = c;
        ++next;
        if (next < n && tk[next].kind == Kind::kPunct && (tk[next].low[0] == '(' || tk[next].low[0] == '-')) ++next;
      } else if (has(tk[next], kRunSepW)) {
        sep = '-';
        ++next;
      } else if (tk[next].kind == Kind::kNum && tk[k - 1].kind == Kind::kNum) {
        sep = '_';  // written groups split by spaces
      }
      if (!starts_number(next)) break;
      if (sep != ' ') {
        r.groups.push_back(group);
        group = 0;
        if (r.group_sep == 0) r.group_sep = sep;
      }
      k = next;
    }
    r.groups.push_back(group);
    if (r.te < n && has(tk[r.te], kQuantityW)) r.money = true;
    if (r.te < n && (punct(tk[r.te], '%') || punct(tk[r.te], ':'))) r.money = true;
    if (r.te < n && tk[r.te].kind == Kind::kAlnum && !tk[r.te].space_before) r.code = true;
    if (r.te < n && single_letter(tk[r.te]) && !is_kw(tk[r.te], kw_id("a")) && !is_kw(tk[r.te], kw_id("i")) &&
        r.te + 1 < n && (starts_number(r.te + 1) || single_letter(tk[r.te + 1])))
      r.code = true;
    if (r.te <= i) {
      ++i;
      continue;
    }
    out.push_back(std::move(r));
    i = out.back().te;
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

}  // namespace

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (!is_digit(*it)) return false;
    int d = *it - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return !digits.empty() && sum % 10 == 0;
}

bool aba_routing_valid(std::string_view d) {
  if (d.size() != 9 || !all_digits(d)) return false;
  auto v = [&](std::size_t i) { return d[i] - '0'; };
  const int sum = 3 * (v(0) + v(3) + v(6)) + 7 * (v(1) + v(4) + v(7)) + (v(2) + v(5) + v(8));
  return sum % 10 == 0;
}

namespace {

// ---------------------------------------------------------------------------------------
// One call's segments

struct Pending {
  Cue cue;
  int age = 0;  // segments since it was asked
};

class Scanner {
 public:
  explicit Scanner(std::vector<std::string_view> texts) : texts_(std::move(texts)) {}

  std::vector<PiiFinding> run() {
    tokens_.reserve(texts_.size());
    for (const auto& t : texts_) tokens_.push_back(tokenize(t));
    claimed_.resize(texts_.size());
    for (std::size_t s = 0; s < texts_.size(); ++s) {
      claimed_[s].assign(tokens_[s].size(), false);
      scan_segment(s);
    }
    propagate_names();
    std::sort(found_.begin(), found_.end(), [](const PiiFinding& a, const PiiFinding& b) {
      if (a.segment != b.segment) return a.segment < b.segment;
      return a.begin < b.begin || (a.begin == b.begin && a.end > b.end);
    });
    std::vector<PiiFinding> out;
    for (const auto& f : found_) {
      if (!out.empty() && out.back().segment == f.segment && f.begin < out.back().end) continue;
      out.push_back(f);
    }
    return out;
  }

 private:
  std::vector<std::string_view> texts_;
  std::vector<std::vector<Token>> tokens_;
  std::vector<std::vector<bool>> claimed_;
  std::vector<PiiFinding> found_;
  std::vector<Pending> pending_;
  bool name_requested_ = false;
  bool bank_call_ = false;
  bool last_four_before_ = false;          // "the last four digits" asked in the turn before
  std::unordered_set<std::string> names_;  // lower-case words of the names found

  void add(std::size_t s, PiiType type, std::size_t tb, std::size_t te, double conf) {
    const auto& tk = tokens_[s];
    while (te > tb && tk[te - 1].kind == Kind::kPunct && tk[te - 1].low[0] != ')') --te;
    if (te <= tb) return;
    for (std::size_t k = tb; k < te; ++k) claimed_[s][k] = true;
    found_.push_back({type, tk[tb].b, tk[te - 1].e, conf, s});
  }

  // ---- cues
  std::vector<CueHit> find_cues(const std::vector<Token>& tk) {
    std::vector<CueHit> out;
    const auto& table = cue_table();
    for (std::size_t i = 0; i < tk.size(); ++i) {
      if (!has(tk[i], kCueStartW)) continue;
      auto it = table.find(tk[i].low);
      if (it == table.end()) continue;
      for (const auto& p : it->second) {
        std::size_t k = i;
        std::size_t w = 0;
        while (w < p.words.size() && k < tk.size()) {
          if (punct(tk[k], '-') && w > 0) {  // "e-mail"
            ++k;
            continue;
          }
          if (tk[k].low != p.words[w]) break;
          ++w;
          ++k;
        }
        if (w == p.words.size()) {
          out.push_back({p.cue, i, k, false});
          i = k - 1;
          break;
        }
      }
    }
    return out;
  }

  // ---- e-mail addresses, written and spoken
  void find_emails(std::size_t s) {
    const auto& tk = tokens_[s];
    const auto& text = texts_[s];
    // Written: local@domain.tld.
    for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
      auto local_char = [](char c) {
        return is_alpha_byte(c) || is_digit(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
      };
      auto domain_char = [](char c) { return is_alpha_byte(c) || is_digit(c) || c == '.' || c == '-'; };
      std::size_t b = at;
      while (b > 0 && local_char(text[b - 1])) --b;
      std::size_t e = at + 1;
      while (e < text.size() && domain_char(text[e])) ++e;
      while (e > at + 1 && (text[e - 1] == '.' || text[e - 1] == '-')) --e;
      const std::string_view domain = std::string_view(text).substr(at + 1, e - at - 1);
      const auto dot = domain.rfind('.');
      if (b < at && dot != std::string_view::npos && dot > 0 && domain.size() - dot - 1 >= 2) {
        std::size_t tb = tk.size();
        std::size_t te = 0;
        for (std::size_t k = 0; k < tk.size(); ++k) {
          if (tk[k].b >= b && tk[k].e <= e) {
            tb = std::min(tb, k);
            te = k + 1;
          }
        }
        if (tb < te) {
          for (std::size_t k = tb; k < te; ++k) claimed_[s][k] = true;
          found_.push_back({PiiType::kEmail, b, e, 0.99, s});
        }
      }
    }
    // Spoken: "jane dot miller at example dot com", "j a n e underscore d o e at gmail dot com".
    for (std::size_t i = 1; i + 1 < tk.size(); ++i) {
      if (!is_kw(tk[i], kw_id("at")) || claimed_[s][i]) continue;
      // Domain: label (dot label)*, ending in a top-level domain, or a known provider.
      std::size_t k = i + 1;
      if (tk[k].kind != Kind::kWord && tk[k].kind != Kind::kAlnum) continue;
      const bool provider = has(tk[k], kProviderW);
      std::size_t end = k + 1;
      int dots = 0;
      bool tld = false;
      while (end + 1 < tk.size() &&
             (is_kw(tk[end], kw_id("dot")) || (punct(tk[end], '.') && !tk[end + 1].space_before)) &&
             (tk[end + 1].kind == Kind::kWord || tk[end + 1].kind == Kind::kAlnum)) {
        ++dots;
        tld = has(tk[end + 1], kTldW);
        end += 2;
      }
      if (!((dots > 0 && tld) || provider)) continue;
      // Local part, backwards from "at".
      std::size_t b = i;
      int words = 0;
      while (b > 0 && words < 14) {
        const auto& t = tk[b - 1];
        if (claimed_[s][b - 1]) break;
        const bool conn = has(t, kConnW) ||
                          ((punct(t, '.') || punct(t, '_') || punct(t, '-')) && !t.space_before && !tk[b].space_before);
        if (conn) {
          if (b == i) break;  // "dot at" makes no sense
          --b;
          continue;
        }
        if (t.kind == Kind::kNum || number_word(t) || single_letter(t) || t.kind == Kind::kAlnum ||
            (t.kind == Kind::kWord && !has(t, kStopW) && !is_kw(t, kw_id("at")))) {
          --b;
          ++words;
          continue;
        }
        break;
      }
      while (b < i && (has(tk[b], kConnW) || tk[b].kind == Kind::kPunct)) ++b;
      if (b == i) continue;
      add(s, PiiType::kEmail, b, end, 0.95);
    }
  }

  // ---- street addresses: a house number, street words, a suffix, an optional unit
  std::optional<std::size_t> address_after(const std::vector<Token>& tk, const Run& r) const {
    if (r.digits.empty() || r.digits.size() > 6 || r.money || r.code || r.decimal) return std::nullopt;
    std::size_t k = r.te;
    if (k < tk.size() && has(tk[k], kDirW) && tk[k].low.size() > 1) ++k;
    int words = 0;
    while (k < tk.size() && words < 3 && tk[k].kind == Kind::kWord && !has(tk[k], kSuffixW) && !has(tk[k], kStopW) &&
           !has(tk[k], kQuantityW) && !number_word(tk[k]) && tk[k].low.size() > 1) {
      ++k;
      ++words;
    }
    if (words == 0 && k < tk.size() && has(tk[k], kSuffixW) && k + 1 < tk.size() && has(tk[k + 1], kSuffixW)) {
      ++k;  // "1 Park Place": the name is a suffix word
      words = 1;
    }
    if (words == 0 || k >= tk.size() || !has(tk[k], kSuffixW)) return std::nullopt;
    ++k;
    if (k < tk.size() && punct(tk[k], '.') && !tk[k].space_before && tk[k - 1].low.size() <= 4) ++k;
    if (auto u = unit_after(tk, k)) k = *u;
    return k;
  }
  static std::optional<std::size_t> unit_after(const std::vector<Token>& tk, std::size_t k) {
    std::size_t m = k;
    if (m < tk.size() && punct(tk[m], ',')) ++m;
    if (m < tk.size() && (has(tk[m], kUnitDesigW) || punct(tk[m], '#') || is_kw(tk[m], kw_id("number")))) {
      ++m;
      if (m < tk.size() && punct(tk[m], '.')) ++m;
      if (m < tk.size() && punct(tk[m], '#')) ++m;
      const std::size_t start = m;
      while (m < tk.size() &&
             (tk[m].kind == Kind::kNum || tk[m].kind == Kind::kAlnum || number_word(tk[m]) ||
              (single_letter(tk[m]) && m > start)) &&
             m - start < 4)
        ++m;
      if (m > start) return m;
    }
    return std::nullopt;
  }

  // ---- dates after a date-of-birth or expiry cue
  struct DateSpan {
    std::size_t tb = 0, te = 0;
    int months = 0, ordinals = 0;
    std::string digits;
    int number_items = 0;
  };
  static bool date_start(const std::vector<Token>& tk, std::size_t i) {
    const auto& t = tk[i];
    if (has(t, kMonthW) || has(t, kOrdinalW) || t.kind == Kind::kNum || number_word(t)) return true;
    if (t.kind == Kind::kAlnum && ordinal_suffix(t.low)) return true;
    return is_kw(t, kw_id("the")) && i + 1 < tk.size() && (has(tk[i + 1], kOrdinalW) || ordinal_suffix(tk[i + 1].low));
  }
  static bool ordinal_suffix(std::string_view w) {
    if (w.size() < 3 || !is_digit(w[0])) return false;
    const auto suf = w.substr(w.size() - 2);
    return (suf == "st" || suf == "nd" || suf == "rd" || suf == "th") && all_digits(w.substr(0, w.size() - 2));
  }
  std::optional<DateSpan> date_span(std::size_t s, std::size_t i) const {
    const auto& tk = tokens_[s];
    DateSpan d;
    d.tb = i;
    std::size_t k = i;
    if (is_kw(tk[k], kw_id("the"))) ++k;
    std::size_t last = k;
    while (k < tk.size() && !claimed_[s][k]) {
      const auto& t = tk[k];
      if (has(t, kMonthW)) {
        if (is_kw(t, kw_id("may")) &&
            !(k + 1 < tk.size() && (number_word(tk[k + 1]) || tk[k + 1].kind == Kind::kNum ||
                                    has(tk[k + 1], kOrdinalW) || ordinal_suffix(tk[k + 1].low))))
          break;
        ++d.months;
        last = ++k;
        if (k < tk.size() && punct(tk[k], '.') && t.low.size() <= 4) last = ++k;
        continue;
      }
      if (has(t, kOrdinalW) || (t.kind == Kind::kAlnum && ordinal_suffix(t.low))) {
        ++d.ordinals;
        last = ++k;
        continue;
      }
      if (has(t, kTensW) && k + 1 < tk.size() && has(tk[k + 1], kOrdinalW) && tk[k + 1].info.value < 10) {
        ++d.ordinals;  // "twenty first"
        k += 2;
        last = k;
        continue;
      }
      if (t.kind == Kind::kNum || number_word(t)) {
        // The numbers up to the next non-number: digit-wise like a run.
        std::size_t m = k;
        while (m < tk.size() && (tk[m].kind == Kind::kNum || number_word(tk[m]) || has(tk[m], kRepeatW))) {
          if (has(tk[m], kTensW) && m + 1 < tk.size() && has(tk[m + 1], kOrdinalW)) break;
          ++m;
        }
        if (m == k) break;
        std::string digits;
        std::size_t q = k;
        while (q < m) {
          if (tk[q].kind == Kind::kNum) {
            digits += tk[q].low;
            ++q;
          } else if (has(tk[q], kRepeatW) && q + 1 < m && has(tk[q + 1], kUnitW)) {
            digits.append(static_cast<std::size_t>(tk[q].info.value), static_cast<char>('0' + tk[q + 1].info.value));
            q += 2;
          } else if (has(tk[q], kUnitW)) {
            digits += static_cast<char>('0' + tk[q].info.value);
            ++q;
          } else if (auto sc = small_cardinal(tk, q, m)) {
            digits += std::to_string(sc->first);
            q += sc->second;
          } else {
            ++q;
          }
          ++d.number_items;
        }
        d.digits += digits;
        k = m;
        last = k;
        continue;
      }
      if (t.kind == Kind::kPunct && (t.low[0] == ',' || t.low[0] == '/' || t.low[0] == '-' || t.low[0] == '.')) {
        if (t.low[0] == '.' && (k + 1 >= tk.size() || tk[k + 1].space_before)) break;
        ++k;
        continue;
      }
      if (is_kw(t, kw_id("of")) || is_kw(t, kw_id("slash")) || is_kw(t, kw_id("dash")) ||
          (is_kw(t, kw_id("the")) && k > i)) {
        ++k;
        continue;
      }
      break;
    }
    d.te = last;
    if (d.te <= i) return std::nullopt;
    return d;
  }
  static bool valid_dob(const DateSpan& d) {
    if (d.months > 0) return !d.digits.empty() || d.ordinals > 0;
    if (d.ordinals > 0) return !d.digits.empty();
    return d.digits.size() >= 4 && d.digits.size() <= 8 && d.number_items >= 2;
  }
  static bool valid_expiry(const DateSpan& d) {
    if (d.ordinals > 0) return false;
    if (d.months > 0) return d.digits.size() == 2 || d.digits.size() == 4;
    const auto& g = d.digits;
    if (g.size() == 3) return g[0] != '0';
    if (g.size() == 4 || g.size() == 6) {
      const int m = (g[0] - '0') * 10 + (g[1] - '0');
      return m >= 1 && m <= 12;
    }
    return false;
  }

  // ---- numbers: typed by the cue before them or by their shape
  static bool compatible(Cue c, const Run& r, bool last_four_ok) {
    const auto n = r.digits.size();
    switch (c) {
      case Cue::kCard:
        return (n >= 12 && n <= 19) || (n == 4 && last_four_ok);
      case Cue::kCvv:
        return n == 3 || n == 4;
      case Cue::kRouting:
        return n == 9;
      case Cue::kAccount:
        return n >= 4 && n <= 17;
      case Cue::kSsn:
        return n == 9 || n == 4;
      case Cue::kPhone:
        return n >= 7 && n <= 15;
      case Cue::kZip:
      case Cue::kAddress:
        return n == 5 || n == 9;
      case Cue::kNotPii:
        return true;
      default:
        return false;
    }
  }

  void type_run(std::size_t s, const Run& r, std::optional<Cue> cue) {
    const auto& d = r.digits;
    const auto n = d.size();
    if (cue) {
      switch (*cue) {
        case Cue::kNotPii:
          return;
        case Cue::kCard:
          add(s, PiiType::kCard, r.tb, r.te, n == 4 ? 0.85 : luhn_valid(d) ? 0.99 : 0.75);
          return;
        case Cue::kCvv:
          add(s, PiiType::kCvv, r.tb, r.te, 0.9);
          return;
        case Cue::kRouting:
          add(s, PiiType::kRoutingNumber, r.tb, r.te, aba_routing_valid(d) ? 0.99 : 0.7);
          return;
        case Cue::kAccount:
          if (bank_call_) {
            add(s, PiiType::kBankAccount, r.tb, r.te, 0.9);
          } else {
            add(s, PiiType::kSpokenDigits, r.tb, r.te, 0.6);
          }
          return;
        case Cue::kSsn:
          add(s, PiiType::kSsn, r.tb, r.te, 0.95);
          return;
        case Cue::kPhone:
          add(s, PiiType::kPhone, r.tb, r.te, 0.95);
          return;
        case Cue::kZip:
        case Cue::kAddress:
          add(s, PiiType::kAddress, r.tb, r.te, 0.9);
          return;
        default:
          break;
      }
    }
    if (r.money || r.code || r.decimal) return;
    const bool dashed = r.group_sep == '-' || r.group_sep == '_';
    if (n == 9 && r.groups.size() == 3 && r.groups[0] == 3 && r.groups[1] == 2 && r.groups[2] == 4 && dashed) {
      add(s, PiiType::kSsn, r.tb, r.te, 0.85);
    } else if (n >= 13 && n <= 19 && luhn_valid(d)) {
      add(s, PiiType::kCard, r.tb, r.te, 0.9);
    } else if ((r.plus && n >= 8 && n <= 15) || (n == 10 && d[0] >= '2') || (n == 11 && d[0] == '1' && d[1] >= '2')) {
      add(s, PiiType::kPhone, r.tb, r.te, 0.85);
    } else if (n == 7 && r.groups.size() == 2 && r.groups[0] == 3 && dashed) {
      add(s, PiiType::kPhone, r.tb, r.te, 0.6);
    } else if (n >= 7) {
      add(s, PiiType::kSpokenDigits, r.tb, r.te, 0.5);
    }
  }

  // Whether a segment can hold anything: digits, number, month or cue words, an '@', name
  // introductions; most segments of a call hold none and are skipped.
  bool worth_scanning(const std::vector<Token>& tk) const {
    if (!pending_.empty() || name_requested_) return true;
    constexpr std::uint32_t kInteresting =
        kUnitW | kTeenW | kTensW | kRepeatW | kMonthW | kOrdinalW | kCueStartW | kHonorificW | kProviderW;
    for (const auto& t : tk) {
      if (t.kind == Kind::kNum || t.kind == Kind::kAlnum || (t.info.flags & kInteresting) != 0) return true;
      if (t.kind == Kind::kPunct && t.low[0] == '@') return true;
      const int k = t.info.kw;
      if (k == kw_id("at") || k == kw_id("name") || k == kw_id("names") || k == kw_id("name's") || k == kw_id("this") ||
          k == kw_id("speaking") || k == kw_id("speak") || k == kw_id("i'm") || k == kw_id("here"))
        return true;
    }
    return false;
  }

  void scan_segment(std::size_t s) {
    auto& tk = tokens_[s];
    for (const auto& t : tk) {
      if (has(t, kBankW)) bank_call_ = true;
    }
    if (!worth_scanning(tk)) {
      last_four_before_ = false;
      return;
    }
    find_emails(s);
    auto cues = find_cues(tk);
    const auto runs = find_runs(tk, claimed_[s]);
    std::vector<const CueHit*> cue_at(tk.size(), nullptr);
    for (const auto& c : cues) cue_at[c.tb] = &c;
    std::vector<const Run*> run_at(tk.size(), nullptr);
    for (const auto& r : runs) run_at[r.tb] = &r;
    for (const auto& r : runs) {
      for (std::size_t k = r.tb; k < r.te; ++k) {
        if (cue_at[k] != nullptr && k > r.tb) cue_at[k] = nullptr;  // "plus" is a run's sign
      }
    }

    std::vector<CueHit*> waiting;  // this segment's cues seen so far
    std::size_t words_seen = 0;
    auto words_between = [&](std::size_t from, std::size_t to) {
      std::size_t w = 0;
      for (std::size_t k = from; k < to && k < tk.size(); ++k) {
        if (tk[k].kind != Kind::kPunct) ++w;
      }
      return w;
    };
    auto take_cue = [&](std::size_t at, auto accept) -> std::optional<Cue> {
      // The nearest cue of this segment within 8 words, else the oldest pending one when the
      // value opens the answer.
      for (auto it = waiting.rbegin(); it != waiting.rend(); ++it) {
        CueHit* c = *it;
        if (c->used || words_between(c->te, at) > 8) continue;
        if (accept(c->cue)) {
          c->used = true;
          return c->cue;
        }
        if (c->cue == Cue::kNotPii) return std::nullopt;
      }
      if (words_seen <= 16) {
        for (auto& p : pending_) {
          if (p.age >= 0 && accept(p.cue)) {
            const Cue c = p.cue;
            p.age = -1;  // used
            return c;
          }
        }
      }
      return std::nullopt;
    };
    bool any_value = false;
    bool last_four = last_four_before_;
    last_four_before_ = false;
    for (std::size_t i = 0; i < tk.size();) {
      if (claimed_[s][i]) {
        ++i;
        continue;
      }
      if (is_kw(tk[i], kw_id("last")) && i + 1 < tk.size() && is_kw(tk[i + 1], kw_id("four")))
        last_four = last_four_before_ = true;
      if (cue_at[i] != nullptr) {
        auto* c = const_cast<CueHit*>(cue_at[i]);
        waiting.push_back(c);
        words_seen += c->te - c->tb;
        i = c->te;
        continue;
      }
      if (date_start(tk, i)) {
        bool want_dob = false;
        bool want_exp = false;
        for (auto* c : waiting) {
          if (!c->used && words_between(c->te, i) <= 8) {
            want_dob |= c->cue == Cue::kDob;
            want_exp |= c->cue == Cue::kExpiry;
          }
        }
        if (words_seen <= 16) {
          for (const auto& p : pending_) {
            if (p.age >= 0) {
              want_dob |= p.cue == Cue::kDob;
              want_exp |= p.cue == Cue::kExpiry;
            }
          }
        }
        if (want_dob || want_exp) {
          if (auto d = date_span(s, i)) {
            const bool dob = want_dob && valid_dob(*d);
            const bool exp = want_exp && valid_expiry(*d);
            if (dob || exp) {
              const Cue wanted = dob && !(exp && !want_dob) ? Cue::kDob : Cue::kExpiry;
              (void)take_cue(i, [&](Cue c) { return c == wanted; });
              add(s, wanted == Cue::kDob ? PiiType::kDateOfBirth : PiiType::kExpiry, d->tb, d->te, 0.9);
              any_value = true;
              words_seen += d->te - d->tb;
              i = d->te;
              continue;
            }
          }
        }
      }
      if (const Run* r = run_at[i]) {
        any_value = true;
        if (auto end = address_after(tk, *r)) {
          (void)take_cue(i, [](Cue c) { return c == Cue::kAddress; });
          add(s, PiiType::kAddress, r->tb, *end, 0.9);
          i = *end;
          continue;
        }
        const bool numeric_ok = !r->money && !r->code && !r->decimal;
        auto cue = take_cue(i, [&](Cue c) {
          if (c == Cue::kNotPii) return true;
          return numeric_ok && compatible(c, *r, last_four);
        });
        type_run(s, *r, cue);
        words_seen += r->te - r->tb;
        i = r->te;
        continue;
      }
      if (tk[i].kind != Kind::kPunct) ++words_seen;
      ++i;
    }
    // Pending cues for the next turn: this segment's unanswered ones; older ones survive one
    // more turn when this one answered nothing.
    std::vector<Pending> next;
    if (!any_value) {
      for (const auto& p : pending_) {
        if (p.age >= 0 && p.age < 1) next.push_back({p.cue, p.age + 1});
      }
    }
    for (const auto& c : cues) {
      if (!c.used && c.cue != Cue::kNotPii && c.cue != Cue::kNameRequest && c.cue != Cue::kEmail) {
        next.push_back({c.cue, 0});
      }
    }
    find_names(s, cues);
    pending_ = std::move(next);
  }

  // ---- person names
  bool name_word(const Token& t, bool cased) const {
    if (t.kind != Kind::kWord || t.low.size() < 2) return false;
    if (has(t, kStopW) || number_word(t) || has(t, kQuantityW)) return false;
    if (cased && !t.upper) return false;
    const auto& w = t.low;
    if (!cased && w.size() > 5 && (w.ends_with("ing") || w.ends_with("ly") || w.ends_with("ed") || w.ends_with("tion")))
      return false;
    return true;
  }
  // Name words at i (1-3), then a spelled-out repeat ("hassan, h a s s a n"); the end token.
  std::optional<std::size_t> name_at(std::size_t s, std::size_t i, bool cased, bool need_boundary) const {
    const auto& tk = tokens_[s];
    if (i < tk.size() && has(tk[i], kHonorificW)) {
      ++i;
      if (i < tk.size() && punct(tk[i], '.')) ++i;
    }
    std::size_t k = i;
    while (k < tk.size() && k - i < 3 && !claimed_[s][k] && name_word(tk[k], cased)) ++k;
    if (k == i) return std::nullopt;
    if (need_boundary && k < tk.size() && name_word(tk[k], cased)) return std::nullopt;
    // Spelled letters after a comma.
    std::size_t m = k;
    if (m < tk.size() && punct(tk[m], ',')) ++m;
    std::size_t letters = m;
    while (letters < tk.size() && single_letter(tk[letters])) ++letters;
    if (letters - m >= 2) k = letters;
    return k;
  }
  void add_name(std::size_t s, std::size_t tb, std::size_t te, double conf) {
    const auto& tk = tokens_[s];
    std::size_t b = tb;
    if (has(tk[b], kHonorificW)) {
      ++b;
      if (b < te && punct(tk[b], '.')) ++b;
    }
    for (std::size_t k = b; k < te; ++k) {
      if (tk[k].kind == Kind::kWord && tk[k].low.size() >= 3 && !has(tk[k], kStopW)) names_.insert(tk[k].low);
    }
    if (b < te) add(s, PiiType::kPersonName, b, te, conf);
  }
  // Whether the turn is written with capitals (a word other than "I" starts with one): then a
  // name must be capitalised too.
  static bool is_cased(const std::vector<Token>& tk) {
    for (const auto& t : tk) {
      if (t.kind == Kind::kWord && t.upper && !is_kw(t, kw_id("i")) && !is_kw(t, kw_id("i'm"))) return true;
    }
    return false;
  }
  void find_names(std::size_t s, const std::vector<CueHit>& cues) {
    const auto& tk = tokens_[s];
    const bool cased = is_cased(tk);
    auto word_is = [&](std::size_t k, int id) { return k < tk.size() && is_kw(tk[k], id); };
    // The answer to "can I have your name?" in the turn before.
    if (name_requested_) {
      std::size_t k = 0;
      while (k < tk.size() && (has(tk[k], kFillerW) || tk[k].kind == Kind::kPunct) && k < 8) ++k;
      if (k < tk.size() && !claimed_[s][k]) {
        if (auto e = name_at(s, k, cased, true)) add_name(s, k, *e, 0.85);
      }
    }
    name_requested_ = false;
    for (const auto& c : cues) {
      if (c.cue == Cue::kNameRequest) {
        bool answered_here = false;
        for (std::size_t k = c.te; k < tk.size() && k < c.te + 2; ++k) answered_here |= name_word(tk[k], cased);
        if (!answered_here || word_is(c.tb, kw_id("speaking"))) name_requested_ = true;
      }
    }
    for (std::size_t i = 0; i < tk.size(); ++i) {
      if (claimed_[s][i] || tk[i].kind != Kind::kWord) continue;
      std::optional<std::size_t> start;
      bool strict = false;
      // "my name is X", "name's X", "the name on the account is X"
      if (is_kw(tk[i], kw_id("name")) && word_is(i + 1, kw_id("is"))) start = i + 2;
      if (is_kw(tk[i], kw_id("name's")) || is_kw(tk[i], kw_id("names"))) start = i + 1;
      if (is_kw(tk[i], kw_id("name")) && (word_is(i + 1, kw_id("on")) || word_is(i + 1, kw_id("of")))) {
        for (std::size_t k = i + 2; k < tk.size() && k < i + 6; ++k) {
          if (is_kw(tk[k], kw_id("is"))) {
            start = k + 1;
            break;
          }
        }
      }
      // "this is X", "is this X", "speaking with X", "I'm X from"
      if (is_kw(tk[i], kw_id("this")) && word_is(i + 1, kw_id("is"))) {
        start = i + 2;
        strict = true;
      }
      if (is_kw(tk[i], kw_id("is")) && word_is(i + 1, kw_id("this"))) {
        start = i + 2;
        strict = true;
      }
      if ((is_kw(tk[i], kw_id("speaking")) || is_kw(tk[i], kw_id("speak"))) && word_is(i + 1, kw_id("with")))
        start = i + 2;
      if (is_kw(tk[i], kw_id("i'm")) && i + 1 < tk.size()) {
        if (auto e = name_at(s, i + 1, cased, true)) {
          if (word_is(*e, kw_id("from")) || word_is(*e, kw_id("with")) || word_is(*e, kw_id("calling")))
            add_name(s, i + 1, *e, 0.85);
        }
        continue;
      }
      // "Mr. Jenkins"
      if (has(tk[i], kHonorificW) && i + 1 < tk.size() && (cased ? true : !is_kw(tk[i], kw_id("dr")))) {
        std::size_t k = i + 1;
        if (k < tk.size() && punct(tk[k], '.')) ++k;
        if (k < tk.size() && name_word(tk[k], cased) && (!cased || tk[k].upper)) {
          if (auto e = name_at(s, k, cased, false)) add_name(s, k, *e, 0.85);
        }
        continue;
      }
      // "Hannah speaking", "Jake here" at the start of a clause
      if ((word_is(i + 1, kw_id("speaking")) || word_is(i + 1, kw_id("here"))) && (i == 0 || breaks(tk[i - 1])) &&
          name_word(tk[i], cased) && (i + 2 >= tk.size() || breaks(tk[i + 2]))) {
        add_name(s, i, i + 1, 0.8);
        continue;
      }
      if (!start || *start >= tk.size()) continue;
      std::size_t k = *start;
      if (has(tk[k], kFillerW) && !name_word(tk[k], cased) && !is_kw(tk[k], kw_id("the"))) {
        // "my name is uh jane"
        if (is_kw(tk[k], kw_id("um")) || is_kw(tk[k], kw_id("uh"))) ++k;
      }
      if (k >= tk.size() || claimed_[s][k]) continue;
      if (auto e = name_at(s, k, cased, strict)) {
        if (strict) {
          // "this is X" needs X to end at a clause break or before from/with/at/calling/here.
          const bool ok_end = *e >= tk.size() || breaks(tk[*e]) || word_is(*e, kw_id("from")) ||
                              word_is(*e, kw_id("with")) || word_is(*e, kw_id("at")) || word_is(*e, kw_id("calling")) ||
                              word_is(*e, kw_id("here")) || word_is(*e, kw_id("speaking")) ||
                              word_is(*e, kw_id("and")) || word_is(*e, kw_id("on")) || word_is(*e, kw_id("i")) ||
                              word_is(*e, kw_id("i'm"));
          if (!ok_end) continue;
        }
        add_name(s, k, *e, 0.9);
        i = *e - 1;
      }
    }
  }

  // A name found anywhere in the call is found everywhere: "hi Daniela", "thanks Marcus".
  void propagate_names() {
    if (names_.empty()) return;
    for (std::size_t s = 0; s < tokens_.size(); ++s) {
      const auto& tk = tokens_[s];
      const bool cased = is_cased(tk);
      for (std::size_t i = 0; i < tk.size(); ++i) {
        if (claimed_[s][i] || tk[i].kind != Kind::kWord || names_.count(tk[i].low) == 0) continue;
        if (has(tk[i], kCommonW) && !tk[i].upper) continue;
        if (cased && !tk[i].upper) continue;
        std::size_t e = i + 1;
        while (e < tk.size() && !claimed_[s][e] && tk[e].kind == Kind::kWord && names_.count(tk[e].low) > 0) ++e;
        add(s, PiiType::kPersonName, i, e, 0.8);
        i = e - 1;
      }
    }
  }
};

}  // namespace

std::string_view pii_name(PiiType t) {
  switch (t) {
    case PiiType::kEmail:
      return "email";
    case PiiType::kPhone:
      return "phone";
    case PiiType::kCard:
      return "card";
    case PiiType::kSpokenDigits:
      return "spoken_digits";
    case PiiType::kExpiry:
      return "expiry";
    case PiiType::kCvv:
      return "cvv";
    case PiiType::kBankAccount:
      return "bank_account";
    case PiiType::kRoutingNumber:
      return "routing_number";
    case PiiType::kSsn:
      return "ssn";
    case PiiType::kAddress:
      return "address";
    case PiiType::kDateOfBirth:
      return "date_of_birth";
    case PiiType::kPersonName:
      return "person_name";
  }
  return "pii";
}

std::string_view pii_placeholder(PiiType t) {
  switch (t) {
    case PiiType::kEmail:
      return "[EMAIL]";
    case PiiType::kPhone:
      return "[PHONE]";
    case PiiType::kCard:
      return "[CARD]";
    case PiiType::kSpokenDigits:
      return "[DIGITS]";
    case PiiType::kExpiry:
      return "[EXPIRY]";
    case PiiType::kCvv:
      return "[CVV]";
    case PiiType::kBankAccount:
      return "[BANK_ACCOUNT]";
    case PiiType::kRoutingNumber:
      return "[ROUTING]";
    case PiiType::kSsn:
      return "[SSN]";
    case PiiType::kAddress:
      return "[ADDRESS]";
    case PiiType::kDateOfBirth:
      return "[DOB]";
    case PiiType::kPersonName:
      return "[NAME]";
  }
  return "[PII]";
}

std::vector<PiiFinding> find_pii_in_turns(const std::vector<std::string>& texts) {
  return Scanner(std::vector<std::string_view>(texts.begin(), texts.end())).run();
}

std::vector<PiiFinding> find_pii(std::string_view text) {
  return Scanner({text}).run();
}

std::string redact(std::string_view text, const std::vector<PiiFinding>& findings) {
  std::string out;
  std::size_t pos = 0;
  for (const auto& f : findings) {
    if (f.begin < pos || f.end > text.size() || f.begin > f.end) continue;
    out.append(text.substr(pos, f.begin - pos));
    out += pii_placeholder(f.type);
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace earshot::analytics
