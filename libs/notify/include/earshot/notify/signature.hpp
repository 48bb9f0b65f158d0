#pragma once
// Webhook request signing: `X-Earshot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`,
// the HMAC keyed with the subscription's secret over "<t>.<body>". Receivers recompute it
// and reject a timestamp outside their tolerance (replays).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/core/error.hpp"

namespace earshot::notify {

inline constexpr std::string_view kSignatureHeader = "X-Earshot-Signature";

// Lower-case hex HMAC-SHA256 of `message` under `key` (any key length).
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// "t=<unix_seconds>,v1=<hex>".
[[nodiscard]] std::string signature_header(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

// Checks a header value against the body: kInvalidArgument when malformed,
// kPermissionDenied when the signature does not match or the timestamp is further than
// `tolerance` from `now_unix`. Comparison in constant time.
[[nodiscard]] Status verify_signature(std::string_view header, std::string_view secret, std::string_view body,
                                      std::int64_t now_unix, std::chrono::seconds tolerance);

// A new random signing secret: "whsec_" + 48 hex characters.
[[nodiscard]] std::string new_signing_secret();

}  // namespace earshot::notify
