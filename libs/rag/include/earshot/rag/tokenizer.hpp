#pragma once
// The keyword tokenizer: lower-cased runs of ASCII letters, digits and apostrophes, bytes of
// UTF-8 sequences (>= 0x80) kept inside tokens; everything else separates. It is the token
// rule of llm::HashedBowEmbedder (a copy, so the offline embedder's vectors never change with
// this library; tests/rag/tokenizer_test.cpp checks that both agree token for token).

#include <string>
#include <string_view>
#include <vector>

namespace earshot::rag {

[[nodiscard]] std::vector<std::string> tokenize(std::string_view text);

// A small English stop-word list (articles, pronouns, auxiliaries, prepositions); the keyword
// index neither indexes nor searches these tokens.
[[nodiscard]] bool is_stop_word(std::string_view token);

}  // namespace earshot::rag
