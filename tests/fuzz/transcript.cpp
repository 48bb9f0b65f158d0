// Transcripts pushed in: the segments of the transcript upload API, and the rows of a
// transcript feed (both response shapes) turned into stored segments.
// Input: JSON (segments or a rows response).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "earshot/ingest/ingestor.hpp"
#include "earshot/sync/feed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto j = nlohmann::json::parse(input, nullptr, false);
  if (!j.is_discarded()) {
    if (auto segments = earshot::ingest::parse_segments(j)) {
      std::int64_t previous = 0;
      for (const auto& s : *segments) {
        if (s.end_ms < s.start_ms || s.start_ms < previous || s.text.empty()) __builtin_trap();
        previous = s.start_ms;
      }
    }
  }

  earshot::sync::FeedConfig feed;
  feed.name = "fuzz";
  feed.dataset = "owner/name";
  if (auto page = earshot::sync::parse_rows_response(input, feed, 0)) {
    for (const auto& row : page->rows) {
      if (!row.problem.empty()) continue;
      std::int64_t duration_ms = 0;
      std::string text;
      const auto segments = earshot::sync::transcript_segments(feed, row, &duration_ms, &text);
      if (duration_ms < 0 || nlohmann::json::parse(segments, nullptr, false).is_discarded()) __builtin_trap();
    }
  }
  return 0;
}
