#include "earshot/core/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace earshot {
namespace {

struct Sample {
  std::string host;
  std::int64_t port = 0;
  bool verbose = false;
  std::chrono::milliseconds grace{0};
  std::string mode;
  std::string token;

  ConfigSpec spec() {
    ConfigSpec s;
    s.add_string("db_host", &host, "localhost", "host")
        .add_int("db_port", &port, 3306, 1, 65535, "port")
        .add_bool("verbose", &verbose, false, "verbose")
        .add_duration("grace", &grace, std::chrono::seconds(3), std::chrono::milliseconds(0), std::chrono::minutes(1),
                      "grace")
        .add_enum("mode", &mode, "fast", {"fast", "safe"}, "mode")
        .add_string("token", &token, "", "token", {.secret = true});
    return s;
  }
};

TEST(Config, DefaultsApplyWhenNothingIsSet) {
  Sample c;
  auto spec = c.spec();
  ASSERT_TRUE(spec.load({{"PATH", "/bin"}, {"HOME", "/root"}}));
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 3306);
  EXPECT_FALSE(c.verbose);
  EXPECT_EQ(c.grace, std::chrono::seconds(3));
  EXPECT_EQ(c.mode, "fast");
}

TEST(Config, EnvironmentOverridesDefaults) {
  Sample c;
  auto spec = c.spec();
  ASSERT_TRUE(spec.load({{"EARSHOT_DB_HOST", "db.internal"},
                         {"EARSHOT_DB_PORT", "13306"},
                         {"EARSHOT_VERBOSE", "true"},
                         {"EARSHOT_GRACE", "250ms"},
                         {"EARSHOT_MODE", "safe"}}));
  EXPECT_EQ(c.host, "db.internal");
  EXPECT_EQ(c.port, 13306);
  EXPECT_TRUE(c.verbose);
  EXPECT_EQ(c.grace, std::chrono::milliseconds(250));
  EXPECT_EQ(c.mode, "safe");
}

TEST(Config, UnknownEnvironmentKeyIsAnErrorNamingIt) {
  Sample c;
  auto spec = c.spec();
  auto st = spec.load({{"EARSHOT_BOGUS", "1"}});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message.find("EARSHOT_BOGUS"), std::string::npos) << st.error().message;
}

TEST(Config, UnprefixedVariablesAreIgnored) {
  Sample c;
  auto spec = c.spec();
  EXPECT_TRUE(spec.load({{"DB_HOST", "x"}, {"EARSHOTX", "y"}}));
  EXPECT_EQ(c.host, "localhost");
}

TEST(Config, BadValuesAreErrorsNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"EARSHOT_DB_PORT", "abc"},     {"EARSHOT_DB_PORT", "70000"}, {"EARSHOT_DB_PORT", "0"},
      {"EARSHOT_DB_PORT", "12x"},     {"EARSHOT_DB_PORT", ""},      {"EARSHOT_VERBOSE", "maybe"},
      {"EARSHOT_GRACE", "5 parsecs"}, {"EARSHOT_GRACE", "2h"},      {"EARSHOT_GRACE", "s"},
      {"EARSHOT_MODE", "reckless"},
  };
  for (const auto& [k, v] : bad) {
    Sample c;
    auto spec = c.spec();
    auto st = spec.load({{k, v}});
    ASSERT_FALSE(st) << k << "=" << v;
    EXPECT_NE(st.error().message.find(k), std::string::npos) << st.error().message;
  }
}

TEST(Config, SecretValuesNeverAppearInErrorsOrDumps) {
  Sample c;
  auto spec = c.spec();
  ASSERT_TRUE(spec.load({{"EARSHOT_TOKEN", "hunter2"}}));
  EXPECT_EQ(c.token, "hunter2");
  EXPECT_EQ(spec.effective_values().at("token"), "***");
  EXPECT_EQ(spec.help_text().find("hunter2"), std::string::npos);
}

TEST(Config, RequiredKeyMissingIsAnError) {
  std::string v;
  ConfigSpec spec;
  spec.add_string("master_key", &v, "", "key", {.required = true});
  auto st = spec.load({});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("EARSHOT_MASTER_KEY"), std::string::npos);
  EXPECT_TRUE(spec.load({{"EARSHOT_MASTER_KEY", "k"}}));
  EXPECT_EQ(v, "k");
}

TEST(Config, FileValuesApplyAndEnvironmentWins) {
  Sample c;
  auto spec = c.spec();
  ASSERT_TRUE(spec.load_from({{"EARSHOT_DB_PORT", "4000"}},
                             R"({"db_host": "from-file", "db_port": 5000, "verbose": true,
                                 "grace": "10s"})"));
  EXPECT_EQ(c.host, "from-file");
  EXPECT_EQ(c.port, 4000);
  EXPECT_TRUE(c.verbose);
  EXPECT_EQ(c.grace, std::chrono::seconds(10));
}

