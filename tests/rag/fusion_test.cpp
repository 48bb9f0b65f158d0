#include "earshot/rag/fusion.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace earshot::rag {
namespace {

using Lists = std::vector<std::vector<std::uint64_t>>;

TEST(ReciprocalRankFusion, AnItemInBothListsBeatsTheTopOfOne) {
  const Lists lists{{1, 2, 3}, {3, 4, 1}};
  const auto fused = reciprocal_rank_fusion(lists);
  ASSERT_EQ(fused.size(), 4U);
  // 1: 1/61 + 1/63; 3: 1/63 + 1/61 (equal: 1 came first); 2: 1/62; 4: 1/62.
  EXPECT_EQ(fused[0].key, 1U);
  EXPECT_EQ(fused[1].key, 3U);
  EXPECT_EQ(fused[2].key, 2U);
  EXPECT_EQ(fused[3].key, 4U);
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 61 + 1.0 / 63);
  EXPECT_EQ(fused[0].ranks, (std::vector<int>{1, 3}));
  EXPECT_EQ(fused[3].ranks, (std::vector<int>{0, 2}));
}

TEST(ReciprocalRankFusion, LimitAndKAreHonoured) {
  const Lists lists{{10, 20, 30}, {30}};
  const auto top = reciprocal_rank_fusion(lists, 1, 1.0);
  ASSERT_EQ(top.size(), 1U);
  EXPECT_EQ(top[0].key, 30U);  // 1/4 + 1/2 beats 1/2
  EXPECT_DOUBLE_EQ(top[0].score, 0.25 + 0.5);
}

TEST(ReciprocalRankFusion, ARepeatedKeyCountsAtItsFirstRankAndEmptyInputGivesNothing) {
  const Lists lists{{5, 5, 6}};
  const auto fused = reciprocal_rank_fusion(lists);
  ASSERT_EQ(fused.size(), 2U);
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 61);
  EXPECT_DOUBLE_EQ(fused[1].score, 1.0 / 63);
  EXPECT_TRUE(reciprocal_rank_fusion(Lists{}).empty());
  EXPECT_TRUE(reciprocal_rank_fusion(Lists{{}, {}}).empty());
}

}  // namespace
}  // namespace earshot::rag
