// The sync library against the real MariaDB (a second database as the business's source),
// the real RabbitMQ, and the LeadSquared and HuggingFace rows fakes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "earshot/cache/live_events.hpp"
#include "earshot/core/json_ms.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/queue/publisher.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/mysql_run_locks.hpp"
#include "earshot/sync/scheduler.hpp"
#include "earshot/sync/sync.hpp"
#include "fakes/sync/fake_sync_providers.hpp"
#include "queue_fixture.hpp"
#include "security/egress_listener.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::sync {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using earshot::testing::StorageEnvironment;
using earshot::testing::unique_suffix;
using earshot::testing::wait_until;

// The business's own call database: earshot_src_<suffix> on the test server, dropped after.
class SourceDatabase {
 public:
  SourceDatabase() : name_("earshot_src_" + unique_suffix()) {
    storage::Database admin(earshot::testing::mysql_settings("", 1));
    EXPECT_TRUE(admin.execute(fmt::format("CREATE DATABASE `{}` CHARACTER SET utf8mb4", name_)));
    db_ = std::make_unique<storage::Database>(earshot::testing::mysql_settings(name_, 12));
    auto r = db_->execute(
        "CREATE TABLE pbx_calls (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, call_uuid VARCHAR(64) NOT NULL, "
        "agent_id VARCHAR(32) NULL, phone VARCHAR(32) NULL, started DATETIME(3) NOT NULL, dur INT NULL, "
        "recording VARCHAR(255) NULL, disposition VARCHAR(16) NOT NULL, updated_at DATETIME(3) NOT NULL, "
        "KEY ix_updated (updated_at, id)) ENGINE=InnoDB");
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
  }
  ~SourceDatabase() {
    db_.reset();
    storage::Database admin(earshot::testing::mysql_settings("", 1));
    (void)admin.execute(fmt::format("DROP DATABASE IF EXISTS `{}`", name_));
  }
  storage::Database& db() { return *db_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::unique_ptr<storage::Database> db_;
};

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_keys = "k1:" + crypto::Keyring::generate_key_base64();
    keyring.emplace(*crypto::Keyring::parse(master_keys, "k1"));
    configs = std::make_unique<storage::MySqlPipelineConfigRepository>(db(), *keyring);
    amqp = queue::testing::test_amqp_settings();
    // The production default: these tests count messages exactly, and the queue fixture's
    // 2 s heartbeat can lapse on a loaded machine, making the publisher reconnect and
    // (correctly, at least once) republish an unconfirmed batch.
    amqp.heartbeat = std::chrono::seconds(10);
    admin = std::make_unique<queue::TopologyAdmin>(amqp, topo);
    publisher = std::make_unique<queue::Publisher>(amqp, queue::PublisherOptions{});
    publisher->start();
    declarer = std::make_unique<TopologyDeclarer>(amqp, topo);
    t = earshot::testing::new_tenant("sync");
  }
  void TearDown() override {
    for (auto stage : {queue::Stage::kTranscribe, queue::Stage::kAnalyze}) {
      for (const auto& bid : tenants_used()) (void)admin->delete_business(stage, bid);
    }
    publisher->stop();
    http.shutdown();
  }
  std::vector<std::string> tenants_used() { return {t.bid()}; }
  static storage::Database& db() { return StorageEnvironment::db(); }

  SyncDeps deps() {
    return SyncDeps{run_locks, *configs,   calls,     agents,      transcripts, watermarks,
                    leads,     *publisher, *declarer, topo,        metrics,     SystemClock::instance(),
                    &http,     {},         nullptr,   std::nullopt};  // in-process: no policy
  }
  std::int64_t count(const std::string& sql) {
    auto r = db().execute(sql, {t.bid()});
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r && !r->rows.empty() ? r->rows[0][0].as_int() : -1;
  }
  std::vector<queue::RawMessage> drain(queue::Stage stage) {
    std::vector<queue::RawMessage> out;
    while (true) {
      auto m = admin->get(queue::work_queue(stage, t.bid()));
      if (!m || !*m) break;
      out.push_back(std::move(**m));
    }
    return out;
  }
  std::optional<std::string> watermark(std::string_view source) {
    auto w = watermarks.get(t, source);
    return w ? *w : std::nullopt;
  }
  void put_config(const storage::PipelineConfig& c) {
    auto st = configs->put(t, c);
    ASSERT_TRUE(st) << st.error().to_string();
  }
  storage::PipelineConfig source_config(const SourceDatabase& src, int batch, int lag_s) {
    const auto ep = earshot::testing::endpoints();
    storage::PipelineConfig c;
    c.source_db_json = Json{{"kind", "mariadb"},      {"host", ep.mysql_host},       {"port", ep.mysql_port},
                            {"database", src.name()}, {"user", ep.mysql_user},       {"table", "pbx_calls"},
                            {"every_seconds", 1},     {"safety_lag_seconds", lag_s}, {"batch_size", batch}}
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
    c.secrets["source_db_password"] = ep.mysql_password;
    return c;
  }

  std::string master_keys;
  std::optional<crypto::Keyring> keyring;
  std::unique_ptr<storage::MySqlPipelineConfigRepository> configs;
  storage::MySqlCallRepository calls{db()};
  storage::MySqlHumanAgentRepository agents{db()};
  storage::MySqlTranscriptRepository transcripts{db()};
  storage::MySqlWatermarkRepository watermarks{db()};
  storage::MySqlCrmLeadRepository leads{db()};
  storage::MySqlRunLocks run_locks{db()};
  queue::AmqpSettings amqp;
  queue::TopologySettings topo;
  std::unique_ptr<queue::TopologyAdmin> admin;
  std::unique_ptr<queue::Publisher> publisher;
  std::unique_ptr<TopologyDeclarer> declarer;
  Metrics metrics{"sync-test", "0", "test"};
  http::CurlHttpClient http;
  storage::TenantId t = *storage::TenantId::make("placeholder");
};

// ---- source database ---------------------------------------------------------------------

