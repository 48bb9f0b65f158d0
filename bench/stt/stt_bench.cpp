// Many transcriptions in flight in one process: a provider adapter on the one-thread curl
// client against a fake provider that answers after a fixed latency.
//
//   stt_bench [--jobs 500] [--total 2500] [--latency-ms 2000] [--provider deepgram|sarvam|openai]
//             [--audio-ms 1000]
//
// Keeps --jobs transcriptions in flight until --total have completed. The first --jobs are
// started spread over one latency period (as a worker's window fills from a queue), so the
// run reaches a steady state instead of moving in lock-step waves. Prints the steady-state
// throughput (completions between the end of the ramp and the last completion) against the
// ideal jobs / latency, per-job latency percentiles and this process's peak RSS (VmHWM).
// The fake runs in a forked child so its threads and buffers are not counted.

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/audio/wav_writer.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/stt/provider_config.hpp"
#include "fake_child.hpp"

namespace {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;
using earshot::bench::run_fake;
using earshot::bench::status_kb;

}  // namespace

int main(int argc, char** argv) {
  int jobs = 500;
  int total = 2500;
  int latency_ms = 2000;
  int audio_ms = 1000;
  std::string provider = "deepgram";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--jobs")
      jobs = std::stoi(v);
    else if (k == "--total")
      total = std::stoi(v);
    else if (k == "--latency-ms")
      latency_ms = std::stoi(v);
    else if (k == "--audio-ms")
      audio_ms = std::stoi(v);
    else if (k == "--provider")
      provider = v;
    else {
      fmt::print(stderr, "unknown option {}\n", k);
      return 2;
    }
  }
  total = std::max(total, jobs);

  int port_pipe[2];
  int stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) return 1;
  const pid_t child = fork();  // before any thread exists in this process
  if (child == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    run_fake(provider, jobs + 64, latency_ms, port_pipe[1], stop_pipe[0]);
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) {
    fmt::print(stderr, "fake provider did not start\n");
    return 1;
  }

  earshot::http::CurlHttpClientOptions copts;
  copts.max_total_connections = static_cast<std::size_t>(jobs) + 16;
  copts.max_connections_per_host = static_cast<std::size_t>(jobs) + 16;
  earshot::http::CurlHttpClient client(copts);
  auto config = earshot::stt::parse_provider_config(fmt::format(
      R"({{"provider":"{}","api_key":"test-key","base_url":"http://127.0.0.1:{}","timeout_ms":60000,"deadline_ms":120000}})",
      provider, port));
  if (!config) {
    fmt::print(stderr, "{}\n", config.error().to_string());
    return 1;
  }
  auto made = earshot::stt::make_provider(*config, client, earshot::SystemClock::instance());
  if (!made) return 1;
  auto& stt = **made;

  std::vector<float> samples(static_cast<std::size_t>(audio_ms) * 8);
  for (std::size_t i = 0; i < samples.size(); ++i)
    samples[i] = 0.2F * static_cast<float>(std::sin(static_cast<double>(i) * 0.07));
  const std::string wav = earshot::audio::encode_wav_pcm16(samples, 8000);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<double> latencies;
  std::vector<Steady::time_point> completions;
  completions.reserve(static_cast<std::size_t>(total));
  latencies.reserve(static_cast<std::size_t>(total));
  std::map<std::string, int> errors;
  std::atomic<int> submitted{0};
  int completed = 0;
  std::atomic<int> in_flight{0};
  std::atomic<int> peak_in_flight{0};

  std::function<void()> submit = [&] {
    if (submitted.fetch_add(1) >= total) return;
    const int now = ++in_flight;
    int prev = peak_in_flight.load();
    while (now > prev && !peak_in_flight.compare_exchange_weak(prev, now)) {
    }
    earshot::stt::SttJob job;
    job.audio = wav;
    job.channels = 1;
    job.duration = std::chrono::milliseconds(audio_ms);
    job.diarize = provider != "sarvam";  // Sarvam: the synchronous endpoint
    const auto start = Steady::now();
    stt.transcribe(std::move(job), [&, start](earshot::Result<earshot::stt::Transcript> r) {
      const double ms = std::chrono::duration<double, std::milli>(Steady::now() - start).count();
      --in_flight;
      {
        std::lock_guard lock(mu);
        latencies.push_back(ms);
        completions.push_back(Steady::now());
        if (!r) ++errors[std::string(earshot::code_name(r.error().code))];
        ++completed;
      }
      cv.notify_all();
      submit();  // keep the window full (runs on the loop thread: a cheap call)
    });
  };

  const auto t0 = Steady::now();
  for (int i = 0; i < jobs; ++i) {
    client.post_after(std::chrono::milliseconds(static_cast<std::int64_t>(latency_ms) * i / jobs), [&] { submit(); });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return completed >= total; });
  }
  const double wall_s = std::chrono::duration<double>(Steady::now() - t0).count();

  std::sort(latencies.begin(), latencies.end());
  const auto pct = [&](double p) {
    return latencies[std::min(latencies.size() - 1,
                              static_cast<std::size_t>(p * static_cast<double>(latencies.size())))];
  };
  // Steady state: from one latency after the start (the ramp is over) to the last completion.
  std::sort(completions.begin(), completions.end());
  const auto window_start = t0 + std::chrono::milliseconds(latency_ms);
  const auto first = std::lower_bound(completions.begin(), completions.end(), window_start);
  const double window_s = std::chrono::duration<double>(completions.back() - window_start).count();
  const double throughput = static_cast<double>(completions.end() - first) / window_s;
  const double ideal = jobs / (latency_ms / 1000.0);
  fmt::print("stt_bench provider={} jobs_in_flight={} total={} latency={} ms audio={} ms ({} bytes)\n", provider, jobs,
             total, latency_ms, audio_ms, wav.size());
  fmt::print("peak in flight: {}\n", peak_in_flight.load());
  fmt::print("wall: {:.2f} s ({:.1f} jobs/s overall, ramp and drain included)\n", wall_s, total / wall_s);
  fmt::print("steady throughput: {:.1f} jobs/s, ideal (in-flight/latency): {:.1f} jobs/s, ratio {:.3f}\n", throughput,
             ideal, throughput / ideal);
  fmt::print("latency ms: p50 {:.0f}, p99 {:.0f}, max {:.0f}\n", pct(0.50), pct(0.99), latencies.back());
  int error_count = 0;
  for (const auto& [code, n] : errors) {
    fmt::print("errors {}: {}\n", code, n);
    error_count += n;
  }
  fmt::print("errors: {}\n", error_count);
  fmt::print("peak RSS (VmHWM): {:.1f} MB, threads: {}\n", status_kb(0, "VmHWM") / 1024.0, status_kb(0, "Threads"));
  std::fflush(stdout);

  client.shutdown();
  close(stop_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);
  const bool ok = error_count == 0 && peak_in_flight.load() >= jobs && throughput >= 0.8 * ideal &&
                  status_kb(0, "VmHWM") <= 300 * 1024;
  fmt::print("{}\n", ok ? "targets met" : "targets NOT met");
  return ok ? 0 : 1;
}
