// The recall figure: recall@10 of the HNSW index (default settings) against exact
// search on 100,000 random 256-dimensional vectors, floor 0.95. Hermetic but heavy (a minute
// or more to build the graph), so it carries the `slow` label, not `unit`: the sanitizer
// builds do not run it.
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <vector>

#include "earshot/rag/vector_index.hpp"
#include "rag_test_vectors.hpp"

namespace earshot::rag {
namespace {

constexpr std::size_t kVectors = 100'000;
constexpr std::size_t kDimension = 256;

TEST(VectorIndexRecall, AtTenOnHundredThousandVectorsIsAtLeast95Percent) {
  std::mt19937_64 rng(15);
  testing::TopicVectors topics(rng, kDimension, 2000);
  std::vector<std::uint64_t> keys(kVectors);
  std::vector<float> flat;
  flat.reserve(kVectors * kDimension);
  for (std::size_t i = 0; i < kVectors; ++i) {
    keys[i] = i;
    const auto v = topics.next();
    flat.insert(flat.end(), v.begin(), v.end());
  }
  VectorIndex index(kDimension);
  ASSERT_TRUE(index.add_batch(keys, flat, 2));
  ASSERT_EQ(index.size(), kVectors);
  const double recall = testing::recall_at(
      index, [&] { return topics.next(); }, 200, 10);
  std::cout << "recall@10 (topic vectors, default ef_search): " << recall << "\n";
  RecordProperty("recall_at_10", std::to_string(recall));
  EXPECT_GE(recall, 0.95);

  // Deletions are honoured at this size too: remove every tenth key and ask for the removed.
  for (std::size_t i = 0; i < kVectors; i += 10) ASSERT_TRUE(index.remove(keys[i]));
  for (std::size_t i = 0; i < 2000; i += 10) {
    const auto hits = index.search(std::span<const float>(flat).subspan(i * kDimension, kDimension), 10);
    ASSERT_TRUE(hits);
    for (const auto& h : *hits) EXPECT_NE(h.key % 10, 0U);
  }
}

}  // namespace
}  // namespace earshot::rag
