#pragma once
// The chat's composition around retrieval: the prompt with numbered sources, the citations
// read back from the answer, and the answer given when no LLM is configured.
//
// Prompt injection: transcripts and documents are data, never instructions. The system
// prompt says so; each source travels inside its own <source ...> ... </source> block and
// its text (and label) has every '<' and '>' replaced by '‹' and '›', so no source can close
// its block, open another or forge one for a different number: whatever it says stays
// inside its block, as quoted data. The question and the history are the user's own and are
// not wrapped.
//
// Budget: tokens are estimated as llm::estimate_tokens does (ceil(bytes / 4)). Over the
// budget, the lowest-ranked sources go first (down to `min_sources`), then the oldest
// history, then the remaining sources; the system prompt and the question always stay.
//
// Everything here is pure (no I/O, no clock) and thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/llm/chat.hpp"

namespace earshot::rag {

enum class SourceKind { kCall, kKnowledge };

// One retrieved passage as the chat shows and cites it.
struct ChatSource {
  int number = 0;  // 1-based, as cited ("[number]"); sources are numbered in rank order
  SourceKind kind = SourceKind::kCall;
  // kCall: the call; the moment cited (start_ms, end_ms: the utterance of the chunk that best
  // matches the question, else the whole chunk; -1: unknown) and its speaker ("agent" |
  // "customer"; without a matched utterance, the chunk's first line's: see chunk_speaker);
  // the whole chunk's range (chunk_start_ms, chunk_end_ms).
  std::int64_t call_id = 0;
  std::int64_t start_ms = -1;
  std::int64_t end_ms = -1;
  std::int64_t chunk_start_ms = -1;
  std::int64_t chunk_end_ms = -1;
  std::string speaker;
  // kKnowledge: the document and the part of it (chunk_index is 0-based; shown 1-based).
  std::int64_t document_id = 0;
  std::string document_title;
  int chunk_index = 0;
  std::string text;  // the passage (call chunks PII-redacted as stored)
  friend bool operator==(const ChatSource&, const ChatSource&) = default;
};

// "call 42 at 01:23" (no time when start_ms < 0) / "document 'Refund policy', part 3".
[[nodiscard]] std::string source_label(const ChatSource& s);

// The speaker a call chunk's text starts with ("agent: ..." -> "agent"), else empty.
[[nodiscard]] std::string chunk_speaker(std::string_view chunk_text);

struct ChatPromptSettings {
  int token_budget = 6'000;              // estimated tokens of system prompt, history, sources and question
  int max_answer_tokens = 1'024;         // the request's max_tokens
  std::size_t max_history_messages = 8;  // most recent previous messages offered to the budget
  std::size_t min_sources = 1;           // sources kept before history is cut
  double temperature = 0.0;
};

struct ChatPrompt {
  llm::ChatRequest request;
  std::vector<int> source_numbers;   // the sources the prompt carries, in rank order
  std::size_t history_messages = 0;  // previous messages it carries (the most recent ones)
  int estimated_tokens = 0;
};

// `sources` best first, numbered; `history` the session's previous messages, oldest first
// (role "user" | "assistant"). The last message of the request holds the sources and then
// the question.
[[nodiscard]] ChatPrompt build_chat_request(std::string_view question, std::span<const ChatSource> sources,
                                            std::span<const llm::ChatMessage> history,
                                            const ChatPromptSettings& settings = {});

// The system prompt build_chat_request uses.
[[nodiscard]] std::string_view chat_system_prompt();

struct Citation {
  int number = 0;
  ChatSource source;  // the source it names
  friend bool operator==(const Citation&, const Citation&) = default;
};

struct CitedAnswer {
  std::string text;
  std::vector<Citation> citations;  // in order of first use, each source once
};

// Reads the citation markers of an answer: [n], [n, m], [n-m] (also an en dash), any mix
// ("[1, 3-4]"). Numbers naming none of `sources` (out of range, zero) are dropped from the
// marker, and a marker left empty is removed with the space before it; a marker that is not
// well formed ("[2-]", "[1,,2]", "[3-1]") is removed too. Brackets holding anything else
// ("[sic]", "[see notes]") are text and stay.
[[nodiscard]] CitedAnswer extract_citations(std::string_view answer, std::span<const ChatSource> sources);

// The answer without an LLM: a first line saying no LLM is configured and that what follows
// are the most relevant passages, then at most `max_sentences` sentences of the sources, the
// best match with the question's terms first (stop words ignored, rarer terms weigh more),
// one per line, each followed by its source's [n]. When no sentence shares a term with the
// question, an answer that says nothing relevant was found, citing nothing.
[[nodiscard]] CitedAnswer extractive_answer(std::string_view question, std::span<const ChatSource> sources,
                                            std::size_t max_sentences = 3);

}  // namespace earshot::rag
