// Hermetic tests of what the pipeline stages share from libs/storage: the pipeline config
// cache and StageCall's reading of a stage message and its events.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "earshot/storage/config_cache.hpp"
#include "earshot/storage/stage_call.hpp"
#include "fakes/fake_clock.hpp"

namespace earshot::storage {
namespace {

using namespace std::chrono_literals;

class CountingConfigs final : public PipelineConfigRepository {
 public:
  Status put(const TenantId& t, const PipelineConfig& c) override {
    stored[t.bid()] = c;
    return {};
  }
  Result<PipelineConfig> get(const TenantId& t) override {
    ++reads;
    if (unavailable) return make_error(ErrorCode::kUnavailable, "database down");
    auto it = stored.find(t.bid());
    if (it == stored.end()) return make_error(ErrorCode::kNotFound, "no config");
    return it->second;
  }
  Result<std::int64_t> reseal_all() override { return 0; }

  std::map<std::string, PipelineConfig> stored;
  int reads = 0;
  bool unavailable = false;
};

PipelineConfig with_provider(std::string p) {
  PipelineConfig c;
  c.stt_provider = std::move(p);
  return c;
}

TEST(ConfigCache, ReusesAConfigForTheTtlThenReadsAgain) {
  CountingConfigs inner;
  testing::FakeClock clock;
  CachedPipelineConfigRepository cache(inner, clock, 5s);
  const auto t = TenantId::make("acme").value();
  ASSERT_TRUE(inner.put(t, with_provider("deepgram")));

  EXPECT_EQ(cache.get(t)->stt_provider, "deepgram");
  inner.stored["acme"] = with_provider("sarvam");  // changed elsewhere
  clock.advance(4999ms);
  EXPECT_EQ(cache.get(t)->stt_provider, "deepgram");
  EXPECT_EQ(inner.reads, 1);
  clock.advance(1ms);
  EXPECT_EQ(cache.get(t)->stt_provider, "sarvam");
  EXPECT_EQ(inner.reads, 2);
}

TEST(ConfigCache, PutThroughItIsSeenAtOnce) {
  CountingConfigs inner;
  testing::FakeClock clock;
  CachedPipelineConfigRepository cache(inner, clock, 5s);
  const auto t = TenantId::make("acme").value();
  ASSERT_TRUE(cache.put(t, with_provider("deepgram")));
  EXPECT_EQ(cache.get(t)->stt_provider, "deepgram");
  ASSERT_TRUE(cache.put(t, with_provider("openai")));
  EXPECT_EQ(cache.get(t)->stt_provider, "openai");
  EXPECT_EQ(inner.reads, 2);
}

TEST(ConfigCache, RemembersAbsenceButNotFailures) {
  CountingConfigs inner;
  testing::FakeClock clock;
  CachedPipelineConfigRepository cache(inner, clock, 5s);
  const auto t = TenantId::make("acme").value();
  EXPECT_EQ(cache.get(t).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(cache.get(t).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(inner.reads, 1);

  const auto u = TenantId::make("umbrella").value();
  inner.unavailable = true;
  EXPECT_EQ(cache.get(u).error().code, ErrorCode::kUnavailable);
  inner.unavailable = false;
  ASSERT_TRUE(inner.put(u, with_provider("none")));
  EXPECT_EQ(cache.get(u)->stt_provider, "none");
  EXPECT_EQ(inner.reads, 3);
}

TEST(ConfigCache, ZeroTtlReadsEveryTime) {
  CountingConfigs inner;
  testing::FakeClock clock;
  CachedPipelineConfigRepository cache(inner, clock, 0ms);
  const auto t = TenantId::make("acme").value();
  ASSERT_TRUE(inner.put(t, with_provider("deepgram")));
  (void)cache.get(t);
  (void)cache.get(t);
  EXPECT_EQ(inner.reads, 2);
}

class RecordingEvents final : public ProcessingEventRepository {
 public:
  Result<Id> append(const TenantId& t, const ProcessingEvent& e) override {
    bids.push_back(t.bid());
    events.push_back(e);
    return static_cast<Id>(events.size());
  }
  Result<std::vector<ProcessingEvent>> list_for_call(const TenantId&, Id) override { return events; }

  std::vector<std::string> bids;
  std::vector<ProcessingEvent> events;
};

StageCall::Message message(std::string_view bid, const testing::FakeClock& clock) {
  return {.stage = "analyze", .bid = bid, .attempt = 3, .received = clock.steady_now()};
}

TEST(StageCall, RefusesMessagesThatNameNoCall) {
  testing::FakeClock clock;
  RecordingEvents events;
  const StageCall::Deps deps{.calls = nullptr, .events = &events, .clock = &clock};
  for (const auto* bad : {"12x", "0", "-4", "", "99999999999999999999"}) {
    auto r = StageCall::parse(message("acme", clock), bad, deps);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message, fmt::format("call_id '{}' is not a call id", bad));
  }
  auto bad_bid = StageCall::parse(message("Not A Bid!", clock), "12", deps);
  ASSERT_FALSE(bad_bid);
  EXPECT_EQ(bad_bid.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(events.events.empty());
}

TEST(StageCall, RecordsTheStagesEventsTimedFromTheMessagesArrival) {
  testing::FakeClock clock;
  RecordingEvents events;
  auto sc = StageCall::parse(message("acme", clock), "42", {.calls = nullptr, .events = &events, .clock = &clock});
  ASSERT_TRUE(sc) << sc.error().to_string();
  EXPECT_EQ(sc->tenant().bid(), "acme");
  EXPECT_EQ(sc->call_id(), 42);
  EXPECT_EQ(sc->call_text(), "42");
  const auto ctx = sc->log_context("trace-1");
  EXPECT_EQ(ctx.bid, "acme");
  EXPECT_EQ(ctx.call_id, "42");
  EXPECT_EQ(ctx.trace_id, "trace-1");

  sc->record(EventOutcome::kStarted);
  clock.advance(1250ms);
  sc->record(EventOutcome::kSkipped, "call is failed");
  ASSERT_EQ(events.events.size(), 2u);
  EXPECT_EQ(events.bids, (std::vector<std::string>{"acme", "acme"}));
  const auto& e = events.events[1];
  EXPECT_EQ(e.call_id, 42);
  EXPECT_EQ(e.stage, "analyze");
  EXPECT_EQ(e.outcome, EventOutcome::kSkipped);
  EXPECT_EQ(e.attempt, 3);
  EXPECT_EQ(e.error, "call is failed");
  EXPECT_EQ(e.duration_ms, 1250);
  EXPECT_EQ(e.created_at, to_timestamp(clock.now()));
  EXPECT_EQ(events.events[0].duration_ms, 0);
}

}  // namespace
}  // namespace earshot::storage