// Writers inserting calls into pbx_calls in transactions that stay open for a random while
// (0-600 ms), so rows commit out of the order of their watermark times. Every tenth row is a
// missed call; with `zero_durations`, every tenth (another tenth) has duration 0.
class OutOfOrderWriters {
 public:
  OutOfOrderWriters(SourceDatabase& src, int writers, int per_writer, bool zero_durations = false)
      : total_(writers * per_writer) {
    for (int w = 0; w < writers; ++w) {
      threads_.emplace_back([this, &src, w, per_writer, zero_durations] {
        std::mt19937 rng(static_cast<unsigned>(w * 7919 + 1));
        auto lease = src.db().acquire();
        ASSERT_TRUE(lease);
        int i = 0;
        while (i < per_writer) {
          const int want = 1 + static_cast<int>(rng() % 5);
          int n = 0;
          ASSERT_TRUE((*lease)->execute("BEGIN"));
          for (int k = 0; k < want && i < per_writer; ++k, ++i, ++n) {
            const std::string uuid = fmt::format("w{}-{}", w, i);
            const bool ok = (i % 10) != 3;
            const int dur = zero_durations && (i % 10) == 5 ? 0 : 30 + i;
            auto r = (*lease)->execute(
                "INSERT INTO pbx_calls (call_uuid, agent_id, phone, started, dur, recording, disposition, "
                "updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3), ?, ?, ?, UTC_TIMESTAMP(3))",
                {uuid, fmt::format("agent-{}", i % 3), fmt::format("(555) {}{:02}-{:04}", w + 1, i % 100, i), dur,
                 fmt::format("https://recordings.example/{}.mp3", uuid), ok ? "ANSWERED" : "MISSED"});
            ASSERT_TRUE(r) << r.error().to_string();
            if (ok) {
              std::lock_guard lock(mu_);
              (dur > 0 ? answered_ : answered_silent_).insert(uuid);
            }
          }
          // Held open: later rows of other writers commit first.
          std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 600));
          ASSERT_TRUE((*lease)->execute("COMMIT"));
          written_ += n;
        }
      });
    }
  }
  ~OutOfOrderWriters() { join(); }
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  bool half_written() const { return written_.load() >= total_ / 2; }
  int written() const { return written_.load(); }
  // Answered calls with a duration above 0, and (with zero_durations) those with 0.
  std::set<std::string> answered() {
    std::lock_guard lock(mu_);
    return answered_;
  }
  std::set<std::string> answered_silent() {
    std::lock_guard lock(mu_);
    return answered_silent_;
  }

 private:
  const int total_;
  std::atomic<int> written_{0};
  std::mutex mu_;
  std::set<std::string> answered_;
  std::set<std::string> answered_silent_;
  std::vector<std::thread> threads_;
};

// Four writers insert calls committed out of order while the sync runs all along, and its
// "worker" is replaced half-way (a new SourceDbSync and publisher, state only in the
// database). Every answered call arrives exactly once, with exactly one transcribe message;
// missed calls (disposition filter) never do.
TEST_F(SyncTest, SourceRowsCommittedOutOfOrderNoneMissedNoneDuplicatedAcrossRestart) {
  SourceDatabase src;
  put_config(source_config(src, 40, 2));
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 150;
  OutOfOrderWriters writers(src, kWriters, kPerWriter);
  auto sync_until = [&](SourceDbSync& s, const std::function<bool()>& stop) {
    while (!stop()) {
      auto r = s.run_once(t);
      ASSERT_TRUE(r) << r.error().to_string();
      std::this_thread::sleep_for(100ms);
    }
  };
  {
    SourceDbSync first(deps());
    sync_until(first, [&] { return writers.half_written(); });
  }
  // Restart: a new publisher and a new sync, nothing carried over in memory.
  publisher->stop();
  publisher = std::make_unique<queue::Publisher>(amqp, queue::PublisherOptions{});
  publisher->start();
  SourceDbSync second(deps());
  writers.join();
  ASSERT_EQ(writers.written(), kWriters * kPerWriter);
  const auto answered = writers.answered();
  const auto expected = static_cast<std::int64_t>(answered.size());
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = second.run_once(t);
        EXPECT_TRUE(r) << r.error().to_string();
        return count("SELECT COUNT(*) FROM call_records WHERE bid = ?") >= expected;
      },
      30s, 200ms));

  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?"), expected);
  std::set<std::string> synced;
  auto rows = db().execute("SELECT external_id, status, customer_phone, human_agent_id FROM call_records WHERE bid = ?",
                           {t.bid()});
  ASSERT_TRUE(rows);
  for (const auto& r : rows->rows) {
    synced.insert(r[0].as_string());
    EXPECT_EQ(r[1].as_string(), "pending");
    EXPECT_TRUE(r[2].as_string().starts_with("+1555")) << r[2].as_string();
    EXPECT_FALSE(r[3].is_null());
  }
  EXPECT_EQ(synced, answered);
  auto messages = drain(queue::Stage::kTranscribe);
  std::multiset<std::string> call_ids;
  for (const auto& m : messages) {
    auto body = Json::parse(m.body);
    call_ids.insert(body["call_id"].get<std::string>());
    EXPECT_EQ(body["audio"]["format"], "mp3");
  }
  EXPECT_EQ(static_cast<std::int64_t>(call_ids.size()), expected);
  EXPECT_EQ(std::set<std::string>(call_ids.begin(), call_ids.end()).size(), call_ids.size()) << "duplicate messages";
  EXPECT_EQ(count("SELECT COUNT(*) FROM human_agents WHERE bid = ?"), 3);
  auto mark = watermark(kDbSource);
  ASSERT_TRUE(mark);
  EXPECT_NE(mark->find("time_ms"), std::string::npos);

  // A pass with nothing new creates and publishes nothing.
  auto again = second.run_once(t);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->created, 0);
  EXPECT_EQ(again->published, 0);
}

