#include "earshot/analytics/pii.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace earshot::analytics {
namespace {

bool digit(char c) {
  return c >= '0' && c <= '9';
}
bool alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}
bool alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool email_local_char(char c) {
  return alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool email_domain_char(char c) {
  return alnum(c) || c == '.' || c == '-';
}

void find_emails(std::string_view t, std::vector<PiiFinding>& out) {
  for (std::size_t at = t.find('@'); at != std::string_view::npos; at = t.find('@', at + 1)) {
    std::size_t b = at;
    while (b > 0 && email_local_char(t[b - 1])) --b;
    std::size_t e = at + 1;
    while (e < t.size() && email_domain_char(t[e])) ++e;
    while (e > at + 1 && (t[e - 1] == '.' || t[e - 1] == '-')) --e;  // trailing sentence dot
    const auto domain = t.substr(at + 1, e - at - 1);
    const auto dot = domain.rfind('.');
    if (b < at && dot != std::string_view::npos && dot > 0 && domain.size() - dot - 1 >= 2) {
      out.push_back({PiiType::kEmail, b, e});
    }
  }
}

// Runs of digits joined by single separators (space, dash, dot, parentheses, slash), with
// an optional leading '+'.
void find_digit_runs(std::string_view t, std::vector<PiiFinding>& out) {
  std::size_t i = 0;
  while (i < t.size()) {
    if (!digit(t[i]) || (i > 0 && alpha(t[i - 1]))) {
      ++i;
      continue;
    }
    std::size_t b = i;
    if (b > 0 && t[b - 1] == '+') --b;
    if (b > 0 && t[b - 1] == '(') --b;
    std::string digits;
    std::size_t e = i;
    std::size_t j = i;
    while (j < t.size()) {
      if (digit(t[j])) {
        digits += t[j];
        e = ++j;
        continue;
      }
      const char c = t[j];
      const bool sep = c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
      if (sep && j + 1 < t.size() &&
          (digit(t[j + 1]) || (c == ')' && t[j + 1] == ' ' && j + 2 < t.size() && digit(t[j + 2])))) {
        ++j;
        continue;
      }
      break;
    }
    if (e < t.size() && alpha(t[e])) {  // "4G", "10am": part of a word
      i = e;
      continue;
    }
    if (digits.size() >= 13 && digits.size() <= 19 && luhn_valid(digits)) {
      out.push_back({PiiType::kCard, b, e});
    } else if (digits.size() >= 7 && digits.size() <= 15) {
      out.push_back({PiiType::kPhone, b, e});
    }
    i = e;
  }
}

constexpr std::array<std::string_view, 11> kDigitWords = {"zero", "oh",  "one",   "two",   "three", "four",
                                                          "five", "six", "seven", "eight", "nine"};

bool digit_word(std::string_view w) {
  std::string lw;
  for (char c : w) lw += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lw == "double" || lw == "triple") return true;
  return std::find(kDigitWords.begin(), kDigitWords.end(), lw) != kDigitWords.end();
}

// Four or more digit words in a row ("double" and "triple" count as part of the run).
void find_spoken_digits(std::string_view t, std::vector<PiiFinding>& out) {
  struct Word {
    std::size_t b, e;
  };
  std::vector<Word> run;
  auto flush = [&] {
    if (run.size() >= 4) out.push_back({PiiType::kSpokenDigits, run.front().b, run.back().e});
    run.clear();
  };
  std::size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && !alpha(t[i])) {
      // Punctuation other than spaces and commas/dashes ends a spoken run.
      if (t[i] != ' ' && t[i] != ',' && t[i] != '-') flush();
      ++i;
    }
    std::size_t b = i;
    while (i < t.size() && alpha(t[i])) ++i;
    if (b == i) break;
    if (digit_word(t.substr(b, i - b))) {
      run.push_back({b, i});
    } else {
      flush();
    }
  }
  flush();
}

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
  }
  return "pii";
}

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (!digit(*it)) return false;
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

std::vector<PiiFinding> find_pii(std::string_view text) {
  std::vector<PiiFinding> all;
  find_emails(text, all);
  find_digit_runs(text, all);
  find_spoken_digits(text, all);
  std::sort(all.begin(), all.end(), [](const PiiFinding& a, const PiiFinding& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end > b.end);
  });
  // Drop findings inside an earlier one (digits of an e-mail address).
  std::vector<PiiFinding> out;
  for (const auto& f : all) {
    if (!out.empty() && f.begin < out.back().end) continue;
    out.push_back(f);
  }
  return out;
}

std::string redact(std::string_view text, const std::vector<PiiFinding>& findings) {
  std::string out;
  std::size_t pos = 0;
  for (const auto& f : findings) {
    if (f.begin < pos) continue;
    out.append(text.substr(pos, f.begin - pos));
    switch (f.type) {
      case PiiType::kEmail:
        out += "[EMAIL]";
        break;
      case PiiType::kPhone:
        out += "[PHONE]";
        break;
      case PiiType::kCard:
        out += "[CARD]";
        break;
      case PiiType::kSpokenDigits:
        out += "[DIGITS]";
        break;
    }
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace earshot::analytics
