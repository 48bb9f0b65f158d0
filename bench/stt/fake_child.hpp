#pragma once
// Shared by the stt benchmarks: a fake speech provider served from a forked child (so its
// threads and buffers are not counted in the measured process), and /proc/*/status figures.

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "fakes/stt/fake_providers.hpp"

namespace earshot::bench {

// A field of /proc/{pid}/status in kB (pid 0: this process); -1 when absent.
inline long status_kb(pid_t pid, const std::string& key) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status") : fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + ":")) return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return -1;
}

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
