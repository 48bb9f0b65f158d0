// ProviderErrorRecorder over the in-memory store with a fake clock: what is recorded and what
// is not, hourly buckets and their 25 h expiry, the 1 h and 24 h counts, the last error,
// message cleaning (secrets, control characters, the 300-byte cut), the provider cap and
// Redis failures that never reach the caller.

#include <gtest/gtest.h>

#include "earshot/cache/provider_errors.hpp"
#include "fakes/cache/provider_error_store_fake.hpp"
#include "fakes/fake_clock.hpp"

namespace earshot::cache {
namespace {

using earshot::testing::FakeClock;
using earshot::testing::InMemoryProviderErrorStore;
using namespace std::chrono_literals;

// 2027-01-15T10:00:00Z, the top of an hour.
constexpr std::chrono::seconds kTopOfHour{1'800'000'000 - 1'800'000'000 % 3600};

class ProviderErrorsTest : public ::testing::Test {
 protected:
  ProviderErrorsTest() { clock_.set_wall(std::chrono::system_clock::time_point(kTopOfHour)); }
  ProviderErrorOptions options() {
    ProviderErrorOptions o;
    o.background = false;
    return o;
  }
  FakeClock clock_;
  InMemoryProviderErrorStore store_{clock_};
  Metrics metrics_{"test", "0", "0"};
};

TEST_F(ProviderErrorsTest, RecordsFailuresOnlyAndSummarisesPerKindProviderAndStatus) {
  ProviderErrorRecorder rec(store_, clock_, &metrics_, options());
  for (int i = 0; i < 3; ++i) rec.record("biz_a", "stt", "deepgram", 401, "authentication failed: invalid key");
  rec.record("biz_a", "stt", "deepgram", 200, "ok");  // success: ignored
  rec.record("biz_a", "stt", "deepgram", 302, "");    // redirect: ignored
  rec.record("biz_a", "llm", "openai", 429, "rate limited");
  rec.record("biz_a", "llm", "openai", 0, "api.openai.com: connection refused");
  rec.record("biz_a", "weird", "openai", 500, "unknown kind");   // ignored
  rec.record("", "stt", "deepgram", 500, "no business");         // ignored
  rec.record("a b", "stt", "deepgram", 500, "bad business id");  // ignored
  auto rows = rec.summary("biz_a");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].kind, "stt");
  EXPECT_EQ((*rows)[0].provider, "deepgram");
  EXPECT_EQ((*rows)[0].status, 401);
  EXPECT_EQ((*rows)[0].count_1h, 3);
  EXPECT_EQ((*rows)[0].count_24h, 3);
  EXPECT_EQ((*rows)[0].last_message, "authentication failed: invalid key");
  EXPECT_EQ((*rows)[0].last_at, clock_.now());
  bool transport = false;
  for (const auto& r : *rows) transport = transport || (r.provider == "openai" && r.status == 0 && r.count_1h == 1);
  EXPECT_TRUE(transport);
  EXPECT_EQ(store_.last_ttl(), 25h);
}

TEST_F(ProviderErrorsTest, BusinessesNeverSeeEachOthersErrors) {
  ProviderErrorRecorder rec(store_, clock_, nullptr, options());
  rec.record("biz_a", "crm", "leadsquared", 401, "HTTP 401: bad keys");
  auto b = rec.summary("biz_b");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->empty());
  EXPECT_EQ(rec.summary("biz_a")->size(), 1u);
}

TEST_F(ProviderErrorsTest, HourlyBucketsGiveSlidingOneHourAndDayCountsAndExpireAfter25Hours) {
  ProviderErrorRecorder rec(store_, clock_, nullptr, options());
  clock_.advance(10min);  // 10:10
  for (int i = 0; i < 4; ++i) rec.record("biz_a", "stt", "sarvam", 503, "provider error: first");
  clock_.advance(60min);  // 11:10
  rec.record("biz_a", "stt", "sarvam", 503, "provider error: second");
  rec.record("biz_a", "stt", "sarvam", 503, "provider error: third");
  EXPECT_EQ(store_.buckets().size(), 2u);  // one bucket per clock hour
  clock_.advance(5min);                    // 11:15: a quarter of the 10:00 hour is inside the last hour
  auto rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].count_1h, 2 + 3);  // 2 now + 4 * 0.75
  EXPECT_EQ((*rows)[0].count_24h, 6);
  EXPECT_EQ((*rows)[0].last_message, "provider error: third");
  // 24 h later (next day 11:15): the 10:00 bucket expired (25 h after 10:10), the 11:00 one is
  // the 24th back with three quarters of its hour still inside the day (2 * 0.75 rounds to 2).
  clock_.advance(24h);
  rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].count_1h, 0);
  EXPECT_EQ((*rows)[0].count_24h, 2);
  EXPECT_EQ(store_.buckets().size(), 1u);
  // 25 h after its last write a bucket is gone.
  clock_.advance(1h);  // 12:15 next day: the 11:00 bucket of yesterday was last written 25 h 5 min ago
  EXPECT_TRUE(store_.buckets().empty());
  rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  EXPECT_TRUE(rows->empty());
}