// The mapping's `query` instead of a table: a SELECT joining the agents' names and leaving out
// calls without talk time, used as a derived table under the same keyset watermark. Rows
// committed out of order by four writers, a restart half-way: every answered call with talk
// time exactly once with one transcribe message, agent names from the join, none of the
// filtered rows.
TEST_F(SyncTest, SourceQueryMappingOutOfOrderAcrossRestart) {
  SourceDatabase src;
  ASSERT_TRUE(src.db().execute(
      "CREATE TABLE pbx_agents (agent_id VARCHAR(32) NOT NULL PRIMARY KEY, agent_name VARCHAR(64) NOT NULL)"));
  ASSERT_TRUE(src.db().execute(
      "INSERT INTO pbx_agents VALUES ('agent-0', 'Ana Zero'), ('agent-1', 'Ben One'), ('agent-2', 'Cy Two')"));
  auto c = source_config(src, 40, 2);
  auto sdb = Json::parse(c.source_db_json);
  sdb.erase("table");
  sdb["query"] =
      "SELECT c.id, c.call_uuid, c.agent_id, a.agent_name, c.phone, c.started, c.dur, c.recording, "
      "c.disposition, c.updated_at FROM pbx_calls c LEFT JOIN pbx_agents a ON a.agent_id = c.agent_id "
      "WHERE c.dur > 0";
  c.source_db_json = sdb.dump();
  auto m = Json::parse(c.column_mapping_json);
  m["agent_name"] = "agent_name";
  c.column_mapping_json = m.dump();
  put_config(c);

  OutOfOrderWriters writers(src, 4, 100, /*zero_durations=*/true);
  {
    SourceDbSync first(deps());
    while (!writers.half_written()) {
      auto r = first.run_once(t);
      ASSERT_TRUE(r) << r.error().to_string();
      std::this_thread::sleep_for(100ms);
    }
  }
  publisher->stop();
  publisher = std::make_unique<queue::Publisher>(amqp, queue::PublisherOptions{});
  publisher->start();
  SourceDbSync second(deps());
  writers.join();
  const auto answered = writers.answered();
  ASSERT_FALSE(writers.answered_silent().empty());
  const auto expected = static_cast<std::int64_t>(answered.size());
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = second.run_once(t);
        EXPECT_TRUE(r) << r.error().to_string();
        return count("SELECT COUNT(*) FROM call_records WHERE bid = ?") >= expected;
      },
      30s, 200ms));
  auto last = second.run_once(t);  // nothing new: creates and publishes nothing
  ASSERT_TRUE(last) << last.error().to_string();
  EXPECT_EQ(last->created, 0);
  EXPECT_EQ(last->published, 0);

  std::set<std::string> synced;
  auto rows = db().execute("SELECT external_id FROM call_records WHERE bid = ?", {t.bid()});
  ASSERT_TRUE(rows);
  for (const auto& r : rows->rows) synced.insert(r[0].as_string());
  EXPECT_EQ(synced.size(), rows->rows.size());
  EXPECT_EQ(synced, answered) << "calls without talk time or missed calls were synced, or calls are missing";
  auto messages = drain(queue::Stage::kTranscribe);
  std::set<std::string> call_ids;
  for (const auto& msg : messages) call_ids.insert(Json::parse(msg.body)["call_id"].get<std::string>());
  EXPECT_EQ(messages.size(), answered.size());
  EXPECT_EQ(call_ids.size(), messages.size()) << "duplicate messages";
  auto names = db().execute("SELECT external_id, name FROM human_agents WHERE bid = ? ORDER BY external_id", {t.bid()});
  ASSERT_TRUE(names);
  ASSERT_EQ(names->rows.size(), 3u);
  EXPECT_EQ(names->rows[0][1].as_string(), "Ana Zero");
  EXPECT_EQ(names->rows[2][1].as_string(), "Cy Two");
  auto status = watermark(kDbStatusSource);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->starts_with("ok")) << *status;
}

// A query that is not a single SELECT, and one that does not return the mapped columns, fail
// the pass with a clear reason that the business sees in its sync status (the db_status row
// of the pipeline status), touching nothing; the worker keeps running and, once the query is
// fixed, syncs and reports ok.
TEST_F(SyncTest, SourceBadQueriesFailWithTheReasonInTheSyncStatus) {
  SourceDatabase src;
  ASSERT_TRUE(src.db().execute(
      "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
      "('q-1', '+14155550100', UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE, 60, 'https://r.example/q-1.wav', 'ANSWERED', "
      "UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)"));
  auto with_query = [&](const std::string& query) {
    auto c = source_config(src, 100, 0);
    auto sdb = Json::parse(c.source_db_json);
    sdb.erase("table");
    sdb["query"] = query;
    c.source_db_json = sdb.dump();
    put_config(c);
  };
  for (const std::string query :
       {"UPDATE pbx_calls SET dur = 0", "DELETE FROM pbx_calls", "SELECT * FROM pbx_calls; DELETE FROM pbx_calls"}) {
    with_query(query);
    SourceDbSync s(deps());
    auto r = s.run_once(t);
    ASSERT_FALSE(r) << query;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().to_string();
    EXPECT_NE(r.error().message.find("source_db.query: must be a single SELECT statement"), std::string::npos)
        << r.error().to_string();
    auto status = watermark(kDbStatusSource);
    ASSERT_TRUE(status) << query;
    EXPECT_TRUE(status->starts_with("error: ")) << *status;
    EXPECT_NE(status->find("source_db.query: must be a single SELECT statement"), std::string::npos) << *status;
  }
  auto rows = src.db().execute("SELECT COUNT(*), MIN(dur) FROM pbx_calls");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->rows[0][0].as_int(), 1) << "the refused statement ran";
  EXPECT_EQ(rows->rows[0][1].as_int(), 60) << "the refused statement ran";

  // A SELECT without the mapped audio, phone, agent and disposition columns.
  with_query("SELECT id, call_uuid, started, updated_at FROM pbx_calls");
  {
    SourceDbSync s(deps());
    auto r = s.run_once(t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition) << r.error().to_string();
    EXPECT_NE(r.error().message.find("source database"), std::string::npos) << r.error().to_string();
    EXPECT_NE(r.error().message.find("Unknown column"), std::string::npos) << r.error().to_string();
    auto status = watermark(kDbStatusSource);
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->starts_with("error: ")) << *status;
    EXPECT_NE(status->find("Unknown column"), std::string::npos) << *status;
  }
  EXPECT_FALSE(watermark(kDbSource));
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?"), 0);

  // The worker's scheduler meets the bad query, keeps running, and syncs once it is fixed.
  SchedulerOptions opts;
  opts.tick = 100ms;
  opts.config_refresh = 200ms;
  opts.retry_after_failure = 200ms;
  SyncScheduler scheduler(deps(), opts, [&] { return std::vector<std::string>{t.bid()}; });
  ASSERT_TRUE(scheduler.start());
  EXPECT_TRUE(wait_until([&] { return scheduler.passes("db") >= 2; }, 15s));
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?"), 0);
  with_query("SELECT id, call_uuid, agent_id, phone, started, dur, recording, disposition, updated_at FROM pbx_calls");
  EXPECT_TRUE(wait_until([&] { return count("SELECT COUNT(*) FROM call_records WHERE bid = ?") == 1; }, 15s));
  EXPECT_TRUE(wait_until(
      [&] {
        auto st = watermark(kDbStatusSource);
        return st && st->starts_with("ok");
      },
      15s));
  scheduler.stop_intake();
  scheduler.drain(std::chrono::steady_clock::now() + 5s);
  scheduler.stop();
  EXPECT_EQ(drain(queue::Stage::kTranscribe).size(), 1u);
}

