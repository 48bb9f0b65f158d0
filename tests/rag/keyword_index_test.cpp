#include "earshot/rag/keyword_index.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace earshot::rag {
namespace {

std::vector<std::uint64_t> keys_of(const std::vector<KeywordHit>& hits) {
  std::vector<std::uint64_t> keys;
  for (const auto& h : hits) keys.push_back(h.key);
  return keys;
}

class EvenKeys final : public KeyFilter {
 public:
  [[nodiscard]] bool allowed(std::uint64_t key) const override { return key % 2 == 0; }
};

TEST(KeywordIndex, TheChunkWithTheRareTermWins) {
  KeywordIndex index;
  for (std::uint64_t key = 1; key <= 10; ++key) index.add(key, "billing question about the invoice total");
  index.add(11, "billing question about a refund");
  const auto hits = index.search("refund billing", 5);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits.front().key, 11U);
  ASSERT_GE(hits.size(), 2U);
  EXPECT_GT(hits[0].score, 2 * hits[1].score);  // "refund" (df 1) outweighs "billing" (df 11)
}

TEST(KeywordIndex, ShorterChunksWinAtEqualTermFrequency) {
  KeywordIndex index;
  std::string padding;
  for (int i = 0; i < 60; ++i) padding += fmt::format(" filler{}", i);
  index.add(1, "router refund" + padding);
  index.add(2, "router refund quickly");
  index.add(3, "nothing relevant here");
  const auto hits = index.search("router", 5);
  EXPECT_EQ(keys_of(hits), (std::vector<std::uint64_t>{2, 1}));
  EXPECT_GT(hits[0].score, hits[1].score);
}

TEST(KeywordIndex, ScoresFollowBm25) {
  KeywordIndex index;
  index.add(1, "alpha alpha beta");  // length 3
  index.add(2, "gamma delta");       // length 2
  const auto hits = index.search("alpha", 5);
  ASSERT_EQ(hits.size(), 1U);
  // N 2, df 1, avgdl 2.5, tf 2, |d| 3.
  const double idf = std::log(1.0 + (2 - 1 + 0.5) / (1 + 0.5));
  const double norm = 1.2 * (1 - 0.75 + 0.75 * 3 / 2.5);
  EXPECT_NEAR(hits[0].score, idf * 2 * 2.2 / (2 + norm), 1e-5);
}

TEST(KeywordIndex, StopWordsAloneFindNothing) {
  KeywordIndex index;
  index.add(1, "the customer said that it was late");
  EXPECT_TRUE(index.search("the that it was", 5).empty());
  EXPECT_EQ(keys_of(index.search("The LATE", 5)), (std::vector<std::uint64_t>{1}));
}

TEST(KeywordIndex, RemovedAndReplacedTextIsNotFound) {
  KeywordIndex index;
  index.add(1, "alpha beta");
  index.add(2, "alpha gamma");
  EXPECT_TRUE(index.remove(1));
  EXPECT_FALSE(index.remove(1));
  EXPECT_FALSE(index.contains(1));
  EXPECT_EQ(keys_of(index.search("alpha beta", 5)), (std::vector<std::uint64_t>{2}));
  index.add(2, "delta");
  EXPECT_TRUE(index.search("alpha gamma", 5).empty());
  EXPECT_EQ(keys_of(index.search("delta", 5)), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(index.size(), 1U);
}

TEST(KeywordIndex, CompactsWhenTombstonesPileUp) {
  KeywordIndex index(/*compact_min_removed=*/10);
  for (std::uint64_t key = 0; key < 100; ++key) index.add(key, fmt::format("shared word{}", key));
  const std::size_t full = index.memory_bytes();
  for (std::uint64_t key = 0; key < 60; ++key) ASSERT_TRUE(index.remove(key));
  EXPECT_LT(index.memory_bytes(), full);  // postings rewritten without the removed chunks
  const auto hits = index.search("shared", 100);
  ASSERT_EQ(hits.size(), 40U);
  for (const auto& h : hits) EXPECT_GE(h.key, 60U);
  EXPECT_EQ(keys_of(index.search("word75", 5)), (std::vector<std::uint64_t>{75}));
  EXPECT_TRUE(index.search("word7", 5).empty());
  index.add(7, "shared word7");
  EXPECT_EQ(keys_of(index.search("word7", 5)), (std::vector<std::uint64_t>{7}));
}

TEST(KeywordIndex, AFilterDoesNotCutTheResultShort) {
  KeywordIndex index;
  // Odd keys score higher (the term twice) but are filtered out.
  for (std::uint64_t key = 0; key < 40; ++key) index.add(key, key % 2 == 1 ? "router router" : "router modem");
  const EvenKeys even;
  const auto hits = index.search("router", 5, &even);
  ASSERT_EQ(hits.size(), 5U);
  for (const auto& h : hits) EXPECT_EQ(h.key % 2, 0U);
}

}  // namespace
}  // namespace earshot::rag
