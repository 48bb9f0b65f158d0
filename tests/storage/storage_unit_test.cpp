// Hermetic tests of libs/storage logic that needs no database.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "earshot/storage/call_state.hpp"
#include "earshot/storage/cursor.hpp"
#include "earshot/storage/migrator.hpp"
#include "earshot/storage/phone.hpp"
#include "earshot/storage/sql.hpp"
#include "earshot/storage/tenant.hpp"

namespace earshot::storage {
namespace {

TEST(Phone, NormalizesNorthAmericanNumbers) {
  EXPECT_EQ(normalize_phone_e164("(555) 123-4567", "1").value(), "+15551234567");
  EXPECT_EQ(normalize_phone_e164("1-555-123-4567", "1").value(), "+15551234567");
  EXPECT_EQ(normalize_phone_e164("555.123.4567 x89", "1").value(), "+15551234567");
  EXPECT_EQ(normalize_phone_e164("011 44 20 7946 0958", "1").value(), "+442079460958");
}

TEST(Phone, NormalizesInternationalForms) {
  EXPECT_EQ(normalize_phone_e164("+44 20 7946 0958", "1").value(), "+442079460958");
  EXPECT_EQ(normalize_phone_e164("0044 20 7946 0958", "49").value(), "+442079460958");
  EXPECT_EQ(normalize_phone_e164("020 7946 0958", "44").value(), "+442079460958");
  EXPECT_EQ(normalize_phone_e164("030/1234567", "49").value(), "+49301234567");
  EXPECT_EQ(normalize_phone_e164("+49 30 1234567;ext=12", "1").value(), "+49301234567");
}

TEST(Phone, RejectsWhatIsNotANumber) {
  for (const char* bad :
       {"", "abc", "12345", "+1 555 CALL NOW", "555-1234", "+0123456789", "+1234567890123456", "1++5551234567"}) {
    auto r = normalize_phone_e164(bad, "1");
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(normalize_phone_e164("5551234567", "").has_value());
  EXPECT_FALSE(normalize_phone_e164("5551234567", "1x").has_value());
}

TEST(Cursor, RoundTripsEveryField) {
  for (CallSort s : {CallSort::kStartedAt, CallSort::kDuration, CallSort::kSentiment, CallSort::kQaScore}) {
    for (SortOrder o : {SortOrder::kAsc, SortOrder::kDesc}) {
      CallCursor c{s, o, -1'700'000'000'123, 0.1 + 0.2, 987654321};
      auto back = decode_cursor(encode_cursor(c));
      ASSERT_TRUE(back.has_value());
      EXPECT_EQ(*back, c);
    }
  }
  CallCursor c;
  c.real_key = -1000;
  EXPECT_EQ(decode_cursor(encode_cursor(c))->real_key, -1000.0);
  c.real_key = std::nextafter(0.5, 1.0);  // bit-exact, not a decimal approximation
  EXPECT_EQ(decode_cursor(encode_cursor(c))->real_key, c.real_key);
}

TEST(Cursor, TokenIsOpaqueAndUrlSafe) {
  const std::string token = encode_cursor(CallCursor{CallSort::kQaScore, SortOrder::kDesc, 5, 0.75, 42});
  for (char ch : token) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') << token;
  }
}

TEST(Cursor, RejectsForgedTokens) {
  for (const char* bad : {"", "!!!", "YWJj", "YzF8OXxkfDF8MHwx", "YzF8MHx4fDF8MHwx"}) {
    auto r = decode_cursor(bad);
    EXPECT_FALSE(r.has_value()) << bad;
  }
}

TEST(SqlSplit, SplitsOnSemicolonsOutsideQuotesAndComments) {
  auto r = split_sql_statements(
      "-- leading comment; not a statement\n"
      "CREATE TABLE a (x VARCHAR(10) DEFAULT 'a;b');\n"
      "/* block ; comment */ INSERT INTO a VALUES ('it''s; fine'), (\"q;\"), ('\\';');\n"
      "# hash comment;\n"
      "SELECT `we;ird` FROM a ;  \n\n;\n"
      "SELECT 1");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0], "CREATE TABLE a (x VARCHAR(10) DEFAULT 'a;b')");
  EXPECT_EQ((*r)[1], "INSERT INTO a VALUES ('it''s; fine'), (\"q;\"), ('\\';')");
  EXPECT_EQ((*r)[2], "SELECT `we;ird` FROM a");
  EXPECT_EQ((*r)[3], "SELECT 1");
}

