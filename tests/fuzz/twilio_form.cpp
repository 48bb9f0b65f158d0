// Twilio recording status callbacks: the form body through the decoder, the recording's
// fields, and the signature check over what was decoded.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "earshot/ingest/twilio.hpp"

namespace tw = earshot::ingest::twilio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto params = tw::parse_form(body);
  if (!params) return 0;
  if (auto rec = tw::parse_recording(*params)) {
    if (rec->recording_sid.empty() || rec->duration_s < 0 || rec->channels < 0) __builtin_trap();
  }
  const std::string_view url = "https://calls.example.com/api/v1/ingest/twilio/acme/recording";
  const auto sig = tw::signature("token", url, *params);
  if (!tw::verify("token", url, *params, sig)) __builtin_trap();
  return 0;
}
