#include "earshot/storage/cursor.hpp"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <vector>

#include "earshot/crypto/base64.hpp"

namespace earshot::storage {
namespace {

constexpr std::string_view kVersion = "c1";

template <class T>
bool parse_number(std::string_view s, T& out, int base = 10) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

std::string_view sort_name(CallSort s) {
  switch (s) {
    case CallSort::kStartedAt:
      return "started_at";
    case CallSort::kDuration:
      return "duration";
    case CallSort::kSentiment:
      return "sentiment";
    case CallSort::kQaScore:
      return "qa_score";
  }
  return "started_at";
}

std::string encode_cursor(const CallCursor& c) {
  const std::string text =
      fmt::format("{}|{}|{}|{}|{:x}|{}", kVersion, static_cast<int>(c.sort), c.order == SortOrder::kAsc ? 'a' : 'd',
                  c.int_key, std::bit_cast<std::uint64_t>(c.real_key), c.id);
  return crypto::base64_encode(text, crypto::Base64Variant::kUrlSafeNoPadding);
}

Result<CallCursor> decode_cursor(std::string_view token) {
  auto bad = [] { return make_error(ErrorCode::kInvalidArgument, "invalid page cursor"); };
  auto text = crypto::base64_decode(token, crypto::Base64Variant::kUrlSafeNoPadding);
  if (!text) return bad();
  std::vector<std::string_view> parts;
  std::string_view rest = *text;
  while (true) {
    const auto bar = rest.find('|');
    parts.push_back(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  if (parts.size() != 6 || parts[0] != kVersion) return bad();
  CallCursor c;
  int sort = 0;
  std::uint64_t bits = 0;
  if (!parse_number(parts[1], sort) || sort < 0 || sort > 3) return bad();
  c.sort = static_cast<CallSort>(sort);
  if (parts[2] == "a")
    c.order = SortOrder::kAsc;
  else if (parts[2] == "d")
    c.order = SortOrder::kDesc;
  else
    return bad();
  if (!parse_number(parts[3], c.int_key) || !parse_number(parts[4], bits, 16) || !parse_number(parts[5], c.id)) {
    return bad();
  }
  c.real_key = std::bit_cast<double>(bits);
  return c;
}

}  // namespace earshot::storage
