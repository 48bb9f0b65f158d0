#include "earshot/rag/business_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace earshot::rag {
namespace {

SourceChunk call_chunk(std::int64_t row_id, std::int64_t call_id, std::int64_t index, std::string text,
                       std::vector<float> vector) {
  return {.key = call_chunk_key(row_id),
          .source = Source::kCall,
          .owner_id = call_id,
          .chunk_index = index,
          .start_ms = index * 1000,
          .end_ms = index * 1000 + 900,
          .text = std::move(text),
          .vector = std::move(vector)};
}

SourceChunk whole_call(std::int64_t row_id, std::int64_t call_id, std::vector<float> vector) {
  return {.key = call_chunk_key(row_id),
          .source = Source::kCall,
          .owner_id = call_id,
          .chunk_index = -1,
          .start_ms = 0,
          .end_ms = 0,
          .text = {},
          .vector = std::move(vector)};
}

SourceChunk knowledge_chunk(std::int64_t row_id, std::int64_t document_id, std::int64_t index, std::string text,
                            std::vector<float> vector) {
  return {.key = knowledge_chunk_key(row_id),
          .source = Source::kKnowledge,
          .owner_id = document_id,
          .chunk_index = index,
          .start_ms = 0,
          .end_ms = 0,
          .text = std::move(text),
          .vector = std::move(vector)};
}

std::vector<std::uint64_t> keys_of(const std::vector<SearchHit>& hits) {
  std::vector<std::uint64_t> keys;
  for (const auto& h : hits) keys.push_back(h.key);
  return keys;
}

const std::vector<float> kQuery{1, 0, 0, 0};

// Four call chunks and two knowledge chunks around the query "refund router" / (1, 0, 0, 0):
//   key 1: best vector, no query term;        key 2: second vector, both terms once;
//   key 3: best keywords, orthogonal vector;  key 4: neither.
// Knowledge: key k10 "router refund policy" close to the query, k11 far and unrelated.
class BusinessIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<SourceChunk> rows{
        call_chunk(1, 100, 0, "hello there how can I help", {1, 0, 0, 0}),
        call_chunk(2, 100, 1, "I want a refund for the router please", {0.9F, 0.1F, 0, 0}),
        call_chunk(3, 200, 0, "refund router refund router refund", {0, 0, 1, 0}),
        call_chunk(4, 200, 1, "the weather is nice today", {0, 0, 0, 1}),
        whole_call(5, 100, {1, 1, 0, 0}),
        whole_call(6, 200, {0, 1, 1, 0}),
        knowledge_chunk(10, 7, 0, "router refund policy", {0.8F, 0, 0.2F, 0}),
        knowledge_chunk(11, 8, 0, "holiday opening hours", {0, -1, 0, 0}),
    };
    ASSERT_TRUE(index.add_rows(rows));
  }
  BusinessIndex index;
};

TEST_F(BusinessIndexTest, AChunkFoundByBothRetrieversRanksFirst) {
  SearchOptions options;
  options.k = 4;
  options.sources = SourceSet::kCalls;
  options.min_similarity = 0.5F;
  const auto hits = index.search("refund router", kQuery, options);
  ASSERT_TRUE(hits);
  // Vector list [1, 2]; keyword list [3, 2]: 2 is in both (1/62 + 1/62), then 1 and 3 (1/61 each).
  ASSERT_EQ(keys_of(*hits), (std::vector<std::uint64_t>{2, 1, 3}));
  const auto& top = hits->front();
  EXPECT_DOUBLE_EQ(top.score, 2.0 / 62);
  ASSERT_TRUE(top.similarity && top.bm25);
  EXPECT_NEAR(*top.similarity, 0.9F / std::sqrt(0.82F), 1e-5);
  EXPECT_GT(*top.bm25, 0);
  EXPECT_EQ(top.meta,
            (ChunkMeta{.source = Source::kCall, .owner_id = 100, .chunk_index = 1, .start_ms = 1000, .end_ms = 1900}));
  EXPECT_FALSE((*hits)[1].bm25);        // key 1: vector only
  EXPECT_FALSE((*hits)[2].similarity);  // key 3: keyword only (its vector is below min_similarity)
}

TEST_F(BusinessIndexTest, MinSimilarityDropsWeakVectorHits) {
  SearchOptions options;
  options.sources = SourceSet::kCalls;
  options.min_similarity = 0.95F;
  const auto hits = index.search("", kQuery, options);
  ASSERT_TRUE(hits);
  EXPECT_EQ(keys_of(*hits), (std::vector<std::uint64_t>{1, 2}));
  options.min_similarity.reset();
  EXPECT_EQ(index.search("", kQuery, options)->size(), 4U);
}

