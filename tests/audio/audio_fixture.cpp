#include "audio_fixture.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>

#include "earshot/audio/audio.hpp"
#include "process.hpp"
#include "test_env.hpp"

namespace earshot::testing {

std::string temp_path(const std::string& name) {
  return fmt::format("{}earshot-audio-{}-{}", ::testing::TempDir(), unique_suffix(), name);
}

std::vector<float> speak(const std::string& text, const std::string& voice, int rate) {
  static std::mutex mu;
  static std::map<std::string, std::vector<float>> cache;
  std::lock_guard lock(mu);
  const std::string key = voice + "|" + std::to_string(rate) + "|" + text;
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const std::string path = temp_path("clip.wav");
  std::ofstream(path + ".txt") << text;
  auto r = run_command(fmt::format("flite -voice {} -f {}.txt -o {}", voice, path, path));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto decoded = audio::decode_file(path);
  std::remove(path.c_str());
  std::remove((path + ".txt").c_str());
  EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().to_string());
  if (!decoded) return {};
  auto clip = audio::resample(decoded->channels[0], decoded->sample_rate, rate);
  const std::size_t ten_ms = static_cast<std::size_t>(rate / 100);
  // Trim leading and trailing frames (10 ms) below -55 dBFS (softer cuts clip onsets such as "th").
  auto level = [&](std::size_t begin) {
    double e = 0;
    const std::size_t end = std::min(clip.size(), begin + ten_ms);
    for (std::size_t i = begin; i < end; ++i) e += static_cast<double>(clip[i]) * clip[i];
    return 10 * std::log10(e / static_cast<double>(ten_ms) + 1e-12);
  };
  std::size_t first = 0;
  while (first + ten_ms < clip.size() && level(first) < -55) first += ten_ms;
  std::size_t last = clip.size();
  while (last > first + ten_ms && level(last - ten_ms) < -55) last -= ten_ms;
  std::vector<float> out(clip.begin() + static_cast<std::ptrdiff_t>(first),
                         clip.begin() + static_cast<std::ptrdiff_t>(last));
  cache[key] = out;
  return out;
}

TestCall build_call(int n_channels, std::int64_t duration_ms, const std::vector<Placement>& parts, int rate) {
  TestCall call;
  call.rate = rate;
  const auto n = static_cast<std::size_t>(duration_ms * rate / 1000);
  call.channels.assign(static_cast<std::size_t>(n_channels), std::vector<float>(n, 0.0f));
  call.truth.assign(static_cast<std::size_t>(n_channels), {});
  for (const auto& p : parts) {
    auto& ch = call.channels[static_cast<std::size_t>(p.channel)];
    const auto offset = static_cast<std::size_t>(p.start_ms * rate / 1000);
    for (std::size_t i = 0; i < p.clip.size() && offset + i < n; ++i) ch[offset + i] += p.clip[i];
    call.truth[static_cast<std::size_t>(p.channel)].push_back({p.start_ms, p.end_ms(rate)});
  }
  return call;
}

void write_wav16(const std::string& path, const std::vector<std::vector<float>>& channels, int rate) {
  const auto frames = static_cast<std::uint32_t>(channels[0].size());
  const auto nch = static_cast<std::uint16_t>(channels.size());
  const std::uint32_t data_bytes = frames * nch * 2;
  std::ofstream out(path, std::ios::binary);
  auto u32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](std::uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  out.write("RIFF", 4);
  u32(36 + data_bytes);
  out.write("WAVEfmt ", 8);
  u32(16);
  u16(1);
  u16(nch);
  u32(static_cast<std::uint32_t>(rate));
  u32(static_cast<std::uint32_t>(rate) * nch * 2);
  u16(static_cast<std::uint16_t>(nch * 2));
  u16(16);
  out.write("data", 4);
  u32(data_bytes);
  for (std::uint32_t i = 0; i < frames; ++i) {
    for (const auto& ch : channels) {
      const auto s = static_cast<std::int16_t>(std::lround(std::clamp(ch[i], -1.0f, 1.0f) * 32767.0f));
      u16(static_cast<std::uint16_t>(s));
    }
  }
}

}  // namespace earshot::testing
