#pragma once
// API keys: 32 random bytes shown once to the user, stored only as their SHA-256.
// A plain hash is enough because the secret is high-entropy (no dictionary to try); the
// lookup is by hash, then compared in constant time.
//
// Format: "esk_" + 8-char public prefix + "_" + base64url(32 bytes). The prefix is stored in
// clear so a key can be named in the UI and logs without revealing it.

#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::crypto {

struct GeneratedApiKey {
  std::string secret;  // give to the user once; never store or log
  std::string prefix;  // safe to store and show
  std::string hash;    // 32 raw bytes, stored
};

[[nodiscard]] GeneratedApiKey generate_api_key();
// 32 raw bytes. Works for any string; callers look the hash up to authenticate.
[[nodiscard]] std::string hash_api_key(std::string_view secret);
// The public prefix of a well-formed key; kInvalidArgument otherwise.
[[nodiscard]] Result<std::string> api_key_prefix(std::string_view secret);

}  // namespace earshot::crypto
