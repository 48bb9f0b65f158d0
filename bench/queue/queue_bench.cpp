// Queue fabric throughput and latency on the broker named by EARSHOT_AMQP_URL.
//
//   queue_bench [--messages N] [--body-bytes B]
//
// 1. Confirmed publishing of persistent messages to a quorum queue with a window of 1, 100
//    and 500 publishes in flight: messages/s, and publish-confirm latency p50/p99 of single
//    publishes (window 1) and of 100-message batches.
// 2. End to end through a no-op stage: a producer publishes (confirmed, window 500) while a
//    StageWorker consumes, validates, runs a handler that returns Done and acks: messages/s
//    and publish -> handler latency p50/p99 at full speed (latency then includes the
//    backlog), and latency at a paced load of --paced-rate messages/s (default 2,000).
// It declares its own business (a random id) and deletes its queues at the end.

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/log.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/queue/control.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"
#include "fakes/queue/business_directory.hpp"

namespace eq = earshot::queue;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

std::string body_for(const std::string& bid, const std::string& call_id, std::size_t bytes) {
  std::string b = fmt::format(
      R"({{"schema_version":1,"bid":"{}","call_id":"{}","source":{{"provider":"bench","external_id":"{}"}}}})", bid,
      call_id, std::string(bytes > 120 ? bytes - 120 : 1, 'x'));
  return b;
}

eq::OutgoingMessage message(const eq::TopologySettings& topo, const std::string& bid, const std::string& call_id,
                            std::size_t bytes) {
  return eq::make_stage_message(topo, eq::Envelope{.bid = bid, .stage = eq::Stage::kSync},
                                body_for(bid, call_id, bytes));
}

class NoopHandler final : public eq::StageHandler {
 public:
  eq::HandlerResult handle(const eq::IncomingMessage& m) override {
    // call_id carries the publish time in nanoseconds of the steady clock.
    const auto pos = m.body.find("\"call_id\":\"t");
    if (pos != std::string::npos) {
      const long long sent = std::atoll(m.body.c_str() + pos + 12);
      const long long now =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
      std::lock_guard l(mu);
      latencies_ms.push_back(static_cast<double>(now - sent) / 1e6);
    }
    eq::Done done;
    if (next_bid != nullptr) {
      // A realistic stage: one next-stage message, confirmed before the input is acked.
      done.next.push_back(eq::make_stage_message(*topo, eq::Envelope{.bid = *next_bid, .stage = eq::Stage::kTranscribe},
                                                 R"({"schema_version":1,"bid":")" + *next_bid +
                                                     R"(","call_id":"c","audio":{"uri":"file:///c","format":"wav"}})"));
    }
    return done;
  }
  std::mutex mu;
  std::vector<double> latencies_ms;
  const std::string* next_bid = nullptr;  // set: emit one transcribe message per input
  const eq::TopologySettings* topo = nullptr;
};

class CountingRecorder final : public eq::OutcomeRecorder {
 public:
  earshot::Status record(const eq::OutcomeEvent& e) override {
    if (e.kind == eq::OutcomeKind::kDone) {
      ++done;
    } else {
      ++other;
      std::lock_guard l(mu);
      if (first_other.empty()) first_other = fmt::format("{} {}", e.error_code, e.reason);
    }
    return {};
  }
  std::atomic<int> done{0};
  std::atomic<int> other{0};
  std::mutex mu;
  std::string first_other;
};

