#pragma once
// Where in a call a retrieved chunk answers the question: a call chunk spans several
// utterances (transcript segments) and starts at the first, so citing the chunk's start
// points at the wrong moment. The retriever reads the call's transcript and cites the
// utterance inside the chunk that best matches the question instead (IndexRetriever).
//
// Pure (no I/O) and thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace earshot::rag {

struct Utterance {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string speaker;  // "agent" | "customer"
  std::string text;
};

// A stored transcript's segments (transcripts.segments_json: [{speaker, start_ms, end_ms,
// text, ...}]) in their order. "customer" stays the customer and any other speaker is the
// agent, as the analyze stage reads them (and labels the chunks' lines); entries that are
// not objects are skipped; text that is not a JSON array gives none.
[[nodiscard]] std::vector<Utterance> parse_utterances(std::string_view segments_json);

// The utterance that starts within [start_ms, end_ms] (a chunk's range) and shares the most
// distinct terms with `question` (tokenize(), stop words left out); a tie goes to the
// earliest. nullopt when no utterance there shares a term.
[[nodiscard]] std::optional<std::size_t> best_utterance(std::string_view question,
                                                        std::span<const Utterance> utterances, std::int64_t start_ms,
                                                        std::int64_t end_ms);

}  // namespace earshot::rag
