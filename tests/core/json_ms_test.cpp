#include "earshot/core/json_ms.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace earshot {
namespace {

using nlohmann::json;

TEST(JsonMs, IntegersAreKeptInsideTheRangeAndClampedOutside) {
  const auto j = json::parse(R"({"a":1500,"b":-3,"c":18446744073709551615,"d":9223372036854775807,"e":0})");
  EXPECT_EQ(json_ms(j, "a", 7), 1'500);
  EXPECT_EQ(json_ms(j, "b", 7), 0);
  EXPECT_EQ(json_ms(j, "c", 7), kMaxJsonMs);
  EXPECT_EQ(json_ms(j, "d", 7), kMaxJsonMs);
  EXPECT_EQ(json_ms(j, "e", 7), 0);
}

TEST(JsonMs, FloatsAreRoundedAndClampedInfinityAndNanIncluded) {
  // Infinity and NaN cannot be written in JSON text but can be put in a document.
  auto j = json::parse(R"({"a":2.5,"b":1e300,"d":-1e300,"e":-0.4})");
  j["c"] = std::numeric_limits<double>::infinity();
  j["f"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(json_ms(j, "a", 7), 3);
  EXPECT_EQ(json_ms(j, "b", 7), kMaxJsonMs);
  EXPECT_EQ(json_ms(j, "c", 7), kMaxJsonMs);
  EXPECT_EQ(json_ms(j, "d", 7), 0);
  EXPECT_EQ(json_ms(j, "e", 7), 0);
  EXPECT_EQ(json_ms(j, "f", 7), 0);
  EXPECT_EQ(clamp_ms(std::nan("")), 0);
  EXPECT_EQ(clamp_ms(-std::numeric_limits<double>::infinity()), 0);
}

TEST(JsonMs, AnythingElseIsTheFallback) {
  const auto j = json::parse(R"({"s":"12","n":null,"b":true,"o":{}})");
  for (const char* k : {"s", "n", "b", "o", "missing"}) EXPECT_EQ(json_ms(j, k, 42), 42) << k;
  EXPECT_EQ(json_ms(json::array({1, 2}), "a", 42), 42);
}

}  // namespace
}  // namespace earshot
