// notify_bench: webhook deliveries per second through the real dispatcher — claim from the
// durable schedule in MariaDB, sign, POST to a local receiver that verifies every signature,
// record the attempt — and the rate of enqueueing deliveries.
//
//   eval "$(scripts/services.sh --instance test env)"
//   build/bin/notify_bench --deliveries 20000 --businesses 4
//
// Connection settings come from EARSHOT_MYSQL_*; the data lives in its own database
// `earshot_notify_bench`, dropped and migrated at every run.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_common.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/config.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/notify/dispatcher.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "webhook_receiver.hpp"

using namespace earshot;
using namespace std::chrono_literals;

namespace {

constexpr const char* kDatabase = "earshot_notify_bench";

using earshot::bench::need;

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
  int deliveries = 20000;
  int businesses = 4;
  std::int64_t in_flight = 512;
  std::int64_t batch = 500;
  // The receiver (cpp-httplib) serves a connection per thread for as long as it is kept
  // alive: more threads than the sender keeps connections to one host (256), or kept-alive
  // connections would wait for a free thread.
  int receiver_threads = 320;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--deliveries")
      deliveries = next();
    else if (a == "--businesses")
      businesses = next();
    else if (a == "--in-flight")
      in_flight = next();
    else if (a == "--batch")
      batch = next();
    else if (a == "--receiver-threads")
      receiver_threads = next();
    else {
      std::cerr << "usage: notify_bench [--deliveries N] [--businesses N] [--in-flight N] [--batch N] "
                   "[--receiver-threads N]\n";
      return 2;
    }
  }
  if (deliveries <= 0 || businesses <= 0 || in_flight <= 0 || batch <= 0 || receiver_threads <= 0) {
    std::cerr << "numbers must be positive\n";
    return 2;
  }

  EnvMap env;
  for (auto& [k, v] : current_environment()) {
    if (k.starts_with("EARSHOT_MYSQL_")) env[k] = v;
  }
  ConfigSpec spec;
  storage::MySqlSettings settings;
  settings.declare(spec);
  need(spec.load(env), "config");
  settings.database.clear();
  {
    storage::Database admin(settings);
    need(admin.execute(fmt::format("DROP DATABASE IF EXISTS {}", kDatabase)), "drop database");
    need(admin.execute(fmt::format("CREATE DATABASE {} CHARACTER SET utf8mb4", kDatabase)), "create database");
  }
  settings.database = kDatabase;
  settings.pool_size = 8;
  storage::Database db(settings);
  need(storage::Migrator(db, storage::embedded_migrations()).migrate(), "migrate");
  const auto keys = need(crypto::Keyring::parse("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "k1"), "keys");

  const std::string secret = "whsec_bench_0123456789abcdef";
  testing::WebhookReceiver rx(secret, receiver_threads);
  if (!rx.start()) {
    std::cerr << "receiver did not start\n";
    return 1;
  }
  storage::MySqlDeliveryRepository store(db, keys);
  storage::MySqlBusinessRepository business_repo(db);
  std::vector<std::pair<storage::TenantId, storage::Id>> subs;
  for (int b = 0; b < businesses; ++b) {
    auto t = *storage::TenantId::make(fmt::format("bench{}", b));
    need(business_repo.create(t, fmt::format("Bench {}", b)), "business");
    subs.emplace_back(t, need(store.create_subscription(t, rx.url(), "bench", {"call.analyzed"}, secret), "subscribe"));
  }

  std::cout << std::unitbuf;
  std::cout << fmt::format(
      "notify_bench: {} webhook deliveries over {} businesses to a local receiver verifying "
      "every signature ({} threads); load average {}\n\n",
      deliveries, businesses, receiver_threads, load_average());

  // Enqueue (what the notify stage does per call), 500 rows per transaction.
  const auto e0 = std::chrono::steady_clock::now();
  const auto now = storage::to_timestamp(std::chrono::system_clock::now());
  for (int done = 0; done < deliveries;) {
    const int n = std::min(500, deliveries - done);
    const auto& [t, sub] = subs[static_cast<std::size_t>((done / 500) % businesses)];
    std::vector<storage::NewDelivery> rows;
    for (int i = 0; i < n; ++i) {
      const auto id = fmt::format("evt_bench_{}", done + i);
      nlohmann::json ev{{"id", id},
                        {"type", "call.analyzed"},
                        {"version", 1},
                        {"bid", t.bid()},
                        {"created_at", "2026-11-21T09:40:00.000Z"},
                        {"data",
                         {{"call", {{"id", done + i}, {"external_id", fmt::format("c-{}", done + i)}}},
                          {"summary", "Customer asked for a refund; the agent issued it."},
                          {"scores", {{"qa_score", 0.75}, {"customer_sentiment", 0.2}}}}}};
      rows.push_back({storage::DeliveryChannel::kWebhook, sub, done + i, "call.analyzed", id, ev.dump()});
    }
    need(store.enqueue(t, rows, now), "enqueue");
    done += n;
  }
  const double enqueue_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
  std::cout << fmt::format("enqueue (500 rows per transaction)   {:>8.0f} deliveries/s  ({:.2f} s)\n",
                           deliveries / enqueue_s, enqueue_s);

  Metrics metrics("notify-bench", "0", "bench");
  http::CurlHttpClient client;
  storage::MySqlPipelineConfigRepository configs(db, keys);
  notify::NotifySettings s;
  s.max_in_flight = in_flight;
  s.claim_batch = batch;
  s.poll_interval = 5ms;
  notify::Dispatcher disp(
      s, notify::DispatcherDeps{store, client, configs, nullptr, metrics, SystemClock::instance(), {}});
  const auto d0 = std::chrono::steady_clock::now();
  need(disp.start(), "dispatcher");
  while (disp.recorded() < static_cast<std::uint64_t>(deliveries)) {
    std::this_thread::sleep_for(10ms);
    if (std::chrono::steady_clock::now() - d0 > 10min) {
      std::cerr << "timed out with " << disp.recorded() << " recorded\n";
      return 1;
    }
  }
  const double deliver_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - d0).count();
  disp.stop_intake();
  client.shutdown();
  disp.stop();

  auto counts = need(db.execute("SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status"), "count");
  std::string by_status;
  for (const auto& r : counts.rows) by_status += fmt::format("{}={} ", r[0].as_string(), r[1].as_int());
  auto lat =
      need(db.execute("SELECT latency_ms FROM webhook_deliveries WHERE status = 'delivered' ORDER BY latency_ms"),
           "latency");
  auto pct = [&](double p) {
    if (lat.rows.empty()) return std::int64_t{0};
    return lat.rows[static_cast<std::size_t>(p * static_cast<double>(lat.rows.size() - 1))][0].as_int();
  };
  std::cout << fmt::format(
      "deliver (claim, sign, POST, record)  {:>8.0f} deliveries/s  ({:.2f} s, in flight <= {}, claim batch {})\n",
      deliveries / deliver_s, deliver_s, in_flight, batch);
  std::cout << fmt::format("request latency at the sender        p50 {} ms, p99 {} ms\n", pct(0.5), pct(0.99));
  std::cout << fmt::format("receiver: {} requests, {} unique events, {} bad signatures, {} duplicates\n",
                           rx.request_count(), rx.accepted_count(), rx.bad_signatures(), rx.duplicates());
  std::cout << fmt::format("deliveries by status: {}\n", by_status);
  std::cout << fmt::format("load average at the end: {}\n", load_average());
  rx.stop();
  return rx.bad_signatures() == 0 && rx.accepted_count() == deliveries ? 0 : 1;
}
