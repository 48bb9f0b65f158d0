#pragma once
// Personal data in transcripts: e-mail addresses, phone numbers, payment card numbers
// (13-19 digits passing the Luhn check) and digit sequences spoken as words ("four one one
// one ..."). Redaction replaces each finding with a typed placeholder so the redacted text
// stays readable: "[EMAIL]", "[PHONE]", "[CARD]", "[DIGITS]".

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace earshot::analytics {

enum class PiiType { kEmail, kPhone, kCard, kSpokenDigits };
[[nodiscard]] std::string_view pii_name(PiiType t);

struct PiiFinding {
  PiiType type = PiiType::kEmail;
  std::size_t begin = 0;  // byte offsets into the original text
  std::size_t end = 0;
};

[[nodiscard]] std::vector<PiiFinding> find_pii(std::string_view text);
// The text with every finding replaced by its placeholder.
[[nodiscard]] std::string redact(std::string_view text, const std::vector<PiiFinding>& findings);
[[nodiscard]] bool luhn_valid(std::string_view digits);

}  // namespace earshot::analytics
