#include "earshot/queue/messages.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "earshot/queue/schema.hpp"

namespace earshot::queue {
namespace {

using nlohmann::json;

TEST(AudioFormatOf, LowerCasedExtensionWithoutQueryOrFragment) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"https://bucket.example/calls/a.WAV?sig=x", "wav"},
      {"https://cdn.example/r/b.MP3?X-Amz-Signature=abc&x=y.ogg", "mp3"},
      {"store://acme/ingest/20261121/c.flac#t=10", "flac"},
      {"s3://bucket/prefix/d.Ogg", "ogg"},
      {"e.mp3", "mp3"},
      {"recording.aiff", "wav"},  // not a format the schema names: the worker reads the bytes
      {"https://host.mp3/recording", "wav"},
      {"a.mp3.gz", "wav"},
      {"no-extension", "wav"},
      {"", "wav"},
  };
  for (const auto& [uri, format] : cases) EXPECT_EQ(audio_format_of(uri), format) << uri;
}

// Every type's name on the wire: <type>.v<N>.schema.json.
template <class M>
std::string schema_of() {
  if constexpr (std::is_same_v<M, BusinessEvent>) {
    return fmt::format("control.v{}.schema.json", M::kSchemaVersion);
  } else {
    return fmt::format("{}.v{}.schema.json", stage_name(M::kStage), M::kSchemaVersion);
  }
}

template <class M>
Status validate(const std::string& body) {
  if constexpr (std::is_same_v<M, BusinessEvent>) {
    return validate_control_body(body);
  } else {
    return validate_stage_body(M::kStage, M::kSchemaVersion, body);
  }
}

// Like the route matrix: a schema added to proto/messages fails here until it has a type.
TEST(Messages, EveryCompiledInSchemaHasAType) {
  const std::set<std::string> typed{schema_of<SyncRequest>(),    schema_of<TranscribeRequest>(),
                                    schema_of<AnalyzeRequest>(), schema_of<NotifyRequest>(),
                                    schema_of<EmbedRequest>(),   schema_of<BusinessEvent>()};
  const auto names = schema_names();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), typed);
}

template <class M>
void expect_valid_round_trip(const M& m) {
  const std::string body = m.to_json();
  auto valid = validate<M>(body);
  EXPECT_TRUE(valid) << schema_of<M>() << ": " << valid.error().message << "\n" << body;
  auto back = M::parse(body);
  ASSERT_TRUE(back) << back.error().to_string() << "\n" << body;
  EXPECT_TRUE(*back == m) << body;
  EXPECT_EQ(back->to_json(), body);
}

const auto kAt = std::chrono::sys_days(std::chrono::year(2026) / 11 / 21) + std::chrono::hours(9) +
                 std::chrono::minutes(40) + std::chrono::milliseconds(123);

