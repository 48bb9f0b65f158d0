// JsonWriter: the text the hot read routes write must be JSON that nlohmann reads back to
// the same values (escaping, invalid UTF-8, doubles, timestamps, nesting and commas).
#include "earshot/api/json_writer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace earshot::api {
namespace {

using Json = nlohmann::json;
using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

TEST(JsonWriter, NestedContainersGetTheirCommasRight) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("a").begin_array().number(1).begin_object().end_object().begin_array().end_array().number(2).end_array();
  w.key("b").begin_object().field("c", 3).key("d").null().end_object();
  w.key("e").boolean(false);
  w.end_object();
  EXPECT_EQ(out, R"({"a":[1,{},[],2],"b":{"c":3,"d":null},"e":false})");
  EXPECT_EQ(w.depth(), 0U);
}

TEST(JsonWriter, LiteralKeysAndRuntimeKeysAgree) {
  std::string out;
  JsonWriter w(out);
  const std::string runtime_key = "we\"ird";  // a key from data is escaped
  w.begin_object().key("first").number(1).key(std::string_view(runtime_key)).number(2);
  w.field("third", std::string("x")).field(std::string_view("fourth"), 4.5).end_object();
  EXPECT_EQ(out, R"({"first":1,"we\"ird":2,"third":"x","fourth":4.5})");
  EXPECT_EQ(Json::parse(out)["we\"ird"], 2);
}

TEST(JsonWriter, StringsEscapeLikeNlohmann) {
  const std::string s = std::string("quote\" back\\ nl\n tab\t cr\r bs\b ff\f nul") + '\0' +
                        "\x1f end \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  std::string out;
  JsonWriter(out).string(s);
  EXPECT_EQ(out, Json(s).dump());
  EXPECT_EQ(Json::parse(out).get<std::string>(), s);
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacterInsteadOfThrowing) {
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, > U+10FFFF.
  const std::string bad =
      "a\x80"
      "b\xe2\x82"
      "c\xc0\xaf"
      "d\xed\xa0\x80"
      "e\xf4\x90\x80\x80"
      "f";
  std::string out;
  JsonWriter(out).string(bad);
  // Each byte that does not start a well-formed sequence becomes one U+FFFD.
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(Json::parse(out).get<std::string>(),
            "a" + r + "b" + r + r + "c" + r + r + "d" + r + r + r + "e" + r + r + r + r + "f");
  EXPECT_THROW((void)Json(bad).dump(), Json::type_error);  // what the tree would have done
}

TEST(JsonWriter, NumbersReadBackExactly) {
  for (double d : {0.0, 1.0, -2.5, 0.1, 1.0 / 3.0, 1e-7, 123456789.125, 1e21, -0.000123}) {
    std::string out;
    JsonWriter(out).number(d);
    const Json j = Json::parse(out);
    EXPECT_TRUE(j.is_number_float()) << out;
    EXPECT_EQ(j.get<double>(), d) << out;
  }
  for (double d : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    std::string out;
    JsonWriter(out).number(d);
    EXPECT_EQ(out, "null");
  }
  std::string out;
  JsonWriter(out).begin_array().number(std::int64_t{-9007199254740993}).number(0).end_array();
  EXPECT_EQ(out, "[-9007199254740993,0]");
}

TEST(JsonWriter, OptionalsAndEmptyStringsAsNull) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("a", std::optional<double>{}).field("b", std::optional<double>{0.5});
  w.field("c", std::optional<std::int64_t>{7}).key("d").string_or_null("").key("e").string_or_null("x");
  w.key("f").raw("").key("g").raw(R"([{"k":1}])");
  w.end_object();
  EXPECT_EQ(Json::parse(out), Json::parse(R"({"a":null,"b":0.5,"c":7,"d":null,"e":"x","f":null,"g":[{"k":1}]})"));
}

TEST(JsonWriter, TimestampsAreUtcWithMilliseconds) {
  using namespace std::chrono;
  const Millis t = sys_days{2026y / November / 21} + 9h + 40min + 5s + 7ms;
  std::string out;
  JsonWriter w(out);
  w.begin_array().timestamp(t).timestamp(Millis{}).timestamp(std::optional<Millis>{}).end_array();
  EXPECT_EQ(out, R"(["2026-11-21T09:40:05.007Z","1970-01-01T00:00:00.000Z",null])");
  // The last millisecond of a leap day.
  out.clear();
  JsonWriter(out).timestamp(Millis{sys_days{2024y / February / 29} + 23h + 59min + 59s + 999ms});
  EXPECT_EQ(out, R"("2024-02-29T23:59:59.999Z")");
}

}  // namespace
}  // namespace earshot::api
