// sync_bench: source-database sync rate into call_records with confirmed transcribe.{bid}
// publishes, against the running MariaDB and RabbitMQ (EARSHOT_MYSQL_*, EARSHOT_AMQP_URL).
// It creates `earshot_bench_src` (the business's call table, seeded with --calls rows) and
// `earshot_bench_sync` (migrated), both dropped and re-created on every run, then times one
// full pass of SourceDbSync per batch size: new calls (upsert + publish + watermark per
// batch), then a re-sync of the same rows with the watermark reset (updates; the calls are
// still pending, so they are published again). "batch writes" sums the write time of the
// batches (two are written at once); "reader waited" is the time the pass waited for the
// oldest batch to be committed and confirmed. The CPU per call of the bench process and (when
// the server runs on this machine) of mariadbd tell what the pass costs apart from how much
// of the machine it got.
//   sync_bench [--calls N]   (default 50000)
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "earshot/core/config.hpp"
#include "earshot/core/log.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/mysql_run_locks.hpp"
#include "earshot/sync/sync.hpp"

using namespace earshot;
using Json = nlohmann::json;

namespace {

constexpr const char* kSrc = "earshot_bench_src";
constexpr const char* kMain = "earshot_bench_sync";

template <class R>
void need(const R& r, std::string_view what) {
  if (!r) {
    std::cerr << fmt::format("sync_bench: {}: {}\n", what, r.error().to_string());
    std::exit(1);
  }
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// CPU seconds used so far by this process (all threads).
double own_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds used so far by the MariaDB server when it runs on this machine (its pid file is
// readable), else a negative number. Other clients' queries count too.
double server_cpu_seconds(const std::string& pid_file) {
  std::ifstream pf(pid_file);
  long pid = 0;
  if (!(pf >> pid) || pid <= 0) return -1;
  std::ifstream st(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(st)), {});
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string cpu_per_call(double client_s, double server_s, std::int64_t calls) {
  if (calls <= 0) return "";
  std::string out = fmt::format(", CPU per call: client {:.0f} us", client_s * 1e6 / static_cast<double>(calls));
  if (server_s >= 0) out += fmt::format(", server {:.0f} us", server_s * 1e6 / static_cast<double>(calls));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 50'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string_view(argv[i]) == "--calls") n = std::atoi(argv[i + 1]);
  }
  if (n <= 0) {
    std::cerr << "usage: sync_bench [--calls N]\n";
    return 2;
  }
  log::init("sync-bench", "warn", log::Format::kText);
  EnvMap env;
  for (auto& [k, v] : current_environment()) {
    if (k.starts_with("EARSHOT_MYSQL_")) env[k] = v;
  }
  ConfigSpec spec;
  storage::MySqlSettings settings;
  settings.declare(spec);
  need(spec.load(env), "config");
  const char* url = std::getenv("EARSHOT_AMQP_URL");
  if (url == nullptr) {
    std::cerr << "sync_bench: EARSHOT_AMQP_URL is not set (start the test services first)\n";
    return 2;
  }
  settings.database.clear();
  {
    storage::Database admin(settings);
    for (const char* db : {kSrc, kMain}) {
      need(admin.execute(fmt::format("DROP DATABASE IF EXISTS {}", db)), "drop database");
      need(admin.execute(fmt::format("CREATE DATABASE {} CHARACTER SET utf8mb4", db)), "create database");
    }
  }
  settings.pool_size = 6;
  auto src_settings = settings;
  src_settings.database = kSrc;
  settings.database = kMain;
  storage::Database db(settings);
  need(storage::Migrator(db, storage::embedded_migrations()).migrate(), "migrate");
  storage::Database src(src_settings);
  need(src.execute("CREATE TABLE pbx_calls (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, call_uuid VARCHAR(64) NOT "
                   "NULL, agent_id VARCHAR(32), phone VARCHAR(32), started DATETIME(3) NOT NULL, dur INT, "
                   "recording VARCHAR(255), disposition VARCHAR(16) NOT NULL, updated_at DATETIME(3) NOT NULL, "
                   "KEY ix_updated (updated_at, id)) ENGINE=InnoDB"),
       "create source table");
  // Seed: calls spread over the last 30 days, 1000 rows per INSERT.
  {
    std::mt19937 rng(42);
    const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    for (int at = 0; at < n; at += 1000) {
      const int k = std::min(1000, n - at);
      std::string sql =
          "INSERT INTO pbx_calls (call_uuid, agent_id, phone, started, dur, recording, disposition, updated_at) "
          "VALUES ";
      std::vector<storage::Value> p;
      for (int i = 0; i < k; ++i) {
        sql += i ? ", (?, ?, ?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?, ?, ?)";
        const int id = at + i;
        const storage::Timestamp t =
            now - std::chrono::days(30) + std::chrono::milliseconds(id) * (30LL * 86'400'000 / n);
        p.emplace_back(fmt::format("call-{:08}", id));
        p.emplace_back(fmt::format("agent-{}", rng() % 40));
        p.emplace_back(fmt::format("+1415555{:04}", rng() % 10000));
        p.emplace_back(t);
        p.emplace_back(static_cast<int>(30 + rng() % 600));
        p.emplace_back(fmt::format("https://recordings.example/{:08}.wav", id));
        p.emplace_back(rng() % 10 == 0 ? "MISSED" : "ANSWERED");
        p.emplace_back(t);
      }
      need(src.execute(sql, p), "seed");
    }
  }
  auto answered = src.execute("SELECT COUNT(*) FROM pbx_calls WHERE disposition = 'ANSWERED'");
  need(answered, "count");

  auto keyring = crypto::Keyring::parse("bench:" + crypto::Keyring::generate_key_base64(), "bench");
  need(keyring, "keyring");
  storage::MySqlBusinessRepository businesses(db);
  storage::MySqlPipelineConfigRepository configs(db, *keyring);
  storage::MySqlCallRepository calls(db);
  storage::MySqlHumanAgentRepository agents(db);
  storage::MySqlTranscriptRepository transcripts(db);
  storage::MySqlWatermarkRepository watermarks(db);
  storage::MySqlCrmLeadRepository leads(db);
  storage::MySqlRunLocks run_locks(db);
  queue::AmqpSettings amqp;
  amqp.url = url;
  amqp.heartbeat = std::chrono::seconds(10);
  amqp.connect_timeout = std::chrono::seconds(2);
  queue::TopologySettings topo;
  queue::TopologyAdmin admin(amqp, topo);
  queue::Publisher publisher(amqp, queue::PublisherOptions{});
  publisher.start();
  sync::TopologyDeclarer declarer(amqp, topo);
  Metrics metrics("sync-bench", "0", "bench");

  std::string pid_file;
  if (auto r = db.execute("SELECT @@pid_file"); r && !r->rows.empty()) pid_file = r->rows[0][0].as_string();
  std::cout << std::unitbuf;
  std::cout << fmt::format("sync_bench: {} source rows ({} answered), server {}:{}, load average {}\n", n,
                           answered->rows[0][0].as_int(), settings.host, settings.port, load_average());
  std::mt19937_64 rng(std::random_device{}());
  std::vector<std::string> bids;
  for (int batch : {500, 1000, 2000}) {
    auto t = storage::TenantId::make(fmt::format("bench{:08x}", rng() & 0xffffffffULL));
    bids.push_back(t->bid());
    need(businesses.create(*t, "sync bench"), "business");
    storage::PipelineConfig c;
    c.source_db_json = Json{{"kind", "mariadb"},   {"host", src_settings.host}, {"port", src_settings.port},
                            {"database", kSrc},    {"user", src_settings.user}, {"table", "pbx_calls"},
                            {"batch_size", batch}, {"safety_lag_seconds", 0}}
                           .dump();
    c.column_mapping_json = Json{{"external_id", "call_uuid"},
                                 {"agent", "agent_id"},
                                 {"customer_phone", "phone"},
                                 {"started_at", "started"},
                                 {"duration", "dur"},
                                 {"audio_url", "recording"},
                                 {"watermark_time", "updated_at"},
                                 {"watermark_id", "id"},
                                 {"disposition", {{"column", "disposition"}, {"values", {"ANSWERED"}}}}}
                                .dump();
    c.secrets["source_db_password"] = src_settings.password;
    need(configs.put(*t, c), "config");
    sync::SourceDbSync s(sync::SyncDeps{run_locks,
                                        configs,
                                        calls,
                                        agents,
                                        transcripts,
                                        watermarks,
                                        leads,
                                        publisher,
                                        declarer,
                                        topo,
                                        metrics,
                                        SystemClock::instance(),
                                        nullptr,
                                        {},
                                        nullptr,
                                        std::nullopt});
    auto start = std::chrono::steady_clock::now();
    double cpu0 = own_cpu_seconds(), srv0 = server_cpu_seconds(pid_file);
    auto r = s.run_once(*t);
    need(r, "sync");
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double srv = srv0 < 0 ? -1 : server_cpu_seconds(pid_file) - srv0;
    std::cout << fmt::format(
        "new calls,  batch {:>4}: {:>8.0f} calls/s  ({} created, {} published, {:.2f} s: read {} ms, batch writes {} "
        "ms summed, reader waited {} ms{})\n",
        batch, static_cast<double>(r->created) / secs, r->created, r->published, secs, r->read_ms, r->write_ms,
        r->publish_wait_ms, cpu_per_call(own_cpu_seconds() - cpu0, srv, r->created));
    need(db.execute("DELETE FROM sync_watermarks WHERE bid = ? AND source = 'db'", {t->bid()}), "reset watermark");
    start = std::chrono::steady_clock::now();
    cpu0 = own_cpu_seconds();
    srv0 = server_cpu_seconds(pid_file);
    auto again = s.run_once(*t);
    need(again, "re-sync");
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    srv = srv0 < 0 ? -1 : server_cpu_seconds(pid_file) - srv0;
    std::cout << fmt::format(
        "re-sync,    batch {:>4}: {:>8.0f} calls/s  ({} updated, {} published again: still pending, {:.2f} s{})\n",
        batch, static_cast<double>(again->updated) / secs, again->updated, again->published, secs,
        cpu_per_call(own_cpu_seconds() - cpu0, srv, again->updated));
  }
  publisher.stop();
  for (const auto& bid : bids) (void)admin.delete_business(queue::Stage::kTranscribe, bid);
  {
    storage::Database cleanup(src_settings);
    (void)cleanup.execute(fmt::format("DROP DATABASE IF EXISTS {}", kSrc));
    (void)cleanup.execute(fmt::format("DROP DATABASE IF EXISTS {}", kMain));
  }
  std::cout << fmt::format("load average at the end: {}\n", load_average());
  return 0;
}