// Rows inside the safety lag wait; a row without audio fails with that reason; a lost
// watermark (rows read again) changes nothing and publishes nothing for calls already moving.
TEST_F(SyncTest, SourceSafetyLagMissingAudioAndResync) {
  SourceDatabase src;
  put_config(source_config(src, 1000, 3600));
  ASSERT_TRUE(src.db().execute(
      "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
      "('old-1', '+14155550100', UTC_TIMESTAMP(3) - INTERVAL 2 HOUR, 60, 'https://r.example/old-1.wav', 'ANSWERED', "
      "UTC_TIMESTAMP(3) - INTERVAL 2 HOUR), "
      "('old-2', '+14155550101', UTC_TIMESTAMP(3) - INTERVAL 2 HOUR, 60, NULL, 'ANSWERED', "
      "UTC_TIMESTAMP(3) - INTERVAL 2 HOUR), "
      "('new-1', '+14155550102', UTC_TIMESTAMP(3), 60, 'https://r.example/new-1.wav', 'ANSWERED', UTC_TIMESTAMP(3))"));
  SourceDbSync s(deps());
  auto r = s.run_once(t);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->rows, 2);
  EXPECT_EQ(r->created, 2);
  EXPECT_EQ(r->published, 1);
  EXPECT_FALSE(calls.find_by_external_id(t, "new-1")) << "a row inside the safety lag was synced";
  auto no_audio = calls.find_by_external_id(t, "old-2");
  ASSERT_TRUE(no_audio);
  EXPECT_EQ(no_audio->status, storage::CallStatus::kFailed);
  EXPECT_EQ(no_audio->failed_reason, "the source row has no audio URL");
  auto first = calls.find_by_external_id(t, "old-1");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->duration_ms, 60'000);
  ASSERT_EQ(drain(queue::Stage::kTranscribe).size(), 1u);

  // The stt worker took old-1; then the watermark is lost and every row read again.
  ASSERT_TRUE(*calls.advance(t, first->id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
  ASSERT_TRUE(db().execute("DELETE FROM sync_watermarks WHERE bid = ? AND source = 'db'", {t.bid()}));
  auto again = s.run_once(t);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rows, 2);
  EXPECT_EQ(again->created, 0);
  EXPECT_EQ(again->updated, 2);
  EXPECT_EQ(again->published, 0);
  EXPECT_TRUE(drain(queue::Stage::kTranscribe).empty());
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?"), 2);
}

// A hostile or broken source: its duration column holds 1e300 and negative seconds. The
// conversion to milliseconds clamps (0..kMaxJsonMs) instead of overflowing.
TEST_F(SyncTest, SourceDurationsOutOfRangeAreClampedNotOverflowed) {
  SourceDatabase src;
  put_config(source_config(src, 1000, 0));
  ASSERT_TRUE(src.db().execute("ALTER TABLE pbx_calls MODIFY dur DOUBLE NULL"));
  ASSERT_TRUE(src.db().execute(
      "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
      "('huge', '+14155550100', UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, 1e300, 'https://r.example/huge.wav', 'ANSWERED', "
      "UTC_TIMESTAMP(3) - INTERVAL 1 HOUR), "
      "('negative', '+14155550101', UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, -5, 'https://r.example/neg.wav', 'ANSWERED', "
      "UTC_TIMESTAMP(3) - INTERVAL 1 HOUR), "
      "('half', '+14155550102', UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, 30.25, 'https://r.example/half.wav', 'ANSWERED', "
      "UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)"));
  SourceDbSync s(deps());
  auto r = s.run_once(t);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->created, 3);
  auto huge = calls.find_by_external_id(t, "huge");
  auto negative = calls.find_by_external_id(t, "negative");
  auto half = calls.find_by_external_id(t, "half");
  ASSERT_TRUE(huge && negative && half);
  EXPECT_EQ(huge->duration_ms, kMaxJsonMs);
  EXPECT_EQ(negative->duration_ms, 0);
  EXPECT_EQ(half->duration_ms, 30'250);
}

// The broker refuses the batch after the calls were committed (a crash between the two):
// the watermark stays, and the next pass publishes the still-pending calls once.
TEST_F(SyncTest, SourceBrokerFailureKeepsTheWatermarkAndTheNextPassPublishes) {
  SourceDatabase src;
  put_config(source_config(src, 1000, 0));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(src.db().execute(
        "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
        "(?, '+15550002222', UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE, 5, 'https://r.example/x.ogg', 'ANSWERED', "
        "UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)",
        {fmt::format("b{}", i)}));
  }
  publisher->stop();
  {
    SourceDbSync s(deps());
    auto r = s.run_once(t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ? AND status = 'pending'"), 5);
  EXPECT_FALSE(watermark(kDbSource));
  publisher = std::make_unique<queue::Publisher>(amqp, queue::PublisherOptions{});
  publisher->start();
  SourceDbSync s(deps());
  auto r = s.run_once(t);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->created, 0);
  EXPECT_EQ(r->published, 5);
  EXPECT_TRUE(watermark(kDbSource));
  auto messages = drain(queue::Stage::kTranscribe);
  ASSERT_EQ(messages.size(), 5u);
  EXPECT_EQ(Json::parse(messages[0].body)["audio"]["format"], "ogg");
}

TEST_F(SyncTest, SourceUnreachableOrBadMappingIsAClearError) {
  SourceDatabase src;
  auto c = source_config(src, 10, 0);
  c.secrets["source_db_password"] = "wrong-password";
  put_config(c);
  SourceDbSync s(deps());
  auto r = s.run_once(t);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == ErrorCode::kPermissionDenied || r.error().code == ErrorCode::kUnavailable)
      << r.error().to_string();
  EXPECT_NE(r.error().message.find("source database"), std::string::npos);

  c = source_config(src, 10, 0);
  auto m = Json::parse(c.column_mapping_json);
  m["audio_url"] = "no_such_column";
  c.column_mapping_json = m.dump();
  put_config(c);
  SourceDbSync s2(deps());
  auto r2 = s2.run_once(t);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::kFailedPrecondition) << r2.error().to_string();
  EXPECT_FALSE(watermark(kDbSource));
}