TEST(Messages, ToJsonMatchesTheSchemaAndParsesBack) {
  // Each type with only its required fields, then with every field.
  expect_valid_round_trip(
      SyncRequest{.bid = "acme", .call_id = "7", .source = {.provider = "twilio", .external_id = "CA1"}});
  expect_valid_round_trip(SyncRequest{
      .bid = "acme",
      .call_id = "7",
      .source = {.provider = "twilio", .external_id = "CA1", .recording_url = "https://api.twilio.example/r.wav"},
      .requested_at = "2026-11-21T09:40:00.123Z"});

  expect_valid_round_trip(TranscribeRequest{.bid = "acme", .call_id = "7", .audio = {.uri = "store://acme/7.wav"}});
  expect_valid_round_trip(TranscribeRequest{
      .bid = "b_2-x",
      .call_id = "9007199254740993",
      .audio = {.uri = "s3://bucket/acme/7.flac", .format = "flac", .sample_rate = 8000, .channels = 2},
      .language = "en-US"});
  for (const auto* format : {"wav", "mp3", "flac", "ogg"}) {
    expect_valid_round_trip(TranscribeRequest{
        .bid = "acme", .call_id = "1", .audio = {.uri = std::string("x.") + format, .format = format}});
  }

  expect_valid_round_trip(AnalyzeRequest::for_call("acme", 42));
  expect_valid_round_trip(
      AnalyzeRequest{.bid = "acme", .call_id = "42", .transcript_id = "42", .analyses = std::vector<std::string>{}});
  expect_valid_round_trip(AnalyzeRequest{
      .bid = "acme", .call_id = "42", .transcript_id = "t-1", .analyses = std::vector<std::string>{"sentiment", "qa"}});

  expect_valid_round_trip(NotifyRequest{.bid = "acme", .call_id = "42"});
  expect_valid_round_trip(
      NotifyRequest{.bid = "acme", .call_id = "42", .event = NotifyEvent::kCallFailed, .analysis_id = "a-1"});

  expect_valid_round_trip(EmbedRequest::for_document("acme", 7, 3));
  expect_valid_round_trip(EmbedRequest{.bid = "acme", .kind = EmbedKind::kReembed, .id = "ollama:nomic-embed-text"});
  expect_valid_round_trip(
      EmbedRequest{.bid = "acme", .kind = EmbedKind::kReembed, .id = "ollama:nomic-embed-text", .after = 4096});
  expect_valid_round_trip(
      EmbedRequest{.bid = "acme", .kind = EmbedKind::kReembed, .id = "hashed-bow", .after = {}, .call = 77});

  for (auto type : {BusinessEventType::kRegistered, BusinessEventType::kEnabled, BusinessEventType::kDisabled}) {
    expect_valid_round_trip(BusinessEvent{.type = type, .bid = "acme", .at = kAt});
  }
}

// The bytes on the wire are those the hand-built copies wrote before the types existed, so
// messages already in queues and consumers of either build agree.
TEST(Messages, WireFormatIsUnchanged) {
  EXPECT_EQ(TranscribeRequest::for_call("acme", 42, "store://acme/ext-1.wav", 2, "en").to_json(),
            R"({"audio":{"channels":2,"format":"wav","uri":"store://acme/ext-1.wav"},"bid":"acme","call_id":"42",)"
            R"("language":"en","schema_version":1})");
  // channels outside 1-8 and an empty language are left out.
  EXPECT_EQ(TranscribeRequest::for_call("acme", 42, "https://x.example/a.MP3?sig=1", 0, "").to_json(),
            R"({"audio":{"format":"mp3","uri":"https://x.example/a.MP3?sig=1"},"bid":"acme","call_id":"42",)"
            R"("schema_version":1})");
  EXPECT_EQ(TranscribeRequest::for_call("acme", 42, "u.ogg", 9, "").audio.channels, std::nullopt);
  EXPECT_EQ(AnalyzeRequest::for_call("acme", 42).to_json(),
            R"({"bid":"acme","call_id":"42","schema_version":1,"transcript_id":"42"})");
  EXPECT_EQ((NotifyRequest{.bid = "acme", .call_id = "42", .event = NotifyEvent::kCallFailed}.to_json()),
            R"({"bid":"acme","call_id":"42","event":"call.failed","schema_version":1})");
  EXPECT_EQ(EmbedRequest::for_document("acme", 7, 3).to_json(),
            R"({"bid":"acme","id":"7","kind":"document","schema_version":1,"version":3})");
  EXPECT_EQ((BusinessEvent{.type = BusinessEventType::kDisabled, .bid = "acme", .at = kAt}.to_json()),
            R"({"at":"2026-11-21T09:40:00.123Z","bid":"acme","schema_version":1,"type":"business_disabled"})");
}

