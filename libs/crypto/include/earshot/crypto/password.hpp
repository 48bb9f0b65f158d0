#pragma once
// Password hashing with argon2id (libsodium crypto_pwhash_str, interactive limits:
// about 60 ms and 64 MiB per hash). The stored string carries its own parameters and salt.

#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::crypto {

// kInvalidArgument for an empty password; kInternal when memory for the hash is unavailable.
[[nodiscard]] Result<std::string> hash_password(std::string_view password);
[[nodiscard]] bool verify_password(std::string_view stored_hash, std::string_view password);
// True when `stored_hash` was made with weaker parameters than today's.
[[nodiscard]] bool password_needs_rehash(std::string_view stored_hash);

}  // namespace earshot::crypto
