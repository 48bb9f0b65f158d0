// ingest_bench: upload ingestion through the gateway's production request pipeline (API key
// auth, multipart parsing, format detection and full decode, object store write, call insert,
// confirmed publish to transcribe.{bid}). The gateway runs in this process on a free port
// against database `earshot_bench` and the broker; each client thread keeps one connection
// and uploads 1 MB WAV recordings (mono, 16 kHz, ~33 s) with fresh external ids, closed loop.
// Prints requests/s, p50 and p99 latency and the status counts. The business, its calls,
// queues and stored recordings are removed at the end. With --store s3 the recordings go to
// the S3 store (SigV4, payload hash, PUT) of a loopback fake S3 that verifies every signature
// (tests/fakes/s3; built with the tests).
//
// Usage: ingest_bench [--duration 10] [--clients 4] [--http-threads 16] [--bytes 1048576]
//                     [--store local|s3]
// Connection settings come from EARSHOT_MYSQL_* and EARSHOT_AMQP_URL.
#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/bench_common.hpp"
#include "earshot/api/api_server.hpp"
#include "earshot/api/auth.hpp"
#include "earshot/api/business_admin.hpp"
#include "earshot/api/gateway.hpp"
#include "earshot/audio/wav_writer.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#ifdef EARSHOT_BENCH_FAKE_S3
#include "fakes/s3/fake_s3.hpp"
#endif

namespace {

using namespace earshot;

using earshot::bench::need;

}  // namespace