TEST(Config, UnknownFileKeyIsAnErrorNamingIt) {
  Sample c;
  auto spec = c.spec();
  auto st = spec.load_from({}, R"({"db_hots": "typo"})");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("db_hots"), std::string::npos);
}

TEST(Config, MalformedOrWronglyTypedFileIsAnError) {
  for (const char* doc : {"{not json", "[1,2]", R"({"db_port": [1]})", R"({"db_port": 1.5})"}) {
    Sample c;
    auto spec = c.spec();
    EXPECT_FALSE(spec.load_from({}, doc)) << doc;
  }
}

TEST(Config, FileNamedByEnvironmentIsRead) {
  const std::string path = ::testing::TempDir() + "earshot-config-test.json";
  std::ofstream(path) << R"({"db_host": "filehost"})";
  Sample c;
  auto spec = c.spec();
  ASSERT_TRUE(spec.load({{"EARSHOT_CONFIG_FILE", path}}));
  EXPECT_EQ(c.host, "filehost");
  std::remove(path.c_str());

  Sample d;
  auto spec2 = d.spec();
  auto st = spec2.load({{"EARSHOT_CONFIG_FILE", path}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(path), std::string::npos);
}

TEST(Config, LoadResetsToDefaultsBeforeApplying) {
  Sample c;
  auto spec = c.spec();
  ASSERT_TRUE(spec.load({{"EARSHOT_DB_HOST", "first"}}));
  ASSERT_TRUE(spec.load({}));
  EXPECT_EQ(c.host, "localhost");
}

TEST(Config, SetDefaultReplacesALibrarysDefault) {
  Sample c;
  auto spec = c.spec();
  spec.set_default("db_port", "3307").set_default("grace", "5s");
  ASSERT_TRUE(spec.load({}));
  EXPECT_EQ(c.port, 3307);
  EXPECT_EQ(c.grace, std::chrono::seconds(5));
  EXPECT_NE(spec.help_text().find("default '3307'"), std::string::npos);
  ASSERT_TRUE(spec.load({{"EARSHOT_DB_PORT", "1"}}));
  EXPECT_EQ(c.port, 1);
}

TEST(Config, SetDefaultOfAnUndeclaredKeyOrABadValueFailsTheLoad) {
  Sample c;
  auto spec = c.spec();
  spec.set_default("db_prot", "1");
  auto st = spec.load({});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("db_prot"), std::string::npos);
  Sample d;
  auto bad = d.spec();
  bad.set_default("db_port", "0");
  st = bad.load({});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("db_port"), std::string::npos);
}

TEST(Config, AnAliasSetsItsKeyFromEnvironmentAndFile) {
  Sample c;
  auto spec = c.spec();
  spec.add_alias("database_port", "db_port");
  ASSERT_TRUE(spec.load({{"EARSHOT_DATABASE_PORT", "4000"}}));
  EXPECT_EQ(c.port, 4000);
  ASSERT_TRUE(spec.load_from({}, R"({"database_port": 4001})"));
  EXPECT_EQ(c.port, 4001);
  // The environment still overrides the file, whichever name each uses.
  ASSERT_TRUE(spec.load_from({{"EARSHOT_DB_PORT", "4002"}}, R"({"database_port": 4001})"));
  EXPECT_EQ(c.port, 4002);
  const auto help = spec.help_text();
  EXPECT_NE(help.find("EARSHOT_DATABASE_PORT"), std::string::npos);
  EXPECT_NE(help.find("older name of EARSHOT_DB_PORT"), std::string::npos);
}

TEST(Config, BothNamesInOneSourceIsAnErrorNamingBoth) {
  Sample c;
  auto spec = c.spec();
  spec.add_alias("database_port", "db_port");
  auto st = spec.load({{"EARSHOT_DATABASE_PORT", "4000"}, {"EARSHOT_DB_PORT", "4000"}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("EARSHOT_DATABASE_PORT"), std::string::npos);
  EXPECT_NE(st.error().message.find("EARSHOT_DB_PORT"), std::string::npos);
  Sample d;
  auto wrong = d.spec();
  wrong.add_alias("verbose_mode", "not_a_key");
  EXPECT_FALSE(wrong.load({}));
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(*parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parse_duration("5s"), std::chrono::seconds(5));
  EXPECT_EQ(*parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(*parse_duration("1h"), std::chrono::hours(1));
  EXPECT_EQ(*parse_duration("40"), std::chrono::milliseconds(40));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("5d"));
  EXPECT_FALSE(parse_duration("99999999999999999999s"));
}

TEST(Config, EnvNameMapping) {
  EXPECT_EQ(env_name_for("mysql_port"), "EARSHOT_MYSQL_PORT");
}

}  // namespace
}  // namespace earshot
