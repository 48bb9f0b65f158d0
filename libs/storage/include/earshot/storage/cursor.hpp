#pragma once
// Keyset pagination cursors for the call list. A cursor is the sort key and id of the last
// row of a page, in an opaque URL-safe token; the next page continues strictly after it,
// so no OFFSET scan is ever needed and rows inserted meanwhile do not shift pages.

#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::storage {

enum class CallSort { kStartedAt, kDuration, kSentiment, kQaScore };
enum class SortOrder { kDesc, kAsc };

[[nodiscard]] std::string_view sort_name(CallSort s);

struct CallCursor {
  CallSort sort = CallSort::kStartedAt;
  SortOrder order = SortOrder::kDesc;
  // Integer keys (started_at in ms since epoch, duration in ms) use `int_key`; real-valued
  // keys (sentiment, QA score) use `real_key`, carried bit-exact.
  std::int64_t int_key = 0;
  double real_key = 0;
  std::int64_t id = 0;

  friend bool operator==(const CallCursor&, const CallCursor&) = default;
};

[[nodiscard]] std::string encode_cursor(const CallCursor& c);
// kInvalidArgument for anything encode_cursor did not produce.
[[nodiscard]] Result<CallCursor> decode_cursor(std::string_view token);

}  // namespace earshot::storage
