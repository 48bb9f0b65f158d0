// Hermetic tests of the sync library's parsing, throttling and mapping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "earshot/sync/feed.hpp"
#include "earshot/sync/leadsquared.hpp"
#include "earshot/sync/sync_config.hpp"
#include "earshot/sync/throttle.hpp"
#include "fakes/fake_clock.hpp"

namespace earshot::sync {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

storage::PipelineConfig config_with(Json source, Json mapping, Json crm = Json::object()) {
  storage::PipelineConfig c;
  c.source_db_json = source.dump();
  c.column_mapping_json = mapping.dump();
  c.crm_json = crm.dump();
  c.secrets["source_db_password"] = "pw";
  return c;
}

Json mapping() {
  return {{"external_id", "call_uuid"},
          {"agent", "agent_id"},
          {"customer_phone", "phone"},
          {"started_at", "started"},
          {"duration", "dur"},
          {"audio_url", "recording"},
          {"watermark_time", "updated_at"},
          {"watermark_id", "id"},
          {"disposition", {{"column", "disposition"}, {"values", {"ANSWERED"}}}}};
}

TEST(SyncConfig, ParsesSourceDatabaseAndMapping) {
  auto c = config_with({{"kind", "mysql"},
                        {"host", "db.example"},
                        {"port", 3307},
                        {"database", "pbx"},
                        {"user", "reader"},
                        {"table", "pbx.calls"},
                        {"every_seconds", 15},
                        {"safety_lag_seconds", 5},
                        {"batch_size", 200}},
                       mapping());
  auto p = parse_source_db(c);
  ASSERT_TRUE(p) << p.error().to_string();
  ASSERT_TRUE(p->has_value());
  const auto& s = **p;
  EXPECT_EQ(s.mysql.host, "db.example");
  EXPECT_EQ(s.mysql.port, 3307);
  EXPECT_EQ(s.mysql.password, "pw");
  EXPECT_EQ(s.table, "pbx.calls");
  EXPECT_EQ(s.every, 15s);
  EXPECT_EQ(s.safety_lag, 5s);
  EXPECT_EQ(s.batch_size, 200);
  EXPECT_EQ(s.columns.watermark_time, "updated_at");
  EXPECT_EQ(s.columns.disposition_values, std::vector<std::string>{"ANSWERED"});
}

TEST(SyncConfig, WatermarkDefaultsToStartTimeAndExternalId) {
  Json m = mapping();
  m.erase("watermark_time");
  m.erase("watermark_id");
  auto p = parse_source_db(config_with({{"kind", "mysql"}, {"host", "h"}, {"user", "u"}, {"table", "t"}}, m));
  ASSERT_TRUE(p && p->has_value());
  EXPECT_EQ((*p)->columns.watermark_time, "started");
  EXPECT_EQ((*p)->columns.watermark_id, "call_uuid");
}

TEST(SyncConfig, NoSourceIsNotAnError) {
  auto p = parse_source_db(config_with(Json::object(), Json::object()));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->has_value());
}

TEST(SyncConfig, RefusesWhatCouldInjectSql) {
  const Json base{{"kind", "mysql"}, {"host", "h"}, {"user", "u"}, {"table", "t"}};
  Json m = mapping();
  m["external_id"] = "id; DROP TABLE x";
  auto bad_col = parse_source_db(config_with(base, m));
  ASSERT_FALSE(bad_col);
  EXPECT_EQ(bad_col.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad_col.error().message.find("column_mapping.external_id"), std::string::npos);

  Json t = base;
  t["table"] = "calls`; --";
  EXPECT_FALSE(parse_source_db(config_with(t, mapping())));
  Json q = base;
  q.erase("table");
  q["query"] = "SELECT * FROM calls; DELETE FROM calls";
  EXPECT_FALSE(parse_source_db(config_with(q, mapping())));
  q["query"] = "DELETE FROM calls";
  EXPECT_FALSE(parse_source_db(config_with(q, mapping())));
  Json both = base;
  both["query"] = "SELECT * FROM calls";
  EXPECT_FALSE(parse_source_db(config_with(both, mapping())));
  Json no_kind = base;
  no_kind["kind"] = "postgres";
  EXPECT_FALSE(parse_source_db(config_with(no_kind, mapping())));
  Json lag = base;
  lag["safety_lag_seconds"] = -1;
  EXPECT_FALSE(parse_source_db(config_with(lag, mapping())));
}