TEST(Messages, BodiesWrittenByHandStillParse) {
  // Key order and spacing of other writers do not matter.
  auto t = TranscribeRequest::parse(
      R"({"schema_version": 1, "bid": "acme", "call_id": "5", "audio": {"uri": "store://acme/5.wav", "format": "wav",
          "sample_rate": 16000, "channels": 2}, "language": "en"})");
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(t->audio.sample_rate, 16000);
  EXPECT_EQ(t->audio.channels, 2);
  EXPECT_EQ(t->language, "en");
  auto n = NotifyRequest::parse(R"({"event":"call.failed","call_id":"5","bid":"acme","schema_version":1})");
  ASSERT_TRUE(n) << n.error().to_string();
  EXPECT_EQ(n->event, NotifyEvent::kCallFailed);
  auto e =
      BusinessEvent::parse(R"({"schema_version":1,"type":"business_enabled","bid":"a","at":"2026-01-02T03:04:05Z"})");
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(e->at, std::chrono::sys_days(std::chrono::year(2026) / 1 / 2) + std::chrono::hours(3) +
                       std::chrono::minutes(4) + std::chrono::seconds(5));
}

template <class M>
void expect_refused(std::string_view body, std::string_view message) {
  auto r = M::parse(body);
  ASSERT_FALSE(r) << body;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, message) << body;
}

TEST(Messages, ParseRefusesNamingTheField) {
  // Missing required fields, at the top and nested.
  expect_refused<TranscribeRequest>(R"({"schema_version":1,"bid":"acme","audio":{"uri":"u","format":"wav"}})",
                                    "transcribe message: $.call_id: required");
  expect_refused<TranscribeRequest>(R"({"schema_version":1,"bid":"acme","call_id":"1","audio":{"format":"wav"}})",
                                    "transcribe message: $.audio.uri: required");
  expect_refused<AnalyzeRequest>(R"({"schema_version":1,"bid":"acme","call_id":"1"})",
                                 "analyze message: $.transcript_id: required");
  expect_refused<NotifyRequest>(R"({"schema_version":1,"bid":"acme","call_id":"1"})",
                                "notify message: $.event: required");
  expect_refused<SyncRequest>(R"({"schema_version":1,"bid":"acme","call_id":"1","source":{"provider":"p"}})",
                              "sync message: $.source.external_id: required");
  expect_refused<BusinessEvent>(R"({"schema_version":1,"type":"business_enabled","at":"2026-01-02T03:04:05Z"})",
                                "control message: $.bid: required");
  expect_refused<AnalyzeRequest>(R"({"bid":"acme","call_id":"1","transcript_id":"1"})",
                                 "analyze message: $.schema_version: required");

  // Wrong types.
  expect_refused<AnalyzeRequest>(R"({"schema_version":1,"bid":"acme","call_id":12,"transcript_id":"1"})",
                                 "analyze message: $.call_id: must be of type string");
  expect_refused<TranscribeRequest>(
      R"({"schema_version":1,"bid":"acme","call_id":"1","audio":{"uri":"u","format":"wav","channels":"2"}})",
      "transcribe message: $.audio.channels: must be of type integer");
  expect_refused<AnalyzeRequest>(
      R"({"schema_version":1,"bid":"acme","call_id":"1","transcript_id":"1","analyses":"qa"})",
      "analyze message: $.analyses: must be of type array");
  expect_refused<AnalyzeRequest>(R"({"schema_version":"1","bid":"acme","call_id":"1","transcript_id":"1"})",
                                 "analyze message: $.schema_version: must be of type integer");

  // Values the schema does not admit.
  expect_refused<TranscribeRequest>(
      R"({"schema_version":1,"bid":"acme","call_id":"1","audio":{"uri":"u","format":"aiff"}})",
      R"(transcribe message: $.audio.format: must be one of ["wav","mp3","flac","ogg"])");
  expect_refused<NotifyRequest>(R"({"schema_version":1,"bid":"acme","call_id":"1","event":"call.deleted"})",
                                R"(notify message: $.event: must be one of ["call.analyzed","call.failed"])");
  expect_refused<AnalyzeRequest>(R"({"schema_version":1,"bid":"Acme!","call_id":"1","transcript_id":"1"})",
                                 "analyze message: $.bid: does not match the pattern");
  expect_refused<NotifyRequest>(R"({"schema_version":1,"bid":"acme","call_id":"1","event":"call.failed","x":1})",
                                "notify message: $.x: not allowed");
  expect_refused<BusinessEvent>(
      R"({"schema_version":1,"type":"business_enabled","bid":"a","at":"yesterday"})",
      "control message: $.at: 'yesterday' is not a UTC time YYYY-MM-DDTHH:MM:SS[.fff]Z of years 1970-2200");
  expect_refused<BusinessEvent>(
      R"({"schema_version":1,"type":"business_enabled","bid":"a","at":"2026-02-30T00:00:00Z"})",
      "control message: $.at: '2026-02-30T00:00:00Z' is not a UTC time YYYY-MM-DDTHH:MM:SS[.fff]Z of years 1970-2200");

  expect_refused<EmbedRequest>(R"({"schema_version":1,"bid":"acme","kind":"call","id":"1"})",
                               R"(embed message: $.kind: must be one of ["document","reembed"])");
  expect_refused<EmbedRequest>(R"({"schema_version":1,"bid":"acme","kind":"document","id":"1","version":0})",
                               "embed message: $.version: below the minimum");
  expect_refused<EmbedRequest>(R"({"schema_version":1,"bid":"acme","kind":"document"})",
                               "embed message: $.id: required");
  expect_refused<EmbedRequest>(R"({"schema_version":1,"bid":"acme","kind":"reembed","id":"hashed-bow","after":0})",
                               "embed message: $.after: below the minimum");
  expect_refused<EmbedRequest>(R"({"schema_version":1,"bid":"acme","kind":"reembed","id":"hashed-bow","call":"7"})",
                               "embed message: $.call: must be of type integer");

  // Not a message at all.
  expect_refused<NotifyRequest>("not json", "notify message: body is not valid JSON");
  expect_refused<NotifyRequest>("[1]", "notify message: $: must be of type object");
}

