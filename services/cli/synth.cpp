#include "synth.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "earshot/audio/audio.hpp"
#include "earshot/audio/wav_writer.hpp"

namespace earshot::cli {

namespace {

Result<std::vector<float>> speak(const std::string& text, const std::string& voice, int rate) {
  // Script text is ours (letters, digits, spaces and basic punctuation); quotes would break
  // the shell command, so they are dropped.
  std::string clean;
  for (char c : text) {
    if (c != '"' && c != '\\' && c != '`' && c != '$') clean.push_back(c);
  }
  const auto path = std::filesystem::temp_directory_path() /
                    fmt::format("earshot-synth-{}-{:x}.wav", ::getpid(), std::random_device{}());
  const std::string cmd = fmt::format("flite -voice {} -t \"{}\" -o {} 2>/dev/null", voice, clean, path.string());
  if (std::system(cmd.c_str()) != 0) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "flite is needed to synthesise demo calls (scripts/install-deps.sh)");
  }
  auto a = audio::decode_file(path.string());
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (!a) return std::unexpected(a.error());
  return audio::resample(a->channels[0], a->sample_rate, rate);
}

}  // namespace

Result<std::string> synthesize_stereo_call(const std::vector<SpokenLine>& lines, const std::string& agent_voice,
                                           const std::string& customer_voice, int rate) {
  std::vector<std::vector<float>> ch(2);
  std::int64_t cursor = 0;  // end of the latest line, in samples
  for (const auto& line : lines) {
    auto clip = speak(line.text, line.agent ? agent_voice : customer_voice, rate);
    if (!clip) return std::unexpected(clip.error());
    const std::int64_t start =
        std::max<std::int64_t>(0, cursor + static_cast<std::int64_t>(line.pause_ms) * rate / 1000);
    const auto end = static_cast<std::size_t>(start) + clip->size();
    for (auto& c : ch) c.resize(std::max(c.size(), end), 0.0f);
    auto& dst = ch[line.agent ? 0 : 1];
    for (std::size_t i = 0; i < clip->size(); ++i) dst[static_cast<std::size_t>(start) + i] += (*clip)[i];
    cursor = std::max<std::int64_t>(cursor, static_cast<std::int64_t>(end));
  }
  for (auto& c : ch) c.resize(static_cast<std::size_t>(cursor + rate), 0.0f);
  audio::AudioBuffer buffer;
  buffer.sample_rate = rate;
  buffer.channels = std::move(ch);
  return audio::encode_wav_pcm16(buffer);
}

}  // namespace earshot::cli
