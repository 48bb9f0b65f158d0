#include "earshot/audio/wav_writer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace earshot::audio {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
}

std::int16_t to_i16(float s) {
  const float c = std::clamp(s, -1.0F, 1.0F);
  return static_cast<std::int16_t>(std::lround(c * 32767.0F));
}

std::string header(std::size_t frames, int channels, int sample_rate) {
  const auto data_bytes = static_cast<std::uint32_t>(frames * static_cast<std::size_t>(channels) * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  out += "RIFF";
  put_u32(out, 36 + data_bytes);
  out += "WAVEfmt ";
  put_u32(out, 16);
  put_u16(out, 1);  // PCM
  put_u16(out, static_cast<std::uint16_t>(channels));
  put_u32(out, static_cast<std::uint32_t>(sample_rate));
  put_u32(out, static_cast<std::uint32_t>(sample_rate * channels * 2));
  put_u16(out, static_cast<std::uint16_t>(channels * 2));
  put_u16(out, 16);
  out += "data";
  put_u32(out, data_bytes);
  return out;
}

}  // namespace

std::string encode_wav_pcm16(std::span<const float> samples, int sample_rate) {
  std::string out = header(samples.size(), 1, sample_rate);
  for (float s : samples) put_u16(out, static_cast<std::uint16_t>(to_i16(s)));
  return out;
}

std::string encode_wav_pcm16(const AudioBuffer& audio) {
  const int channels = static_cast<int>(audio.channels.size());
  const std::size_t frames = audio.frames();
  std::string out = header(frames, channels, audio.sample_rate);
  for (std::size_t i = 0; i < frames; ++i) {
    for (const auto& ch : audio.channels) put_u16(out, static_cast<std::uint16_t>(to_i16(ch[i])));
  }
  return out;
}

}  // namespace earshot::audio
