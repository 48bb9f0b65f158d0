#include "earshot/rag/vector_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "rag_test_vectors.hpp"

namespace earshot::rag {
namespace {

using testing::random_unit;

VectorIndexSettings small(std::size_t compact_min_deleted = 1024) {
  VectorIndexSettings s;
  s.initial_capacity = 16;
  s.compact_min_deleted = compact_min_deleted;
  return s;
}

class EveryNth final : public KeyFilter {
 public:
  explicit EveryNth(std::uint64_t n) : n_(n) {}
  [[nodiscard]] bool allowed(std::uint64_t key) const override { return key % n_ == 0; }

 private:
  std::uint64_t n_;
};

TEST(VectorIndex, RefusesZeroVectorsAndOtherDimensions) {
  VectorIndex index(4);
  const std::vector<float> zero(4, 0.0F);
  const std::vector<float> three{1, 0, 0};
  ASSERT_FALSE(index.add(1, zero));
  EXPECT_EQ(index.add(1, zero).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.add(1, three).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.search(zero, 3).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.search_exact(three, 3).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 0U);
}

TEST(VectorIndex, NormalisesSoSimilarityIsCosine) {
  VectorIndex index(2);
  ASSERT_TRUE(index.add(7, std::vector<float>{3, 4}));   // (0.6, 0.8)
  ASSERT_TRUE(index.add(8, std::vector<float>{0, -2}));  // (0, -1)
  const auto hits = index.search(std::vector<float>{10, 0}, 2);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 2U);
  EXPECT_EQ((*hits)[0].key, 7U);
  EXPECT_NEAR((*hits)[0].similarity, 0.6F, 1e-5);
  EXPECT_EQ((*hits)[1].key, 8U);
  EXPECT_NEAR((*hits)[1].similarity, 0.0F, 1e-5);
  const auto stored = index.vector_of(7);
  ASSERT_TRUE(stored);
  EXPECT_NEAR((*stored)[0], 0.6F, 1e-6);
}

TEST(VectorIndex, AddingAKeyAgainReplacesItsVector) {
  VectorIndex index(3);
  ASSERT_TRUE(index.add(1, std::vector<float>{1, 0, 0}));
  ASSERT_TRUE(index.add(2, std::vector<float>{0, 0, 1}));
  ASSERT_TRUE(index.add(1, std::vector<float>{0, 1, 0}));
  EXPECT_EQ(index.size(), 2U);
  const auto hits = index.search(std::vector<float>{0, 1, 0}, 1);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1U);
  EXPECT_EQ((*hits)[0].key, 1U);
  EXPECT_NEAR((*hits)[0].similarity, 1.0F, 1e-5);
}

TEST(VectorIndex, ARemovedKeyNeverComesBack) {
  std::mt19937_64 rng(1);
  VectorIndex index(16);
  std::vector<std::vector<float>> vectors;
  for (std::uint64_t key = 0; key < 200; ++key) {
    vectors.push_back(random_unit(rng, 16));
    ASSERT_TRUE(index.add(key, vectors.back()));
  }
  for (std::uint64_t key = 0; key < 200; key += 4) EXPECT_TRUE(index.remove(key));
  EXPECT_FALSE(index.remove(0));
  EXPECT_FALSE(index.remove(999));
  EXPECT_EQ(index.size(), 150U);
  EXPECT_FALSE(index.contains(4));
  EXPECT_FALSE(index.vector_of(4));
  for (std::uint64_t key = 0; key < 200; key += 4) {
    const auto approximate = index.search(vectors[key], 200);
    const auto exact = index.search_exact(vectors[key], 200);
    ASSERT_TRUE(approximate && exact);
    EXPECT_EQ(exact->size(), 150U);
    for (const auto& h : *approximate) EXPECT_NE(h.key % 4, 0U) << h.key;
    for (const auto& h : *exact) EXPECT_NE(h.key % 4, 0U) << h.key;
  }
  ASSERT_TRUE(index.add(4, vectors[4]));  // a removed key may come back by adding it
  const auto hits = index.search(vectors[4], 1);
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->front().key, 4U);
}

TEST(VectorIndex, AFilterDoesNotCutTheResultShort) {
  std::mt19937_64 rng(2);
  VectorIndex index(32);
  for (std::uint64_t key = 0; key < 3000; ++key) ASSERT_TRUE(index.add(key, random_unit(rng, 32)));
  const EveryNth one_in_fifty(50);  // 60 allowed keys among 3000
  for (int q = 0; q < 20; ++q) {
    const auto query = random_unit(rng, 32);
    const auto hits = index.search(query, 20, &one_in_fifty);
    const auto exact = index.search_exact(query, 20, &one_in_fifty);
    ASSERT_TRUE(hits && exact);
    ASSERT_EQ(hits->size(), 20U);
    for (const auto& h : *hits) EXPECT_EQ(h.key % 50, 0U);
    // Every allowed node is reachable, so the walk finds the exact best allowed one.
    EXPECT_EQ(hits->front(), exact->front());
  }
  const std::vector<std::uint64_t> keys{0, 1, 2, 3, 4000};
  const auto listed = index.search_keys(random_unit(rng, 32), keys, 10);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 4U);  // the unknown key is skipped
}

