#include "earshot/queue/schema.hpp"

#include <gtest/gtest.h>

#include <random>

namespace earshot::queue {
namespace {

TEST(Schema, AcceptsValidBodiesOfEveryStage) {
  EXPECT_TRUE(validate_stage_body(
      Stage::kSync, 1,
      R"({"schema_version":1,"bid":"acme","call_id":"c1","source":{"provider":"twilio","external_id":"x"}})"));
  EXPECT_TRUE(validate_stage_body(
      Stage::kTranscribe, 1,
      R"({"schema_version":1,"bid":"acme","call_id":"c1","audio":{"uri":"s3://a","format":"wav","sample_rate":16000}})"));
  EXPECT_TRUE(validate_stage_body(
      Stage::kAnalyze, 1,
      R"({"schema_version":1,"bid":"acme","call_id":"c1","transcript_id":"t","analyses":["sentiment"]})"));
  EXPECT_TRUE(validate_stage_body(Stage::kNotify, 1,
                                  R"({"schema_version":1,"bid":"acme","call_id":"c1","event":"call.analyzed"})"));
}

TEST(Schema, NamesTheFirstViolation) {
  struct Case {
    Stage stage;
    std::string body;
    std::string expect;
  };
  const std::vector<Case> cases{
      {Stage::kAnalyze, R"({"schema_version":1,"bid":"acme","call_id":"c1"})", "$.transcript_id: required"},
      {Stage::kAnalyze, R"({"schema_version":2,"bid":"acme","call_id":"c1","transcript_id":"t"})", "$.schema_version"},
      {Stage::kAnalyze, R"({"schema_version":1,"bid":"ACME","call_id":"c1","transcript_id":"t"})", "$.bid"},
      {Stage::kAnalyze, R"({"schema_version":1,"bid":"a","call_id":"c1","transcript_id":"t","x":1})",
       "$.x: not allowed"},
      {Stage::kTranscribe, R"({"schema_version":1,"bid":"a","call_id":"c","audio":{"uri":"u","format":"aiff"}})",
       "$.audio.format"},
      {Stage::kTranscribe,
       R"({"schema_version":1,"bid":"a","call_id":"c","audio":{"uri":"u","format":"wav","channels":0}})",
       "$.audio.channels"},
      {Stage::kAnalyze, R"({"schema_version":1,"bid":"a","call_id":"","transcript_id":"t"})", "$.call_id: too short"},
      {Stage::kAnalyze, R"({"schema_version":1,"bid":"a","call_id":"c","transcript_id":"t","analyses":[1]})",
       "$.analyses[0]"},
      {Stage::kNotify, R"([1,2])", "$: must be of type object"},
      {Stage::kNotify, R"({"schema_version":1,)", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto st = validate_stage_body(c.stage, 1, c.body);
    ASSERT_FALSE(st) << c.body;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(st.error().message.find(c.expect), std::string::npos) << st.error().message;
  }
  auto unknown = validate_stage_body(Stage::kSync, 7, "{}");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown schema version"), std::string::npos);
}

TEST(Schema, NeverCrashesOnArbitraryBytes) {
  std::mt19937 rng(42);
  const std::string seed = R"({"schema_version":1,"bid":"acme","call_id":"c1","transcript_id":"t","analyses":["a"]})";
  for (int i = 0; i < 20000; ++i) {
    std::string body;
    if (i % 2 == 0) {
      body.resize(rng() % 64);
      for (auto& ch : body) ch = static_cast<char>(rng() & 0xff);
    } else {
      body = seed;
      for (int k = 0; k < 3; ++k) body[rng() % body.size()] = static_cast<char>(rng() & 0xff);
    }
    (void)validate_stage_body(Stage::kAnalyze, 1, body);
  }
  std::string deep(100000, '[');
  EXPECT_FALSE(validate_stage_body(Stage::kAnalyze, 1, deep));
}

}  // namespace
}  // namespace earshot::queue
