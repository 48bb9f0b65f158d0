#include "earshot/storage/phone.hpp"

#include <cctype>

namespace earshot::storage {
namespace {

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

std::string_view strip_extension(std::string_view s) {
  std::string lower(s);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view marker : {";ext=", "ext.", "ext", "x", "#"}) {
    const auto at = lower.find(marker);
    if (at != std::string::npos && at > 0) return s.substr(0, at);
  }
  return s;
}

}  // namespace

Result<std::string> normalize_phone_e164(std::string_view raw, std::string_view default_country_code) {
  auto invalid = [&] { return make_error(ErrorCode::kInvalidArgument, "not a valid phone number"); };
  if (!all_digits(default_country_code) || default_country_code.size() > 3 || default_country_code.front() == '0') {
    return make_error(ErrorCode::kInvalidArgument, "default country code must be 1-3 digits");
  }
  std::string_view s = strip_extension(raw);
  bool plus = false;
  std::string digits;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '\t') {
      continue;
    } else {
      return invalid();
    }
  }
  std::string international;
  if (plus) {
    international = digits;
  } else if (digits.starts_with("00")) {
    international = digits.substr(2);
  } else if (default_country_code == "1" && digits.starts_with("011")) {
    international = digits.substr(3);
  } else if (default_country_code == "1") {
    if (digits.size() == 11 && digits.front() == '1') {
      international = digits;
    } else if (digits.size() == 10) {
      international = "1" + digits;
    } else {
      return invalid();
    }
  } else {
    std::string_view national = digits;
    if (national.starts_with('0')) national.remove_prefix(1);
    international = std::string(default_country_code) + std::string(national);
  }
  if (international.size() < 8 || international.size() > 15 || international.front() == '0') {
    return invalid();
  }
  return "+" + international;
}

}  // namespace earshot::storage
