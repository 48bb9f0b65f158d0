#pragma once
// The filter both retrievers take: a predicate over 64-bit chunk keys, asked during the search
// (not after it), so a filter narrows what can be found without cutting the result list
// short: the search keeps walking until it has k allowed hits or has seen every candidate.
// Implementations must be cheap and safe to call from several searching threads at once.

#include <cstdint>

namespace earshot::rag {

class KeyFilter {
 public:
  virtual ~KeyFilter() = default;
  [[nodiscard]] virtual bool allowed(std::uint64_t key) const = 0;
};

}  // namespace earshot::rag