// `earshot sync --bid B --once`: one pass now, a summary per source, exit codes.
TEST_F(SyncTest, CliRunsOnePassOnDemand) {
  SourceDatabase src;
  put_config(source_config(src, 100, 0));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(src.db().execute(
        "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
        "(?, '+15550004444', UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE, 5, 'https://r.example/c.wav', 'ANSWERED', "
        "UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)",
        {fmt::format("cli{}", i)}));
  }
  const auto ep = earshot::testing::endpoints();
  // The business's server, which the operator allows by its exact address.
  earshot::testing::TcpForwarder source_server(ep.mysql_host, ep.mysql_port);
  ASSERT_TRUE(source_server.ok());
  const std::string env = fmt::format(
      "env -i PATH=/usr/bin:/bin EARSHOT_MYSQL_HOST={} EARSHOT_MYSQL_PORT={} EARSHOT_MYSQL_USER={} "
      "EARSHOT_MYSQL_PASSWORD='{}' EARSHOT_MYSQL_DATABASE={} EARSHOT_AMQP_URL='{}' EARSHOT_MASTER_KEYS='{}' "
      "EARSHOT_MASTER_KEY_ID=k1 EARSHOT_EGRESS_ALLOW=127.0.0.1:{} {}/earshot sync",
      ep.mysql_host, ep.mysql_port, ep.mysql_user, ep.mysql_password, StorageEnvironment::database_name(), ep.amqp_url,
      master_keys, source_server.port(), EARSHOT_BIN_DIR);
  // The configuration names the platform's own MariaDB: the operator's pass refuses it as
  // the worker does, and imports nothing.
  auto refused = earshot::testing::run_command(fmt::format("{} --bid {} --once --source db 2>&1", env, t.bid()));
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("destination not allowed"), std::string::npos) << refused.output;
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?"), 0);
  EXPECT_TRUE(drain(queue::Stage::kTranscribe).empty());
  auto through = source_config(src, 100, 0);
  auto sdb = Json::parse(through.source_db_json);
  sdb["host"] = "127.0.0.1";
  sdb["port"] = source_server.port();
  through.source_db_json = sdb.dump();
  put_config(through);
  auto run = earshot::testing::run_command(fmt::format("{} --bid {} --once --source db 2>&1", env, t.bid()));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("db: rows=3 created=3 updated=0 published=3"), std::string::npos) << run.output;
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?"), 3);
  EXPECT_EQ(drain(queue::Stage::kTranscribe).size(), 3u);
  auto again = earshot::testing::run_command(fmt::format("{} --bid {} --once 2>&1", env, t.bid()));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("db: rows=0 created=0"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("crm: not configured"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("feed: no feeds configured"), std::string::npos) << again.output;

  auto bad = earshot::testing::run_command(fmt::format("{} --bid 'Bad Id' --once 2>&1", env));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  auto no_once = earshot::testing::run_command(fmt::format("{} --bid {} 2>&1", env, t.bid()));
  EXPECT_EQ(no_once.exit_code, 2) << no_once.output;

  auto c = through;
  c.lead_filter_mode = storage::LeadFilterMode::kRequire;
  put_config(c);
  auto blocked = earshot::testing::run_command(fmt::format("{} --bid {} --once --source db 2>&1", env, t.bid()));
  EXPECT_EQ(blocked.exit_code, 1) << blocked.output;
  EXPECT_NE(blocked.output.find("blocked: lead filter is require and the CRM has no leads"), std::string::npos)
      << blocked.output;
}

// ---- CRM ---------------------------------------------------------------------------------

class CrmTest : public SyncTest {
 protected:
  void SetUp() override {
    SyncTest::SetUp();
    ASSERT_TRUE(fake.start());
  }
  storage::PipelineConfig crm_config(int page_size, storage::LeadFilterMode mode = storage::LeadFilterMode::kOff) {
    storage::PipelineConfig c;
    c.crm_json = Json{
        {"provider", "leadsquared"},
        {"base_url", fake.base_url()},
        {"page_size", page_size},
        {"timeout_seconds",
         5}}.dump();
    c.lead_filter_mode = mode;
    c.secrets["crm_access_key"] = testing::FakeLeadSquaredLeads::kAccessKey;
    c.secrets["crm_secret_key"] = testing::FakeLeadSquaredLeads::kSecretKey;
    return c;
  }
  testing::FakeLeadSquaredLeads fake;
};

// 60 leads, 2 per page: 31 requests, more than the 25 per 5 s the provider allows. The
// client-side throttle keeps the fake from ever answering 429, and every lead arrives with
// its phone normalized.
TEST_F(CrmTest, PagesThroughAllLeadsWithinTheRateLimit) {
  for (int i = 0; i < 60; ++i) {
    fake.add_lead(fmt::format("lead-{}", i), fmt::format("555-{:03}-{:04}", 200 + i, i),
                  fmt::format("2026-11-{:02} 10:00:{:02}", 1 + i / 10, i % 60));
  }
  put_config(crm_config(2));
  CrmSync crm(deps());
  auto r = crm.run_once(t);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->leads, 60);
  EXPECT_EQ(r->requests, 31);
  EXPECT_EQ(fake.limit_hits(), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM crm_leads WHERE bid = ?"), 60);
  auto by_phone = leads.find_by_phone(t, "+15552070007");
  ASSERT_TRUE(by_phone);
  ASSERT_TRUE(*by_phone);
  EXPECT_EQ((*by_phone)->lead_id, "lead-7");
  EXPECT_EQ(Json::parse((*by_phone)->fields_json)["FirstName"], "Lead");
  EXPECT_EQ(watermark(kCrmSource), "2026-11-06 10:00:59");

  // The next pass asks only for leads modified since the newest one seen.
  fake.add_lead("lead-new", "+44 20 7946 0000", "2026-11-20 08:00:00");
  auto next = crm.run_once(t);
  ASSERT_TRUE(next) << next.error().to_string();
  auto last_body = Json::parse(fake.bodies().back());
  EXPECT_EQ(last_body["Parameter"]["LookupValue"], "2026-11-06 10:00:59");
  EXPECT_EQ(next->leads, 2);  // the boundary lead again (idempotent) and the new one
  EXPECT_EQ(count("SELECT COUNT(*) FROM crm_leads WHERE bid = ?"), 61);
}

