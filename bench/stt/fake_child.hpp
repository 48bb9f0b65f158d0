#pragma once
// Shared by the stt benchmarks: a fake speech provider served from a forked child (so its
// threads and buffers are not counted in the measured process). Deepgram is the lean one
// (common/lean_deepgram.hpp: the tests' fake's answers without cpp-httplib's polling of idle
// keep-alive connections, which took a large share of the machine with 500 held open).

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/bench_common.hpp"
#include "common/lean_deepgram.hpp"
#include "fakes/stt/fake_providers.hpp"

namespace earshot::bench {

// Child: serves the fake `provider` ("deepgram", "sarvam", "openai") answering after
// `latency_ms`, writes its port to `port_fd`, and serves until the parent closes `stop_fd`.
[[noreturn]] inline void run_fake(const std::string& provider, int threads, int latency_ms, int port_fd, int stop_fd) {
  earshot::testing::FakeProviderServer::Options opts;
  opts.threads = threads;
  const auto wait_for_stop = [&](int port) {
    if (write(port_fd, &port, sizeof port) != sizeof port) _exit(4);
    char c = 0;
    while (read(stop_fd, &c, 1) > 0) {
    }
  };
  if (provider == "deepgram") {
    LeanDeepgram lean(opts.api_key, earshot::testing::default_script(), std::chrono::milliseconds(latency_ms));
    if (!lean.start()) _exit(3);
    wait_for_stop(lean.port());
    fmt::print("fake provider: {} requests, peak concurrent {}, VmHWM {} MB\n", lean.server().requests(),
               lean.server().max_concurrent(), status_kb(0, "VmHWM") / 1024);
    std::fflush(stdout);
    lean.stop();
    _exit(0);
  }
  std::unique_ptr<earshot::testing::FakeProviderServer> fake;
  if (provider == "sarvam")
    fake = std::make_unique<earshot::testing::FakeSarvam>(opts);
  else if (provider == "openai")
    fake = std::make_unique<earshot::testing::FakeOpenAi>(opts);
  else
    _exit(6);
  if (!fake->start()) _exit(3);
  fake->set_latency(std::chrono::milliseconds(latency_ms));
  wait_for_stop(fake->port());
  fmt::print("fake provider: {} requests, peak concurrent {}, VmHWM {} MB\n", fake->count(), fake->max_concurrent(),
             status_kb(0, "VmHWM") / 1024);
  std::fflush(stdout);
  fake->stop();
  _exit(0);
}

}  // namespace earshot::bench
