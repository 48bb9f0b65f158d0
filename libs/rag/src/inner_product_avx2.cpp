// Built with -mavx2 -mfma (libs/rag/CMakeLists.txt) and called only when the CPU has both
// (inner_product.cpp): nothing else may live in this file.
#include "inner_product.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace earshot::rag::detail {

bool have_avx2_form() {
  return true;
}

float inner_product_distance_avx2(const void* a, const void* b, const void* dimension) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const std::size_t n = *static_cast<const std::size_t*>(dimension);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
  }
  if (i + 8 <= n) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
    i += 8;
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  float dot = _mm_cvtss_f32(sum);
  for (; i < n; ++i) dot += x[i] * y[i];
  return 1.0F - dot;
}

}  // namespace earshot::rag::detail

#else

namespace earshot::rag::detail {

bool have_avx2_form() {
  return false;
}

float inner_product_distance_avx2(const void* a, const void* b, const void* dimension) {
  return inner_product_distance_portable(a, b, dimension);
}

}  // namespace earshot::rag::detail

#endif
