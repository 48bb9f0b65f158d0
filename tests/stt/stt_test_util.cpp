#include "stt/stt_test_util.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <future>

#include "earshot/audio/wav_writer.hpp"

namespace earshot::stt::testing {

std::string make_wav(int channels, double seconds) {
  audio::AudioBuffer buf;
  buf.sample_rate = 8000;
  const auto frames = static_cast<std::size_t>(seconds * buf.sample_rate);
  for (int ch = 0; ch < channels; ++ch) {
    std::vector<float> samples(frames);
    const float sign = ch == 0 ? 1.0F : -1.0F;
    for (std::size_t i = 0; i < frames; ++i) {
      samples[i] = sign * (0.2F + 0.1F * static_cast<float>(std::sin(static_cast<double>(i) * 0.05)));
    }
    buf.channels.push_back(std::move(samples));
  }
  return audio::encode_wav_pcm16(buf);
}

ProviderConfig fake_config(const std::string& provider, const earshot::testing::FakeProviderServer& fake) {
  ProviderConfig c;
  c.provider = provider;
  c.api_key = fake.api_key();
  c.base_url = fake.base_url();
  c.timeout = std::chrono::milliseconds(5000);
  c.connect_timeout = std::chrono::milliseconds(1000);
  c.deadline = std::chrono::milliseconds(20000);
  c.retry.max_attempts = 4;
  c.retry.initial_backoff = std::chrono::milliseconds(20);
  c.retry.max_backoff = std::chrono::milliseconds(100);
  c.poll_interval = std::chrono::milliseconds(20);
  c.max_poll_interval = std::chrono::milliseconds(50);
  return c;
}

SttJob job_for(std::string audio, int channels, double seconds) {
  SttJob job;
  job.audio = std::move(audio);
  job.channels = channels;
  job.duration = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  job.id = "test";
  return job;
}

Result<Transcript> run(SttProvider& provider, SttJob job) {
  auto promise = std::make_shared<std::promise<Result<Transcript>>>();
  auto future = promise->get_future();
  provider.transcribe(std::move(job), [promise](Result<Transcript> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "transcribe did not complete within 30 s";
    return make_error(ErrorCode::kTimeout, "test wait");
  }
  return future.get();
}

std::vector<std::chrono::milliseconds> gaps(const earshot::testing::FakeProviderServer& fake,
                                            const std::string& prefix) {
  std::vector<std::chrono::steady_clock::time_point> at;
  for (const auto& r : fake.requests()) {
    if (r.path.starts_with(prefix)) at.push_back(r.at);
  }
  std::vector<std::chrono::milliseconds> out;
  for (std::size_t i = 1; i < at.size(); ++i) {
    out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(at[i] - at[i - 1]));
  }
  return out;
}

}  // namespace earshot::stt::testing
