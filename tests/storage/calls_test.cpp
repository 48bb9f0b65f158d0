// Calls: upserts, the state machine, keyset pagination and filters, lifecycle, and the
// human-agent aggregates under concurrency. Real MariaDB.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "call_steps.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "failing_writes.hpp"
#include "fakes/fake_clock.hpp"
#include "test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::testing {
namespace {

using namespace storage;
using namespace std::chrono_literals;

// A transcript row with the fields a test sets; the rest keep their defaults.
Transcript transcript_row(Id call_id, std::string segments, std::string text, std::string provider,
                          std::string language) {
  Transcript tr;
  tr.call_id = call_id;
  tr.segments_json = std::move(segments);
  tr.full_text = std::move(text);
  tr.provider = std::move(provider);
  tr.language = std::move(language);
  return tr;
}

Timestamp at(std::int64_t seconds) {
  return Timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

CallInput call_input(const std::string& ext, std::int64_t start_s = 0) {
  CallInput in;
  in.external_id = ext;
  in.customer_phone = "+15551234567";
  in.customer_name = "Cat";
  in.direction = CallDirection::kInbound;
  in.city = "Austin";
  in.issue_category = "billing";
  in.call_context = "renewal";
  in.started_at = at(start_s);
  in.duration_ms = 60'000;
  in.audio_uri = "s3://bucket/" + ext + ".wav";
  in.channels = 2;
  in.language = "en";
  in.metadata_json = R"({"campaign":"fall"})";
  return in;
}

CallMetrics metrics_of(Id call) {
  CallMetrics m;
  m.call_id = call;
  return m;
}

ProcessingEvent event_of(Id call, const std::string& stage) {
  ProcessingEvent e;
  e.call_id = call;
  e.stage = stage;
  return e;
}

std::int64_t count_rows(const std::string& table, Id call_id) {
  auto r = StorageEnvironment::db().execute(fmt::format("SELECT COUNT(*) FROM {} WHERE call_id = ?", table), {call_id});
  return r.value().rows[0][0].as_int();
}

class CallsTest : public ::testing::Test {
 protected:
  Database& db_ = StorageEnvironment::db();
  TenantId t_ = new_tenant("calls");
  MySqlCallRepository calls_{db_, {"pepper"}};
  MySqlHumanAgentRepository agents_{db_};
  MySqlMetricsRepository metrics_{db_};
  MySqlAnalysisRepository analyses_{db_};
  MySqlTranscriptRepository transcripts_{db_};
  MySqlAgentConfigRepository configs_{db_};
};

TEST_F(CallsTest, UpsertIsIdempotentOnExternalId) {
  auto first = calls_.upsert(t_, call_input("x-1"));
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  EXPECT_TRUE(first->created);
  auto same = calls_.upsert(t_, call_input("x-1"));
  ASSERT_TRUE(same.has_value());
  EXPECT_FALSE(same->created);
  EXPECT_EQ(same->id, first->id);

  ASSERT_TRUE(calls_.advance(t_, first->id, CallStatus::kPending, CallStatus::kTranscribing).value());
  auto changed = call_input("x-1");
  changed.city = "Dallas";
  changed.duration_ms = 90'000;
  ASSERT_FALSE(calls_.upsert(t_, changed)->created);
  auto got = calls_.get(t_, first->id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->city, "Dallas");
  EXPECT_EQ(got->duration_ms, 90'000);
  EXPECT_EQ(got->status, CallStatus::kTranscribing);  // a re-sync never resets the pipeline
  EXPECT_EQ(got->started_at, at(0));
  EXPECT_EQ(got->metadata_json, R"({"campaign":"fall"})");
  EXPECT_EQ(got->direction, CallDirection::kInbound);
  EXPECT_EQ(got->channels, 2);
  EXPECT_EQ(calls_.find_by_external_id(t_, "x-1")->id, first->id);
  EXPECT_EQ(calls_.get(t_, 987654321).error().code, ErrorCode::kNotFound);

  auto bad = call_input("x-2");
  bad.metadata_json = "{oops";
  EXPECT_EQ(calls_.upsert(t_, bad).error().code, ErrorCode::kInvalidArgument);
  bad = call_input(std::string(200, 'e'));
  EXPECT_EQ(calls_.upsert(t_, bad).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(CallsTest, BatchUpsertInsertsAndUpdatesInOneGo) {
  std::vector<CallInput> batch;
  for (int i = 0; i < 2500; ++i) batch.push_back(call_input(fmt::format("b-{}", i), i));
  ASSERT_TRUE(calls_.upsert_batch(t_, batch));
  for (auto& c : batch) c.city = "Reno";
  ASSERT_TRUE(calls_.upsert_batch(t_, batch));
  auto n = db_.execute(
      "SELECT COUNT(*), SUM(city = 'Reno'), MAX(sync_count) FROM call_records "
      "WHERE bid = ?",
      {t_.bid()});
  EXPECT_EQ(n->rows[0][0].as_int(), 2500);
  EXPECT_EQ(n->rows[0][1].as_int(), 2500);
  EXPECT_EQ(n->rows[0][2].as_int(), 2);
  // The same call twice in one batch: the last one wins, as if upserted one by one.
  std::vector<CallInput> twice{call_input("dup-1"), call_input("dup-1")};
  twice[0].city = "First";
  twice[1].city = "Last";
  twice[1].started_at = at(-100);  // sorts first in start order; must still win
  ASSERT_TRUE(calls_.upsert_batch(t_, twice));
  EXPECT_EQ(calls_.find_by_external_id(t_, "dup-1")->city, "Last");
  // A bad row fails the whole batch: nothing of it is written.
  std::vector<CallInput> mixed{call_input("m-1"), call_input("m-2")};
  mixed[1].metadata_json = "nope";
  EXPECT_FALSE(calls_.upsert_batch(t_, mixed).has_value());
  EXPECT_EQ(calls_.find_by_external_id(t_, "m-1").error().code, ErrorCode::kNotFound);
}

TEST_F(CallsTest, ConcurrentOverlappingBatchesConvergeToOneRowPerCall) {
  // Four syncs of overlapping windows at once (a redelivered sync page, two workers on
  // the same source): every call ends up exactly once, with one sync per batch it was in.
  std::vector<std::vector<CallInput>> batches(4);
  for (int b = 0; b < 4; ++b) {
    for (int i = b * 300; i < b * 300 + 600; ++i) batches[b].push_back(call_input(fmt::format("ov-{}", i), i));
  }
  Database pool(mysql_settings(StorageEnvironment::database_name(), 4));
  MySqlCallRepository repo(pool);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int b = 0; b < 4; ++b) {
    threads.emplace_back([&, b] {
      if (auto st = repo.upsert_batch(t_, batches[b]); !st) errors[b] = st.error().to_string();
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_TRUE(e.empty()) << e;
  auto r = db_.execute(
      "SELECT COUNT(*), COUNT(DISTINCT external_id), SUM(sync_count) FROM call_records "
      "WHERE bid = ? AND external_id LIKE 'ov-%'",
      {t_.bid()});
  EXPECT_EQ(r->rows[0][0].as_int(), 1500);
  EXPECT_EQ(r->rows[0][1].as_int(), 1500);
  EXPECT_EQ(r->rows[0][2].as_int(), 4 * 600);
}

TEST_F(CallsTest, TransitionsAreGuardedAndRepeatsAreNoOps) {
  const Id id = calls_.upsert(t_, call_input("s-1"))->id;
  using S = CallStatus;
  const std::pair<S, S> path[] = {{S::kPending, S::kTranscribing},
                                  {S::kTranscribing, S::kTranscribed},
                                  {S::kTranscribed, S::kAnalyzing},
                                  {S::kAnalyzing, S::kAnalyzed},
                                  {S::kAnalyzed, S::kNotified}};
  for (auto [from, to] : path) {
    auto r = calls_.advance(t_, id, from, to);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_TRUE(*r) << status_name(to);
    // The same message delivered again: nothing happens, and the caller learns it.
    EXPECT_FALSE(calls_.advance(t_, id, from, to).value()) << status_name(to);
    EXPECT_EQ(calls_.get(t_, id)->status, to);
  }
  EXPECT_EQ(calls_.get(t_, id)->attempts, 2);  // transcribing + analyzing
  EXPECT_EQ(calls_.advance(t_, id, S::kPending, S::kAnalyzed).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(calls_.mark_failed(t_, id, "notify", "webhook 500").value());
  EXPECT_FALSE(calls_.mark_failed(t_, id, "notify", "again").value());
  auto failed = calls_.get(t_, id);
  EXPECT_EQ(failed->status, S::kFailed);
  EXPECT_EQ(failed->failed_stage, "notify");
  EXPECT_EQ(failed->failed_reason, "webhook 500");
  EXPECT_TRUE(calls_.reprocess(t_, id).value());
  EXPECT_FALSE(calls_.reprocess(t_, id).value());  // pending is not reprocessable
  auto reset = calls_.get(t_, id);
  EXPECT_EQ(reset->status, S::kPending);
  EXPECT_EQ(reset->failed_stage, "");
  EXPECT_EQ(reset->attempts, 0);
}

TEST_F(CallsTest, RacingConsumersClaimAStepExactlyOnce) {
  const Id id = calls_.upsert(t_, call_input("race"))->id;
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = calls_.advance(t_, id, CallStatus::kPending, CallStatus::kTranscribing);
      if (r.value_or(false)) wins.fetch_add(1);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(calls_.get(t_, id)->attempts, 1);
}

TEST_F(CallsTest, DeleteRemovesTheCallAndEverythingDerived) {
  const Id agent = agents_.upsert(t_, {"a", "A", "", ""}).value();
  auto in = call_input("del");
  in.human_agent_id = agent;
  const Id id = calls_.upsert(t_, in)->id;
  const Id keep = calls_.upsert(t_, call_input("keep"))->id;
  const Id cfg = configs_.create(t_, AgentConfig{0, "qa", AgentKind::kBuiltin, "", "{}", "", true, 1}).value();
  for (Id c : {id, keep}) {
    ASSERT_TRUE(transcripts_.put(t_, transcript_row(c, "[]", "hello there", "p", "en")));
    ASSERT_TRUE(metrics_.put(t_, metrics_of(c)));
    CallAnalysisResult r;
    r.analyses.push_back(AnalysisInput{cfg, 1, "{}", "", "", 0, 0, 0});
    r.escalation_reason = "angry";
    ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, c));
    ASSERT_TRUE(analyses_.record(t_, c, r).value().recorded);
    ASSERT_TRUE(MySqlNoteRepository(db_).create(t_, c, std::nullopt, "n").has_value());
    ASSERT_TRUE(MySqlProcessingEventRepository(db_).append(t_, event_of(c, "stt")).has_value());
  }
  MySqlRuleSetRepository cats(db_, MySqlRuleSetRepository::Kind::kCategories);
  const Id cat = cats.create(t_, {0, "c", "[]", true, 0}).value();
  ASSERT_TRUE(MySqlCategoryMatchRepository(db_).replace(t_, id, {{cat, "[]"}}));

  const std::vector<std::string> derived = {"transcripts",          "call_metrics", "analyses",
                                            "processing_events",    "call_notes",   "escalations",
                                            "call_category_matches"};
  for (const auto& table : derived) ASSERT_GE(count_rows(table, id), 1) << table;
  ASSERT_TRUE(calls_.remove(t_, id).value());
  EXPECT_FALSE(calls_.remove(t_, id).value());
  EXPECT_EQ(calls_.get(t_, id).error().code, ErrorCode::kNotFound);
  for (const auto& table : derived) EXPECT_EQ(count_rows(table, id), 0) << table;
  for (const auto& table : derived) {
    if (table != "call_category_matches") {
      EXPECT_GE(count_rows(table, keep), 1) << table;
    }
  }
}

TEST_F(CallsTest, RetentionCandidatesAreTheOldestCallsAndRemoveManyDeletesThem) {
  std::vector<Id> old_ids;
  for (int i = 0; i < 10; ++i) {
    CallInput in = call_input(fmt::format("old-{}", i), i);
    in.audio_uri = fmt::format("store://{}/old-{}.wav", t_.bid(), i);
    const Id id = calls_.upsert(t_, in)->id;
    ASSERT_TRUE(transcripts_.put(t_, transcript_row(id, "[]", "old call", "p", "en")));
    old_ids.push_back(id);
  }
  const Id fresh = calls_.upsert(t_, call_input("fresh", 100'000))->id;
  const auto other = new_tenant("purge-other");
  const Id foreign = calls_.upsert(other, call_input("old-0", 0))->id;

  auto first = calls_.purge_candidates(t_, at(50'000), 3);
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  ASSERT_EQ(first->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*first)[i].id, old_ids[i]);  // oldest first
    EXPECT_EQ((*first)[i].audio_uri, fmt::format("store://{}/old-{}.wav", t_.bid(), i));
  }
  std::vector<Id> ids = old_ids;
  ids.push_back(foreign);  // another business's id is ignored
  EXPECT_EQ(calls_.remove_many(t_, ids).value(), 10);
  for (Id id : old_ids) {
    EXPECT_EQ(calls_.get(t_, id).error().code, ErrorCode::kNotFound);
    EXPECT_EQ(count_rows("transcripts", id), 0);
  }
  EXPECT_TRUE(calls_.get(t_, fresh).has_value());
  EXPECT_TRUE(calls_.get(other, foreign).has_value());
  EXPECT_TRUE(calls_.purge_candidates(t_, at(50'000), 3)->empty());
  EXPECT_EQ(calls_.purge_candidates(t_, at(0), 0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(calls_.remove_many(t_, {}).value(), 0);
}

TEST_F(CallsTest, FinishedCallsPhonesAreHashedAndStillFoundByTheNumber) {
  const Id done = calls_.upsert(t_, call_input("ph-done"))->id;
  const Id busy = calls_.upsert(t_, call_input("ph-busy"))->id;
  for (auto [from, to] : {std::pair{CallStatus::kPending, CallStatus::kTranscribing},
                          {CallStatus::kTranscribing, CallStatus::kTranscribed},
                          {CallStatus::kTranscribed, CallStatus::kAnalyzing},
                          {CallStatus::kAnalyzing, CallStatus::kAnalyzed},
                          {CallStatus::kAnalyzed, CallStatus::kNotified}}) {
    ASSERT_TRUE(calls_.advance(t_, done, from, to).value());
  }
  const auto other = new_tenant("phone-other");
  const Id foreign = calls_.upsert(other, call_input("ph-done"))->id;
  EXPECT_EQ(calls_.hash_finished_phones(t_, 100).value(), 1);
  EXPECT_EQ(calls_.hash_finished_phones(t_, 100).value(), 0);  // idempotent
  EXPECT_TRUE(calls_.get(t_, done)->customer_phone.starts_with("sha256:"));
  EXPECT_FALSE(calls_.get(t_, busy)->customer_phone_hashed);  // the pipeline still needs it
  EXPECT_FALSE(calls_.get(other, foreign)->customer_phone_hashed);
  // The list finds both calls by the clear number: one by its hash, one as stored.
  const std::string number = calls_.get(t_, busy)->customer_phone;
  CallListQuery q;
  q.customer_phone = number;
  auto page = calls_.list(t_, q);
  ASSERT_TRUE(page.has_value()) << page.error().to_string();
  std::set<Id> found;
  for (const auto& c : page->calls) found.insert(c.id);
  EXPECT_EQ(found, (std::set<Id>{done, busy}));
  q.customer_phone = "+15550000000";
  EXPECT_TRUE(calls_.list(t_, q)->calls.empty());
  // Without the pepper the hash does not match: a repository with another pepper finds only
  // the clear number; one that also knows the old pepper (a rotated key) finds both.
  MySqlCallRepository rotated{db_, {"new-pepper"}};
  q.customer_phone = number;
  EXPECT_EQ(rotated.list(t_, q)->calls.size(), 1u);
  MySqlCallRepository both{db_, {"new-pepper", "pepper"}};
  EXPECT_EQ(both.list(t_, q)->calls.size(), 2u);
  EXPECT_EQ(calls_.hash_finished_phones(t_, 0).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(CallsTest, CustomerPhoneCanBeHashedAfterAnalysis) {
  const Id id = calls_.upsert(t_, call_input("ph"))->id;
  ASSERT_TRUE(calls_.hash_customer_phone(t_, id).value());
  EXPECT_FALSE(calls_.hash_customer_phone(t_, id).value());
  auto got = calls_.get(t_, id);
  EXPECT_TRUE(got->customer_phone_hashed);
  EXPECT_TRUE(got->customer_phone.starts_with("sha256:"));
  EXPECT_EQ(got->customer_phone.size(), 7u + 64u);
  EXPECT_EQ(got->customer_phone.find("5551234567"), std::string::npos);
  const std::string hashed = got->customer_phone;
  // A re-sync of the same call does not bring the number back.
  ASSERT_TRUE(calls_.upsert(t_, call_input("ph")).has_value());
  EXPECT_EQ(calls_.get(t_, id)->customer_phone, hashed);
  // Same number, same pepper: same hash (so hashed calls still group by customer).
  const Id id2 = calls_.upsert(t_, call_input("ph2"))->id;
  ASSERT_TRUE(calls_.hash_customer_phone(t_, id2).value());
  EXPECT_EQ(calls_.get(t_, id2)->customer_phone, hashed);
}

TEST_F(CallsTest, TranscriptsRewriteAndSearch) {
  const Id id = calls_.upsert(t_, call_input("tr"))->id;
  Transcript tr =
      transcript_row(id, R"([{"speaker":"agent","start_ms":0,"end_ms":900,"text":"Hello","confidence":0.9}])",
                     "hello I want a refund for my subscription", "pocketsphinx", "en");
  ASSERT_TRUE(transcripts_.put(t_, tr));
  EXPECT_EQ(transcripts_.get(t_, id)->version, 1);
  tr.full_text = "hello I want to upgrade my subscription";
  ASSERT_TRUE(transcripts_.put(t_, tr));
  auto got = transcripts_.get(t_, id);
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->full_text, tr.full_text);
  EXPECT_EQ(got->segments_json, tr.segments_json);
  EXPECT_EQ(transcripts_.search(t_, "upgrade subscription", 10).value(), std::vector<Id>{id});
  EXPECT_TRUE(transcripts_.search(t_, "refund", 10).value().empty());
  EXPECT_EQ(transcripts_.search(t_, "a b", 10).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(transcripts_.put(t_, transcript_row(987654321, "[]", "x", "p", "")).error().code, ErrorCode::kNotFound);
}

TEST_F(CallsTest, MetricsRoundTripAndFeedTheCallList) {
  const Id id = calls_.upsert(t_, call_input("m"))->id;
  CallMetrics m;
  m.call_id = id;
  m.source = MetricsSource::kAudio;
  m.duration_ms = 60'000;
  m.agent_talk_ms = 20'000;
  m.customer_talk_ms = 30'000;
  m.agent_talk_ratio = 0.4;
  m.agent_talk_pct_of_call = 20.0 / 60.0;
  m.non_talk_ms = 10'000;
  m.silences_json = R"([{"begin_ms":1000,"end_ms":5000,"duration_ms":4000}])";
  m.overtalk_ms = 1200;
  m.overtalk_count = 3;
  m.agent_interruptions = 2;
  m.agent_interruption_ms = 1500;
  m.customer_interruptions = 1;
  m.customer_interruption_ms = 700;
  m.agent_loudness_mean_dbfs = -23.5;
  m.agent_loudness_peak_dbfs = -3.0;
  m.customer_loudness_mean_dbfs = -26.0;
  m.customer_loudness_peak_dbfs = -6.5;
  m.loudness_series_json = R"({"agent":[-20,-21],"customer":[-30,-29]})";
  m.longest_monologue_ms = 12'000;
  m.longest_customer_story_ms = 15'000;
  m.interactivity_per_min = 4.5;
  m.patience_ms = 640;
  m.agent_wpm = 150;
  m.customer_wpm = 130;
  m.question_rate_per_hour = 36;
  m.agent_sentiment = 0.3;
  m.customer_sentiment = -0.25;
  m.agent_sentiment_q[0] = 0.1;
  m.agent_sentiment_q[3] = 0.5;
  m.customer_sentiment_q[0] = -0.5;
  m.customer_sentiment_q[1] = -0.25;
  m.customer_sentiment_q[3] = 0.25;
  m.sentiment_change = 0.75;
  ASSERT_TRUE(metrics_.put(t_, m));
  auto got = metrics_.get(t_, id);
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_EQ(got->source, MetricsSource::kAudio);
  EXPECT_EQ(got->agent_talk_ms, 20'000);
  EXPECT_EQ(got->silences_json, m.silences_json);
  EXPECT_EQ(got->loudness_series_json, m.loudness_series_json);
  EXPECT_EQ(got->agent_interruption_ms, 1500);
  EXPECT_EQ(got->customer_interruptions, 1);
  EXPECT_EQ(got->customer_loudness_peak_dbfs, -6.5);
  EXPECT_EQ(got->longest_customer_story_ms, 15'000);
  EXPECT_EQ(got->patience_ms, 640);
  EXPECT_EQ(got->question_rate_per_hour, 36);
  EXPECT_EQ(got->agent_sentiment_q[3], 0.5);
  EXPECT_FALSE(got->agent_sentiment_q[1].has_value());
  EXPECT_EQ(got->customer_sentiment_q[1], -0.25);
  EXPECT_EQ(got->sentiment_change, 0.75);
  auto call = calls_.get(t_, id);
  EXPECT_EQ(call->agent_talk_ratio, 0.4);
  EXPECT_EQ(call->customer_sentiment, -0.25);
  m.agent_talk_ratio = 0.5;
  ASSERT_TRUE(metrics_.put(t_, m));  // recompute overwrites
  EXPECT_EQ(metrics_.get(t_, id)->agent_talk_ratio, 0.5);
  EXPECT_EQ(calls_.get(t_, id)->agent_talk_ratio, 0.5);
  EXPECT_EQ(metrics_.put(t_, metrics_of(987654321)).error().code, ErrorCode::kNotFound);
}

TEST_F(CallsTest, AnalysesKeepHistoryAndFlagTheLatest) {
  const Id id = calls_.upsert(t_, call_input("an"))->id;
  const Id cfg = configs_.create(t_, AgentConfig{0, "summary", AgentKind::kLlm, "p", "{}", "m", true, 1}).value();
  CallAnalysisResult r;
  r.analyses.push_back(AnalysisInput{cfg, 1, R"({"summary":"v1"})", "m1", std::string(64, 'a'), 800, 1000, 200});
  r.qa_score = 0.75;
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, id));
  const auto first = analyses_.record(t_, id, r).value();
  EXPECT_TRUE(first.recorded);
  EXPECT_FALSE(first.aggregated);  // no agent: nothing to aggregate
  EXPECT_EQ(calls_.get(t_, id)->status, CallStatus::kAnalyzed);
  r.analyses[0].output_json = R"({"summary":"v2"})";
  r.analyses[0].agent_version = 2;
  // A second run of the same analysis finds the call analyzed and writes nothing ...
  EXPECT_FALSE(analyses_.record(t_, id, r).value().recorded);
  EXPECT_EQ(analyses_.list_for_call(t_, id, false)->size(), 1u);
  // ... a re-analysis (reprocess, the stages again) keeps the history.
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, id));
  ASSERT_TRUE(analyses_.record(t_, id, r).value().recorded);
  auto all = analyses_.list_for_call(t_, id, false);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_FALSE(all->at(0).is_latest);
  EXPECT_TRUE(all->at(1).is_latest);
  EXPECT_EQ(all->at(0).latency_ms, 800);
  EXPECT_EQ(all->at(0).input_tokens, 1000);
  auto latest = analyses_.list_for_call(t_, id, true);
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ(latest->at(0).output_json, R"({"summary":"v2"})");
  EXPECT_EQ(latest->at(0).agent_version, 2);
  EXPECT_EQ(calls_.get(t_, id)->qa_score, 0.75);
}

// One record of several agents (written in three statements): each agent keeps its own
// latest row; an agent named twice keeps its last result as the latest.
TEST_F(CallsTest, SeveralAgentsInOneRecordEachKeepTheirOwnLatest) {
  const Id id = calls_.upsert(t_, call_input("many-agents"))->id;
  std::vector<Id> cfgs;
  for (int i = 0; i < 3; ++i) {
    cfgs.push_back(
        configs_.create(t_, AgentConfig{0, "agent-" + std::to_string(i), AgentKind::kLlm, "p", "{}", "m", true, 1})
            .value());
  }
  CallAnalysisResult r;
  for (int i = 0; i < 3; ++i) {
    r.analyses.push_back(AnalysisInput{cfgs[static_cast<std::size_t>(i)], 1,
                                       R"({"run":1,"agent":)" + std::to_string(i) + "}", "m", std::string(64, 'a')});
  }
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, id));
  ASSERT_TRUE(analyses_.record(t_, id, r).value().recorded);
  // Re-analysed: agent 0 twice (the second is the latest), agent 1 once, agent 2 not at all.
  CallAnalysisResult again;
  again.analyses.push_back(AnalysisInput{cfgs[0], 2, R"({"run":2,"agent":0,"take":1})", "m", std::string(64, 'b')});
  again.analyses.push_back(AnalysisInput{cfgs[1], 2, R"({"run":2,"agent":1})", "m", std::string(64, 'b')});
  again.analyses.push_back(AnalysisInput{cfgs[0], 2, R"({"run":2,"agent":0,"take":2})", "m", std::string(64, 'b')});
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, id));
  ASSERT_TRUE(analyses_.record(t_, id, again).value().recorded);
  EXPECT_EQ(analyses_.list_for_call(t_, id, false)->size(), 6u);
  std::map<Id, std::vector<std::string>> latest;
  const auto rows = analyses_.list_for_call(t_, id, true).value();
  for (const auto& a : rows) latest[a.agent_config_id].push_back(a.output_json);
  ASSERT_EQ(latest.size(), 3u);
  EXPECT_EQ(latest[cfgs[0]], std::vector<std::string>{R"({"run":2,"agent":0,"take":2})"});
  EXPECT_EQ(latest[cfgs[1]], std::vector<std::string>{R"({"run":2,"agent":1})"});
  EXPECT_EQ(latest[cfgs[2]], std::vector<std::string>{R"({"run":1,"agent":2})"});
}

TEST_F(CallsTest, DetailReadsTheCallAndEveryPartOfItsViewInOneGo) {
  const Id id = calls_.upsert(t_, call_input("detail"))->id;
  const Id other = calls_.upsert(t_, call_input("detail-other"))->id;
  const Id bare = calls_.upsert(t_, call_input("detail-bare"))->id;
  const Id cfg = configs_.create(t_, AgentConfig{0, "summary", AgentKind::kLlm, "p", "{}", "m", true, 1}).value();
  MySqlNoteRepository notes(db_);
  MySqlRuleSetRepository cats(db_, MySqlRuleSetRepository::Kind::kCategories);
  const Id cat_a = cats.create(t_, {0, "detail-a", "[]", true, 0}).value();
  const Id cat_b = cats.create(t_, {0, "detail-b", "[]", true, 0}).value();
  for (Id c : {id, other}) {
    ASSERT_TRUE(transcripts_.put(
        t_, transcript_row(c, fmt::format(R"([{{"speaker":"agent","text":"call {}"}}])", c), "hi", "deepgram", "es")));
    CallAnalysisResult r;
    r.analyses.push_back(AnalysisInput{cfg, 1, R"({"summary":"old"})", "m1", "", 0, 0, 0});
    ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, c));
    ASSERT_TRUE(analyses_.record(t_, c, r).value().recorded);
    r.analyses[0].output_json = fmt::format(R"({{"summary":"call {}"}})", c);
    r.analyses[0].agent_version = 2;
    r.escalation_reason = "angry";
    r.escalation_severity = EscalationSeverity::kHigh;
    ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, c));
    ASSERT_TRUE(analyses_.record(t_, c, r).value().recorded);
    ASSERT_TRUE(notes.create(t_, c, std::nullopt, "first").has_value());
    ASSERT_TRUE(notes.create(t_, c, std::nullopt, "second").has_value());
  }
  ASSERT_TRUE(MySqlCategoryMatchRepository(db_).replace(t_, id, {{cat_b, R"([{"begin_ms":1}])"}, {cat_a, "[]"}}));

  auto d = calls_.detail(t_, id);
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->call.id, id);
  EXPECT_EQ(d->call.external_id, "detail");
  EXPECT_EQ(d->call.metadata_json, calls_.get(t_, id)->metadata_json);
  EXPECT_NE(d->call.metadata_json.find("fall"), std::string::npos);
  EXPECT_EQ(d->call.language, "en") << "the call's own column, not the transcript's";
  ASSERT_TRUE(d->transcript.has_value());
  EXPECT_EQ(d->transcript->language, "es");
  EXPECT_EQ(d->transcript->provider, "deepgram");
  EXPECT_EQ(d->transcript->segments_json, transcripts_.get(t_, id)->segments_json);
  // Only the latest analysis, as the analyses repository reads it.
  const auto latest = analyses_.list_for_call(t_, id, true).value();
  ASSERT_EQ(d->analyses.size(), 1u);
  EXPECT_EQ(d->analyses[0].id, latest[0].id);
  EXPECT_EQ(d->analyses[0].agent_config_id, cfg);
  EXPECT_EQ(d->analyses[0].agent_version, 2);
  EXPECT_EQ(d->analyses[0].output_json, latest[0].output_json);
  EXPECT_EQ(d->analyses[0].model, "m1");
  EXPECT_EQ(d->analyses[0].created_at, latest[0].created_at);
  ASSERT_EQ(d->categories.size(), 2u);
  EXPECT_EQ(d->categories[0].category_id, std::min(cat_a, cat_b));
  EXPECT_EQ(d->categories[1].category_id, std::max(cat_a, cat_b));
  const auto matches = MySqlCategoryMatchRepository(db_).list_for_call(t_, id).value();
  EXPECT_EQ(d->categories[0].spans_json, matches[0].spans_json);
  EXPECT_EQ(d->categories[1].spans_json, matches[1].spans_json);
  EXPECT_NE(d->categories[cat_b > cat_a ? 1 : 0].spans_json.find("begin_ms"), std::string::npos);
  ASSERT_EQ(d->escalations.size(), 1u);
  EXPECT_EQ(d->escalations[0].reason, "angry");
  EXPECT_EQ(d->escalations[0].severity, "high");
  EXPECT_EQ(d->escalations[0].status, "open");
  EXPECT_FALSE(d->escalations[0].resolved_at.has_value());
  const auto own_notes = notes.list_for_call(t_, id).value();
  ASSERT_EQ(d->notes.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(d->notes[i].id, own_notes[i].id);
    EXPECT_EQ(d->notes[i].body, own_notes[i].body);
    EXPECT_EQ(d->notes[i].created_at, own_notes[i].created_at);
    EXPECT_FALSE(d->notes[i].author_user_id.has_value());
  }

  auto empty = calls_.detail(t_, bare);
  ASSERT_TRUE(empty) << empty.error().to_string();
  EXPECT_FALSE(empty->transcript.has_value());
  EXPECT_TRUE(empty->analyses.empty() && empty->categories.empty() && empty->escalations.empty() &&
              empty->notes.empty());
  // Another business's caller sees nothing of it.
  EXPECT_EQ(calls_.detail(new_tenant("detail-other"), id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(calls_.detail(t_, 999'999'999'999).error().code, ErrorCode::kNotFound);
}

TEST_F(CallsTest, EightThreadsUpdatingOneAgentGiveExactTotals) {
  const Id agent = agents_.upsert(t_, {"busy", "Busy Bee", "", ""}).value();
  const Id cfg = configs_.create(t_, AgentConfig{0, "qa", AgentKind::kBuiltin, "", "{}", "", true, 1}).value();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 15;
  // Exact binary fractions, so sums are exact in any order.
  auto qa_of = [](int i) { return (i % 4) * 0.25; };
  auto ratio_of = [](int i) { return (i % 8) * 0.125; };
  auto sent_of = [](int i) { return (i % 5) * 0.5 - 1.0; };
  std::vector<std::vector<Id>> ids(kThreads);
  int n = 0;
  for (int th = 0; th < kThreads; ++th) {
    for (int i = 0; i < kPerThread; ++i, ++n) {
      auto in = call_input(fmt::format("agg-{}", n));
      in.human_agent_id = agent;
      const Id id = calls_.upsert(t_, in)->id;
      CallMetrics m;
      m.call_id = id;
      m.agent_talk_ratio = ratio_of(n);
      m.customer_sentiment = sent_of(n);
      ASSERT_TRUE(metrics_.put(t_, m));
      ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, id));
      ids[th].push_back(id);
    }
  }
  Database pool(mysql_settings(StorageEnvironment::database_name(), kThreads));
  MySqlAnalysisRepository repo(pool);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < kPerThread; ++i) {
        const int k = th * kPerThread + i;
        CallAnalysisResult r;
        r.analyses.push_back(AnalysisInput{cfg, 1, "{}", "", "", 0, 0, 0});
        r.qa_score = qa_of(k);
        if (k % 10 == 0) r.escalation_reason = "needs review";
        r.at = at(k);
        auto res = repo.record(t_, ids[th][i], r);
        if (!res)
          errors[th] = res.error().to_string();
        else if (!res->recorded || !res->aggregated)
          errors[th] = "not recorded and aggregated";
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_TRUE(e.empty()) << e;

  double qa = 0, ratio = 0, sent = 0;
  int escalations = 0;
  for (int k = 0; k < kThreads * kPerThread; ++k) {
    qa += qa_of(k);
    ratio += ratio_of(k);
    sent += sent_of(k);
    escalations += k % 10 == 0;
  }
  auto a = agents_.get(t_, agent);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->total_calls, kThreads * kPerThread);
  EXPECT_EQ(a->qa_score_count, kThreads * kPerThread);
  EXPECT_EQ(a->qa_score_sum, qa);
  EXPECT_EQ(a->talk_ratio_count, kThreads * kPerThread);
  EXPECT_EQ(a->talk_ratio_sum, ratio);
  EXPECT_EQ(a->customer_sentiment_sum, sent);
  EXPECT_EQ(a->escalations, escalations);
  EXPECT_DOUBLE_EQ(a->avg_qa_score().value(), qa / (kThreads * kPerThread));
  // Bounded trend: the newest kAgentTrendLength entries.
  const std::string& trend = a->trend_json;
  EXPECT_EQ(static_cast<std::size_t>(std::count(trend.begin(), trend.end(), '{')), kAgentTrendLength);

  // A redelivered analysis of an already counted call does not count it again: the call is
  // analyzed, so nothing is written ...
  CallAnalysisResult again;
  again.qa_score = 1.0;
  again.escalation_reason = "redelivered";
  const auto redelivered = repo.record(t_, ids[0][0], again).value();
  EXPECT_FALSE(redelivered.recorded);
  EXPECT_EQ(redelivered.status, CallStatus::kAnalyzed);
  EXPECT_EQ(agents_.get(t_, agent)->total_calls, kThreads * kPerThread);
  EXPECT_EQ(agents_.get(t_, agent)->escalations, escalations);
  // ... and a re-analysis (reprocess) stores its analyses but adds the call to the
  // aggregates only once.
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, t_, ids[0][0]));
  const auto reanalysed = repo.record(t_, ids[0][0], again).value();
  EXPECT_TRUE(reanalysed.recorded);
  EXPECT_FALSE(reanalysed.aggregated);
  EXPECT_EQ(agents_.get(t_, agent)->total_calls, kThreads * kPerThread);
}

// ---- the call list -----------------------------------------------------------------------

class CallListTest : public CallsTest {
 protected:
  struct Seed {
    Id id;
    Id agent;
    Timestamp started;
    std::int64_t duration;
    std::optional<double> sentiment;
    std::optional<double> ratio;
    std::optional<double> qa;
    CallStatus status;
    std::string category, language, city;
    bool refund;
    CallDirection direction;
    std::set<Id> matched;  // rule categories the call matched
  };

  void SetUp() override {
    const Id ag[3] = {agents_.upsert(t_, {"l1", "L1", "", ""}).value(),
                      agents_.upsert(t_, {"l2", "L2", "", ""}).value(),
                      agents_.upsert(t_, {"l3", "L3", "", ""}).value()};
    cfg_ = configs_.create(t_, AgentConfig{0, "qa", AgentKind::kBuiltin, "", "{}", "", true, 1}).value();
    std::mt19937 rng(7);
    std::mt19937 rng2(11);  // the direction and matched categories (rng's draws stay as they were)
    const CallDirection dirs[] = {CallDirection::kInbound, CallDirection::kOutbound, CallDirection::kUnknown};
    const char* cats[] = {"billing", "support", "sales"};
    const char* langs[] = {"en", "es"};
    const char* cities[] = {"Austin", "Boston", "Chicago", "Denver"};
    std::vector<CallInput> batch;
    for (int i = 0; i < kCalls; ++i) {
      Seed s{};
      s.agent = ag[rng() % 3];
      // Coarse values on purpose: many ties on every sort key.
      s.started = at(static_cast<std::int64_t>(rng() % 40) * 60);
      s.duration = static_cast<std::int64_t>(rng() % 10) * 1000;
      if (rng() % 6 != 0) s.sentiment = static_cast<int>(rng() % 9) * 0.25 - 1.0;
      if (rng() % 6 != 0) s.ratio = static_cast<int>(rng() % 9) * 0.125;
      if (rng() % 5 != 0) s.qa = static_cast<int>(rng() % 5) * 0.25;
      s.category = cats[rng() % 3];
      s.language = langs[rng() % 2];
      s.city = cities[rng() % 4];
      s.refund = rng() % 4 == 0;
      s.status = rng() % 3 == 0 ? CallStatus::kTranscribing : CallStatus::kPending;
      s.direction = dirs[rng2() % 3];
      auto in = call_input(fmt::format("list-{}", i));
      in.direction = s.direction;
      in.human_agent_id = s.agent;
      in.started_at = s.started;
      in.duration_ms = s.duration;
      in.issue_category = s.category;
      in.language = s.language;
      in.city = s.city;
      batch.push_back(in);
      seeds_.push_back(s);
    }
    ASSERT_TRUE(calls_.upsert_batch(t_, batch));
    refund_cat_ = categories_.create(t_, RuleSet{0, "refund", "[]", true, 1}).value();
    churn_cat_ = categories_.create(t_, RuleSet{0, "churn", "[]", true, 1}).value();
    for (int i = 0; i < kCalls; ++i) {
      Seed& s = seeds_[static_cast<std::size_t>(i)];
      s.id = calls_.find_by_external_id(t_, fmt::format("list-{}", i))->id;
      if (rng2() % 3 == 0) s.matched.insert(refund_cat_);
      if (rng2() % 4 == 0) s.matched.insert(churn_cat_);
      std::vector<CategoryMatch> matched;
      for (Id c : s.matched) matched.push_back({c, "[]"});
      if (!matched.empty()) {
        ASSERT_TRUE(matches_.replace(t_, s.id, matched));
      }
      if (s.sentiment || s.ratio) {
        CallMetrics m;
        m.call_id = s.id;
        m.customer_sentiment = s.sentiment;
        m.agent_talk_ratio = s.ratio;
        ASSERT_TRUE(metrics_.put(t_, m));
      }
      if (s.qa) {
        // The score as analyze stores it, on a call left pending / transcribing for the
        // status filters (record() would move it to analyzed).
        ASSERT_TRUE(
            db_.execute("UPDATE call_records SET qa_score = ? WHERE id = ? AND bid = ?", {*s.qa, s.id, t_.bid()}));
      }
      if (s.status == CallStatus::kTranscribing) {
        ASSERT_TRUE(calls_.advance(t_, s.id, CallStatus::kPending, s.status).value());
      }
      ASSERT_TRUE(transcripts_.put(t_, transcript_row(s.id, "[]",
                                                      s.refund ? "customer asked for a refund of the annual plan"
                                                               : "customer asked about the annual plan",
                                                      "p", s.language)));
    }
    // Noise from another business that must never appear: its calls match its own
    // category, whose id the list is asked for below.
    const TenantId& other = other_;
    other_cat_ = categories_.create(other, RuleSet{0, "refund", "[]", true, 1}).value();
    for (int i = 0; i < 20; ++i) {
      const Id id = calls_.upsert(other, call_input(fmt::format("list-{}", i))).value().id;
      ASSERT_TRUE(matches_.replace(other, id, {{other_cat_, "[]"}}));
    }
  }

  // The seed's key in `sort` (unscored values sort as -1000, as in the database).
  static double key_of(CallSort sort, const Seed& s) {
    switch (sort) {
      case CallSort::kStartedAt:
        return static_cast<double>(s.started.time_since_epoch().count());
      case CallSort::kDuration:
        return static_cast<double>(s.duration);
      case CallSort::kSentiment:
        return s.sentiment.value_or(-1000);
      case CallSort::kQaScore:
        return s.qa.value_or(-1000);
    }
    return 0;
  }

  // The ids of the seeds `pred` accepts, in the list's order for (sort, order).
  std::vector<Id> expected(CallSort sort, SortOrder order, const std::function<bool(const Seed&)>& pred) const {
    std::vector<const Seed*> rows;
    for (const auto& s : seeds_) {
      if (pred(s)) rows.push_back(&s);
    }
    std::sort(rows.begin(), rows.end(), [&](const Seed* a, const Seed* b) {
      const double ka = key_of(sort, *a), kb = key_of(sort, *b);
      if (ka != kb) return order == SortOrder::kDesc ? ka > kb : ka < kb;
      return order == SortOrder::kDesc ? a->id > b->id : a->id < b->id;
    });
    std::vector<Id> out;
    for (const Seed* s : rows) out.push_back(s->id);
    return out;
  }

  // Pages through the whole result; fails on a repeated id.
  std::vector<Id> all_pages(CallListQuery q, int page_size) {
    q.limit = page_size;
    std::vector<Id> out;
    std::set<Id> seen;
    for (int guard = 0; guard < 1000; ++guard) {
      auto page = calls_.list(t_, q);
      if (!page) {
        ADD_FAILURE() << page.error().to_string();
        return out;
      }
      for (const auto& c : page->calls) {
        EXPECT_TRUE(seen.insert(c.id).second) << "id " << c.id << " returned twice";
        out.push_back(c.id);
      }
      if (page->next_cursor.empty()) return out;
      EXPECT_EQ(page->calls.size(), static_cast<std::size_t>(page_size));
      q.cursor = page->next_cursor;
    }
    ADD_FAILURE() << "pagination did not end";
    return out;
  }

  static constexpr int kCalls = 240;
  MySqlRuleSetRepository categories_{db_, MySqlRuleSetRepository::Kind::kCategories};
  MySqlCategoryMatchRepository matches_{db_};
  TenantId other_ = new_tenant("list-other");
  std::vector<Seed> seeds_;
  Id cfg_ = 0;
  Id refund_cat_ = 0, churn_cat_ = 0, other_cat_ = 0;
};

TEST_F(CallListTest, EverySortReturnsEveryRowExactlyOnceInOrder) {
  const std::map<Id, const Seed*> by_id = [&] {
    std::map<Id, const Seed*> m;
    for (const auto& s : seeds_) m[s.id] = &s;
    return m;
  }();
  auto key = [](CallSort sort, const Seed& s) -> double {
    switch (sort) {
      case CallSort::kStartedAt:
        return static_cast<double>(s.started.time_since_epoch().count());
      case CallSort::kDuration:
        return static_cast<double>(s.duration);
      case CallSort::kSentiment:
        return s.sentiment.value_or(-1000);
      case CallSort::kQaScore:
        return s.qa.value_or(-1000);
    }
    return 0;
  };
  for (CallSort sort : {CallSort::kStartedAt, CallSort::kDuration, CallSort::kSentiment, CallSort::kQaScore}) {
    for (SortOrder order : {SortOrder::kDesc, SortOrder::kAsc}) {
      CallListQuery q;
      q.sort = sort;
      q.order = order;
      const auto ids = all_pages(q, 7);
      ASSERT_EQ(ids.size(), seeds_.size()) << sort_name(sort);
      std::vector<Id> expected;
      for (const auto& s : seeds_) expected.push_back(s.id);
      std::sort(expected.begin(), expected.end(), [&](Id a, Id b) {
        const double ka = key(sort, *by_id.at(a)), kb = key(sort, *by_id.at(b));
        if (ka != kb) return order == SortOrder::kDesc ? ka > kb : ka < kb;
        return order == SortOrder::kDesc ? a > b : a < b;
      });
      EXPECT_EQ(ids, expected) << sort_name(sort) << (order == SortOrder::kDesc ? " desc" : " asc");
    }
  }
}

TEST_F(CallListTest, FiltersReturnExactlyTheMatchingRows) {
  using Pred = std::function<bool(const Seed&)>;
  const Seed& probe = seeds_[3];
  std::vector<std::pair<CallListQuery, Pred>> cases;
  auto add = [&](auto setup, Pred pred) {
    CallListQuery q;
    setup(q);
    cases.emplace_back(q, std::move(pred));
  };
  add([&](CallListQuery& q) { q.human_agent_id = probe.agent; }, [&](const Seed& s) { return s.agent == probe.agent; });
  add(
      [&](CallListQuery& q) {
        q.started_from = at(600);
        q.started_to = at(1800);
      },
      [&](const Seed& s) { return s.started >= at(600) && s.started < at(1800); });
  add(
      [&](CallListQuery& q) {
        q.sentiment_min = -0.25;
        q.sentiment_max = 0.5;
      },
      [&](const Seed& s) { return s.sentiment && *s.sentiment >= -0.25 && *s.sentiment <= 0.5; });
  add(
      [&](CallListQuery& q) {
        q.talk_ratio_min = 0.25;
        q.talk_ratio_max = 0.625;
      },
      [&](const Seed& s) { return s.ratio && *s.ratio >= 0.25 && *s.ratio <= 0.625; });
  add([&](CallListQuery& q) { q.status = CallStatus::kTranscribing; },
      [&](const Seed& s) { return s.status == CallStatus::kTranscribing; });
  add([&](CallListQuery& q) { q.category = "support"; }, [&](const Seed& s) { return s.category == "support"; });
  add([&](CallListQuery& q) { q.language = "es"; }, [&](const Seed& s) { return s.language == "es"; });
  add([&](CallListQuery& q) { q.city = "Boston"; }, [&](const Seed& s) { return s.city == "Boston"; });
  add([&](CallListQuery& q) { q.text = "Refund!"; }, [&](const Seed& s) { return s.refund; });
  add(
      [&](CallListQuery& q) {
        q.started_from = at(300);
        q.talk_ratio_max = 0.5;
        q.city = "Austin";
        q.sort = CallSort::kQaScore;
      },
      [&](const Seed& s) { return s.started >= at(300) && s.ratio && *s.ratio <= 0.5 && s.city == "Austin"; });
  add(
      [&](CallListQuery& q) {
        q.human_agent_id = probe.agent;
        q.text = "annual plan refund";
        q.sentiment_min = -1.0;
        q.language = "en";
        q.sort = CallSort::kDuration;
        q.order = SortOrder::kAsc;
      },
      [&](const Seed& s) { return s.agent == probe.agent && s.refund && s.sentiment && s.language == "en"; });
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [q, pred] = cases[i];
    std::vector<Id> got = all_pages(q, 9);
    std::vector<Id> want;
    for (const auto& s : seeds_) {
      if (pred(s)) want.push_back(s.id);
    }
    ASSERT_FALSE(want.empty()) << "case " << i << " matches nothing: a weak test";
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want) << "filter case " << i;
  }
}

TEST_F(CallListTest, DirectionQaAndMatchedCategoryFiltersPageInEverySort) {
  using Pred = std::function<bool(const Seed&)>;
  const Seed& probe = seeds_[5];
  std::vector<std::tuple<std::string, std::function<void(CallListQuery&)>, Pred>> cases = {
      {"direction", [](CallListQuery& q) { q.direction = CallDirection::kOutbound; },
       [](const Seed& s) { return s.direction == CallDirection::kOutbound; }},
      {"qa_min", [](CallListQuery& q) { q.qa_min = 0.5; }, [](const Seed& s) { return s.qa && *s.qa >= 0.5; }},
      {"qa_max keeps unscored calls out", [](CallListQuery& q) { q.qa_max = 0.25; },
       [](const Seed& s) { return s.qa && *s.qa <= 0.25; }},
      {"qa range", [](CallListQuery& q) { q.qa_min = q.qa_max = 0.75; },
       [](const Seed& s) { return s.qa && *s.qa == 0.75; }},
      {"category", [&](CallListQuery& q) { q.matched_category_id = refund_cat_; },
       [&](const Seed& s) { return s.matched.contains(refund_cat_); }},
      {"combined",
       [&](CallListQuery& q) {
         q.matched_category_id = churn_cat_;
         q.direction = CallDirection::kInbound;
         q.qa_min = 0.25;
         q.language = "en";
       },
       [&](const Seed& s) {
         return s.matched.contains(churn_cat_) && s.direction == CallDirection::kInbound && s.qa && *s.qa >= 0.25 &&
                s.language == "en";
       }},
      {"combined with an agent (its index)",
       [&](CallListQuery& q) {
         q.human_agent_id = probe.agent;
         q.matched_category_id = refund_cat_;
         q.direction = CallDirection::kUnknown;
         q.qa_max = 1.0;
       },
       [&](const Seed& s) {
         return s.agent == probe.agent && s.matched.contains(refund_cat_) && s.direction == CallDirection::kUnknown &&
                s.qa.has_value();
       }},
      {"combined with transcript words",
       [&](CallListQuery& q) {
         q.text = "refund";
         q.matched_category_id = refund_cat_;
         q.direction = CallDirection::kInbound;
       },
       [&](const Seed& s) {
         return s.refund && s.matched.contains(refund_cat_) && s.direction == CallDirection::kInbound;
       }},
  };
  for (const auto& [name, setup, pred] : cases) {
    for (CallSort sort : {CallSort::kStartedAt, CallSort::kDuration, CallSort::kSentiment, CallSort::kQaScore}) {
      for (SortOrder order : {SortOrder::kDesc, SortOrder::kAsc}) {
        CallListQuery q;
        setup(q);
        q.sort = sort;
        q.order = order;
        const auto want = expected(sort, order, pred);
        ASSERT_GE(want.size(), 2U) << name << " matches too few calls to page: a weak test";
        EXPECT_EQ(all_pages(q, 4), want) << name << ", " << sort_name(sort)
                                         << (order == SortOrder::kDesc ? " desc" : " asc");
      }
    }
  }
}

TEST_F(CallListTest, AnotherBusinesssCategoryIdMatchesNothing) {
  // The other business's calls all match other_cat_; asked for by this business, the id
  // gives none of them and none of this business's calls, in every sort.
  for (CallSort sort : {CallSort::kStartedAt, CallSort::kQaScore}) {
    CallListQuery q;
    q.matched_category_id = other_cat_;
    q.sort = sort;
    auto page = calls_.list(t_, q);
    ASSERT_TRUE(page.has_value()) << page.error().to_string();
    EXPECT_TRUE(page->calls.empty());
    EXPECT_TRUE(page->next_cursor.empty());
  }
  CallFilter f;
  f.matched_category_id = other_cat_;
  EXPECT_TRUE(calls_.ids_matching(t_, f, 100).value().empty());
  // The same id in its own business: all 20 of its calls (the filter does work).
  CallListQuery own;
  own.matched_category_id = other_cat_;
  own.limit = 500;
  EXPECT_EQ(calls_.list(other_, own).value().calls.size(), 20U);
}

TEST_F(CallListTest, QaBoundsOutsideTheScoreScaleAreRefused) {
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    CallListQuery q;
    q.qa_min = bad;
    EXPECT_EQ(calls_.list(t_, q).error().code, ErrorCode::kInvalidArgument) << bad;
    q.qa_min.reset();
    q.qa_max = bad;
    EXPECT_EQ(calls_.list(t_, q).error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST_F(CallListTest, RejectsBadCursorsAndLimits) {
  CallListQuery q;
  q.limit = 5;
  auto page = calls_.list(t_, q);
  ASSERT_FALSE(page->next_cursor.empty());
  q.cursor = page->next_cursor;
  q.sort = CallSort::kDuration;
  EXPECT_EQ(calls_.list(t_, q).error().code, ErrorCode::kInvalidArgument);
  q.cursor = "garbage";
  EXPECT_EQ(calls_.list(t_, q).error().code, ErrorCode::kInvalidArgument);
  q.cursor.clear();
  q.limit = 0;
  EXPECT_EQ(calls_.list(t_, q).error().code, ErrorCode::kInvalidArgument);
  q.limit = 501;
  EXPECT_EQ(calls_.list(t_, q).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(CallListTest, ListUsesTheBidLeadingIndexes) {
  // EXPLAIN of the list query for each sort: no filesort over the whole business, and
  // the chosen index starts with bid.
  for (const char* col : {"started_at", "duration_ms", "sentiment_key", "qa_key"}) {
    auto r =
        db_.execute(fmt::format("EXPLAIN SELECT id FROM call_records WHERE bid = ? AND city = ? ORDER BY {0} DESC, "
                                "id DESC LIMIT 51",
                                col),
                    {t_.bid(), "Austin"});
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    std::string key, extra;
    for (std::size_t i = 0; i < r->columns.size(); ++i) {
      if (r->columns[i] == "key") key = r->rows[0][i].as_string();
      if (r->columns[i] == "Extra") extra = r->rows[0][i].as_string();
    }
    // PRIMARY is (bid, started_at, id): the start-time order itself.
    EXPECT_TRUE(key.starts_with("ix_calls_list_") || key == "PRIMARY") << col << ": " << key;
    EXPECT_EQ(extra.find("filesort"), std::string::npos) << col << ": " << extra;
  }
}

// ---- atomic writes: a failure injected inside the transaction leaves nothing ---------------

// A text call as the transcript upload sends it (no recording).
PushedCall pushed_text(const std::string& ext, const std::string& note) {
  PushedCall p;
  p.call = call_input(ext);
  p.call.audio_uri.clear();
  p.call.channels = 1;
  p.note = note;
  p.transcript =
      transcript_row(0, R"([{"speaker":"agent","start_ms":0,"end_ms":900,"text":"hello"}])", "hello", "upload", "en");
  return p;
}

std::int64_t notes_of(const TenantId& t) {
  auto r = StorageEnvironment::db().execute("SELECT COUNT(*) FROM call_notes WHERE bid = ?", {t.bid()});
  return r.value().rows[0][0].as_int();
}

TEST_F(CallsTest, APushedTranscriptCallIsWrittenInOneTransaction) {
  const auto push = pushed_text("push-1", "VIP customer");
  {
    // The transcript is written after the call and its note: refusing it must leave neither.
    FailingWrites refuse(db_, "transcripts", t_.bid());
    ASSERT_EQ(refuse.error(), "");
    auto failed = calls_.insert_pushed(t_, push);
    ASSERT_FALSE(failed) << "the injected failure must reach the caller";
    EXPECT_EQ(calls_.find_by_external_id(t_, "push-1").error().code, ErrorCode::kNotFound)
        << "no call left without its transcript";
    EXPECT_EQ(notes_of(t_), 0);
  }
  auto created = calls_.insert_pushed(t_, push);
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_TRUE(created->created);
  EXPECT_FALSE(created->completed);
  auto call = calls_.get(t_, created->id).value();
  EXPECT_EQ(call.status, CallStatus::kTranscribed);
  EXPECT_EQ(call.attempts, 1) << "as pending -> transcribing -> transcribed counts";
  EXPECT_EQ(transcripts_.get(t_, created->id)->full_text, "hello");
  EXPECT_EQ(notes_of(t_), 1);

  // The same push again: the call as it is, nothing written twice.
  auto again = calls_.insert_pushed(t_, push);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, created->id);
  EXPECT_FALSE(again->created);
  EXPECT_FALSE(again->completed);
  EXPECT_EQ(transcripts_.get(t_, created->id)->version, 1);
  EXPECT_EQ(notes_of(t_), 1);
  EXPECT_EQ(calls_.get(t_, created->id)->attempts, 1);
}

TEST_F(CallsTest, APushedCallsNoteFailingLeavesNoCall) {
  PushedCall audio;
  audio.call = call_input("push-audio");
  audio.note = "call back tomorrow";
  {
    FailingWrites refuse(db_, "call_notes", t_.bid());
    ASSERT_EQ(refuse.error(), "");
    ASSERT_FALSE(calls_.insert_pushed(t_, audio));
    EXPECT_EQ(calls_.find_by_external_id(t_, "push-audio").error().code, ErrorCode::kNotFound);
  }
  auto created = calls_.insert_pushed(t_, audio);
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(calls_.get(t_, created->id)->status, CallStatus::kPending) << "a recording waits for transcription";
  EXPECT_EQ(notes_of(t_), 1);
}

TEST_F(CallsTest, ATextCallAnInterruptedPushLeftIsCompletedOnce) {
  // What the separate writes of earlier versions left after a crash: the call, pending,
  // without its transcript; and one with its transcript, stopped at transcribing.
  auto bare_in = call_input("legacy-bare");
  bare_in.audio_uri.clear();
  const Id bare = calls_.upsert(t_, bare_in)->id;
  auto half_in = call_input("legacy-half");
  half_in.audio_uri.clear();
  const Id half = calls_.upsert(t_, half_in)->id;
  ASSERT_TRUE(transcripts_.put(t_, transcript_row(half, "[]", "kept", "upload", "en")));
  ASSERT_TRUE(calls_.advance(t_, half, CallStatus::kPending, CallStatus::kTranscribing).value());

  auto done = calls_.insert_pushed(t_, pushed_text("legacy-bare", "note"));
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_EQ(done->id, bare);
  EXPECT_FALSE(done->created);
  EXPECT_TRUE(done->completed);
  EXPECT_EQ(calls_.get(t_, bare)->status, CallStatus::kTranscribed);
  EXPECT_EQ(calls_.get(t_, bare)->attempts, 1);
  EXPECT_EQ(transcripts_.get(t_, bare)->full_text, "hello");
  EXPECT_EQ(notes_of(t_), 1);
  auto twice = calls_.insert_pushed(t_, pushed_text("legacy-bare", "note"));
  ASSERT_TRUE(twice);
  EXPECT_FALSE(twice->completed) << "completed once";
  EXPECT_EQ(notes_of(t_), 1);

  auto finished = calls_.insert_pushed(t_, pushed_text("legacy-half", ""));
  ASSERT_TRUE(finished);
  EXPECT_TRUE(finished->completed);
  EXPECT_EQ(calls_.get(t_, half)->status, CallStatus::kTranscribed);
  EXPECT_EQ(calls_.get(t_, half)->attempts, 1) << "the attempt was counted when it went to transcribing";
  EXPECT_EQ(transcripts_.get(t_, half)->full_text, "kept") << "a stored transcript is not replaced";

  // A recording's call is the stt worker's: never completed by a pushed transcript.
  const Id audio = calls_.upsert(t_, call_input("with-audio"))->id;
  auto left = calls_.insert_pushed(t_, pushed_text("with-audio", ""));
  ASSERT_TRUE(left);
  EXPECT_FALSE(left->completed);
  EXPECT_EQ(calls_.get(t_, audio)->status, CallStatus::kPending);
  EXPECT_EQ(count_rows("transcripts", audio), 0);
}

TEST_F(CallsTest, RecordWritesEverythingAndTheStepInOneTransactionOrNothing) {
  const Id agent = agents_.upsert(t_, {"esc", "Esc", "", ""}).value();
  auto in = call_input("rec-1");
  in.human_agent_id = agent;
  const Id id = calls_.upsert(t_, in)->id;
  ASSERT_TRUE(metrics_.put(t_, metrics_of(id)));
  ASSERT_TRUE(walk_to_analyzing(calls_, t_, id));
  const Id cfg = configs_.create(t_, AgentConfig{0, "summary", AgentKind::kLlm, "p", "{}", "m", true, 1}).value();
  CallAnalysisResult r;
  r.analyses.push_back(AnalysisInput{cfg, 1, R"({"summary":"angry"})", "m", "", 0, 0, 0});
  r.qa_score = 0.5;
  r.escalation_reason = "asked for a supervisor";
  r.at = at(0);
  {
    // The escalation is inserted after the analyses and before the agent's counters and
    // the step: refusing it must leave none of them.
    FailingWrites refuse(db_, "escalations", t_.bid());
    ASSERT_EQ(refuse.error(), "");
    ASSERT_FALSE(analyses_.record(t_, id, r));
    EXPECT_EQ(calls_.get(t_, id)->status, CallStatus::kAnalyzing) << "left for the retry";
    EXPECT_FALSE(calls_.get(t_, id)->qa_score.has_value());
    EXPECT_EQ(count_rows("analyses", id), 0);
    EXPECT_EQ(count_rows("escalations", id), 0);
    EXPECT_EQ(agents_.get(t_, agent)->escalations, 0);
    EXPECT_EQ(agents_.get(t_, agent)->total_calls, 0);
  }
  {
    // The agent's counters are updated just before the step: refusing that update too.
    FailingWrites refuse(db_, "human_agents", t_.bid(), "UPDATE");
    ASSERT_EQ(refuse.error(), "");
    ASSERT_FALSE(analyses_.record(t_, id, r));
    EXPECT_EQ(calls_.get(t_, id)->status, CallStatus::kAnalyzing);
    EXPECT_EQ(count_rows("escalations", id), 0);
    EXPECT_EQ(count_rows("analyses", id), 0);
  }
  auto ok = analyses_.record(t_, id, r);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_TRUE(ok->recorded);
  EXPECT_TRUE(ok->aggregated);
  EXPECT_EQ(calls_.get(t_, id)->status, CallStatus::kAnalyzed);
  EXPECT_EQ(count_rows("escalations", id), 1);
  EXPECT_EQ(count_rows("analyses", id), 1);
  EXPECT_EQ(agents_.get(t_, agent)->escalations, 1);
  EXPECT_EQ(agents_.get(t_, agent)->total_calls, 1);

  // The same analysis delivered again: the call is analyzed, nothing is counted twice.
  auto again = analyses_.record(t_, id, r);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->recorded);
  EXPECT_EQ(again->status, CallStatus::kAnalyzed);
  EXPECT_EQ(count_rows("escalations", id), 1);
  EXPECT_EQ(count_rows("analyses", id), 1);
  EXPECT_EQ(agents_.get(t_, agent)->escalations, 1);
}

}  // namespace
}  // namespace earshot::testing
