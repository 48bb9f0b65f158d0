// storage_bench: call upserts per second (single and batched) and the latency of the call
// list with three filters over 1,000,000 calls in 50 businesses.
//
// Connection settings come from EARSHOT_MYSQL_* (other EARSHOT_* variables are ignored
// here). The list data set lives in its own database `earshot_bench`, created and migrated
// on demand; the upsert figures use `earshot_bench_upserts`, dropped and re-created each
// run so no run pays for purging the previous run's rows.
// The 1M-call data set is kept between runs (re-seeded only when the count differs);
// --reseed forces it.
// Usage: storage_bench [--calls N] [--businesses N] [--queries N] [--reseed] [--only upserts|list]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "common/bench_common.hpp"
#include "earshot/core/config.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/mysql_repositories.hpp"

namespace {

using namespace earshot;
using namespace earshot::storage;
using Clock = std::chrono::steady_clock;

constexpr const char* kDatabase = "earshot_bench";
constexpr const char* kUpsertDatabase = "earshot_bench_upserts";

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Percentiles {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

Percentiles percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
  };
  return {at(0.50), at(0.99), ms.back()};
}

// The machine's load while the bench ran: other processes compete for the same cores.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one.empty() ? "unknown" : one + " " + five + " " + fifteen;
}

using earshot::bench::need;

