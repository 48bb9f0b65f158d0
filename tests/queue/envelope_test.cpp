#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>

#include "earshot/queue/message.hpp"
#include "earshot/queue/topology.hpp"

namespace earshot::queue {
namespace {

TEST(Envelope, RoundTripsThroughHeaders) {
  Envelope env{.bid = "acme-1",
               .stage = Stage::kTranscribe,
               .message_id = "m1",
               .trace_id = "t-9",
               .schema_version = 2,
               .attempt = 3};
  Headers h = encode_envelope(env);
  EXPECT_EQ(header_string(h, "x-bid"), "acme-1");
  EXPECT_EQ(header_string(h, "x-stage"), "transcribe");
  EXPECT_EQ(header_int(h, "x-attempt"), 3);
  auto back = decode_envelope(h, "m1");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->bid, "acme-1");
  EXPECT_EQ(back->stage, Stage::kTranscribe);
  EXPECT_EQ(back->trace_id, "t-9");
  EXPECT_EQ(back->schema_version, 2);
  EXPECT_EQ(back->attempt, 3);
  EXPECT_EQ(back->message_id, "m1");
}

TEST(Envelope, RejectsMissingOrMalformedHeadersNamingThem) {
  Envelope env{
      .bid = "acme", .stage = Stage::kSync, .message_id = "m", .trace_id = "", .schema_version = 1, .attempt = 1};
  const Headers good = encode_envelope(env);
  struct Case {
    std::string key;
    std::optional<HeaderValue> value;  // nullopt: remove
    std::string expect;
  };
  const std::vector<Case> cases{
      {"x-bid", std::nullopt, "x-bid"},
      {"x-bid", HeaderValue{std::string("ACME")}, "x-bid"},
      {"x-bid", HeaderValue{std::string("a.b")}, "x-bid"},
      {"x-stage", HeaderValue{std::string("compress")}, "x-stage"},
      {"x-attempt", HeaderValue{std::string("1")}, "x-attempt"},
      {"x-attempt", HeaderValue{std::int64_t{0}}, "x-attempt"},
      {"x-schema-version", std::nullopt, "x-schema-version"},
  };
  for (const auto& c : cases) {
    Headers h = good;
    if (c.value) {
      h[c.key] = *c.value;
    } else {
      h.erase(c.key);
    }
    auto r = decode_envelope(h, "m");
    ASSERT_FALSE(r) << c.key;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(decode_envelope(good, ""));  // message id is required
}

TEST(Envelope, StageMessageIsAddressedToTheWorkQueue) {
  TopologySettings topo;
  auto m = make_stage_message(topo, Envelope{.bid = "b1", .stage = Stage::kAnalyze}, "{}");
  EXPECT_EQ(m.exchange, "earshot.work");
  EXPECT_EQ(m.routing_key, "analyze.b1");
  EXPECT_EQ(m.message_id.size(), 32u);
  EXPECT_TRUE(m.mandatory);
  EXPECT_EQ(header_int(m.headers, "x-attempt"), 1);
}

TEST(Envelope, StageNamesRoundTrip) {
  for (Stage s : kAllStages) EXPECT_EQ(parse_stage(stage_name(s)), s);
  EXPECT_FALSE(parse_stage("Sync"));
}

TEST(Envelope, FormatsUtcWithMilliseconds) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'000'123));
  EXPECT_EQ(format_utc(t), "2027-01-15T08:00:00.123Z");
}

TEST(Envelope, PublishStampGivesTheMessagesAge) {
  using std::chrono::milliseconds;
  const auto published = std::chrono::system_clock::time_point(milliseconds(1'800'000'000'123));
  Headers h = encode_envelope(Envelope{.bid = "acme", .message_id = "m1"});
  EXPECT_FALSE(message_age(h, published)) << "no stamp: a message of an older build has no age";
  stamp_published_at(h, published);
  EXPECT_EQ(header_int(h, "x-published-at"), 1'800'000'000'123);
  EXPECT_EQ(message_age(h, published + milliseconds(2'500)), milliseconds(2'500));
  // A later publish (a retry copy) replaces the stamp.
  stamp_published_at(h, published + milliseconds(60'000));
  EXPECT_EQ(message_age(h, published + milliseconds(61'000)), milliseconds(1'000));
  // A consumer whose clock is behind the publisher's sees zero, never a negative age.
  EXPECT_EQ(message_age(h, published), milliseconds(0));
  h["x-published-at"] = std::string("yesterday");
  EXPECT_FALSE(message_age(h, published));
}

TEST(Envelope, AStampFarInThePastGivesTheLongestAgeWithoutOverflow) {
  // Found by fuzzing (tests/fuzz/queue_messages.cpp): now - INT64_MIN overflowed (UBSan).
  using std::chrono::milliseconds;
  const auto now = std::chrono::system_clock::time_point(milliseconds(1'800'000'000'000));
  Headers h;
  h["x-published-at"] = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(message_age(h, now), milliseconds::max());
  h["x-published-at"] = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(message_age(h, now), milliseconds(0));
}

}  // namespace
}  // namespace earshot::queue