TEST_F(CrmTest, ObjectShape429RetryMalformedLeadsAndAuthFailure) {
  fake.set_object_shape(true);
  fake.add_lead("a", "+15551230001", "2026-11-01 00:00:00");
  fake.add_lead("b", "not a phone", "2026-11-01 00:00:01");
  fake.add_raw_lead(R"({"FirstName":"no id","Phone":"+15551230003","ModifiedOn":"2026-11-01 00:00:02"})");
  fake.add_lead("c", "+15551230004", "2026-11-01 00:00:03");
  fake.fail_next(testing::FailurePlan::of(2, testing::FailureKind::kRateLimit).after_s(1));
  put_config(crm_config(100));
  CrmSync crm(deps());
  auto r = crm.run_once(t);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->requests, 3);  // two 429s, then the page
  EXPECT_EQ(r->leads, 2);
  EXPECT_EQ(r->rejected, 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM crm_leads WHERE bid = ?"), 2);

  auto bad = crm_config(100);
  bad.secrets["crm_secret_key"] = "wrong";
  put_config(bad);
  auto denied = crm.run_once(t);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(denied.error().message.find("Invalid access key"), std::string::npos) << denied.error().message;
  EXPECT_EQ(denied.error().message.find("wrong"), std::string::npos) << "secret in the error";
}

// Require mode without leads: the business's status row and the gauge say so and no call
// is synced; once leads exist only their calls come in (and the status clears). Prefer
// mode takes every call and flags the matched ones with the lead's fields.
TEST_F(CrmTest, LeadFilterRequireWithZeroLeadsThenRequireAndPrefer) {
  SourceDatabase src;
  ASSERT_TRUE(src.db().execute(
      "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
      "('c1', '+15557770001', UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, 10, 'https://r.example/1.wav', 'ANSWERED', "
      "UTC_TIMESTAMP(3) - INTERVAL 1 HOUR), "
      "('c2', '+15557770002', UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, 10, 'https://r.example/2.wav', 'ANSWERED', "
      "UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)"));
  auto c = source_config(src, 100, 0);
  const auto crm_part = crm_config(100, storage::LeadFilterMode::kRequire);
  c.crm_json = crm_part.crm_json;
  c.lead_filter_mode = storage::LeadFilterMode::kRequire;
  c.secrets.insert(crm_part.secrets.begin(), crm_part.secrets.end());
  put_config(c);

  CrmSync crm(deps());
  SourceDbSync source(deps());
  auto leads_run = crm.run_once(t);
  ASSERT_TRUE(leads_run) << leads_run.error().to_string();
  EXPECT_EQ(leads_run->leads, 0);
  EXPECT_TRUE(leads_run->blocked);
  auto blocked = source.run_once(t);
  ASSERT_TRUE(blocked) << blocked.error().to_string();
  EXPECT_TRUE(blocked->blocked);
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?"), 0);
  auto state = watermark(kLeadFilterSource);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->starts_with("blocked: lead filter is require and the CRM has no leads")) << *state;
  EXPECT_NE(metrics.serialize().find(fmt::format("earshot_sync_lead_filter_blocked{{bid=\"{}\"}} 1", t.bid())),
            std::string::npos);
  EXPECT_FALSE(watermark(kDbSource)) << "the watermark moved while blocked";

  fake.add_lead("L1", "(555) 777-0001", "2026-11-02 00:00:00", "Ada");
  ASSERT_TRUE(crm.run_once(t));
  auto synced = source.run_once(t);
  ASSERT_TRUE(synced) << synced.error().to_string();
  EXPECT_FALSE(synced->blocked);
  EXPECT_EQ(synced->created, 1);
  EXPECT_EQ(synced->skipped, 1);
  EXPECT_TRUE(calls.find_by_external_id(t, "c1"));
  EXPECT_FALSE(calls.find_by_external_id(t, "c2"));
  EXPECT_TRUE(watermark(kLeadFilterSource)->starts_with("ok: lead filter require, 1 CRM leads"));
  EXPECT_NE(metrics.serialize().find(fmt::format("earshot_sync_lead_filter_blocked{{bid=\"{}\"}} 0", t.bid())),
            std::string::npos);

  c.lead_filter_mode = storage::LeadFilterMode::kPrefer;
  put_config(c);
  ASSERT_TRUE(db().execute("DELETE FROM sync_watermarks WHERE bid = ? AND source = 'db'", {t.bid()}));
  auto prefer = source.run_once(t);
  ASSERT_TRUE(prefer) << prefer.error().to_string();
  EXPECT_EQ(prefer->created, 1);
  auto matched = calls.find_by_external_id(t, "c1");
  auto unmatched = calls.find_by_external_id(t, "c2");
  ASSERT_TRUE(matched && unmatched);
  auto mm = Json::parse(matched->metadata_json);
  EXPECT_EQ(mm["lead_matched"], true);
  EXPECT_EQ(mm["lead"]["lead_id"], "L1");
  EXPECT_EQ(mm["lead"]["fields"]["FirstName"], "Ada");
  EXPECT_EQ(Json::parse(unmatched->metadata_json)["lead_matched"], false);
}

// ---- transcript feed ---------------------------------------------------------------------

class FeedTest : public SyncTest {
 protected:
  void SetUp() override {
    SyncTest::SetUp();
    ASSERT_TRUE(fake.start());
  }
  void configure(int page_size, int timeout_s = 5) {
    storage::PipelineConfig c;
    c.source_db_json = Json{{"feeds",
                             {{{"name", "support"},
                               {"base_url", fake.base_url()},
                               {"dataset", "acme/customer-support"},
                               {"page_size", page_size},
                               {"timeout_seconds", timeout_s}}}}}
                           .dump();
    put_config(c);
  }
  testing::FakeHfRows fake{"acme/customer-support"};
};