TEST(SqlSplit, ReportsUnterminatedQuotesAndComments) {
  EXPECT_EQ(split_sql_statements("SELECT 'oops;").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(split_sql_statements("SELECT 1 /* oops").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(split_sql_statements("-- only a comment\n").value().empty());
}

TEST(Migration, ParsesFileNamesAndChecksums) {
  auto m = make_migration("0007_add_things.sql", "SELECT 1;");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->version, 7);
  EXPECT_EQ(m->name, "add_things");
  EXPECT_EQ(m->checksum.size(), 64u);
  EXPECT_NE(make_migration("0007_add_things.sql", "SELECT 2;")->checksum, m->checksum);
  for (const char* bad : {"add.sql", "0007.sql", "x7_a.sql", "0007_a.txt", "_a.sql", "0000_a.sql"}) {
    EXPECT_FALSE(make_migration(bad, "").has_value()) << bad;
  }
}

TEST(Migration, EmbeddedMigrationsMatchTheSourceTree) {
  auto from_dir = load_migrations_from_dir(std::string(EARSHOT_SOURCE_DIR) + "/migrations");
  ASSERT_TRUE(from_dir.has_value());
  const auto embedded = embedded_migrations();
  ASSERT_EQ(embedded.size(), from_dir->size());
  ASSERT_FALSE(embedded.empty());
  for (std::size_t i = 0; i < embedded.size(); ++i) {
    EXPECT_EQ(embedded[i].file_name, (*from_dir)[i].file_name);
    EXPECT_EQ(embedded[i].checksum, (*from_dir)[i].checksum);
    EXPECT_EQ(embedded[i].version, static_cast<int>(i) + 1);
  }
}

TEST(CallStateMachine, AllowsOnlyTheForwardStep) {
  using S = CallStatus;
  const S order[] = {S::kPending, S::kTranscribing, S::kTranscribed, S::kAnalyzing, S::kAnalyzed, S::kNotified};
  for (S from : order) {
    for (S to : order) {
      const bool next = static_cast<int>(to) == static_cast<int>(from) + 1;
      EXPECT_EQ(CallStateMachine::can_advance(from, to), next) << status_name(from) << " -> " << status_name(to);
    }
    EXPECT_FALSE(CallStateMachine::can_advance(from, S::kFailed));
    EXPECT_TRUE(CallStateMachine::can_fail(from));
  }
  EXPECT_FALSE(CallStateMachine::can_fail(S::kFailed));
  EXPECT_FALSE(CallStateMachine::can_advance(S::kFailed, S::kPending));
  EXPECT_TRUE(CallStateMachine::can_reprocess(S::kFailed));
  EXPECT_TRUE(CallStateMachine::can_reprocess(S::kNotified));
  EXPECT_FALSE(CallStateMachine::can_reprocess(S::kTranscribing));
  for (S s : order) EXPECT_EQ(status_from_name(status_name(s)), s);
  EXPECT_FALSE(status_from_name("done").has_value());
}

TEST(TenantId, ValidatesBid) {
  EXPECT_TRUE(TenantId::make("acme-01_x").has_value());
  for (const char* bad : {"", "Acme", "a b", "a;drop", "ünï"}) {
    EXPECT_FALSE(TenantId::make(bad).has_value()) << bad;
  }
  EXPECT_FALSE(TenantId::make(std::string(65, 'a')).has_value());
}

TEST(MySqlErrors, MapToActionableCodes) {
  EXPECT_EQ(map_mysql_errno(1062), ErrorCode::kAlreadyExists);
  EXPECT_EQ(map_mysql_errno(2006), ErrorCode::kUnavailable);
  EXPECT_EQ(map_mysql_errno(2013), ErrorCode::kUnavailable);
  EXPECT_EQ(map_mysql_errno(1213), ErrorCode::kUnavailable);
  EXPECT_EQ(map_mysql_errno(1205), ErrorCode::kUnavailable);
  EXPECT_EQ(map_mysql_errno(1406), ErrorCode::kInvalidArgument);
  EXPECT_EQ(map_mysql_errno(4025), ErrorCode::kInvalidArgument);
  EXPECT_EQ(map_mysql_errno(1146), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(map_mysql_errno(1064), ErrorCode::kInternal);
}

TEST(Value, ConvertsBetweenRepresentations) {
  EXPECT_EQ(Value(42).as_int(), 42);
  EXPECT_EQ(Value("17").as_int(), 17);
  EXPECT_DOUBLE_EQ(Value("0.5").as_double(), 0.5);
  EXPECT_TRUE(Value(std::optional<int>()).is_null());
  EXPECT_EQ(Value(std::optional<int>(3)).as_int(), 3);
  EXPECT_FALSE(Value(nullptr).opt_int().has_value());
  EXPECT_EQ(Value(true).as_int(), 1);
}

}  // namespace
}  // namespace earshot::storage
