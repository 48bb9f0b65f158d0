// The index's distance in both forms (libs/rag/src/inner_product.hpp) against a double
// precision reference, on every length up to 40 (the tails past 16 and 8) and the embedders'.
#include "inner_product.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

namespace earshot::rag::detail {
namespace {

double reference_distance(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0;
  for (std::size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return 1.0 - dot;
}

std::vector<std::size_t> lengths() {
  std::vector<std::size_t> out;
  for (std::size_t n = 1; n <= 40; ++n) out.push_back(n);
  for (std::size_t n : {255, 256, 384, 768, 1024, 1536}) out.push_back(n);
  return out;
}

bool cpu_has_avx2() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return have_avx2_form() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

TEST(InnerProduct, BothFormsMatchTheReferenceOnEveryLength) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  const bool avx2 = cpu_has_avx2();
  for (const std::size_t n : lengths()) {
    std::vector<float> a(n);
    std::vector<float> b(n);
    for (auto& v : a) v = normal(rng) / std::sqrt(static_cast<float>(n));
    for (auto& v : b) v = normal(rng) / std::sqrt(static_cast<float>(n));
    const double want = reference_distance(a, b);
    EXPECT_NEAR(inner_product_distance_portable(a.data(), b.data(), &n), want, 1e-5) << n;
    if (avx2) {
      EXPECT_NEAR(inner_product_distance_avx2(a.data(), b.data(), &n), want, 1e-5) << n;
    }
    // A unit vector is at distance 0 from itself.
    double norm = 0;
    for (float v : a) norm += static_cast<double>(v) * v;
    for (auto& v : a) v = static_cast<float>(v / std::sqrt(norm));
    EXPECT_NEAR(inner_product_distance()(a.data(), a.data(), &n), 0.0, 1e-5) << n;
  }
}

TEST(InnerProduct, TheChosenFormIsTheFastestTheCpuRuns) {
  const char* forced = std::getenv("EARSHOT_RAG_SIMD");
  if (forced != nullptr && std::strcmp(forced, "portable") == 0) {
    EXPECT_STREQ(inner_product_form(), "portable");
  } else {
    EXPECT_STREQ(inner_product_form(), cpu_has_avx2() ? "avx2+fma" : "portable");
  }
  EXPECT_EQ(inner_product_distance(), std::strcmp(inner_product_form(), "portable") == 0
                                          ? &inner_product_distance_portable
                                          : &inner_product_distance_avx2);
}

}  // namespace
}  // namespace earshot::rag::detail
