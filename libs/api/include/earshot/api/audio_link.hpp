#pragma once
// Signed recording links: a URL a browser's <audio src> can fetch without an Authorization
// header (docs/security.md, "Signed recording links").
//
// A link names one call of one business and an expiry: the signature is HMAC-SHA512-256
// (libsodium crypto_auth) over "bid \n call_id \n exp" under a key derived from the primary
// master key with a label of its own (audio_link_key), never the master key itself. It is
// valid until `exp` (unix seconds), at most kLifetime (+ kSlack for clocks) ahead, and only
// on GET /api/v1/calls/{id}/audio. A link made for a caller who may read personal data
// (pii:read) plays the raw recording where the business redacts: its MAC is over
// "bid \n call_id \n exp \n pii", so an ordinary link cannot be turned into one.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/crypto/keyring.hpp"

namespace earshot::api {

// The key links are signed with, derived from `keys`' primary master key.
[[nodiscard]] std::string audio_link_key(const crypto::Keyring& keys);

class AudioLinkSigner {
 public:
  static constexpr std::chrono::seconds kLifetime{600};
  // How far past kLifetime an expiry may lie (another gateway's clock running ahead).
  static constexpr std::chrono::seconds kSlack{60};

  // `key`: 32 bytes (audio_link_key); the clock decides expiry.
  AudioLinkSigner(std::string key, const Clock& clock);

  struct Link {
    std::int64_t exp = 0;  // unix seconds
    std::string sig;       // base64url, no padding
  };
  // A link for call `call_id` of business `bid`, valid kLifetime from now. kInternal when the
  // key is not 32 bytes.
  [[nodiscard]] Result<Link> sign(std::string_view bid, std::int64_t call_id, bool pii = false) const;
  // Ok when `sig` is this key's MAC of (bid, call_id, exp) and exp is in the future and at
  // most kLifetime + kSlack ahead. kUnauthenticated "audio link expired" for an authentic link
  // past its expiry, "audio link invalid" for anything else. The MAC is compared in constant
  // time.
  [[nodiscard]] Status verify(std::string_view bid, std::int64_t call_id, std::string_view exp, std::string_view sig,
                              bool pii = false) const;

  // The MAC itself (raw bytes): exposed for tests that forge links.
  [[nodiscard]] std::string mac(std::string_view bid, std::int64_t call_id, std::int64_t exp, bool pii = false) const;

 private:
  std::string key_;
  const Clock* clock_;
};

}  // namespace earshot::api
