#pragma once
// Phone numbers are stored in E.164 ("+15551234567") so calls, CRM leads and searches
// agree on one spelling.

#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::storage {

// Normalizes `raw` to E.164. Accepts "+<cc>...", "00<cc>..." (and "011<cc>..." when the
// default country is 1), and national numbers, which get `default_country_code` (digits,
// e.g. "1", "44") after dropping a national trunk "0" (or a leading "1" for country 1).
// Separators " -.()/" are ignored; an extension ("x12", "ext 12", ";ext=12") is dropped.
// kInvalidArgument when anything else is present or the result is not 8-15 digits.
[[nodiscard]] Result<std::string> normalize_phone_e164(std::string_view raw, std::string_view default_country_code);

}  // namespace earshot::storage
