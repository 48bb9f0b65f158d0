#pragma once
// Builds test recordings at test time: flite speaks a sentence, the clip is trimmed of its
// leading and trailing silence and placed at an exact offset on a channel, so the speech
// placement (the ground truth for talk time, silence, overtalk, interruptions) is known.

#include <cstdint>
#include <string>
#include <vector>

#include "earshot/audio/vad.hpp"

namespace earshot::testing {

// Mono clip of `text` spoken by flite voice `voice` (slt, rms, awb, kal) at `rate` Hz
// (8 kHz: telephone band; 16 kHz: wideband VoIP).
std::vector<float> speak(const std::string& text, const std::string& voice, int rate = 8000);

struct Placement {
  int channel = 0;
  std::int64_t start_ms = 0;
  std::vector<float> clip;
  [[nodiscard]] std::int64_t end_ms(int rate) const {
    return start_ms + static_cast<std::int64_t>(clip.size()) * 1000 / rate;
  }
};

struct TestCall {
  int rate = 8000;
  std::vector<std::vector<float>> channels;
  std::vector<std::vector<audio::Interval>> truth;  // per channel, speech placement
  [[nodiscard]] std::int64_t duration_ms() const { return static_cast<std::int64_t>(channels[0].size()) * 1000 / rate; }
};

TestCall build_call(int n_channels, std::int64_t duration_ms, const std::vector<Placement>& parts, int rate = 8000);

// Writes 16-bit PCM WAV.
void write_wav16(const std::string& path, const std::vector<std::vector<float>>& channels, int rate);

std::string temp_path(const std::string& name);

}  // namespace earshot::testing
