#include "inner_product.hpp"

#include <cstdlib>
#include <cstring>

namespace earshot::rag::detail {

float inner_product_distance_portable(const void* a, const void* b, const void* dimension) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const std::size_t n = *static_cast<const std::size_t*>(dimension);
  // Four partial sums: lets the compiler keep them in vector lanes without reassociating.
  float s0 = 0;
  float s1 = 0;
  float s2 = 0;
  float s3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < n; ++i) s0 += x[i] * y[i];
  return 1.0F - ((s0 + s1) + (s2 + s3));
}

namespace {

bool choose_avx2() {
  if (!have_avx2_form()) return false;
  if (const char* forced = std::getenv("EARSHOT_RAG_SIMD"); forced != nullptr && std::strcmp(forced, "portable") == 0) {
    return false;
  }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool use_avx2() {
  static const bool chosen = choose_avx2();
  return chosen;
}

}  // namespace

DistanceFn inner_product_distance() {
  return use_avx2() ? &inner_product_distance_avx2 : &inner_product_distance_portable;
}

const char* inner_product_form() {
  return use_avx2() ? "avx2+fma" : "portable";
}

}  // namespace earshot::rag::detail
