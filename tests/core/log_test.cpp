#include "earshot/core/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace earshot::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    init_with_sink("svc", "debug", Format::kJson, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  std::vector<nlohmann::json> lines() {
    std::vector<nlohmann::json> v;
    std::string line;
    std::istringstream in(out_.str());
    while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
    return v;
  }
  std::ostringstream out_;
};

TEST_F(LogTest, EachLineIsJsonWithContextAndFields) {
  {
    ScopedContext ctx({.bid = "acme", .call_id = "42", .trace_id = "t-1"});
    info("transcribed", {{"provider", "sarvam"}, {"note", "quote \" and\nnewline"}});
  }
  info("after");
  auto v = lines();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0]["msg"], "transcribed");
  EXPECT_EQ(v[0]["level"], "info");
  EXPECT_EQ(v[0]["service"], "svc");
  EXPECT_EQ(v[0]["bid"], "acme");
  EXPECT_EQ(v[0]["call_id"], "42");
  EXPECT_EQ(v[0]["trace_id"], "t-1");
  EXPECT_EQ(v[0]["provider"], "sarvam");
  EXPECT_EQ(v[0]["note"], "quote \" and\nnewline");
  EXPECT_TRUE(v[0]["ts"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(v[0]["ts"].get<std::string>().size(), std::string("2026-11-21T09:45:35.123Z").size());
  EXPECT_FALSE(v[1].contains("bid"));  // context restored when the scope ended
}

TEST_F(LogTest, ContextIsPerThread) {
  ScopedContext ctx({.bid = "main-bid"});
  std::thread t([] { info("from thread"); });
  t.join();
  info("from main");
  auto v = lines();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_FALSE(v[0].contains("bid"));
  EXPECT_EQ(v[1]["bid"], "main-bid");
}

TEST_F(LogTest, LevelFilterAndDirectSpdlogCallsStayJson) {
  trace("hidden");
  spdlog::warn("raw {} with \"quotes\"", 7);
  auto v = lines();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0]["msg"], "raw 7 with \"quotes\"");
}

TEST(JsonEscape, ControlCharacters) {
  std::string out;
  append_json_escaped(out, std::string("a\x01"
                                       "b\tc",
                                       5));
  EXPECT_EQ(out, "a\\u0001b\\tc");
}

}  // namespace
}  // namespace earshot::log