// 250 rows (10 malformed) read 100 at a time through a 429 and a 500, each answered by a
// retry; every valid row becomes a transcribed call with its transcript and one analyze
// message; the next pass resumes at the stored offset.
TEST_F(FeedTest, PagesRetriesValidatesAndResumes) {
  int valid = 0;
  for (int i = 0; i < 250; ++i) {
    if (i % 25 == 7) {
      fake.add_row(i % 2 ? R"({"input":"only the customer"})" : R"({"input":"", "output":"reply"})");
    } else {
      fake.add_row(Json{{"input", fmt::format("My order {} has not arrived", i)},
                        {"output", "Sorry about that, I will check the tracking now"}}
                       .dump());
      ++valid;
    }
  }
  configure(100);
  fake.fail_next(testing::FailurePlan::of(1, testing::FailureKind::kRateLimit).after_s(1));
  FeedSync feeds(deps());
  auto r = feeds.run_once(t);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  const auto& rep = r->front();
  EXPECT_EQ(rep.rows, 250);
  EXPECT_EQ(rep.created, valid);
  EXPECT_EQ(rep.rejected, 250 - valid);
  EXPECT_EQ(rep.published, valid);
  EXPECT_EQ(rep.requests, 4);  // 429 + 3 pages
  EXPECT_EQ(watermark("feed:support"), "250");
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ? AND status = 'transcribed'"), valid);
  auto call = calls.find_by_external_id(t, "feed:support:0");
  ASSERT_TRUE(call);
  auto tr = transcripts.get(t, call->id);
  ASSERT_TRUE(tr);
  auto segs = Json::parse(tr->segments_json);
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0]["speaker"], "customer");
  EXPECT_EQ(segs[0]["text"], "My order 0 has not arrived");
  EXPECT_EQ(segs[1]["speaker"], "agent");
  auto messages = drain(queue::Stage::kAnalyze);
  EXPECT_EQ(static_cast<int>(messages.size()), valid);
  EXPECT_FALSE(calls.find_by_external_id(t, "feed:support:7"));
  EXPECT_NE(metrics.serialize().find("earshot_calls_synced_total{source=\"feed\"}"), std::string::npos);

  // New rows: the next pass starts at 250 and takes only them.
  fake.add_row(R"({"input":"Can I change my plan?","output":"Yes, from the billing page"})");
  fake.fail_next(testing::FailurePlan::of(1, testing::FailureKind::kServerError));
  auto next = feeds.run_once(t);
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->front().created, 1);
  EXPECT_EQ(fake.offsets().back(), 250);
  EXPECT_EQ(watermark("feed:support"), "251");
  EXPECT_EQ(drain(queue::Stage::kAnalyze).size(), 1u);
}

TEST_F(FeedTest, TimeoutsAreRetriedAtMostThreeTimes) {
  for (int i = 0; i < 3; ++i) fake.add_row(R"({"input":"hello there","output":"hi, how can I help"})");
  fake.set_flat_shape(true);
  configure(100, 1);
  fake.delay_next(2, 2500ms);
  FeedSync feeds(deps());
  auto r = feeds.run_once(t);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->front().requests, 3);
  EXPECT_EQ(r->front().created, 3);

  // Four failures in a row: the pass fails with the reason and the offset stays.
  fake.add_row(R"({"input":"another","output":"one"})");
  fake.fail_next(testing::FailurePlan::of(4, testing::FailureKind::kServerError));
  auto failed = feeds.run_once(t);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().message.find("HTTP 500"), std::string::npos) << failed.error().message;
  EXPECT_EQ(watermark("feed:support"), "3");
  EXPECT_EQ(fake.count("/rows"), 3 + 4);
}

TEST_F(FeedTest, UnknownDatasetFailsWithoutRetryOrMovingTheOffset) {
  fake.add_row(R"({"input":"a","output":"b"})");
  storage::PipelineConfig c;
  c.source_db_json =
      Json{{"feeds", {{{"name", "x"}, {"base_url", fake.base_url()}, {"dataset", "acme/missing"}}}}}.dump();
  put_config(c);
  FeedSync feeds(deps());
  auto r = feeds.run_once(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("The dataset does not exist"), std::string::npos) << r.error().message;
  EXPECT_FALSE(watermark("feed:x"));
  EXPECT_EQ(fake.count("/rows"), 1) << "a 404 is not retried";
}

// ---- the worker's schedule ---------------------------------------------------------------

// The scheduler runs each configured source of the businesses it is given on their own
// intervals; calls inserted later arrive without anyone asking.
TEST_F(SyncTest, SchedulerSyncsContinuously) {
  SourceDatabase src;
  put_config(source_config(src, 100, 0));
  SchedulerOptions opts;
  opts.tick = 100ms;
  SyncScheduler scheduler(deps(), opts, [&] { return std::vector<std::string>{t.bid()}; });
  ASSERT_TRUE(scheduler.start());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(src.db().execute(
        "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
        "(?, '+15550001111', UTC_TIMESTAMP(3), 5, 'https://r.example/x.wav', 'ANSWERED', UTC_TIMESTAMP(3))",
        {fmt::format("s{}", i)}));
    EXPECT_TRUE(wait_until([&] { return count("SELECT COUNT(*) FROM call_records WHERE bid = ?") == i + 1; }, 15s))
        << "call " << i << " not synced";
  }
  EXPECT_GE(scheduler.passes("db"), 2);
  scheduler.stop_intake();
  scheduler.drain(std::chrono::steady_clock::now() + 5s);
  scheduler.stop();
  EXPECT_EQ(drain(queue::Stage::kTranscribe).size(), 3u);
}

// A business list that fails after its first answer (an error, then an exception, in
// turn): the scheduler keeps the schedule it had, counts every failure, and a call written
// while the list is failing still syncs on the kept schedule.
TEST_F(SyncTest, SchedulerKeepsSchedulesWhileTheBusinessListFails) {
  SourceDatabase src;
  put_config(source_config(src, 100, 0));
  SchedulerOptions opts;
  opts.tick = 100ms;
  std::atomic<int> asked{0};
  SyncScheduler scheduler(deps(), opts, [&]() -> Result<std::vector<std::string>> {
    const int n = asked++;
    if (n == 0) return std::vector<std::string>{t.bid()};
    if (n % 2 == 1) return make_error(ErrorCode::kUnavailable, "business directory unreachable");
    throw std::runtime_error("business directory threw");
  });
  ASSERT_TRUE(scheduler.start());
  // The first pass ran and the list has failed both ways since.
  ASSERT_TRUE(wait_until([&] { return scheduler.passes("db") >= 1 && asked.load() >= 4; }, 15s));
  const auto before = scheduler.passes("db");
  ASSERT_TRUE(src.db().execute(
      "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
      "('while-down', '+15550001111', UTC_TIMESTAMP(3), 5, 'https://r.example/x.wav', 'ANSWERED', UTC_TIMESTAMP(3))"));
  EXPECT_TRUE(wait_until([&] { return count("SELECT COUNT(*) FROM call_records WHERE bid = ?") == 1; }, 15s))
      << "the schedule was dropped when the business list failed";
  // (A pass is counted after it returns, so after its call is visible.)
  EXPECT_TRUE(wait_until([&] { return scheduler.passes("db") > before; }, 15s));
  // Every failed tick is counted.
  const auto text = metrics.serialize();
  const std::string name = "earshot_sync_business_list_failures_total ";
  const auto at = text.find("\n" + name);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_GE(std::stod(text.substr(at + 1 + name.size())), 3.0);
  scheduler.stop_intake();
  scheduler.drain(std::chrono::steady_clock::now() + 5s);
  scheduler.stop();
  EXPECT_EQ(drain(queue::Stage::kTranscribe).size(), 1u);
}