TEST(SyncConfig, Identifiers) {
  EXPECT_TRUE(is_plain_identifier("call_uuid"));
  EXPECT_FALSE(is_plain_identifier("a.b"));
  EXPECT_TRUE(is_plain_identifier("a.b", true));
  EXPECT_FALSE(is_plain_identifier("1abc"));
  EXPECT_FALSE(is_plain_identifier("a`b"));
  EXPECT_EQ(quote_identifier("pbx.calls"), "`pbx`.`calls`");
}

TEST(SyncConfig, FeedsAndCrm) {
  auto c =
      config_with({{"feeds",
                    {{{"name", "support"},
                      {"dataset", "acme/support-chats"},
                      {"page_size", 50},
                      {"every_minutes", 5},
                      {"agent_column", "reply"}}}}},
                  Json::object(), {{"provider", "leadsquared"}, {"base_url", "https://api-in21.leadsquared.com/"}});
  c.secrets["crm_access_key"] = "a";
  c.secrets["crm_secret_key"] = "s";
  auto feeds = parse_feeds(c);
  ASSERT_TRUE(feeds) << feeds.error().to_string();
  ASSERT_EQ(feeds->size(), 1u);
  EXPECT_EQ((*feeds)[0].page_size, 50);
  EXPECT_EQ((*feeds)[0].every, 5min);
  EXPECT_EQ((*feeds)[0].customer_column, "input");
  EXPECT_EQ((*feeds)[0].agent_column, "reply");
  EXPECT_EQ((*feeds)[0].base_url, "https://datasets-server.huggingface.co");
  auto crm = parse_crm(c);
  ASSERT_TRUE(crm && crm->has_value());
  EXPECT_EQ((*crm)->base_url, "https://api-in21.leadsquared.com");

  c.secrets.erase("crm_secret_key");
  auto missing = parse_crm(c);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("crm_secret_key"), std::string::npos);

  auto bad = config_with({{"feeds", {{{"name", "x"}, {"dataset", "no-slash"}}}}}, Json::object());
  EXPECT_FALSE(parse_feeds(bad));
  auto big = config_with({{"feeds", {{{"name", "x"}, {"dataset", "a/b"}, {"page_size", 101}}}}}, Json::object());
  EXPECT_FALSE(parse_feeds(big));
}

TEST(Throttle, AllowsTwentyFivePerFiveSecondsThenSpacesRequests) {
  testing::FakeClock clock;
  Throttle t(25, 5s, clock);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(t.reserve(), 0ms) << i;
  // The 26th waits until the first leaves the window.
  EXPECT_EQ(t.reserve(), 5000ms);
  EXPECT_EQ(t.reserve(), 5000ms);
  clock.advance(5000ms);
  // Two slots are taken at +5 s already: 23 more are free, then the next waits a window.
  for (int i = 0; i < 23; ++i) EXPECT_EQ(t.reserve(), 0ms) << i;
  EXPECT_EQ(t.reserve(), 5000ms);
}

TEST(Throttle, NeverMoreThanLimitInAnyWindow) {
  testing::FakeClock clock;
  Throttle t(25, 5s, clock);
  std::vector<std::chrono::steady_clock::time_point> sends;
  for (int i = 0; i < 200; ++i) {
    auto w = t.reserve();
    sends.push_back(clock.steady_now() + w);
    clock.advance(std::chrono::milliseconds(i % 7 == 0 ? 300 : 10));
  }
  std::sort(sends.begin(), sends.end());
  for (std::size_t i = 25; i < sends.size(); ++i) {
    EXPECT_GE(sends[i] - sends[i - 25], 5000ms) << i;
  }
}

TEST(LeadSquared, BothResponseShapes) {
  auto bare = parse_leads_response(R"([{"ProspectID":"a","Phone":"+15551230000"},{"ProspectID":"b"}])");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->leads.size(), 2u);
  EXPECT_FALSE(bare->record_count);
  auto obj = parse_leads_response(R"({"RecordCount": 7, "Leads": [{"ProspectID":"a"}]})");
  ASSERT_TRUE(obj);
  EXPECT_EQ(obj->leads.size(), 1u);
  EXPECT_EQ(obj->record_count, 7);
  auto bad = parse_leads_response(R"({"Status":"Error"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(parse_leads_response("<html>"));
}