TEST(VectorIndex, GrowsPastItsInitialCapacity) {
  std::mt19937_64 rng(3);
  VectorIndex index(8, small());
  const std::size_t empty_bytes = index.memory_bytes();
  std::vector<std::vector<float>> vectors;
  for (std::uint64_t key = 0; key < 2000; ++key) {
    vectors.push_back(random_unit(rng, 8));
    ASSERT_TRUE(index.add(key, vectors.back()));
  }
  EXPECT_EQ(index.size(), 2000U);
  EXPECT_GE(index.capacity(), 2000U);
  EXPECT_LT(index.capacity(), 4096U);  // doubling, not one slot at a time
  EXPECT_GE(index.memory_bytes(), empty_bytes + 2000 * 8 * sizeof(float));
  for (std::uint64_t key = 0; key < 2000; key += 97) {
    const auto hits = index.search(vectors[key], 1);
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->front().key, key);
  }
}

TEST(VectorIndex, RebuildsWhenDeletedSlotsOutnumberLiveOnes) {
  std::mt19937_64 rng(4);
  VectorIndex index(8, small(100));
  std::vector<std::vector<float>> vectors;
  for (std::uint64_t key = 0; key < 1000; ++key) {
    vectors.push_back(random_unit(rng, 8));
    ASSERT_TRUE(index.add(key, vectors.back()));
  }
  const std::size_t before = index.capacity();
  for (std::uint64_t key = 0; key < 600; ++key) ASSERT_TRUE(index.remove(key));
  EXPECT_LT(index.capacity(), before);  // rebuilt on the live 400 (plus headroom)
  EXPECT_EQ(index.size(), 400U);
  for (std::uint64_t key = 0; key < 1000; key += 50) {
    const auto hits = index.search(vectors[key], 1);
    ASSERT_TRUE(hits);
    if (key < 600) {
      EXPECT_NE(hits->front().key, key);
      EXPECT_GE(hits->front().key, 600U);
    } else {
      EXPECT_EQ(hits->front().key, key);
    }
  }
}

TEST(VectorIndex, BatchAddsWithTwoThreadsAndRefusesABadBatchWhole) {
  std::mt19937_64 rng(5);
  VectorIndex index(16);
  std::vector<std::uint64_t> keys;
  std::vector<float> flat;
  for (std::uint64_t key = 0; key < 3000; ++key) {
    keys.push_back(key);
    const auto v = random_unit(rng, 16);
    flat.insert(flat.end(), v.begin(), v.end());
  }
  ASSERT_TRUE(index.add_batch(keys, flat, 2));
  EXPECT_EQ(index.size(), 3000U);
  std::size_t self_first = 0;
  for (std::size_t i = 0; i < 3000; i += 10) {
    const auto hits = index.search(std::span<const float>(flat).subspan(i * 16, 16), 1);
    ASSERT_TRUE(hits);
    self_first += hits->front().key == keys[i] ? 1 : 0;
  }
  EXPECT_GE(self_first, 297U);

  std::vector<float> bad(2 * 16, 0.5F);
  std::fill(bad.begin() + 16, bad.end(), 0.0F);
  const std::vector<std::uint64_t> bad_keys{5000, 5001};
  EXPECT_EQ(index.add_batch(bad_keys, bad, 2).error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(index.contains(5000));
  EXPECT_EQ(index.size(), 3000U);
}

TEST(VectorIndex, RecallAtTenOnFiveThousandRandomVectors) {
  std::mt19937_64 rng(6);
  testing::TopicVectors topics(rng, 64, 100);
  std::vector<std::uint64_t> keys;
  std::vector<float> flat;
  for (std::uint64_t key = 0; key < 5000; ++key) {
    keys.push_back(key);
    const auto v = topics.next();
    flat.insert(flat.end(), v.begin(), v.end());
  }
  VectorIndex index(64);  // default settings: M 16, ef_construction 200, ef_search 128
  ASSERT_TRUE(index.add_batch(keys, flat, 2));
  const double recall = testing::recall_at(
      index, [&] { return topics.next(); }, 100, 10);
  RecordProperty("recall_at_10", std::to_string(recall));
  EXPECT_GE(recall, 0.95);
}

TEST(VectorIndex, SearchesRunAlongsideAWriter) {
  std::mt19937_64 rng(7);
  VectorIndex index(16);
  const auto anchor = random_unit(rng, 16);
  ASSERT_TRUE(index.add(0, anchor));
  std::vector<std::vector<float>> others;
  for (int i = 0; i < 400; ++i) others.push_back(random_unit(rng, 16));
  std::atomic<bool> done{false};
  std::atomic<int> misses{0};
  std::vector<std::jthread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        const auto hits = index.search(anchor, 5);
        if (!hits || hits->empty() || hits->front().key != 0) ++misses;
      }
    });
  }
  for (std::uint64_t round = 0; round < 3; ++round) {
    for (std::uint64_t i = 0; i < others.size(); ++i) ASSERT_TRUE(index.add(1 + i, others[i]));
    for (std::uint64_t i = 0; i < others.size(); i += 2) EXPECT_TRUE(index.remove(1 + i));
  }
  done = true;
  readers.clear();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(index.size(), 201U);
}

}  // namespace
}  // namespace earshot::rag