// The real earshot-sync binary, stopped (SIGTERM) while calls are still being written and
// started again: it finds the business through the directory, syncs on its schedule, and
// between the two runs every answered call arrives once, with one transcribe message and one
// call.status live event.
TEST_F(SyncTest, WorkerBinaryRestartMissesAndDuplicatesNothing) {
  SourceDatabase src;
  const auto ep = earshot::testing::endpoints();
  // The worker never connects to the platform's own database on a business's behalf: the
  // source database is reached through a forwarder standing for the business's own server,
  // which the operator allows by its exact address.
  earshot::testing::TcpForwarder source_server(ep.mysql_host, ep.mysql_port);
  ASSERT_TRUE(source_server.ok());
  auto cfg = source_config(src, 25, 2);
  auto sdb = Json::parse(cfg.source_db_json);
  sdb["host"] = "127.0.0.1";
  sdb["port"] = source_server.port();
  cfg.source_db_json = sdb.dump();
  put_config(cfg);
  std::map<std::string, std::string> env = {
      {"EARSHOT_MYSQL_HOST", ep.mysql_host},
      {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
      {"EARSHOT_MYSQL_USER", ep.mysql_user},
      {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
      {"EARSHOT_MYSQL_DATABASE", StorageEnvironment::database_name()},
      {"EARSHOT_AMQP_URL", ep.amqp_url},
      {"EARSHOT_REDIS_URL", ep.redis_url},
      {"EARSHOT_MASTER_KEYS", master_keys},
      {"EARSHOT_MASTER_KEY_ID", "k1"},
      {"EARSHOT_WORKER_RECONCILE_INTERVAL", "1s"},
      {"EARSHOT_SYNC_CONFIG_REFRESH", "1s"},
      {"EARSHOT_LOG_LEVEL", "warn"},
      {"EARSHOT_EGRESS_ALLOW", "127.0.0.1:" + std::to_string(source_server.port())},
  };
  auto start_worker = [&] {
    env["EARSHOT_ADMIN_PORT"] = std::to_string(earshot::testing::free_port());
    auto w = std::make_unique<earshot::testing::ChildProcess>(std::string(EARSHOT_BIN_DIR) + "/earshot-sync",
                                                              std::vector<std::string>{}, env);
    EXPECT_TRUE(w->start());
    return w;
  };
  std::set<std::string> answered;
  std::atomic<int> written{0};
  std::thread writer([&] {
    auto lease = src.db().acquire();
    ASSERT_TRUE(lease);
    std::mt19937 rng(7);
    for (int i = 0; i < 200; i += 4) {
      ASSERT_TRUE((*lease)->execute("BEGIN"));
      for (int k = i; k < i + 4; ++k) {
        const std::string uuid = fmt::format("e2e-{}", k);
        ASSERT_TRUE((*lease)->execute(
            "INSERT INTO pbx_calls (call_uuid, phone, started, dur, recording, disposition, updated_at) VALUES "
            "(?, '+15550003333', UTC_TIMESTAMP(3), 5, ?, ?, UTC_TIMESTAMP(3))",
            {uuid, fmt::format("https://r.example/{}.wav", uuid), k % 7 == 0 ? "MISSED" : "ANSWERED"}));
        if (k % 7 != 0) answered.insert(uuid);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
      ASSERT_TRUE((*lease)->execute("COMMIT"));
      written += 4;
    }
  });
  auto first = start_worker();
  const bool some = wait_until([&] { return count("SELECT COUNT(*) FROM call_records WHERE bid = ?") >= 20; }, 60s);
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait_exit(30s), 0) << first->output();
  EXPECT_TRUE(some) << first->output();
  auto second = start_worker();
  writer.join();
  const auto expected = static_cast<std::int64_t>(answered.size());
  EXPECT_TRUE(wait_until([&] { return count("SELECT COUNT(*) FROM call_records WHERE bid = ?") >= expected; }, 60s))
      << second->output();
  second->signal(SIGTERM);
  EXPECT_EQ(second->wait_exit(30s), 0) << second->output();

  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?"), expected);
  std::set<std::string> synced;
  auto rows = db().execute("SELECT external_id FROM call_records WHERE bid = ?", {t.bid()});
  ASSERT_TRUE(rows);
  for (const auto& r : rows->rows) synced.insert(r[0].as_string());
  EXPECT_EQ(synced, answered);
  std::multiset<std::string> ids;
  for (const auto& m : drain(queue::Stage::kTranscribe)) ids.insert(Json::parse(m.body)["call_id"].get<std::string>());
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), expected);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "duplicate transcribe messages";
  EXPECT_GT(source_server.accepted(), 0);

  cache::RedisSettings rs;
  rs.url = ep.redis_url;
  auto redis = cache::RedisClient::make(rs, 1);
  ASSERT_TRUE(redis);
  cache::LiveEvents live(**redis, SystemClock::instance());
  auto events = live.read_after(t.bid(), "", 1000);
  ASSERT_TRUE(events) << events.error().to_string();
  std::int64_t created_events = 0;
  for (const auto& e : *events) {
    if (e.type == "call.status" && Json::parse(e.json)["data"]["status"] == "pending") ++created_events;
  }
  EXPECT_EQ(created_events, expected);
  (void)(*redis)->command({"DEL", cache::live_events_key(t.bid())});

  // The worker consumed sync.{bid} of every business of this database: remove those queues.
  storage::MySqlBusinessRepository businesses(db());
  if (auto all = businesses.list_all()) {
    for (const auto& b : *all) (void)admin->delete_business(queue::Stage::kSync, b.bid);
  }
}

}  // namespace
}  // namespace earshot::sync