TEST(LeadSquared, Times) {
  auto t = parse_lsq_time("2026-11-21 09:40:05");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_lsq_time(*t), "2026-11-21 09:40:05");
  auto iso = parse_lsq_time("2026-11-21T09:40:05.250Z");
  ASSERT_TRUE(iso);
  EXPECT_EQ((*iso - *t), 250ms);
  EXPECT_FALSE(parse_lsq_time("21/11/2026"));
  EXPECT_FALSE(parse_lsq_time("2026-02-30 00:00:00"));
  // Seconds that are not a number, and negative hours or minutes, are refused.
  EXPECT_FALSE(parse_lsq_time("2026-11-21 09:40:nan"));
  EXPECT_FALSE(parse_lsq_time("2026-11-21 09:40:inf"));
  EXPECT_FALSE(parse_lsq_time("2026-11-21 -1:40:05"));
  EXPECT_FALSE(parse_lsq_time("2026-11-21 09:-4:05"));
}

TEST(Feed, BothShapesAndMalformedRows) {
  FeedConfig f;
  f.name = "s";
  f.dataset = "a/b";
  auto hf = parse_rows_response(
      R"({"features":[],"rows":[{"row_idx":40,"row":{"input":"My card was charged twice","output":"Sorry, refunding now"},"truncated_cells":[]},
          {"row_idx":41,"row":{"input":"hello"},"truncated_cells":[]},
          {"row_idx":42,"row":{"input":"   ","output":"x"},"truncated_cells":[]},
          {"row_idx":43,"row":{"input":5,"output":"x"},"truncated_cells":[]},
          {"row_idx":44,"row":"not an object","truncated_cells":[]}],
          "num_rows_total":45,"num_rows_per_page":100,"partial":false})",
      f, 40);
  ASSERT_TRUE(hf) << hf.error().to_string();
  ASSERT_EQ(hf->rows.size(), 5u);
  EXPECT_EQ(hf->total, 45);
  EXPECT_TRUE(hf->rows[0].problem.empty());
  EXPECT_EQ(hf->rows[0].row_idx, 40);
  EXPECT_EQ(hf->rows[0].customer, "My card was charged twice");
  EXPECT_NE(hf->rows[1].problem.find("'output'"), std::string::npos);
  EXPECT_NE(hf->rows[2].problem.find("empty"), std::string::npos);
  EXPECT_FALSE(hf->rows[3].problem.empty());
  EXPECT_FALSE(hf->rows[4].problem.empty());

  auto flat = parse_rows_response(R"({"rows":[{"input":"a b","output":"c"}],"total":9,"limit":1,"offset":3})", f, 3);
  ASSERT_TRUE(flat);
  ASSERT_EQ(flat->rows.size(), 1u);
  EXPECT_EQ(flat->rows[0].row_idx, 3);
  EXPECT_EQ(flat->total, 9);

  EXPECT_FALSE(parse_rows_response("not json", f, 0));
  EXPECT_FALSE(parse_rows_response(R"({"error":"x"})", f, 0));
}

TEST(Feed, TranscriptTurnsFollowTheConfiguredOrder) {
  FeedConfig f;
  FeedRow row;
  row.customer = "where is my order";
  row.agent = "it ships today";
  std::int64_t dur = 0;
  std::string text;
  auto segs = Json::parse(transcript_segments(f, row, &dur, &text));
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0]["speaker"], "customer");
  EXPECT_EQ(segs[1]["speaker"], "agent");
  EXPECT_LT(segs[0]["end_ms"].get<int>(), segs[1]["start_ms"].get<int>());
  EXPECT_EQ(dur, segs[1]["end_ms"].get<std::int64_t>());
  EXPECT_EQ(text, "where is my order\nit ships today");
  f.first_speaker = "agent";
  segs = Json::parse(transcript_segments(f, row, &dur, &text));
  EXPECT_EQ(segs[0]["speaker"], "agent");
  EXPECT_EQ(segs[0]["text"], "it ships today");
}

}  // namespace
}  // namespace earshot::sync
