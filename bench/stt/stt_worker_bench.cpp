// The stt worker path under load: the real StageWorker (RabbitMQ) around the asynchronous
// transcribe stage (MariaDB, local object store, the one-thread curl client) against a fake
// Deepgram answering after a fixed latency.
//
//   eval "$(scripts/services.sh --instance test env)"
//   build/bin/stt_worker_bench [--jobs 500] [--total 3000] [--latency-ms 2000] [--audio-ms 1000]
//                              [--work-threads 2] [--db-threads 2] [--handler-threads 2]
//
// --total calls are stored (stereo 8 kHz WAV of --audio-ms in the object store) and their
// transcribe messages queued; then one worker with --jobs in flight (stt_max_in_flight,
// per-business share and provider cap alike) consumes them: every call is loaded, claimed,
// fetched, decoded, measured, sent to the provider, stored, moved to transcribed and
// forwarded to analyze.{bid}, each acked after its analyze message was confirmed.
// Prints the peak of jobs in flight, the steady-state throughput (completions from one
// latency after the first start to the last) against the ideal jobs / latency, job latency
// percentiles (start of the job to its outcome) and this process's peak RSS (VmHWM). The
// fake runs in a forked child; data lives in its own database `earshot_stt_bench`, dropped
// and migrated at every run; the bench's queues are deleted at the end.

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/bench_common.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/log.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/pipeline/transcribe_stage.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fake_child.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"

using namespace earshot;
using namespace std::chrono_literals;

namespace {

using Steady = std::chrono::steady_clock;
constexpr const char* kDatabase = "earshot_stt_bench";

using earshot::bench::need;

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Wraps the stage to see every job: start, outcome, in flight.
class Measured final : public queue::AsyncStageHandler {
 public:
  explicit Measured(queue::AsyncStageHandler& inner, std::size_t expected) : inner_(inner) {
    latencies_.reserve(expected);
    completions_.reserve(expected);
  }

  void start(const queue::IncomingMessage& m, queue::StageCompletion done) override {
    const auto t = Steady::now();
    {
      std::lock_guard l(mu_);
      if (!first_start_) first_start_ = t;
      peak_ = std::max(peak_, ++in_flight_);
    }
    inner_.start(m, [this, t, done = std::move(done)](queue::HandlerResult r) {
      const auto now = Steady::now();
      {
        std::lock_guard l(mu_);
        --in_flight_;
        latencies_.push_back(std::chrono::duration<double, std::milli>(now - t).count());
        completions_.push_back(now);
        if (!r) {
          ++errors_[std::string(code_name(r.error().code))];
        } else if (std::get_if<queue::Done>(&*r) == nullptr) {
          ++errors_[std::get_if<queue::Fail>(&*r) ? "fail" : "retry"];
        }
      }
      cv_.notify_all();
      done(std::move(r));
    });
  }

  void wait_for(std::size_t n) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return completions_.size() >= n; });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  queue::AsyncStageHandler& inner_;
  std::optional<Steady::time_point> first_start_;
  std::size_t in_flight_ = 0;
  std::size_t peak_ = 0;
  std::vector<double> latencies_;
  std::vector<Steady::time_point> completions_;
  std::map<std::string, int> errors_;
};

}  // namespace