TEST_F(ProviderErrorsTest, CapsDistinctProvidersPerBusinessAndBucket) {
  auto o = options();
  o.max_providers = 2;
  ProviderErrorRecorder rec(store_, clock_, &metrics_, o);
  rec.record("biz_a", "stt", "deepgram", 401, "a");
  rec.record("biz_a", "llm", "openai", 401, "b");
  rec.record("biz_a", "llm", "ollama", 500, "c");      // a third provider: not recorded
  rec.record("biz_a", "llm", "openai", 429, "d");      // a known provider, another status: recorded
  rec.record("biz_b", "llm", "ollama", 500, "other");  // another business has its own cap
  auto rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 3u);
  for (const auto& r : *rows) EXPECT_NE(r.provider, "ollama");
  EXPECT_EQ(rec.summary("biz_b")->size(), 1u);
  EXPECT_NE(metrics_.serialize().find(R"(earshot_provider_errors_recorded_total{result="capped"} 1)"),
            std::string::npos);
  // The next hour is a new bucket with room again.
  clock_.advance(1h);
  rec.record("biz_a", "llm", "ollama", 500, "c");
  bool ollama = false;
  const auto later = rec.summary("biz_a");
  ASSERT_TRUE(later);
  for (const auto& r : *later) ollama = ollama || r.provider == "ollama";
  EXPECT_TRUE(ollama);
}

TEST_F(ProviderErrorsTest, ProviderNamesAreSanitisedSoTheyCannotForgeFields) {
  ProviderErrorRecorder rec(store_, clock_, nullptr, options());
  rec.record("biz_a", "llm", "open|ai|500", 401, "x");
  auto rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].provider, "open_ai_500");
  EXPECT_EQ((*rows)[0].status, 401);
}

TEST(ProviderMessageTest, ScrubsSecrets) {
  EXPECT_EQ(clean_provider_message("Incorrect API key provided: sk-proj-abcdef123456. See docs"),
            "Incorrect API key provided: sk-***. See docs");
  EXPECT_EQ(clean_provider_message("GET https://user:hunter2@crm.example.com/x failed"),
            "GET https://***@crm.example.com/x failed");
  EXPECT_EQ(clean_provider_message("?accessKey=u$abc123&secretKey=s3cr3t&x=1"), "?accessKey=***&secretKey=***&x=1");
  EXPECT_EQ(clean_provider_message("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"), "Authorization: *** ***");
  EXPECT_EQ(clean_provider_message("header was Bearer eyJhbGciOiJIUzI1NiJ9"), "header was Bearer ***");
  EXPECT_EQ(clean_provider_message(R"({"api_key": "dg_0123456789", "error": "bad"})"),
            R"({"api_key": "***", "error": "bad"})");
  EXPECT_EQ(clean_provider_message("The security token AKIAIOSFODNN7EXAMPLE is invalid"),
            "The security token *** is invalid");
  EXPECT_EQ(clean_provider_message("line one\nline\ttwo\r"), "line one line two");
}

TEST(ProviderMessageTest, CutsAt300BytesOnACharacterBoundary) {
  const std::string long_ascii(1000, 'x');
  EXPECT_EQ(clean_provider_message(long_ascii).size(), 300u);
  std::string accents;
  for (int i = 0; i < 200; ++i) accents += "\xC3\xA9";            // é, 2 bytes: 300 is a boundary
  EXPECT_EQ(clean_provider_message("x" + accents).size(), 299u);  // 1 + 149 * 2: the 150th é does not fit
  EXPECT_EQ(clean_provider_message(accents, 7).size(), 6u);
}

TEST_F(ProviderErrorsTest, RecorderTruncatesAndScrubsTheStoredMessage) {
  ProviderErrorRecorder rec(store_, clock_, nullptr, options());
  rec.record("biz_a", "llm", "openai", 401, "key sk-abcdefghijkl rejected " + std::string(500, 'y'));
  auto rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].last_message.size(), 300u);
  EXPECT_EQ((*rows)[0].last_message.rfind("key sk-*** rejected ", 0), 0u);
  EXPECT_EQ((*rows)[0].last_message.find("abcdefghijkl"), std::string::npos);
}

TEST_F(ProviderErrorsTest, StoreFailuresAreCountedNeverThrownAndSummaryReportsThem) {
  ProviderErrorRecorder rec(store_, clock_, &metrics_, options());
  store_.fail_next();
  rec.record("biz_a", "stt", "deepgram", 500, "x");  // returns normally
  EXPECT_NE(metrics_.serialize().find(R"(earshot_provider_errors_recorded_total{result="failed"} 1)"),
            std::string::npos);
  store_.fail_next();
  auto rows = rec.summary("biz_a");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, ErrorCode::kUnavailable);
}

TEST_F(ProviderErrorsTest, BackgroundRecorderWritesAfterFlushAndDropsPastTheQueueBound) {
  auto o = options();
  o.background = true;
  ProviderErrorRecorder rec(store_, clock_, &metrics_, o);
  for (int i = 0; i < 5; ++i) rec.record("biz_a", "embedding", "ollama", 500, "down");
  rec.flush();
  auto rows = rec.summary("biz_a");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].count_1h, 5);
  // A full queue drops (and counts) rather than waits.
  o.max_pending = 0;
  ProviderErrorRecorder full(store_, clock_, &metrics_, o);
  full.record("biz_c", "embedding", "ollama", 500, "down");
  full.flush();
  EXPECT_TRUE(full.summary("biz_c")->empty());
  EXPECT_NE(metrics_.serialize().find(R"(earshot_provider_errors_recorded_total{result="dropped"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace earshot::cache
