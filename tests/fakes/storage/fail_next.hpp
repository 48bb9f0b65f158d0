#pragma once
// A one-shot injected failure for the storage fakes: arm(e) makes the next method call of
// the fake that owns it fail with `e`. Not thread-safe by itself: the owner calls take()
// under its own mutex.

#include <optional>
#include <utility>

#include "earshot/core/error.hpp"

namespace earshot::testing {

class FailNext {
 public:
  void arm(Error e) { failure_ = std::move(e); }
  // The armed failure, once.
  [[nodiscard]] std::optional<Error> take() {
    auto e = std::move(failure_);
    failure_.reset();
    return e;
  }

 private:
  std::optional<Error> failure_;
};

}  // namespace earshot::testing
