#pragma once
// Random unit vectors and recall measurement shared by the rag index tests.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <unordered_set>
#include <vector>

#include "earshot/rag/vector_index.hpp"

namespace earshot::rag::testing {

inline std::vector<float> random_unit(std::mt19937_64& rng, std::size_t dimension) {
  std::normal_distribution<float> normal(0.0F, 1.0F);
  std::vector<float> v(dimension);
  double norm = 0;
  for (auto& x : v) {
    x = normal(rng);
    norm += static_cast<double>(x) * x;
  }
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

// Random vectors shaped like text embeddings: `centres` random topic directions, each vector
// its topic plus isotropic noise of the same norm (cosine to its topic about 0.7, to a
// neighbour of the same topic about 0.5). Isotropic random vectors at this dimension are the
// worst case of every graph index (the nearest neighbour is hardly nearer than the rest) and
// tell little about embeddings, which lie near a low-dimensional surface.
class TopicVectors {
 public:
  TopicVectors(std::mt19937_64& rng, std::size_t dimension, std::size_t centres) : rng_(&rng), dimension_(dimension) {
    for (std::size_t i = 0; i < centres; ++i) centres_.push_back(random_unit(rng, dimension));
  }
  std::vector<float> next() {
    auto v = random_unit(*rng_, dimension_);
    const auto& centre = centres_[(*rng_)() % centres_.size()];
    for (std::size_t j = 0; j < dimension_; ++j) v[j] += centre[j];
    return v;
  }

 private:
  std::mt19937_64* rng_;
  std::size_t dimension_;
  std::vector<std::vector<float>> centres_;
};

// Mean over `queries` random queries of |HNSW top k ∩ exact top k| / k.
template <class NextQuery>
double recall_at(const VectorIndex& index, NextQuery next_query, std::size_t queries, std::size_t k) {
  double sum = 0;
  for (std::size_t q = 0; q < queries; ++q) {
    const auto query = next_query();
    const auto approximate = index.search(query, k);
    const auto exact = index.search_exact(query, k);
    if (!approximate || !exact) return 0;
    std::unordered_set<std::uint64_t> truth;
    for (const auto& h : *exact) truth.insert(h.key);
    std::size_t found = 0;
    for (const auto& h : *approximate) found += truth.contains(h.key) ? 1 : 0;
    sum += static_cast<double>(found) / static_cast<double>(k);
  }
  return sum / static_cast<double>(queries);
}

}  // namespace earshot::rag::testing
