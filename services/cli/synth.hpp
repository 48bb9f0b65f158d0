#pragma once
// Synthetic stereo calls for demos: each line of a scripted dialogue is spoken by a flite
// voice and placed on the agent (left) or customer (right) channel.

#include <cstdint>
#include <string>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::cli {

struct SpokenLine {
  bool agent = true;
  std::string text;
  // Silence before the line starts, after the previous line ended; negative: the line starts
  // that long before the previous one ends (an interruption, both talking at once).
  int pause_ms = 0;
};

// A 16-bit stereo WAV of the dialogue at `rate` Hz (agent on channel 0, customer on 1),
// with one second of silence at the end. kFailedPrecondition when flite is missing.
[[nodiscard]] Result<std::string> synthesize_stereo_call(const std::vector<SpokenLine>& lines,
                                                         const std::string& agent_voice,
                                                         const std::string& customer_voice, int rate);

}  // namespace earshot::cli
