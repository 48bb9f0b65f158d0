#include "earshot/rag/tokenizer.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace earshot::rag {

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '\'' || c >= 0x80) {
      current.push_back(static_cast<char>(std::tolower(c)));
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

namespace {

// Sorted (checked below), for binary search. "no" and "not" stay searchable: in calls they
// carry meaning ("not working").
constexpr std::array<std::string_view, 75> kStopWords{
    "a",     "about", "after", "all",   "am",    "an",   "and",   "any", "are",  "as",  "at",   "be",   "been",
    "but",   "by",    "can",   "could", "did",   "do",   "does",  "for", "from", "had", "has",  "have", "he",
    "her",   "him",   "his",   "how",   "i",     "i'm",  "if",    "in",  "into", "is",  "it",   "it's", "its",
    "just",  "me",    "my",    "of",    "ok",    "on",   "or",    "our", "she",  "so",  "than", "that", "the",
    "their", "them",  "then",  "there", "these", "they", "this",  "to",  "too",  "us",  "was",  "we",   "were",
    "what",  "when",  "which", "who",   "will",  "with", "would", "yes", "you",  "your"};
static_assert(std::is_sorted(kStopWords.begin(), kStopWords.end()));

}  // namespace

bool is_stop_word(std::string_view token) {
  return std::binary_search(kStopWords.begin(), kStopWords.end(), token);
}

}  // namespace earshot::rag
