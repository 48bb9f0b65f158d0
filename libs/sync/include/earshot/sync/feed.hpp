#pragma once
// The HuggingFace datasets-server rows API (the shared providers document):
// GET {base}/rows?dataset=OWNER%2FNAME&config=C&split=S&offset=N&limit=M (M <= 100) answers
// {"features", "rows": [{"row_idx", "row": {..columns..}, "truncated_cells"}], "num_rows_total",
// "num_rows_per_page", "partial"}; the flattened shape {"rows": [{..columns..}], "total",
// "limit", "offset"} is accepted too.

#include <optional>
#include <string>
#include <vector>

#include "earshot/core/error.hpp"
#include "earshot/sync/sync_config.hpp"

namespace earshot::sync {

struct FeedRow {
  std::int64_t row_idx = 0;
  std::string customer;
  std::string agent;
  std::string problem;  // non-empty: the row is malformed and skipped, with this reason
};

struct FeedPage {
  std::vector<FeedRow> rows;
  std::optional<std::int64_t> total;
};

// kInvalidArgument when the body is not one of the two shapes; a malformed row is returned
// with its `problem` set (it is skipped, the rest of the page is not).
[[nodiscard]] Result<FeedPage> parse_rows_response(std::string_view body, const FeedConfig& feed, std::int64_t offset);

// The row as transcript segments JSON (customer and agent turns, in the feed's order, timed
// by an estimated speaking rate); sets the call's duration and the transcript's full text.
[[nodiscard]] std::string transcript_segments(const FeedConfig& feed, const FeedRow& row, std::int64_t* duration_ms,
                                              std::string* full_text);

}  // namespace earshot::sync
