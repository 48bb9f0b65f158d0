#pragma once
// Shared by the stt benchmarks: a fake speech provider served from a forked child (so its
// threads and buffers are not counted in the measured process).

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/bench_common.hpp"
#include "fakes/stt/fake_providers.hpp"

namespace earshot::bench {

// Child: serves the fake `provider` ("deepgram", "sarvam", "openai") answering after
// `latency_ms`, writes its port to `port_fd`, and serves until the parent closes `stop_fd`.
[[noreturn]] inline void run_fake(const std::string& provider, int threads, int latency_ms, int port_fd, int stop_fd) {
  earshot::testing::FakeProviderServer::Options opts;
  opts.threads = threads;
  std::unique_ptr<earshot::testing::FakeProviderServer> fake;
  if (provider == "sarvam")
    fake = std::make_unique<earshot::testing::FakeSarvam>(opts);
  else if (provider == "openai")
    fake = std::make_unique<earshot::testing::FakeOpenAi>(opts);
  else
    fake = std::make_unique<earshot::testing::FakeDeepgram>(opts);
  if (!fake->start()) _exit(3);
  fake->set_latency(std::chrono::milliseconds(latency_ms));
  const int port = fake->port();
  if (write(port_fd, &port, sizeof port) != sizeof port) _exit(4);
  char c = 0;
  while (read(stop_fd, &c, 1) > 0) {
  }
  fmt::print("fake provider: {} requests, peak concurrent {}, VmHWM {} MB\n", fake->count(), fake->max_concurrent(),
             status_kb(0, "VmHWM") / 1024);
  std::fflush(stdout);
  fake->stop();
  _exit(0);
}

}  // namespace earshot::bench
