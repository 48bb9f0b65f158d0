#pragma once
// Shared pieces of the provider tests: synthetic audio, configs pointing at the fakes, and a
// blocking wrapper around the asynchronous transcribe().

#include <chrono>
#include <string>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/stt/provider.hpp"
#include "earshot/stt/provider_config.hpp"
#include "fakes/stt/fake_server.hpp"

namespace earshot::stt::testing {

// A WAV at 8 kHz; channel 0 is marked with positive samples and channel 1 with negative ones
// (the fakes pick the script lines of a mono file's channel by that mark).
[[nodiscard]] std::string make_wav(int channels, double seconds);

// A config for `provider` pointing at `fake`, with short backoffs so retry tests run fast.
[[nodiscard]] ProviderConfig fake_config(const std::string& provider, const earshot::testing::FakeProviderServer& fake);

[[nodiscard]] SttJob job_for(std::string audio, int channels, double seconds);

// Runs transcribe() and waits for its callback (fails the test after 30 s).
[[nodiscard]] Result<Transcript> run(SttProvider& provider, SttJob job);

// Gaps between consecutive requests whose path starts with `prefix`, as the fake saw them.
[[nodiscard]] std::vector<std::chrono::milliseconds> gaps(const earshot::testing::FakeProviderServer& fake,
                                                          const std::string& prefix);

}  // namespace earshot::stt::testing
