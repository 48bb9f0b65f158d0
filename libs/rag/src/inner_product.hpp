#pragma once
// The inner-product distance (1 - a·b) the vector index ranks by, in the fastest form the CPU
// runs: AVX2 + FMA (8 floats per step, two accumulators) where the CPU has them, else a
// portable loop the compiler vectorises for the baseline (SSE2). Chosen once per process
// (`inner_product_distance()`); both forms read exactly `dimension` floats of each vector.

#include <cstddef>

namespace earshot::rag::detail {

// hnswlib's distance function shape: the third argument points at the dimension (size_t).
using DistanceFn = float (*)(const void* a, const void* b, const void* dimension);

[[nodiscard]] float inner_product_distance_portable(const void* a, const void* b, const void* dimension);
// Only where the CPU has AVX2 and FMA (inner_product_avx2.cpp is built with -mavx2 -mfma).
[[nodiscard]] float inner_product_distance_avx2(const void* a, const void* b, const void* dimension);
// True when this build has the AVX2 form (x86-64 with GCC or Clang).
[[nodiscard]] bool have_avx2_form();

// The form this CPU runs best; EARSHOT_RAG_SIMD=portable forces the portable one.
[[nodiscard]] DistanceFn inner_product_distance();
// "avx2+fma" or "portable": what inner_product_distance() chose.
[[nodiscard]] const char* inner_product_form();

}  // namespace earshot::rag::detail
