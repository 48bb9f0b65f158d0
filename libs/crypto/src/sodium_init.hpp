#pragma once
#include <sodium.h>

#include <cstdlib>

namespace earshot::crypto::detail {

// libsodium must be initialised once before use; sodium_init is itself thread-safe and
// idempotent. Failure means no usable randomness: continuing would be a security bug.
inline void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

}  // namespace earshot::crypto::detail
