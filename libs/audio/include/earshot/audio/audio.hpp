#pragma once
// Decoding call recordings.
//
// The container is recognised from the bytes themselves (magic numbers), never from a file
// name or MIME type: an MP3 named .wav or sent as audio/wav decodes as MP3. WAV (PCM 8/16/
// 24/32-bit, float, G.711 mu-law and A-law), FLAC, OGG/Vorbis and MP3 go through libsndfile.
// Empty, truncated, corrupt and non-audio input is refused with kInvalidArgument and a
// reason a person can act on; limits on size and duration are kInvalidArgument too. A
// silent recording decodes fine: silence is a call with zero talk time, not an error.

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::audio {

enum class AudioFormat { kUnknown, kWav, kFlac, kOgg, kMp3, kAiff };

[[nodiscard]] std::string_view format_name(AudioFormat f);

// Recognises the container from its first bytes (at least 12 are needed for most formats).
[[nodiscard]] AudioFormat detect_format(std::span<const std::uint8_t> head);

struct DecodeLimits {
  std::uint64_t max_bytes = 200ULL << 20;  // 200 MB
  std::chrono::milliseconds max_duration = std::chrono::hours(4);
};

// Decoded audio, one vector of samples in [-1, 1] per channel.
struct AudioBuffer {
  int sample_rate = 0;
  std::vector<std::vector<float>> channels;
  AudioFormat format = AudioFormat::kUnknown;
  std::string codec;  // "pcm_16", "ulaw", "alaw", "float", "vorbis", "mp3", "flac", ...

  [[nodiscard]] std::size_t frames() const { return channels.empty() ? 0 : channels[0].size(); }
  [[nodiscard]] std::int64_t duration_ms() const {
    return sample_rate == 0 ? 0 : static_cast<std::int64_t>(frames()) * 1000 / sample_rate;
  }
};

// What a decode held in memory, by its own count (tests assert memory bounds with it).
struct DecodeStats {
  std::uint64_t frames_read = 0;        // frames decoded before finishing or stopping
  std::uint64_t peak_samples_held = 0;  // most decoded samples held at once (block + output)
};

// Decoding is streaming: libsndfile is read kDecodeBlockFrames frames at a time and stops
// as soon as the duration limit is passed ("audio lasts more than the limit"), so a header
// claiming hours or a small file that expands to hours never costs more than the limit's
// worth of samples (decode) or one block (probe). Nothing is reserved from what a header
// claims: uncompressed audio reserves at most the frames its bytes present can hold. 16-bit
// PCM is read as stored and converted while de-interleaved (s / 32768, as libsndfile's float
// reading gives).
inline constexpr std::int64_t kDecodeBlockFrames = 8192;

[[nodiscard]] Result<AudioBuffer> decode(std::span<const std::uint8_t> bytes, const DecodeLimits& limits = {},
                                         DecodeStats* stats = nullptr);

// The same checks as decode (format, layout, corruption, truncation, duration limit)
// without keeping the samples: memory stays one block whatever the audio's length. The
// result's channels are empty; `frames` says how long it is.
struct AudioInfo {
  int sample_rate = 0;
  int channels = 0;
  std::int64_t frames = 0;
  AudioFormat format = AudioFormat::kUnknown;
  std::string codec;
  [[nodiscard]] std::int64_t duration_ms() const { return sample_rate == 0 ? 0 : frames * 1000 / sample_rate; }
};
[[nodiscard]] Result<AudioInfo> probe(std::span<const std::uint8_t> bytes, const DecodeLimits& limits = {},
                                      DecodeStats* stats = nullptr);
[[nodiscard]] Result<AudioBuffer> decode_file(const std::string& path, const DecodeLimits& limits = {});

// Band-limited (windowed-sinc) resampling of one channel. Same rate returns a copy.
[[nodiscard]] std::vector<float> resample(std::span<const float> in, int from_rate, int to_rate);

// Average of all channels.
[[nodiscard]] std::vector<float> mixdown(const AudioBuffer& audio);

// 16-bit PCM with clipping, as speech engines take it.
[[nodiscard]] std::vector<std::int16_t> to_pcm16(std::span<const float> in);

}  // namespace earshot::audio