int main(int argc, char** argv) {
  int jobs = 500;
  int total = 3000;
  int latency_ms = 2000;
  int audio_ms = 1000;
  int work_threads = 2;
  int db_threads = 2;
  int handler_threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--jobs")
      jobs = v;
    else if (k == "--total")
      total = v;
    else if (k == "--latency-ms")
      latency_ms = v;
    else if (k == "--audio-ms")
      audio_ms = v;
    else if (k == "--work-threads")
      work_threads = v;
    else if (k == "--db-threads")
      db_threads = v;
    else if (k == "--handler-threads")
      handler_threads = v;
    else {
      std::cerr << "usage: stt_worker_bench [--jobs N] [--total N] [--latency-ms N] [--audio-ms N] "
                   "[--work-threads N] [--db-threads N] [--handler-threads N]\n";
      return 2;
    }
  }
  if (jobs <= 0 || total <= 0 || latency_ms <= 0 || audio_ms <= 0 || work_threads <= 0 || db_threads <= 0 ||
      handler_threads <= 0) {
    std::cerr << "numbers must be positive\n";
    return 2;
  }
  total = std::max(total, jobs);

  // The fake provider, forked before this process starts any thread.
  int port_pipe[2];
  int stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) return 1;
  const pid_t child = fork();
  if (child == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    bench::run_fake("deepgram", jobs + 64, latency_ms, port_pipe[1], stop_pipe[0]);
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) {
    std::cerr << "fake provider did not start\n";
    return 1;
  }
  log::init("stt-worker-bench", "warn");

  // Settings of the test instance.
  EnvMap env;
  for (auto& [k, v] : current_environment()) {
    if (k.starts_with("EARSHOT_MYSQL_") || k.starts_with("EARSHOT_AMQP_")) env[k] = v;
  }
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  mysql.declare(spec);
  amqp.declare(spec);
  need(spec.load(env), "config (eval \"$(scripts/services.sh --instance test env)\")");
  mysql.database.clear();
  {
    storage::Database admin(mysql);
    need(admin.execute(fmt::format("DROP DATABASE IF EXISTS {}", kDatabase)), "drop database");
    need(admin.execute(fmt::format("CREATE DATABASE {} CHARACTER SET utf8mb4", kDatabase)), "create database");
  }
  mysql.database = kDatabase;
  mysql.pool_size = static_cast<std::int64_t>(db_threads) + 2;
  storage::Database db(mysql);
  need(storage::Migrator(db, storage::embedded_migrations()).migrate(), "migrate");
  const auto keys = need(crypto::Keyring::parse("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "k1"), "keys");

  storage::MySqlBusinessRepository businesses(db);
  storage::MySqlCallRepository calls(db);
  storage::MySqlTranscriptRepository transcripts(db);
  storage::MySqlMetricsRepository metrics_repo(db);
  storage::MySqlPipelineConfigRepository configs(db, keys);
  storage::MySqlProcessingEventRepository events(db);
  const auto t = need(storage::TenantId::make(fmt::format("sttbench{}", getpid())), "tenant");
  need(businesses.create(t, "stt bench"), "business");
  storage::PipelineConfig config;
  config.stt_provider = "deepgram";
  config.stt_options_json =
      fmt::format(R"({{"base_url":"http://127.0.0.1:{}","timeout_ms":60000,"deadline_ms":120000}})", port);
  config.secrets["stt_api_key"] = "test-key";
  need(configs.put(t, config), "pipeline config");

  // One stereo recording (a tone per channel, alternating), stored once; every call points at it.
  const auto root = std::filesystem::temp_directory_path() / fmt::format("earshot-stt-bench-{}", getpid());
  objectstore::LocalObjectStore store(root.string());
  audio::AudioBuffer rec;
  rec.sample_rate = 8000;
  rec.channels.assign(2, std::vector<float>(static_cast<std::size_t>(audio_ms) * 8));
  for (std::size_t i = 0; i < rec.channels[0].size(); ++i) {
    const bool first_half = i < rec.channels[0].size() / 2;
    const float v = 0.3F * static_cast<float>(std::sin(static_cast<double>(i) * 0.07));
    rec.channels[first_half ? 0 : 1][i] = v;
  }
  const std::string wav = audio::encode_wav_pcm16(rec);
  const auto uri = need(store.write(fmt::format("{}/call.wav", t.bid()),
                                    std::span(reinterpret_cast<const std::uint8_t*>(wav.data()), wav.size())),
                        "store");
  const auto s0 = Steady::now();
  std::vector<storage::Id> ids;
  ids.reserve(static_cast<std::size_t>(total));
  for (int i = 0; i < total; ++i) {
    storage::CallInput in;
    in.external_id = fmt::format("bench-{}", i);
    in.audio_uri = uri;
    in.channels = 2;
    in.started_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    ids.push_back(need(calls.upsert(t, in), "call").id);
  }
  const double setup_s = std::chrono::duration<double>(Steady::now() - s0).count();

  queue::TopologySettings topo;
  need(topo.resolve(), "topology");
  queue::TopologyAdmin admin(amqp, topo);
  need(admin.declare_exchanges(), "exchanges");
  need(admin.declare_business(queue::Stage::kTranscribe, t.bid()), "transcribe queues");
  need(admin.declare_business(queue::Stage::kAnalyze, t.bid()), "analyze queues");
  {
    queue::Publisher pub(amqp, {.window = 500});
    pub.start();
    std::vector<queue::OutgoingMessage> batch;
    for (auto id : ids) {
      const queue::TranscribeRequest request{
          .bid = t.bid(), .call_id = std::to_string(id), .audio = {.uri = uri, .format = "wav"}};
      batch.push_back(queue::make_stage_message(topo, request, fmt::format("b{}", id)));
      if (batch.size() == 500) need(pub.publish_batch(std::exchange(batch, {})), "publish");
    }
    if (!batch.empty()) need(pub.publish_batch(std::move(batch)), "publish");
  }

  std::cout << std::unitbuf;
  std::cout << fmt::format(
      "stt_worker_bench: {} calls ({} ms stereo 8 kHz WAV, {} bytes) through StageWorker + transcribe stage, "
      "MariaDB, RabbitMQ, fake Deepgram at {} ms; {} in flight, {} handler + {} CPU + {} database threads; load "
      "average {}\n",
      total, audio_ms, wav.size(), latency_ms, jobs, handler_threads, work_threads, db_threads, load_average());
  std::cout << fmt::format("setup: {} calls stored in {:.1f} s, messages queued\n", total, setup_s);

  Metrics metrics("stt-bench", "0", "bench");
  http::CurlHttpClientOptions copts;
  copts.max_total_connections = static_cast<std::size_t>(jobs) + 16;
  copts.max_connections_per_host = static_cast<std::size_t>(jobs) + 16;
  http::CurlHttpClient client(copts);
  pipeline::ProviderTranscriberFactory providers(client, SystemClock::instance(), metrics);
  pipeline::TranscribeStageOptions so;
  so.work_threads = static_cast<std::size_t>(work_threads);
  so.db_threads = static_cast<std::size_t>(db_threads);
  so.provider_in_flight = static_cast<std::size_t>(jobs);
  pipeline::TranscribeStage stage(
      pipeline::TranscribeStageDeps{calls, transcripts, metrics_repo, configs, events, store, providers, metrics,
                                    SystemClock::instance(), topo, audio::DecodeLimits{}},
      so);
  Measured measured(stage, static_cast<std::size_t>(total));
  queue::InMemoryBusinessDirectory dir;
  dir.enable(t.bid());
  queue::InMemoryOutcomeRecorder recorder;
  queue::StageWorkerOptions wo;
  wo.stage = queue::Stage::kTranscribe;
  wo.handler_threads = static_cast<std::size_t>(handler_threads);
  wo.max_in_flight = static_cast<std::size_t>(jobs);
  wo.per_business_in_flight = static_cast<std::size_t>(jobs);
  queue::StageWorker worker(amqp, topo, wo, measured, dir, recorder, metrics, SystemClock::instance());

  const auto t0 = Steady::now();
  need(worker.start(), "worker");
  measured.wait_for(static_cast<std::size_t>(total));
  // Every input acked after its analyze message was confirmed.
  while (recorder.events().size() < static_cast<std::size_t>(total)) std::this_thread::sleep_for(10ms);
  const double wall_s = std::chrono::duration<double>(Steady::now() - t0).count();
  worker.stop_intake();
  worker.drain(Steady::now() + 10s);
  worker.stop();
  stage.shutdown();
  client.shutdown();

  auto& lat = measured.latencies_;
  std::sort(lat.begin(), lat.end());
  const auto pct = [&](double p) {
    return lat[std::min(lat.size() - 1, static_cast<std::size_t>(p * static_cast<double>(lat.size())))];
  };
  auto& done = measured.completions_;
  std::sort(done.begin(), done.end());
  const auto window_start = *measured.first_start_ + std::chrono::milliseconds(latency_ms);
  const auto first = std::lower_bound(done.begin(), done.end(), window_start);
  const double window_s = std::chrono::duration<double>(done.back() - window_start).count();
  const double throughput = static_cast<double>(done.end() - first) / window_s;
  const double ideal = jobs / (latency_ms / 1000.0);
  auto forwarded = admin.queue_depth(queue::work_queue(queue::Stage::kAnalyze, t.bid()));
  // The admin connection sat idle through the run: the broker may have dropped it.
  if (!forwarded) forwarded = admin.queue_depth(queue::work_queue(queue::Stage::kAnalyze, t.bid()));
  int error_count = 0;
  for (const auto& [code, n] : measured.errors_) error_count += n;
  const long hwm_kb = bench::status_kb(0, "VmHWM");

  std::cout << fmt::format("peak in flight: {}\n", measured.peak_);
  std::cout << fmt::format("wall: {:.2f} s ({:.1f} jobs/s overall, ramp and drain included)\n", wall_s, total / wall_s);
  std::cout << fmt::format("steady throughput: {:.1f} jobs/s, ideal (in-flight/latency): {:.1f} jobs/s, ratio {:.3f}\n",
                           throughput, ideal, throughput / ideal);
  std::cout << fmt::format("job latency ms: p50 {:.0f}, p99 {:.0f}, max {:.0f}\n", pct(0.50), pct(0.99), lat.back());
  for (const auto& [code, n] : measured.errors_) std::cout << fmt::format("errors {}: {}\n", code, n);
  std::cout << fmt::format("errors: {}; analyze messages forwarded: {}\n", error_count,
                           forwarded ? std::to_string(*forwarded) : forwarded.error().to_string());
  std::cout << fmt::format("peak RSS (VmHWM): {:.1f} MB, threads: {}\n", hwm_kb / 1024.0,
                           bench::status_kb(0, "Threads"));
  std::cout << fmt::format("load average after: {}\n", load_average());

  close(stop_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);
  (void)admin.delete_business(queue::Stage::kTranscribe, t.bid());
  (void)admin.delete_business(queue::Stage::kAnalyze, t.bid());
  std::filesystem::remove_all(root);
  {
    storage::MySqlSettings drop = mysql;
    drop.database.clear();
    storage::Database d(drop);
    (void)d.execute(fmt::format("DROP DATABASE IF EXISTS {}", kDatabase));
  }
  const bool ok = error_count == 0 && measured.peak_ >= static_cast<std::size_t>(jobs) && throughput >= 0.8 * ideal &&
                  hwm_kb <= 300 * 1024 && forwarded && *forwarded == static_cast<std::uint32_t>(total);
  std::cout << (ok ? "targets met\n" : "targets NOT met\n");
  return ok ? 0 : 1;
}
