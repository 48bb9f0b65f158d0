#pragma once
// Encryption at rest with master keys from the environment.
//
// EARSHOT_MASTER_KEYS = "kid:base64key[,kid:base64key...]" (32-byte keys) lists every key
// that may still be needed to decrypt; EARSHOT_MASTER_KEY_ID names the one new values are
// encrypted with. Rotation: add the new key, point the id at it, re-encrypt stored values
// (Keyring::key_id_of tells which key a stored value uses), then drop the old key.
//
// A sealed value is self-describing: "es1" | kid length (1 byte) | kid | 24-byte nonce |
// XSalsa20-Poly1305 ciphertext (libsodium secretbox). Thread-safe after construction.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/config.hpp"
#include "earshot/core/error.hpp"

namespace earshot::crypto {

inline constexpr std::size_t kMasterKeyBytes = 32;

struct MasterKeySettings {
  std::string keys;    // master_keys (secret)
  std::string key_id;  // master_key_id

  // Declares master_keys and master_key_id.
  void declare(ConfigSpec& spec);
};

class Keyring {
 public:
  // Parses "kid:base64key,..." and checks `primary_kid` is one of them. Errors are
  // kInvalidArgument naming EARSHOT_MASTER_KEYS / EARSHOT_MASTER_KEY_ID (never the key).
  [[nodiscard]] static Result<Keyring> parse(std::string_view keys, std::string_view primary_kid);
  [[nodiscard]] static Result<Keyring> from_settings(const MasterKeySettings& settings);
  // A fresh random key, base64 encoded (for `earshot` key generation and tests).
  [[nodiscard]] static std::string generate_key_base64();

  [[nodiscard]] const std::string& primary_key_id() const { return primary_; }

  // Seals `plaintext` under the primary key with a random nonce.
  [[nodiscard]] std::string encrypt(std::string_view plaintext) const;
  // kFailedPrecondition when the value's key id is not configured (names the id);
  // kInvalidArgument when the value is malformed or fails authentication.
  [[nodiscard]] Result<std::string> decrypt(std::string_view sealed) const;
  // The key id a sealed value was encrypted with.
  [[nodiscard]] static Result<std::string> key_id_of(std::string_view sealed);

  // A 32-byte key for one purpose, derived from the primary master key and `label` (keyed
  // BLAKE2b: the label is the message, the master key the key), so the master key itself never
  // signs anything. The same label gives the same key until the primary key id changes; empty for a
  // keyring without keys.
  [[nodiscard]] std::string derive_key(std::string_view label) const;
  // The same derivation under every configured key, the primary key's first: what a value
  // derived before a rotation (and still stored) may have been made with.
  [[nodiscard]] std::vector<std::string> derive_keys(std::string_view label) const;

 private:
  std::map<std::string, std::string, std::less<>> keys_;  // kid -> 32 raw bytes
  std::string primary_;
};

}  // namespace earshot::crypto
