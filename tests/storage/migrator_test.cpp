// Migrations against the real MariaDB, each test in its own empty database.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>

#include "process.hpp"
#include "storage_fixture.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using storage::Database;
using storage::Migration;
using storage::Migrator;

class MigratorTest : public ::testing::Test {
 protected:
  ScratchDatabase scratch_;
  Database db_{mysql_settings(scratch_.name(), 2)};

  std::vector<std::string> tables() {
    auto r = db_.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
        "ORDER BY table_name");
    std::vector<std::string> out;
    for (const auto& row : r.value().rows) out.push_back(row[0].as_string());
    return out;
  }

  std::map<int, int> applied_versions() {
    auto r = db_.execute("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version");
    std::map<int, int> out;
    for (const auto& row : r.value().rows) {
      out[static_cast<int>(row[0].as_int())] = static_cast<int>(row[1].as_int());
    }
    return out;
  }
};

TEST_F(MigratorTest, MigratesAnEmptyDatabaseToTheFullSchema) {
  const auto migrations = source_migrations();
  ASSERT_GE(migrations.size(), 3u);
  Migrator m(db_, migrations);
  auto before = m.status();
  ASSERT_TRUE(before.has_value()) << before.error().to_string();
  EXPECT_TRUE(std::none_of(before->begin(), before->end(), [](auto& s) { return s.applied; }));

  auto applied = m.migrate();
  ASSERT_TRUE(applied.has_value()) << applied.error().to_string();
  EXPECT_EQ(applied->size(), migrations.size());

  const auto t = tables();
  for (const char* want : {"businesses",
                           "users",
                           "platform_admins",
                           "api_keys",
                           "business_pipeline_config",
                           "business_agent_config",
                           "call_records",
                           "transcripts",
                           "call_metrics",
                           "analyses",
                           "human_agents",
                           "sync_watermarks",
                           "crm_leads",
                           "categories",
                           "call_category_matches",
                           "scorecards",
                           "escalations",
                           "call_notes",
                           "webhook_subscriptions",
                           "webhook_deliveries",
                           "processing_events",
                           "knowledge_documents",
                           "knowledge_chunks",
                           "chat_sessions",
                           "chat_messages",
                           "schema_migrations"}) {
    EXPECT_NE(std::find(t.begin(), t.end(), want), t.end()) << want;
  }
  // Every table: InnoDB, utf8mb4.
  auto engines = db_.execute(
      "SELECT table_name, engine, table_collation FROM information_schema.tables "
      "WHERE table_schema = DATABASE()");
  for (const auto& row : engines.value().rows) {
    EXPECT_EQ(row[1].as_string(), "InnoDB") << row[0].as_string();
    EXPECT_TRUE(row[2].as_string().starts_with("utf8mb4")) << row[0].as_string();
  }
  // The status enum is exactly the pipeline's.
  auto col = db_.execute(
      "SELECT column_type FROM information_schema.columns WHERE table_schema = DATABASE() "
      "AND table_name = 'call_records' AND column_name = 'status'");
  EXPECT_EQ(col.value().rows.at(0)[0].as_string(),
            "enum('pending','transcribing','transcribed','analyzing','analyzed','notified',"
            "'failed')");
  // Every index of a tenant-owned table leads with bid, except the documented ones.
  auto idx = db_.execute(
      "SELECT s.table_name, s.index_name, s.column_name FROM information_schema.statistics s "
      "JOIN information_schema.columns c ON c.table_schema = s.table_schema AND "
      "c.table_name = s.table_name AND c.column_name = 'bid' "
      "WHERE s.table_schema = DATABASE() AND s.seq_in_index = 1");
  const std::vector<std::string> exempt = {"api_keys.uq_api_keys_hash", "webhook_deliveries.ix_deliveries_due",
                                           "transcripts.ft_transcripts_text",
                                           "business_pipeline_config.ix_pipeline_key_id",
                                           // Keeps call ids unique; every lookup through it also matches bid.
                                           "call_records.uq_calls_id"};
  // A migration documents any other exception on its own line:
  //   -- index without bid: <table>.<index> (<why>)
  std::vector<std::string> documented = exempt;
  for (const auto& mig : migrations) {
    constexpr std::string_view kMarker = "-- index without bid: ";
    for (std::size_t at = mig.sql.find(kMarker); at != std::string::npos; at = mig.sql.find(kMarker, at + 1)) {
      const std::size_t b = at + kMarker.size();
      const std::size_t e = mig.sql.find_first_of(" \n(", b);
      documented.push_back(mig.sql.substr(b, e == std::string::npos ? e : e - b));
    }
  }
  for (const auto& row : idx.value().rows) {
    const std::string name = row[0].as_string() + "." + row[1].as_string();
    const bool primary_by_id = row[1].as_string() == "PRIMARY";  // lookups add AND bid = ?
    if (primary_by_id || std::find(documented.begin(), documented.end(), name) != documented.end()) {
      continue;
    }
    EXPECT_EQ(row[2].as_string(), "bid") << name;
  }

  auto after = m.status();
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(std::all_of(after->begin(), after->end(), [](auto& s) { return s.applied && !s.changed; }));
}

TEST_F(MigratorTest, RerunIsANoOp) {
  Migrator m(db_, source_migrations());
  ASSERT_TRUE(m.migrate().has_value());
  auto again = m.migrate();
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_TRUE(again->empty());
  for (const auto& [v, n] : applied_versions()) EXPECT_EQ(n, 1) << v;
}