int main(int argc, char** argv) {
  int seconds = 10, clients = 4, http_threads = 16;
  std::int64_t bytes = 1 << 20;
  std::string store_kind = "local";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--duration" && i + 1 < argc)
      seconds = std::atoi(argv[++i]);
    else if (a == "--clients" && i + 1 < argc)
      clients = std::atoi(argv[++i]);
    else if (a == "--http-threads" && i + 1 < argc)
      http_threads = std::atoi(argv[++i]);
    else if (a == "--bytes" && i + 1 < argc)
      bytes = std::atoll(argv[++i]);
    else if (a == "--store" && i + 1 < argc)
      store_kind = argv[++i];
    else {
      std::cerr << "usage: ingest_bench [--duration SECONDS] [--clients N] [--http-threads N] [--bytes N] "
                   "[--store local|s3]\n";
      return 2;
    }
  }
  log::init("ingest-bench", "warn");
  EnvMap env;
  for (auto& [k, v] : current_environment()) {
    if (k.starts_with("EARSHOT_MYSQL_") || k == "EARSHOT_AMQP_URL") env[k] = v;
  }
  ConfigSpec spec;
  storage::MySqlSettings mysql;
  queue::AmqpSettings amqp;
  mysql.declare(spec);
  amqp.declare(spec);
  need(spec.load(env), "config");
  mysql.database = "earshot_bench";
  mysql.pool_size = http_threads;
  mysql.read_timeout = std::chrono::minutes(10);
  {
    // The bench database may not exist yet.
    auto admin_settings = mysql;
    admin_settings.database = "";
    admin_settings.pool_size = 1;
    storage::Database admin(admin_settings);
    need(admin.execute("CREATE DATABASE IF NOT EXISTS earshot_bench"), "create database");
  }
  storage::Database db(mysql);
  need(storage::Migrator(db, storage::embedded_migrations()).migrate(), "migrate");

  auto& clock = SystemClock::instance();
  auto keys = need(crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k"), "keys");
  queue::TopologySettings topology;
  need(topology.resolve(), "topology");
  queue::Publisher publisher(amqp, {});
  publisher.start();
  api::AmqpQueueControl queues(amqp, topology, publisher);
  storage::MySqlRepositories repos(db, keys);
  const std::string bid = fmt::format("bench-ingest-{:06x}", std::random_device{}() & 0xffffff);
  need(api::register_business(repos.repos(), queues, {bid, "Ingest bench", std::nullopt, std::nullopt}, clock),
       "register business");
  const auto tenant = *storage::TenantId::make(bid);
  auto& key_repo = repos.repos().api_keys;
  const auto key = crypto::generate_api_key();
  need(key_repo.create(tenant, "bench", key.prefix, key.hash, {"ingest"}), "api key");

  const auto objects = std::filesystem::temp_directory_path() / bid;
  auto jwt = need(api::JwtCodec::make(std::string(48, 'b'), std::chrono::hours(1), clock), "jwt");
  api::AuthService auth(repos.repos(), jwt, clock, std::chrono::hours(1));
  Metrics metrics("ingest-bench", "0", "0");
  api::GatewayServices services{repos.repos(),          keys, clock, auth, queues, objects.string(), nullptr, &metrics,
                                api::openapi_document()};
  services.ingest.max_audio_bytes = std::max<std::int64_t>(bytes * 2, 1 << 20);
#ifdef EARSHOT_BENCH_FAKE_S3
  std::unique_ptr<testing::FakeS3> fake_s3;
  http::CurlHttpClient s3_http;
  if (store_kind == "s3") {
    fake_s3 = std::make_unique<testing::FakeS3>(testing::FakeS3::Options{
        "us-east-1", {{"AKIDBENCH", "bench-secret"}}, {"bench"}, [] { return std::chrono::system_clock::now(); }});
    if (!fake_s3->start()) need(make_error(ErrorCode::kUnavailable, "fake S3 did not start"), "s3");
    objectstore::ObjectStoreSettings os;
    os.kind = "s3";
    os.s3.endpoint = fake_s3->endpoint();
    os.s3.bucket = "bench";
    os.s3.access_key_id = "AKIDBENCH";
    os.s3.secret_access_key = "bench-secret";
    services.object_store = need(objectstore::ObjectStores::make(os, &s3_http, clock), "s3 store");
  }
#else
  if (store_kind == "s3") need(make_error(ErrorCode::kInvalidArgument, "built without the test fakes"), "--store s3");
#endif
  api::Router router;
  api::add_all_routes(router, services);
  api::ServiceAuthenticator authenticator(auth);
  api::RateLimitOptions limits;
  limits.enabled = false;
  api::Dispatcher dispatcher(router, authenticator, nullptr, limits, clock, metrics);
  api::ApiSettings settings;
  settings.host = "127.0.0.1";
  settings.threads = http_threads;
  settings.max_body_bytes = services.ingest.max_audio_bytes + (1 << 20);
  settings.read_timeout = std::chrono::seconds(30);
  settings.write_timeout = std::chrono::seconds(30);
  api::HttpServer http(settings, dispatcher, metrics);
  need(http.start(), "listen");
  const int port = http.bound_port();

  // A recording of `bytes` bytes: mono 16 kHz speech-band noise bursts with pauses.
  const auto frames = static_cast<std::size_t>((bytes - 44) / 2);
  std::vector<float> samples(frames);
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.15f);
  for (std::size_t i = 0; i < frames; ++i) samples[i] = (i / 16000) % 3 == 2 ? 0.0f : noise(rng);
  const std::string wav = audio::encode_wav_pcm16(samples, 16000);

  std::cout << std::unitbuf;
  std::cout << fmt::format(
      "uploads of {} bytes ({:.1f} s WAV), {} clients, {} s, gateway {} worker threads, {} store\n", wav.size(),
      static_cast<double>(frames) / 16000, clients, seconds, http_threads, store_kind);
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::map<int, int> statuses;
  std::atomic<int> seq{0};
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_read_timeout(60, 0);
      cli.set_write_timeout(60, 0);
      httplib::Headers headers{{"X-Api-Key", key.secret}};
      std::vector<double> mine;
      std::map<int, int> st;
      while (!stop.load()) {
        const httplib::MultipartFormDataItems items = {
            {"audio", wav, "call.wav", "audio/wav"},
            {"external_id", fmt::format("bench-{:08}", seq.fetch_add(1)), "", ""},
            {"agent_id", "bench-agent", "", ""},
            {"customer_phone", "+15555550100", "", ""},
            {"language", "en", "", ""}};
        const auto a = std::chrono::steady_clock::now();
        auto res = cli.Post("/api/v1/ingest/calls", headers, items);
        const auto b = std::chrono::steady_clock::now();
        ++st[res ? res->status : 0];
        mine.push_back(std::chrono::duration<double, std::milli>(b - a).count());
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      for (auto [k, v] : st) statuses[k] += v;
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1, static_cast<std::size_t>(p * latencies_ms.size()))];
  };
  std::string codes;
  for (auto [k, v] : statuses) codes += fmt::format(" {}:{}", k, v);
  std::cout << fmt::format("{:<28} {:>8.1f} req/s  {:>6.1f} MB/s  p50 {:>7.1f} ms  p99 {:>7.1f} ms  statuses{}\n",
                           "upload 1 call (multipart)", static_cast<double>(latencies_ms.size()) / elapsed,
                           static_cast<double>(latencies_ms.size()) * static_cast<double>(wav.size()) / elapsed / 1e6,
                           pct(0.50), pct(0.99), codes);

  http.stop();
  // Clean up: the business's calls and notes, queues, recordings.
  (void)db.execute("DELETE FROM call_notes WHERE bid = ?", {storage::Value(bid)});
  (void)db.execute("DELETE FROM call_records WHERE bid = ?", {storage::Value(bid)});
  queue::TopologyAdmin admin(amqp, topology);
  for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, bid);
  publisher.stop();
  std::error_code ec;
  std::filesystem::remove_all(objects, ec);
  return 0;
}