TEST(Messages, UnknownSchemaVersionsAreRefused) {
  expect_refused<AnalyzeRequest>(R"({"schema_version":2,"bid":"acme","call_id":"1","transcript_id":"1"})",
                                 "analyze message: $.schema_version: 2 is an unknown schema version");
  expect_refused<TranscribeRequest>(
      R"({"schema_version":0,"bid":"acme","call_id":"1","audio":{"uri":"u","format":"wav"}})",
      "transcribe message: $.schema_version: 0 is an unknown schema version");
  expect_refused<BusinessEvent>(
      R"({"schema_version":2,"type":"business_enabled","bid":"a","at":"2026-01-02T03:04:05Z"})",
      "control message: $.schema_version: 2 is an unknown schema version");
}

TEST(Messages, StageMessageIsAddressedToTheRequestsStageAndBusiness) {
  TopologySettings topo;
  const auto request = AnalyzeRequest::for_call("acme", 42);
  auto m = make_stage_message(topo, request, "trace-1");
  EXPECT_EQ(m.exchange, topo.work_exchange);
  EXPECT_EQ(m.routing_key, "analyze.acme");
  EXPECT_EQ(m.body, request.to_json());
  EXPECT_TRUE(m.mandatory);
  EXPECT_EQ(header_string(m.headers, header::kBid), "acme");
  EXPECT_EQ(header_string(m.headers, header::kStage), "analyze");
  EXPECT_EQ(header_string(m.headers, header::kTraceId), "trace-1");
  EXPECT_EQ(header_int(m.headers, header::kSchemaVersion), AnalyzeRequest::kSchemaVersion);
  EXPECT_EQ(header_int(m.headers, header::kAttempt), 1);
  EXPECT_FALSE(m.message_id.empty());
  // A fresh trace id when none is given.
  auto fresh = make_stage_message(topo, TranscribeRequest::for_call("acme", 1, "x.wav"));
  EXPECT_EQ(fresh.routing_key, "transcribe.acme");
  EXPECT_EQ(header_string(fresh.headers, header::kTraceId).value_or("").size(), 32u);
}

}  // namespace
}  // namespace earshot::queue