TEST_F(BusinessIndexTest, SourcesAndAllowedIdsFilterBothRetrievers) {
  SearchOptions options;
  options.sources = SourceSet::kKnowledge;
  auto hits = index.search("refund router", kQuery, options);
  ASSERT_TRUE(hits);
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().key, knowledge_chunk_key(10));
  for (const auto& h : *hits) EXPECT_EQ(h.meta.source, Source::kKnowledge);

  options.sources = SourceSet::kBoth;
  options.allowed_call_ids = std::unordered_set<std::int64_t>{200};
  options.allowed_document_ids = std::unordered_set<std::int64_t>{};  // no documents
  hits = index.search("refund router", kQuery, options);
  ASSERT_TRUE(hits);
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().key, 3U);
  for (const auto& h : *hits) EXPECT_EQ(h.meta.owner_id, 200);

  options.allowed_document_ids.reset();  // all documents, call 200 only: the filtered graph walk
  hits = index.search("refund router", kQuery, options);
  ASSERT_TRUE(hits);
  for (const auto& h : *hits) {
    EXPECT_TRUE(h.meta.source == Source::kKnowledge || h.meta.owner_id == 200) << h.key;
  }
  const auto keys = keys_of(*hits);
  EXPECT_NE(std::find(keys.begin(), keys.end(), knowledge_chunk_key(10)), keys.end());

  options.allowed_call_ids = std::unordered_set<std::int64_t>{999};
  options.sources = SourceSet::kCalls;
  hits = index.search("refund router", kQuery, options);
  ASSERT_TRUE(hits);
  EXPECT_TRUE(hits->empty());
}

TEST_F(BusinessIndexTest, ReplaceCallDropsTheOldKeys) {
  ASSERT_TRUE(
      index.replace_call(100, std::vector<SourceChunk>{call_chunk(20, 100, 0, "router refund again", {1, 0, 0, 0}),
                                                       whole_call(21, 100, {0, 0, 1, 1})}));
  EXPECT_FALSE(index.meta(1));
  EXPECT_FALSE(index.meta(2));
  EXPECT_EQ(index.chunk_count(), 5U);  // 20, 3, 4 and two knowledge chunks
  SearchOptions options;
  options.k = 20;
  const auto hits = index.search("refund router hello", kQuery, options);
  ASSERT_TRUE(hits);
  const auto keys = keys_of(*hits);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), 1U), 0);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), 2U), 0);
  EXPECT_EQ(keys.front(), 20U);

  index.remove_call(100);
  EXPECT_FALSE(index.meta(20));
  EXPECT_EQ(index.similar_calls(100, 3).error().code, ErrorCode::kNotFound);
  index.remove_document(7);
  EXPECT_FALSE(index.meta(knowledge_chunk_key(10)));
  EXPECT_EQ(index.chunk_count(), 3U);
}

TEST_F(BusinessIndexTest, ReplaceRefusesRowsOfAnotherOwnerOrDimension) {
  EXPECT_EQ(index.replace_call(100, std::vector<SourceChunk>{call_chunk(30, 200, 0, "x", {1, 0, 0, 0})}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.replace_call(100, std::vector<SourceChunk>{call_chunk(30, 100, 0, "x", {1, 0, 0})}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(index.replace_call(100, std::vector<SourceChunk>{call_chunk(30, 100, 0, "x", {0, 0, 0, 0})}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(index.meta(1));  // nothing changed
  EXPECT_EQ(index.search("x", std::vector<float>{1, 0}, {}).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(BusinessIndexTest, SimilarCallsExcludeTheCallItself) {
  ASSERT_TRUE(index.replace_call(300, std::vector<SourceChunk>{whole_call(40, 300, {1, 0.9F, 0, 0})}));
  const auto similar = index.similar_calls(100, 5);
  ASSERT_TRUE(similar);
  ASSERT_EQ(similar->size(), 2U);
  EXPECT_EQ((*similar)[0].call_id, 300);
  EXPECT_EQ((*similar)[1].call_id, 200);
  EXPECT_GT((*similar)[0].similarity, (*similar)[1].similarity);
  EXPECT_NEAR((*similar)[1].similarity, 0.5F, 1e-5);  // (1,1,0,0)·(0,1,1,0) / 2
  EXPECT_EQ(index.call_vector_count(), 3U);
  EXPECT_EQ(index.similar_calls(999, 5).error().code, ErrorCode::kNotFound);
}

TEST(BusinessIndex, AnEmptyShardAnswersWithNothing) {
  const BusinessIndex empty;
  const auto hits = empty.search("refund", kQuery, {});
  ASSERT_TRUE(hits);
  EXPECT_TRUE(hits->empty());
  EXPECT_GT(empty.memory_bytes(), 0U);
}

}  // namespace
}  // namespace earshot::rag