// Purges until the queue reads empty: a quorum queue may still apply enqueues that were
// confirmed just before the purge.
void clear(eq::TopologyAdmin& admin, const std::string& queue) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    (void)admin.purge(queue);
    auto n = admin.queue_depth(queue);
    if (n && *n == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int messages = 20000;
  int paced_rate = 2000;
  std::size_t body_bytes = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--messages") messages = std::atoi(argv[i + 1]);
    if (a == "--paced-rate") paced_rate = std::atoi(argv[i + 1]);
    if (a == "--body-bytes") body_bytes = static_cast<std::size_t>(std::atoi(argv[i + 1]));
  }
  const char* url = std::getenv("EARSHOT_AMQP_URL");
  if (url == nullptr) {
    fmt::print(stderr, "EARSHOT_AMQP_URL is not set (start the test services first)\n");
    return 2;
  }
  earshot::log::init("queue-bench", "warn", earshot::log::Format::kText);
  eq::AmqpSettings amqp;
  amqp.url = url;
  amqp.heartbeat = std::chrono::seconds(10);
  amqp.connect_timeout = std::chrono::seconds(2);
  eq::TopologySettings topo;
  eq::TopologyAdmin admin(amqp, topo);
  std::mt19937_64 rng(std::random_device{}());
  const std::string bid = fmt::format("bench{:08x}", rng() & 0xffffffffULL);
  if (auto st = admin.declare_business(eq::Stage::kSync, bid); !st) {
    fmt::print(stderr, "declare: {}\n", st.error().to_string());
    return 1;
  }
  const std::string queue = eq::work_queue(eq::Stage::kSync, bid);
  fmt::print("queue_bench: {} messages of {} bytes, persistent, quorum queue {}\n\n", messages, body_bytes, queue);

  // 1. Confirmed publishing.
  fmt::print("{:<34} {:>10} {:>12} {:>12}\n", "publish (confirmed)", "msg/s", "p50 ms", "p99 ms");
  for (std::size_t window : {1UL, 100UL, 500UL}) {
    eq::Publisher pub(amqp, {.window = window});
    pub.start();
    const int n = window == 1 ? std::min(messages, 3000) : messages;
    std::vector<double> lat;
    const auto t0 = Clock::now();
    if (window == 1) {
      for (int i = 0; i < n; ++i) {
        const auto s = Clock::now();
        if (auto st = pub.publish(message(topo, bid, "c", body_bytes)); !st) {
          fmt::print(stderr, "publish: {}\n", st.error().to_string());
          return 1;
        }
        lat.push_back(seconds_since(s) * 1e3);
      }
    } else {
      // Batches of 1,000 keep the submission queue fed; the window bounds what is in flight.
      for (int done = 0; done < n;) {
        std::vector<eq::OutgoingMessage> batch;
        const int k = std::min(1000, n - done);
        for (int i = 0; i < k; ++i) batch.push_back(message(topo, bid, "c", body_bytes));
        if (auto st = pub.publish_batch(std::move(batch)); !st) {
          fmt::print(stderr, "publish: {}\n", st.error().to_string());
          return 1;
        }
        done += k;
      }
    }
    const double rate = n / seconds_since(t0);
    fmt::print("{:<34} {:>10.0f} {:>12} {:>12}\n", fmt::format("window {:>3}, {} msgs", window, n), rate,
               window == 1 ? fmt::format("{:.2f}", percentile(lat, 0.5)) : "-",
               window == 1 ? fmt::format("{:.2f}", percentile(lat, 0.99)) : "-");
    clear(admin, queue);
  }
  {
    eq::Publisher pub(amqp, {.window = 500});
    pub.start();
    std::vector<double> lat;
    const int batches = std::max(10, messages / 100);
    const auto t0 = Clock::now();
    for (int b = 0; b < batches; ++b) {
      std::vector<eq::OutgoingMessage> batch;
      for (int i = 0; i < 100; ++i) batch.push_back(message(topo, bid, "c", body_bytes));
      const auto s = Clock::now();
      if (auto st = pub.publish_batch(std::move(batch)); !st) return 1;
      lat.push_back(seconds_since(s) * 1e3);
    }
    fmt::print("{:<34} {:>10.0f} {:>12.2f} {:>12.2f}\n", fmt::format("batches of 100, {} msgs", batches * 100),
               batches * 100 / seconds_since(t0), percentile(lat, 0.5), percentile(lat, 0.99));
    clear(admin, queue);
  }

  {
    // Eight threads publishing one message at a time, as a worker's handler threads do.
    eq::Publisher pub(amqp, {.window = 500});
    pub.start();
    const int per_thread = std::max(1, messages / 16);
    std::vector<std::thread> threads;
    std::mutex mu;
    std::vector<double> lat;
    const auto t0 = Clock::now();
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        std::vector<double> mine;
        for (int i = 0; i < per_thread; ++i) {
          const auto s0 = Clock::now();
          if (!pub.publish(message(topo, bid, "c", body_bytes))) return;
          mine.push_back(seconds_since(s0) * 1e3);
        }
        std::lock_guard l(mu);
        lat.insert(lat.end(), mine.begin(), mine.end());
      });
    }
    for (auto& t : threads) t.join();
    fmt::print("{:<34} {:>10.0f} {:>12.2f} {:>12.2f}\n", fmt::format("8 threads x 1 msg, {} msgs", lat.size()),
               static_cast<double>(lat.size()) / seconds_since(t0), percentile(lat, 0.5), percentile(lat, 0.99));
    clear(admin, queue);
  }

  // 2. End to end through a no-op stage.
  earshot::Metrics metrics("queue-bench", "0", "bench");
  earshot::queue::InMemoryBusinessDirectory dir;
  dir.enable(bid);
  NoopHandler handler;
  CountingRecorder recorder;
  eq::StageWorkerOptions o;
  o.stage = eq::Stage::kSync;
  o.handler_threads = 2;
  o.per_business_in_flight = 2;
  o.prefetch = 500;
  eq::StageWorker worker(amqp, topo, o, handler, dir, recorder, metrics, earshot::SystemClock::instance());
  if (auto st = worker.start(); !st) {
    fmt::print(stderr, "worker: {}\n", st.error().to_string());
    return 1;
  }
  while (worker.consuming().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  eq::Publisher pub(amqp, {.window = 500});
  pub.start();
  fmt::print("\n{:<34} {:>10} {:>12} {:>12}\n", "no-op stage (publish->handler)", "msg/s", "p50 ms", "p99 ms");
  // rate 0: as fast as confirms allow, in batches of 500; else batches of 20 paced to `rate`.
  auto run = [&](int n, int rate) -> bool {
    {
      std::lock_guard l(handler.mu);
      handler.latencies_ms.clear();
    }
    const int base = recorder.done.load();
    const int batch_size = rate == 0 ? 500 : 20;
    const auto t0 = Clock::now();
    for (int done = 0; done < n;) {
      if (rate > 0) {
        const auto due = t0 + std::chrono::microseconds(static_cast<long long>(done) * 1'000'000LL / rate);
        std::this_thread::sleep_until(due);
      }
      std::vector<eq::OutgoingMessage> batch;
      const int k = std::min(batch_size, n - done);
      for (int i = 0; i < k; ++i) {
        const long long now =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
        batch.push_back(message(topo, bid, fmt::format("t{}", now), body_bytes));
      }
      if (auto st = pub.publish_batch(std::move(batch)); !st) {
        fmt::print(stderr, "publish: {}\n", st.error().to_string());
        return false;
      }
      done += k;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (recorder.done.load() - base < n && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const double total_s = seconds_since(t0);
    std::lock_guard l(handler.mu);
    const std::string what =
        rate == 0 ? fmt::format("full speed, {} msgs", n) : fmt::format("paced {}/s, {} msgs", rate, n);
    fmt::print("{:<34} {:>10.0f} {:>12.2f} {:>12.2f}\n", what, (recorder.done.load() - base) / total_s,
               percentile(handler.latencies_ms, 0.5), percentile(handler.latencies_ms, 0.99));
    return recorder.done.load() - base == n;
  };
  bool ok = run(messages, 0);
  ok = run(std::min(messages, paced_rate * 5), paced_rate) && ok;
  worker.stop_intake();
  worker.drain(Clock::now() + std::chrono::seconds(5));
  worker.stop();

  // 3. The same with one next-stage message per input (published and confirmed before the
  // ack), as real stages do; more handler threads hide the confirm round trip.
  if (auto st = admin.declare_business(eq::Stage::kTranscribe, bid); !st) return 1;
  handler.next_bid = &bid;
  handler.topo = &topo;
  o.handler_threads = 8;
  o.per_business_in_flight = 8;
  fmt::print("{}\n", "with one next-stage message per input, 8 handler threads:");
  {
    eq::StageWorker worker2(amqp, topo, o, handler, dir, recorder, metrics, earshot::SystemClock::instance());
    if (!worker2.start()) return 1;
    while (worker2.consuming().empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ok = run(messages / 2, 0) && ok;
    worker2.stop_intake();
    worker2.drain(Clock::now() + std::chrono::seconds(5));
    worker2.stop();
  }
  const auto forwarded = admin.queue_depth(eq::work_queue(eq::Stage::kTranscribe, bid));
  fmt::print("(next-stage messages confirmed into transcribe.{}: {})\n", bid,
             forwarded ? static_cast<long>(*forwarded) : -1L);
  ok = ok && forwarded && static_cast<int>(*forwarded) == messages / 2;
  (void)admin.delete_business(eq::Stage::kTranscribe, bid);
  const auto left = admin.queue_depth(queue);
  fmt::print("(done: {}; retried or dead-lettered: {}{}; messages left in the work queue: {})\n", recorder.done.load(),
             recorder.other.load(), recorder.first_other.empty() ? "" : " (first: " + recorder.first_other + ")",
             left ? static_cast<long>(*left) : -1L);
  (void)admin.delete_business(eq::Stage::kSync, bid);
  return ok && left && *left == 0 ? 0 : 1;
}
