// Recordings as uploads, Twilio callbacks and source syncs bring them: format detection, the
// probe (the ingest's content check) and the decoder itself, on any bytes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "earshot/audio/audio.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  (void)earshot::audio::format_name(earshot::audio::detect_format(bytes));

  // A short duration limit keeps each run fast; the limit's own check is what is fuzzed.
  const earshot::audio::DecodeLimits limits{.max_bytes = 1U << 20, .max_duration = std::chrono::seconds(30)};
  if (auto info = earshot::audio::probe(bytes, limits)) (void)info->duration_ms();
  if (auto buffer = earshot::audio::decode(bytes, limits)) {
    (void)buffer->duration_ms();
    for (const auto& channel : buffer->channels) {
      for (float s : channel) {
        if (!(s >= -1.0F && s <= 1.0F)) __builtin_trap();  // the decoder promises [-1, 1]
      }
    }
  }
  return 0;
}
