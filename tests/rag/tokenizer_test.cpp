#include "earshot/rag/tokenizer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "earshot/llm/embedding.hpp"

namespace earshot::rag {
namespace {

TEST(Tokenizer, LowerCasedRunsOfLettersDigitsAndApostrophes) {
  EXPECT_EQ(tokenize("Hello, World! It's 42-B caf\xc3\xa9."),
            (std::vector<std::string>{"hello", "world", "it's", "42", "b", "caf\xc3\xa9"}));
  EXPECT_TRUE(tokenize("  ,;- ").empty());
}

TEST(Tokenizer, StopWordsAreTheCommonFunctionWordsOnly) {
  EXPECT_TRUE(is_stop_word("the"));
  EXPECT_TRUE(is_stop_word("you"));
  EXPECT_FALSE(is_stop_word("not"));  // meaningful in calls
  EXPECT_FALSE(is_stop_word("refund"));
}

// The copy must keep agreeing with the offline embedder's token rule: build the hashed
// bag-of-words vector from tokenize()'s tokens and compare it with the embedder's.
TEST(Tokenizer, AgreesWithTheHashedBowEmbedderTokenForToken) {
  constexpr int kDimension = 64;
  const llm::HashedBowEmbedder embedder(kDimension);
  for (const std::string text : {"Hello, World! It's 42-B caf\xc3\xa9.", "I'd like a REFUND for order #A-1234, please",
                                 "  tabs\tand\nnew lines; don't split O'Brien  ", ""}) {
    std::vector<double> v(kDimension, 0.0);
    for (const auto& token : tokenize(text)) {
      std::uint64_t h = 14695981039346656037ULL;
      for (const unsigned char c : token) {
        h ^= c;
        h *= 1099511628211ULL;
      }
      v[h % kDimension] += (h >> 63) != 0 ? -1.0 : 1.0;
    }
    double norm = 0;
    for (const double x : v) norm += x * x;
    const auto expected = embedder.embed_one(text);
    for (int i = 0; i < kDimension; ++i) {
      const double mine = norm > 0 ? v[static_cast<std::size_t>(i)] / std::sqrt(norm) : 0.0;
      EXPECT_NEAR(expected[static_cast<std::size_t>(i)], mine, 1e-6) << text << " slot " << i;
    }
  }
}

}  // namespace
}  // namespace earshot::rag
