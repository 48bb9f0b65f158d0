#pragma once
// Typed personal data in call transcripts, written ("4111 1111 1111 1111", "09/27",
// "jane@example.com") or spoken as words ("four one one one, double one ...", "oh nine twenty
// seven", "jane dot miller at example dot com"): phone numbers, payment cards (Luhn-checked),
// expiry dates, CVV codes, bank account and routing numbers (ABA checksum), social security
// numbers, e-mail addresses, street addresses and ZIP codes, dates of birth and person names
// after introductions. Most types need a cue ("expiry", "routing number", "date of birth",
// "my name is") in the same segment or in the turn before ("what's the expiration date?" then
// "oh nine twenty seven"); cards, phones, written SSNs, e-mails and street addresses are also
// found by their shape alone. A long digit run of unknown meaning is `spoken_digits`. Order,
// ticket, case, claim, confirmation, reference, tracking, invoice, serial and model numbers
// are not personal data and are left alone, as are prices, quantities, times and plain dates.
// Redaction replaces each finding with a typed placeholder so the text stays readable.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace earshot::analytics {

enum class PiiType {
  kEmail,
  kPhone,
  kCard,
  kSpokenDigits,  // a long digit run of unknown meaning
  kExpiry,
  kCvv,
  kBankAccount,
  kRoutingNumber,
  kSsn,
  kAddress,  // street address, apartment or unit, ZIP code
  kDateOfBirth,
  kPersonName,
};
// Stable lower-case name: email, phone, card, spoken_digits, expiry, cvv, bank_account,
// routing_number, ssn, address, date_of_birth, person_name.
[[nodiscard]] std::string_view pii_name(PiiType t);
// The redaction placeholder: [EMAIL], [PHONE], [CARD], [DIGITS], [EXPIRY], [CVV],
// [BANK_ACCOUNT], [ROUTING], [SSN], [ADDRESS], [DOB], [NAME].
[[nodiscard]] std::string_view pii_placeholder(PiiType t);

struct PiiFinding {
  PiiType type = PiiType::kEmail;
  std::size_t begin = 0;  // byte offsets into the segment's text
  std::size_t end = 0;
  double confidence = 1.0;  // 0..1: shape and checksum and cue agree near 1, a bare long digit run 0.5
  std::size_t segment = 0;  // index into the texts of find_pii_in_turns; 0 for find_pii
};

// One text on its own (no context from other turns).
[[nodiscard]] std::vector<PiiFinding> find_pii(std::string_view text);
// The segments of one call in order: a cue in one turn types the answer in the next ("what's
// the expiry?" / "oh nine twenty seven"), and a name found anywhere is found in every segment.
// Findings are sorted by segment, then offset, and never overlap.
[[nodiscard]] std::vector<PiiFinding> find_pii_in_turns(const std::vector<std::string>& texts);
// The text with every finding replaced by its placeholder (findings of one segment, sorted).
[[nodiscard]] std::string redact(std::string_view text, const std::vector<PiiFinding>& findings);
[[nodiscard]] bool luhn_valid(std::string_view digits);
// The ABA routing number checksum: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) divisible by 10.
[[nodiscard]] bool aba_routing_valid(std::string_view digits);

}  // namespace earshot::analytics
