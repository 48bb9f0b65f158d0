// The data-lifecycle sweep (retention and phone hashing) against the real MariaDB and a
// local object store: what a purged call leaves behind (nothing), what it must not touch
// (newer calls, other businesses, objects outside the business's prefix), locks between
// replicas, batches and metrics.
#include "earshot/sync/lifecycle.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "call_steps.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/objectstore/audio_store.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/mysql_run_locks.hpp"
#include "earshot/storage/repository_set.hpp"
#include "fakes/fake_clock.hpp"
#include "storage_fixture.hpp"
#include "support/test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::sync {
namespace {

using namespace std::chrono_literals;

// A transcript row with the fields a test sets; the rest keep their defaults.
storage::Transcript transcript_row(storage::Id call_id, std::string segments, std::string text, std::string provider,
                                   std::string language) {
  storage::Transcript tr;
  tr.call_id = call_id;
  tr.segments_json = std::move(segments);
  tr.full_text = std::move(text);
  tr.provider = std::move(provider);
  tr.language = std::move(language);
  return tr;
}
using earshot::testing::new_tenant;
using earshot::testing::StorageEnvironment;
using earshot::testing::unique_suffix;
using storage::Id;
using storage::TenantId;

storage::Database& db() {
  return StorageEnvironment::db();
}

std::int64_t count(std::string_view sql, std::initializer_list<storage::Value> params) {
  auto r = db().execute(sql, params);
  EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
  return r ? r->rows[0][0].as_int() : -1;
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keyring.emplace(*crypto::Keyring::parse("k1:" + crypto::Keyring::generate_key_base64(), "k1"));
    repos = std::make_unique<storage::MySqlRepositories>(db(), *keyring);
    dir = std::filesystem::temp_directory_path() / ("earshot-lifecycle-" + unique_suffix());
    std::filesystem::create_directories(dir);
    store = std::make_unique<objectstore::LocalObjectStore>(dir.string());
    clock.set_wall(std::chrono::system_clock::time_point(std::chrono::seconds(1'900'000'000)));
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  LifecycleSweeper sweeper(LifecycleOptions o = {}) {
    auto& r = repos->repos();
    return LifecycleSweeper(
        LifecycleDeps{r.businesses, r.pipeline_configs, r.calls, r.run_locks, *store, nullptr, metrics, clock}, o);
  }

  void configure(const TenantId& t, std::int64_t retention_days, bool hash_phones) {
    storage::PipelineConfig c;
    c.retention_days = retention_days;
    c.hash_phone_after_analysis = hash_phones;
    ASSERT_TRUE(repos->repos().pipeline_configs.put(t, c));
  }

  // A call started `days_ago` with a recording and a row in every derived table.
  Id full_call(const TenantId& t, const std::string& ext, int days_ago) {
    auto& r = repos->repos();
    const std::vector<std::uint8_t> bytes(64, 7);
    auto uri = store->write(fmt::format("{}/{}.wav", t.bid(), ext), bytes);
    EXPECT_TRUE(uri);
    storage::CallInput in;
    in.external_id = ext;
    in.customer_phone = "+15551234567";
    in.audio_uri = *uri;
    in.started_at = storage::to_timestamp(clock.now() - std::chrono::days(days_ago));
    const Id id = r.calls.upsert(t, in)->id;
    EXPECT_TRUE(r.transcripts.put(t, transcript_row(id, "[]", "hello there", "p", "en")));
    storage::CallMetrics m;
    m.call_id = id;
    EXPECT_TRUE(r.metrics.put(t, m));
    if (agent_ == 0 || agent_bid_ != t.bid()) {
      agent_ =
          r.agent_configs.create(t, storage::AgentConfig{0, "qa", storage::AgentKind::kBuiltin, "", "{}", "", true, 1})
              .value();
      agent_bid_ = t.bid();
    }
    storage::CallAnalysisResult a;
    a.analyses.push_back(storage::AnalysisInput{agent_, 1, "{}", "", "", 0, 0, 0});
    a.escalation_reason = "angry";
    // record() takes a call being analysed, as the pipeline leaves it.
    EXPECT_TRUE(earshot::testing::walk_to_analyzing(r.calls, t, id));
    auto recorded = r.analyses.record(t, id, a);
    EXPECT_TRUE(recorded && recorded->recorded);
    EXPECT_TRUE(r.notes.create(t, id, std::nullopt, "note"));
    storage::ProcessingEvent e;
    e.call_id = id;
    e.stage = "stt";
    EXPECT_TRUE(r.events.append(t, e));
    EXPECT_TRUE(
        db().execute("INSERT INTO call_embeddings (bid, call_id, chunk_index, text, model, dimension, vector) "
                     "VALUES (?, ?, -1, 'x', 'm', 1, 'abcd')",
                     {t.bid(), id}));
    EXPECT_TRUE(db().execute(
        "INSERT INTO call_category_matches (bid, call_id, category_id, spans) VALUES (?, ?, 1, '[]')", {t.bid(), id}));
    auto d = db().execute(
        "INSERT INTO webhook_deliveries (bid, subscription_id, channel, call_id, event_type, event_id, payload, "
        "next_attempt_at) VALUES (?, 1, 'webhook', ?, 'call.analyzed', ?, '{}', NOW(3))",
        {t.bid(), id, "ev-" + ext});
    EXPECT_TRUE(d) << (d ? "" : d.error().to_string());
    EXPECT_TRUE(db().execute(
        "INSERT INTO webhook_delivery_attempts (bid, delivery_id, attempt, outcome) VALUES (?, ?, 1, 'retry')",
        {t.bid(), d ? d->insert_id : 0}));
    return id;
  }

  // Rows of `id` in every table that holds a call's data (the call itself included).
  std::int64_t rows_of(const TenantId& t, Id id) {
    std::int64_t n = 0;
    for (const char* table : {"transcripts", "call_metrics", "analyses", "processing_events", "call_notes",
                              "escalations", "call_category_matches", "call_embeddings", "webhook_deliveries"}) {
      n += count(fmt::format("SELECT COUNT(*) FROM {} WHERE bid = ? AND call_id = ?", table), {t.bid(), id});
    }
    n += count(
        "SELECT COUNT(*) FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
        "WHERE a.bid = ? AND d.call_id = ?",
        {t.bid(), id});
    n += count("SELECT COUNT(*) FROM call_records WHERE bid = ? AND id = ?", {t.bid(), id});
    return n;
  }

  bool object_exists(const TenantId& t, const std::string& ext) {
    return std::filesystem::exists(dir / t.bid() / (ext + ".wav"));
  }

  std::optional<crypto::Keyring> keyring;
  std::unique_ptr<storage::MySqlRepositories> repos;
  std::filesystem::path dir;
  std::unique_ptr<objectstore::LocalObjectStore> store;
  earshot::testing::FakeClock clock;
  Metrics metrics{"test", "", ""};
  Id agent_ = 0;
  std::string agent_bid_;
};

TEST_F(LifecycleTest, ACallPastRetentionLeavesNothingBehind) {
  const TenantId t = new_tenant("life");
  configure(t, 30, false);
  const Id old_call = full_call(t, "old", 31);
  const Id new_call = full_call(t, "new", 29);
  const TenantId other = new_tenant("life-other");
  configure(other, 365, false);
  const Id foreign = full_call(other, "old", 31);
  ASSERT_GE(rows_of(t, old_call), 11);
  const std::int64_t attempts_before = count("SELECT COUNT(*) FROM webhook_delivery_attempts WHERE bid = ?", {t.bid()});
  ASSERT_EQ(attempts_before, 2);

  auto s = sweeper();
  auto one = s.sweep(t.bid());
  EXPECT_TRUE(one.errors.empty()) << one.errors.front();
  EXPECT_EQ(one.calls_purged, 1);
  EXPECT_EQ(one.objects_deleted, 1);
  EXPECT_FALSE(one.more_left);
  EXPECT_EQ(rows_of(t, old_call), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM webhook_delivery_attempts WHERE bid = ?", {t.bid()}), 1);
  EXPECT_FALSE(object_exists(t, "old"));
  // The newer call and the other business (a year's retention) keep everything.
  EXPECT_GE(rows_of(t, new_call), 11);
  EXPECT_TRUE(object_exists(t, "new"));
  EXPECT_GE(rows_of(other, foreign), 11);
  EXPECT_TRUE(object_exists(other, "old"));
  // A second sweep finds nothing more; a day later the other call's time has come.
  EXPECT_EQ(s.sweep(t.bid()).calls_purged, 0);
  clock.advance(std::chrono::days(2));
  EXPECT_EQ(s.sweep(t.bid()).calls_purged, 1);
  EXPECT_EQ(rows_of(t, new_call), 0);
}

// The recording's redacted copy (written by the analyze stage) goes with its call, also when
// the transcript was rewritten since the copy was made (the copy is then stale, still the call's).
TEST_F(LifecycleTest, TheRecordingsRedactedCopyGoesWithItsCall) {
  const TenantId t = new_tenant("life-red");
  configure(t, 30, false);
  auto& r = repos->repos();
  std::vector<std::string> copies;
  for (const char* ext : {"red-current", "red-stale"}) {
    const Id id = full_call(t, ext, 31);
    const std::vector<std::uint8_t> bytes(32, 3);
    auto copy = store->write(fmt::format("{}/redacted/{}.wav", t.bid(), id), bytes);
    ASSERT_TRUE(copy);
    copies.push_back(*copy);
    const auto version = r.transcripts.get(t, id).value().version;
    storage::TranscriptRedaction red;
    red.call_id = id;
    red.version = version;
    red.segments_json = "[]";
    red.audio_uri = *copy;
    ASSERT_TRUE(r.transcripts.put_redaction(t, red).value());
    if (std::string(ext) == "red-stale") {
      ASSERT_TRUE(r.transcripts.put(t, transcript_row(id, "[]", "again", "p", "en")));
      ASSERT_FALSE(r.transcripts.get(t, id).value().redaction_current);
    }
  }
  auto s = sweeper();
  auto out = s.sweep(t.bid());
  EXPECT_TRUE(out.errors.empty()) << out.errors.front();
  EXPECT_EQ(out.calls_purged, 2);
  EXPECT_EQ(out.objects_deleted, 4);  // two recordings, two redacted copies
  for (const auto& uri : copies) EXPECT_EQ(store->stat(uri).error().code, ErrorCode::kNotFound) << uri;
}

TEST_F(LifecycleTest, BatchesAreBoundedAndTheRestWaitsForTheNextSweep) {
  const TenantId t = new_tenant("life-batch");
  configure(t, 1, false);
  for (int i = 0; i < 7; ++i) {
    storage::CallInput in;
    in.external_id = fmt::format("b{}", i);
    in.started_at = storage::to_timestamp(clock.now() - std::chrono::days(10 + i));
    ASSERT_TRUE(repos->repos().calls.upsert(t, in));
  }
  auto s = sweeper({.batch_size = 2, .max_batches = 2});
  auto first = s.sweep(t.bid());
  EXPECT_EQ(first.calls_purged, 4);
  EXPECT_TRUE(first.more_left);
  auto second = s.sweep(t.bid());
  EXPECT_EQ(second.calls_purged, 3);
  EXPECT_FALSE(second.more_left);
  EXPECT_EQ(count("SELECT COUNT(*) FROM call_records WHERE bid = ?", {t.bid()}), 0);
}

TEST_F(LifecycleTest, ARecordingOutsideTheBusinessPrefixIsLeftAloneButTheRowGoes) {
  const TenantId t = new_tenant("life-prefix");
  const TenantId victim = new_tenant("life-victim");
  configure(t, 1, false);
  const std::vector<std::uint8_t> bytes(16, 1);
  auto foreign_uri = store->write(fmt::format("{}/theirs.wav", victim.bid()), bytes);
  ASSERT_TRUE(foreign_uri);
  storage::CallInput in;
  in.external_id = "points-elsewhere";
  in.audio_uri = *foreign_uri;  // stored by older code that did not check the prefix
  in.started_at = storage::to_timestamp(clock.now() - std::chrono::days(5));
  ASSERT_TRUE(repos->repos().calls.upsert(t, in));
  auto s = sweeper();
  auto r = s.sweep(t.bid());
  EXPECT_EQ(r.calls_purged, 1);
  EXPECT_EQ(r.objects_deleted, 0);
  EXPECT_TRUE(std::filesystem::exists(dir / victim.bid() / "theirs.wav"));
}

TEST_F(LifecycleTest, ARecordingTheStoreCannotDeleteKeepsItsCall) {
  const TenantId t = new_tenant("life-fail");
  configure(t, 1, false);
  const Id id = full_call(t, "stuck", 3);
  // A directory where the file was: the local store cannot remove it as a file.
  std::filesystem::remove(dir / t.bid() / "stuck.wav");
  std::filesystem::create_directories(dir / t.bid() / "stuck.wav" / "child");
  auto s = sweeper();
  auto r = s.sweep(t.bid());
  ASSERT_FALSE(r.errors.empty());
  EXPECT_TRUE(r.errors.front().starts_with("objects:")) << r.errors.front();
  EXPECT_EQ(r.calls_purged, 0);
  EXPECT_GE(rows_of(t, id), 11);
  EXPECT_NE(metrics.serialize().find("earshot_lifecycle_errors_total{step=\"objects\"} 1"), std::string::npos);
}

TEST_F(LifecycleTest, ARecordingInAStoreThisProcessDoesNotKnowKeepsItsCall) {
  // An S3 recording while only the local store is configured (a sync worker deployed without
  // the S3 settings): deleting the row would orphan the object.
  const TenantId t = new_tenant("life-s3");
  configure(t, 1, false);
  storage::CallInput in;
  in.external_id = "in-s3";
  in.audio_uri = fmt::format("s3://recordings/{}/in-s3.wav", t.bid());
  in.started_at = storage::to_timestamp(clock.now() - std::chrono::days(5));
  const Id id = repos->repos().calls.upsert(t, in)->id;
  auto s = sweeper();
  auto r = s.sweep(t.bid());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("not configured"), std::string::npos) << r.errors[0];
  EXPECT_EQ(r.calls_purged, 0);
  EXPECT_TRUE(repos->repos().calls.get(t, id).has_value());
  ASSERT_TRUE(repos->repos().calls.remove(t, id).value());  // the other tests sweep every business
}

TEST_F(LifecycleTest, PhonesOfFinishedCallsAreHashedOnlyWhenTheBusinessAsks) {
  const TenantId asks = new_tenant("life-hash");
  const TenantId keeps = new_tenant("life-keep");
  configure(asks, 365, true);
  configure(keeps, 365, false);
  auto& calls = repos->repos().calls;
  auto finished = [&](const TenantId& t, const std::string& ext) {
    storage::CallInput in;
    in.external_id = ext;
    in.customer_phone = "+15557654321";
    in.started_at = storage::to_timestamp(clock.now());
    const Id id = calls.upsert(t, in)->id;
    using S = storage::CallStatus;
    for (auto [from, to] : {std::pair{S::kPending, S::kTranscribing},
                            {S::kTranscribing, S::kTranscribed},
                            {S::kTranscribed, S::kAnalyzing},
                            {S::kAnalyzing, S::kAnalyzed},
                            {S::kAnalyzed, S::kNotified}}) {
      EXPECT_TRUE(calls.advance(t, id, from, to).value());
    }
    return id;
  };
  const Id a = finished(asks, "h1");
  const Id k = finished(keeps, "h1");
  auto s = sweeper();
  auto run = s.run_once();
  ASSERT_TRUE(run);
  EXPECT_TRUE(calls.get(asks, a)->customer_phone.starts_with("sha256:"));
  EXPECT_EQ(calls.get(keeps, k)->customer_phone, "+15557654321");
  // Found by the number although stored hashed.
  storage::CallListQuery q;
  q.customer_phone = "+15557654321";
  auto page = calls.list(asks, q);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->calls.size(), 1u);
  EXPECT_EQ(page->calls[0].id, a);
  const std::string text = metrics.serialize();
  EXPECT_NE(text.find("earshot_lifecycle_runs_total{outcome=\"ok\"} 1"), std::string::npos) << text;
  EXPECT_EQ(text.find("earshot_lifecycle_last_success_timestamp_seconds 0\n"), std::string::npos);
  EXPECT_EQ(text.find("earshot_lifecycle_phones_hashed_total 0\n"), std::string::npos);
}

TEST_F(LifecycleTest, ABusinessLockedByAnotherReplicaIsSkipped) {
  const TenantId t = new_tenant("life-lock");
  configure(t, 1, false);
  full_call(t, "locked", 5);
  storage::MySqlRunLocks other_replica(db());
  auto held = other_replica.try_acquire(t, "lifecycle");
  ASSERT_TRUE(held && *held != nullptr);
  auto s = sweeper();
  auto r = s.sweep(t.bid());
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(r.calls_purged, 0);
  held->reset();  // the other replica finished
  EXPECT_EQ(s.sweep(t.bid()).calls_purged, 1);
}

}  // namespace
}  // namespace earshot::sync
