#pragma once
// Base64 helpers (libsodium's constant-time codecs). Standard alphabet with padding for
// stored values; URL-safe without padding for tokens that travel in URLs.

#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::crypto {

enum class Base64Variant { kStandard, kUrlSafeNoPadding };

[[nodiscard]] std::string base64_encode(std::string_view bytes, Base64Variant variant = Base64Variant::kStandard);
// kInvalidArgument when `text` is not valid in the given variant.
[[nodiscard]] Result<std::string> base64_decode(std::string_view text,
                                                Base64Variant variant = Base64Variant::kStandard);

// Lower-case hex of `bytes`.
[[nodiscard]] std::string hex_encode(std::string_view bytes);

// Compares in time independent of where the inputs differ (lengths are not secret).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b);

// SHA-256 of `data` as 32 raw bytes.
[[nodiscard]] std::string sha256(std::string_view data);

}  // namespace earshot::crypto
