// Speech provider answers: the Deepgram, OpenAI/Whisper and Sarvam adapters (Sarvam's batch
// job: create, upload, start, status polls, result download) against replies taken from the
// input (fuzz_http.hpp), then the speaker mapping every transcript goes through.
// Input: a selector byte (provider and job options), then the replies.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/stt/provider_config.hpp"
#include "earshot/stt/speakers.hpp"
#include "fuzz_http.hpp"

namespace {

// A valid 8 kHz 16-bit stereo WAV of 80 frames: the job's audio (split into mono files for
// providers without native multichannel).
std::string stereo_wav() {
  constexpr std::uint32_t kFrames = 80, kRate = 8000, kBytes = kFrames * 4;
  std::string w;
  auto u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) w.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  auto u16 = [&](std::uint16_t v) {
    w.push_back(static_cast<char>(v & 0xFF));
    w.push_back(static_cast<char>(v >> 8));
  };
  w += "RIFF";
  u32(36 + kBytes);
  w += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(2);
  u32(kRate);
  u32(kRate * 4);
  u16(4);
  u16(16);
  w += "data";
  u32(kBytes);
  for (std::uint32_t i = 0; i < kFrames * 2; ++i) u16(static_cast<std::uint16_t>(i * 397));
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const std::string audio = stereo_wav();
  const std::uint8_t sel = data[0];
  static constexpr const char* kProviders[] = {"deepgram", "openai", "sarvam", "whisper_cpp"};
  earshot::stt::ProviderConfig cfg;
  cfg.provider = kProviders[sel % 4];
  cfg.api_key = "key";
  cfg.base_url = "http://provider.test";
  cfg.language = (sel & 0x40) != 0 ? "hi-IN" : "";
  cfg.retry.max_attempts = 2;
  cfg.poll_interval = std::chrono::milliseconds(1'000);

  earshot::testing::FakeClock clock;
  earshot::fuzz::FuzzHttpClient client(
      clock, earshot::fuzz::replies_of(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1)));
  auto provider = earshot::stt::make_provider(cfg, client, clock);
  if (!provider) __builtin_trap();  // the config above is valid

  earshot::stt::SttJob job;
  job.audio = audio;
  job.channels = 2;
  job.duration = std::chrono::milliseconds(10);
  job.separate_channels = (sel & 0x04) != 0;
  job.diarize = (sel & 0x08) != 0;
  job.translate = (sel & 0x10) != 0 && (*provider)->supports_translation();
  job.num_speakers = (sel & 0x20) != 0 ? 0 : 2;
  bool called = false;
  (*provider)->transcribe(job, [&](earshot::Result<earshot::stt::Transcript> t) {
    called = true;
    if (!t) return;
    for (const auto& s : t->segments) (void)s.text.size();
    (void)earshot::stt::map_speakers(*t, {.agent_on_left = (sel & 0x80) != 0});
  });
  client.run();
  (void)called;
  return 0;
}