TEST_F(MigratorTest, AppliesOnlyNewFilesInOrder) {
  auto ms = source_migrations();
  Migrator first(db_, ms);
  ASSERT_TRUE(first.migrate().has_value());
  ms.push_back(*storage::make_migration("0900_extra.sql",
                                        "CREATE TABLE extra_a (id INT PRIMARY KEY) ENGINE=InnoDB;\n"
                                        "INSERT INTO extra_a VALUES (1), (2);\n"));
  Migrator second(db_, ms);
  auto applied = second.migrate();
  ASSERT_TRUE(applied.has_value()) << applied.error().to_string();
  EXPECT_EQ(*applied, std::vector<int>{900});
  EXPECT_EQ(db_.execute("SELECT COUNT(*) FROM extra_a").value().rows[0][0].as_int(), 2);
}

TEST_F(MigratorTest, RefusesWhenAnAppliedFileChangedAndNamesIt) {
  auto ms = source_migrations();
  Migrator original(db_, ms);
  ASSERT_TRUE(original.migrate().has_value());
  auto edited = ms;
  edited[1] = *storage::make_migration(edited[1].file_name, edited[1].sql + "\n-- edited\n");
  edited.push_back(*storage::make_migration("0901_never.sql", "CREATE TABLE never_applied (id INT PRIMARY KEY);"));
  Migrator changed(db_, edited);
  auto r = changed.migrate();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find(ms[1].file_name), std::string::npos) << r.error().message;
  // Nothing after the refusal ran.
  const auto t = tables();
  EXPECT_EQ(std::find(t.begin(), t.end(), "never_applied"), t.end());
  auto st = changed.status();
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE((*st)[1].changed);
  EXPECT_FALSE((*st)[0].changed);
}

TEST_F(MigratorTest, ReportsAFailingStatementWithFileAndPosition) {
  std::vector<Migration> ms{
      *storage::make_migration("0001_bad.sql", "CREATE TABLE ok_one (id INT PRIMARY KEY);\nCREATE TABLEX nope;\n")};
  Migrator m(db_, ms);
  auto r = m.migrate();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("0001_bad.sql statement 2"), std::string::npos) << r.error().message;
  EXPECT_TRUE(applied_versions().empty());
}

TEST_F(MigratorTest, ConcurrentRunnersApplyEachFileExactlyOnce) {
  // Each file also inserts a row: a file applied twice would leave two rows.
  auto ms = source_migrations();
  ms.push_back(*storage::make_migration("0950_counter.sql",
                                        "CREATE TABLE IF NOT EXISTS run_counter (n INT) ENGINE=InnoDB;\n"
                                        "INSERT INTO run_counter VALUES (1);\n"));
  constexpr int kRunners = 6;
  std::vector<std::vector<int>> applied(kRunners);
  std::vector<std::string> errors(kRunners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back([&, i] {
      Database db(mysql_settings(scratch_.name(), 1));
      Migrator m(db, ms);
      auto r = m.migrate();
      if (r)
        applied[i] = *r;
      else
        errors[i] = r.error().to_string();
    });
  }
  for (auto& th : threads) th.join();
  std::map<int, int> times;
  for (int i = 0; i < kRunners; ++i) {
    EXPECT_TRUE(errors[i].empty()) << errors[i];
    for (int v : applied[i]) ++times[v];
  }
  EXPECT_EQ(times.size(), ms.size());
  for (const auto& [v, n] : times) EXPECT_EQ(n, 1) << "version " << v;
  for (const auto& [v, n] : applied_versions()) EXPECT_EQ(n, 1) << v;
  EXPECT_EQ(db_.execute("SELECT COUNT(*) FROM run_counter").value().rows[0][0].as_int(), 1);
}

TEST_F(MigratorTest, ConcurrentCliProcessesMigrateOnce) {
  const auto ep = endpoints();
  std::map<std::string, std::string> env = {
      {"EARSHOT_MYSQL_HOST", ep.mysql_host},       {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
      {"EARSHOT_MYSQL_USER", ep.mysql_user},       {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
      {"EARSHOT_MYSQL_DATABASE", scratch_.name()},
  };
  const std::string bin = std::string(EARSHOT_BIN_DIR) + "/earshot";
  std::vector<std::unique_ptr<ChildProcess>> kids;
  for (int i = 0; i < 3; ++i) {
    kids.push_back(std::make_unique<ChildProcess>(bin, std::vector<std::string>{"migrate"}, env));
    ASSERT_TRUE(kids.back()->start());
  }
  int applied_lines = 0;
  for (auto& k : kids) {
    auto code = k->wait_exit(std::chrono::seconds(60));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << k->output();
    const std::string out = k->output();
    for (std::size_t at = out.find("applied "); at != std::string::npos; at = out.find("applied ", at + 1)) {
      ++applied_lines;
    }
  }
  EXPECT_EQ(applied_lines, static_cast<int>(source_migrations().size()));

  ChildProcess status(bin, {"migrate", "--status"}, env);
  ASSERT_TRUE(status.start());
  ASSERT_EQ(status.wait_exit(std::chrono::seconds(30)), 0) << status.output();
  EXPECT_NE(status.output().find("0 pending"), std::string::npos) << status.output();

  // Strict config: an unknown EARSHOT_* variable stops the command, naming it.
  auto bad_env = env;
  bad_env["EARSHOT_MYSQL_PROT"] = "1";
  ChildProcess bad(bin, {"migrate"}, bad_env);
  ASSERT_TRUE(bad.start());
  EXPECT_EQ(bad.wait_exit(std::chrono::seconds(30)), 2);
  EXPECT_NE(bad.output().find("EARSHOT_MYSQL_PROT"), std::string::npos) << bad.output();
}

}  // namespace
}  // namespace earshot::testing