Timestamp epoch_start() {
  return Timestamp(std::chrono::seconds(1'767'225'600));
}  // 2026-01-01

CallInput random_call(std::mt19937_64& rng, const std::string& ext) {
  CallInput in;
  in.external_id = ext;
  in.customer_phone = fmt::format("+1555{:07}", rng() % 10'000'000);
  in.customer_name = "Bench Customer";
  in.direction = CallDirection::kInbound;
  in.city = "Austin";
  in.issue_category = "billing";
  in.started_at = epoch_start() + std::chrono::seconds(rng() % (365 * 86400));
  in.duration_ms = static_cast<std::int64_t>(rng() % 1'800'000);
  in.audio_uri = "s3://bench/" + ext + ".wav";
  in.channels = 2;
  in.language = "en";
  return in;
}

// Seeds `calls` calls over `businesses` businesses with analyzed-looking data, using
// multi-row INSERTs of 1000 rows in transactions of 10 statements.
void seed(Database& db, int businesses, int calls) {
  std::cout << fmt::format("seeding {} calls over {} businesses...\n", calls, businesses);
  const auto t0 = Clock::now();
  need(db.execute("DELETE FROM call_records WHERE bid LIKE 'bench-list-%'"), "clear");
  MySqlBusinessRepository biz(db);
  for (int b = 0; b < businesses; ++b) {
    auto t = *TenantId::make(fmt::format("bench-list-{:02}", b));
    if (!biz.get(t)) need(biz.create(t, fmt::format("Bench {}", b)), "business");
  }
  const char* cities[] = {"Austin", "Boston", "Chicago", "Denver", "El Paso", "Fresno"};
  const char* cats[] = {"billing", "support", "sales", "cancellation"};
  const char* langs[] = {"en", "es", "fr"};
  const char* statuses[] = {"analyzed", "notified", "analyzed", "failed", "pending"};
  constexpr int kRows = 1000;
  std::string sql =
      "INSERT INTO call_records (bid, external_id, human_agent_id, customer_phone, city, "
      "issue_category, call_context, started_at, duration_ms, language, metadata, status, "
      "agent_talk_ratio, customer_sentiment, qa_score) VALUES ";
  for (int i = 0; i < kRows; ++i) {
    sql += i ? ", " : "";
    sql += "(?, ?, ?, ?, ?, ?, '', ?, ?, ?, '{}', ?, ?, ?, ?)";
  }
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int per_business = calls / businesses;
  std::vector<Value> p;
  int done = 0;
  while (done < calls) {
    need(db.transaction([&](Connection& c) -> Status {
      for (int stmt = 0; stmt < 10 && done < calls; ++stmt) {
        p.clear();
        for (int i = 0; i < kRows; ++i) {
          const int n = done + i;
          const int b = (n / per_business) % businesses;
          p.emplace_back(fmt::format("bench-list-{:02}", b));
          p.emplace_back(fmt::format("call-{:08}", n));
          p.emplace_back(static_cast<std::int64_t>(1 + rng() % 40));
          p.emplace_back(fmt::format("+1555{:07}", rng() % 10'000'000));
          p.emplace_back(cities[rng() % 6]);
          p.emplace_back(cats[rng() % 4]);
          p.emplace_back(epoch_start() + std::chrono::seconds(rng() % (365 * 86400)));
          p.emplace_back(static_cast<std::int64_t>(rng() % 1'800'000));
          p.emplace_back(langs[rng() % 3]);
          p.emplace_back(statuses[rng() % 5]);
          p.emplace_back(std::round(unit(rng) * 1000) / 1000);
          p.emplace_back(std::round((unit(rng) * 2 - 1) * 1000) / 1000);
          if (rng() % 10 == 0)
            p.emplace_back(nullptr);
          else
            p.emplace_back(std::round(unit(rng) * 100) / 100);
        }
        auto r = c.execute(sql, p);
        if (!r) return std::unexpected(r.error());
        done += kRows;
      }
      return {};
    }),
         "seed");
  }
  need(db.execute("ANALYZE TABLE call_records"), "analyze");
  const double s = seconds_since(t0);
  std::cout << fmt::format("seeded {} calls in {:.1f} s ({:.0f} rows/s)\n", calls, s, calls / s);
}

}  // namespace

int main(int argc, char** argv) {
  int total_calls = 1'000'000;
  int businesses = 50;
  int queries = 2000;
  bool reseed = false;
  std::string only;  // "upserts" or "list": run one part
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--calls" && i + 1 < argc)
      total_calls = std::stoi(argv[++i]);
    else if (a == "--businesses" && i + 1 < argc)
      businesses = std::stoi(argv[++i]);
    else if (a == "--queries" && i + 1 < argc)
      queries = std::stoi(argv[++i]);
    else if (a == "--reseed")
      reseed = true;
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else {
      std::cerr << "usage: storage_bench [--calls N] [--businesses N] [--queries N] [--reseed] [--only upserts|list]\n";
      return 2;
    }
  }

  EnvMap env;
  for (auto& [k, v] : current_environment()) {
    if (k.starts_with("EARSHOT_MYSQL_")) env[k] = v;
  }
  ConfigSpec spec;
  MySqlSettings settings;
  settings.declare(spec);
  need(spec.load(env), "config");
  settings.database.clear();
  {
    Database admin(settings);
    need(admin.execute(fmt::format("CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4", kDatabase)),
         "create database");
    need(admin.execute(fmt::format("DROP DATABASE IF EXISTS {}", kUpsertDatabase)), "drop");
    need(admin.execute(fmt::format("CREATE DATABASE {} CHARACTER SET utf8mb4", kUpsertDatabase)), "create database");
  }
  settings.pool_size = 4;
  // Migrating the big data set rebuilds indexes: minutes, not the default read deadline.
  settings.read_timeout = std::chrono::hours(2);
  auto up_settings = settings;
  up_settings.database = kUpsertDatabase;
  Database up_db(up_settings);
  need(Migrator(up_db, embedded_migrations()).migrate(), "migrate");
  settings.database = kDatabase;
  Database db(settings);
  need(Migrator(db, embedded_migrations()).migrate(), "migrate");
  std::cout << std::unitbuf;
  std::cout << fmt::format("server {}:{}, load average {}\n", settings.host, settings.port, load_average());

  MySqlCallRepository up_calls(up_db);
  MySqlCallRepository calls(db);
  MySqlBusinessRepository biz(up_db);
  auto upsert_tenant = *TenantId::make("bench-upsert");
  need(biz.create(upsert_tenant, "Bench upserts"), "business");
  std::mt19937_64 rng(7);

  // 1. Single upserts (autocommit, one statement each).
  if (only != "list") {
    constexpr int kN = 5000;
    std::vector<double> lat;
    lat.reserve(kN);
    const auto t0 = Clock::now();
    for (int i = 0; i < kN; ++i) {
      const auto s = Clock::now();
      need(up_calls.upsert(upsert_tenant, random_call(rng, fmt::format("single-{}", i))), "upsert");
      lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    }
    const double secs = seconds_since(t0);
    const auto p = percentiles(lat);
    std::cout << fmt::format(
        "upsert single (new rows):      {:>8.0f} upserts/s  p50 {:.2f} ms  p99 {:.2f} ms  ({} rows)\n", kN / secs,
        p.p50_ms, p.p99_ms, kN);
  }
  // 2. Batched upserts: new rows, then the same rows again (the re-sync path).
  for (int batch_size : {500, 1000}) {
    if (only == "list") break;
    for (bool update : {false, true}) {
      constexpr int kTotal = 100'000;
      std::vector<double> lat;
      const auto t0 = Clock::now();
      for (int at = 0; at < kTotal; at += batch_size) {
        std::vector<CallInput> batch;
        batch.reserve(static_cast<std::size_t>(batch_size));
        for (int i = 0; i < batch_size; ++i) {
          // The update pass re-sends the same calls (same start, duration, agent) with a
          // changed name and metadata, as a re-sync of a source row does.
          std::mt19937_64 row_rng(static_cast<std::uint64_t>(batch_size) * 1'000'000 +
                                  static_cast<std::uint64_t>(at + i));
          auto in = random_call(row_rng, fmt::format("b{}-{}", batch_size, at + i));
          if (update) {
            in.customer_name = "Renamed Customer";
            in.metadata_json = R"({"resynced":true})";
          }
          batch.push_back(std::move(in));
        }
        const auto s = Clock::now();
        need(up_calls.upsert_batch(upsert_tenant, batch), "upsert batch");
        lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      }
      const double secs = seconds_since(t0);
      const auto p = percentiles(lat);
      std::cout << fmt::format(
          "upsert batch {:>4} ({}): {:>8.0f} upserts/s  batch p50 {:.1f} ms  p99 {:.1f} ms  ({} rows)\n", batch_size,
          update ? "re-sync " : "new rows", kTotal / secs, p.p50_ms, p.p99_ms, kTotal);
    }
  }

  // 3. The call list on the big data set (earshot_bench).
  if (only == "upserts") {
    std::cout << fmt::format("load average at the end: {}\n", load_average());
    return 0;
  }
  auto count = need(db.execute("SELECT COUNT(*) FROM call_records WHERE bid LIKE 'bench-list-%'"), "count");
  if (reseed || count.rows[0][0].as_int() != total_calls)
    seed(db, businesses, total_calls);
  else
    std::cout << fmt::format("reusing the {} seeded calls\n", total_calls);

  struct Shape {
    const char* name;
    std::function<void(CallListQuery&, std::mt19937_64&)> setup;
  };
  const std::vector<Shape> shapes = {
      {"date range + talk ratio + sentiment, by start time",
       [](CallListQuery& q, std::mt19937_64& r) {
         const auto from = epoch_start() + std::chrono::days(r() % 300);
         q.started_from = from;
         q.started_to = from + std::chrono::days(60);
         q.talk_ratio_min = 0.3;
         q.talk_ratio_max = 0.7;
         q.sentiment_min = 0.0;
       }},
      {"city + language + talk ratio, by QA score",
       [](CallListQuery& q, std::mt19937_64&) {
         q.city = "Boston";
         q.language = "es";
         q.talk_ratio_min = 0.5;
         q.sort = CallSort::kQaScore;
       }},
      {"agent + status + sentiment, by duration",
       [](CallListQuery& q, std::mt19937_64& r) {
         q.human_agent_id = static_cast<Id>(1 + r() % 40);
         q.status = CallStatus::kAnalyzed;
         q.sentiment_max = -0.2;
         q.sort = CallSort::kDuration;
       }},
  };
  for (const auto& shape : shapes) {
    std::vector<double> lat;
    std::size_t rows = 0;
    for (int i = 0; i < queries; ++i) {
      auto t = *TenantId::make(fmt::format("bench-list-{:02}", rng() % static_cast<unsigned>(businesses)));
      CallListQuery q;
      q.limit = 50;
      shape.setup(q, rng);
      // Half the queries continue to a second page through the cursor.
      const auto s = Clock::now();
      auto page = need(calls.list(t, q), "list");
      lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      rows += page.calls.size();
      if (i % 2 == 0 && !page.next_cursor.empty()) {
        q.cursor = page.next_cursor;
        const auto s2 = Clock::now();
        auto next = need(calls.list(t, q), "list page 2");
        lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s2).count());
        rows += next.calls.size();
      }
    }
    const auto p = percentiles(lat);
    std::cout << fmt::format("list [{}]: p50 {:.2f} ms  p99 {:.2f} ms  max {:.2f} ms  ({} queries, {:.1f} rows/page)\n",
                             shape.name, p.p50_ms, p.p99_ms, p.max_ms, lat.size(),
                             static_cast<double>(rows) / static_cast<double>(lat.size()));
  }
  std::cout << fmt::format("load average at the end: {}\n", load_average());
  return 0;
}
