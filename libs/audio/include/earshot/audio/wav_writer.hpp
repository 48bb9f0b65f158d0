#pragma once
// Writing audio as WAV (RIFF, 16-bit little-endian PCM), e.g. to send one channel of a stereo
// call to a speech-to-text provider on its own.

#include <span>
#include <string>

#include "earshot/audio/audio.hpp"

namespace earshot::audio {

// A mono WAV file of `samples` (in [-1, 1], clipped) at `sample_rate`. The bytes are
// returned in a std::string, the type HTTP bodies use.
[[nodiscard]] std::string encode_wav_pcm16(std::span<const float> samples, int sample_rate);

// A WAV file with every channel of `audio`, interleaved.
[[nodiscard]] std::string encode_wav_pcm16(const AudioBuffer& audio);

}  // namespace earshot::audio
