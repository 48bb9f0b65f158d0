// The MySQL repositories behind the gateway's sessions and read models: refresh-token
// rotation, the sign-in lookups, analytics aggregates and the pipeline status, each scoped
// by business.
#include <gtest/gtest.h>

#include "earshot/crypto/api_key.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "storage_fixture.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using namespace storage;

Timestamp at(std::int64_t seconds) {
  return Timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

std::string hash_of(const std::string& token) {
  return crypto::hash_api_key(token);
}

class ReadModelsTest : public ::testing::Test {
 protected:
  Database& db_ = StorageEnvironment::db();
  TenantId a_ = new_tenant("rm-a");
  TenantId b_ = new_tenant("rm-b");
  MySqlBusinessRepository businesses_{db_};
  MySqlUserRepository users_{db_};
  MySqlApiKeyRepository keys_{db_};
  MySqlRefreshTokenRepository tokens_{db_};
  MySqlCallRepository calls_{db_};
  MySqlHumanAgentRepository agents_{db_};
  MySqlWatermarkRepository watermarks_{db_};
  MySqlAnalyticsRepository analytics_{db_};
  MySqlPipelineStatusRepository status_{db_};

  Id user(const TenantId& t, UserRole role) {
    User u;
    u.email = "u-" + unique_suffix() + "@example.com";
    u.role = role;
    u.password_hash = "h";
    return users_.create(t, u).value();
  }
};

TEST_F(ReadModelsTest, RotationRevokesThePresentedTokenAndDetectsReuse) {
  const Id uid = user(a_, UserRole::kAnalyst);
  const std::string family = "fam-" + unique_suffix();
  const auto t1 = hash_of("ert_one_" + family), t2 = hash_of("ert_two_" + family);
  ASSERT_TRUE(tokens_.store(RefreshToken{t1, family, a_.bid(), uid, false, at(3600)}));
  EXPECT_EQ(tokens_.family_of(t1).value(), family);
  EXPECT_FALSE(tokens_.family_of(hash_of("ert_unknown_" + family)).value());

  auto r = tokens_.rotate(t1, at(0), t2, at(7200));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->outcome, RotationOutcome::kRotated);
  EXPECT_EQ(r->family_id, family);
  EXPECT_EQ(r->bid, a_.bid());
  EXPECT_EQ(r->user_id, uid);
  EXPECT_FALSE(r->is_platform_admin);
  EXPECT_EQ(r->role, UserRole::kAnalyst);
  EXPECT_EQ(tokens_.family_of(t2).value(), family);  // the next token joined the family
  // The presented token again: reused, and nothing changes until the caller revokes.
  EXPECT_EQ(tokens_.rotate(t1, at(1), hash_of("ert_three_" + family), at(7200))->outcome, RotationOutcome::kReused);
  EXPECT_TRUE(tokens_.family_open(family).value());
  EXPECT_EQ(tokens_.revoke_family(family, at(2)).value(), 1);  // t2 was the only one left
  EXPECT_FALSE(tokens_.family_open(family).value());
  EXPECT_EQ(tokens_.rotate(t2, at(3), hash_of("ert_four_" + family), at(7200))->outcome, RotationOutcome::kReused);
  EXPECT_EQ(tokens_.rotate(hash_of("ert_none_" + family), at(3), t1, at(7200))->outcome, RotationOutcome::kUnknown);
}

TEST_F(ReadModelsTest, RotationRefusesExpiredTokensAndOwnersNoLongerAllowed) {
  const Id uid = user(a_, UserRole::kViewer);
  const std::string family = "fam-" + unique_suffix();
  const auto expired = hash_of("ert_exp_" + family), disabled = hash_of("ert_dis_" + family);
  ASSERT_TRUE(tokens_.store(RefreshToken{expired, family, a_.bid(), uid, false, at(10)}));
  ASSERT_TRUE(tokens_.store(RefreshToken{disabled, family, a_.bid(), uid, false, at(3600)}));
  EXPECT_EQ(tokens_.rotate(expired, at(10), hash_of("ert_n1_" + family), at(99))->outcome, RotationOutcome::kExpired);
  ASSERT_TRUE(users_.set_disabled(a_, uid, true));
  EXPECT_EQ(tokens_.rotate(disabled, at(0), hash_of("ert_n2_" + family), at(99))->outcome, RotationOutcome::kUnknown);
  ASSERT_TRUE(users_.set_disabled(a_, uid, false));
  ASSERT_TRUE(businesses_.set_status(a_, BusinessStatus::kDisabled));
  EXPECT_EQ(tokens_.rotate(disabled, at(0), hash_of("ert_n3_" + family), at(99))->outcome, RotationOutcome::kUnknown);
  EXPECT_EQ(tokens_.revoke_family(family, at(1)).value(), 2);  // refusals revoked nothing

  const std::string email = "root-" + unique_suffix() + "@example.com";
  const Id admin = users_.create_platform_admin(email, "h").value();
  const auto admin_token = hash_of("ert_adm_" + family);
  ASSERT_TRUE(tokens_.store(RefreshToken{admin_token, family + "-adm", "", admin, true, at(3600)}));
  ASSERT_TRUE(users_.set_platform_admin_disabled(email, true).value());
  EXPECT_EQ(tokens_.rotate(admin_token, at(0), hash_of("ert_n4_" + family), at(99))->outcome,
            RotationOutcome::kUnknown);
  ASSERT_TRUE(users_.set_platform_admin_disabled(email, false).value());
  auto ok = tokens_.rotate(admin_token, at(0), hash_of("ert_n5_" + family), at(99));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->outcome, RotationOutcome::kRotated);
  EXPECT_TRUE(ok->is_platform_admin);
  EXPECT_EQ(ok->user_id, admin);
  EXPECT_TRUE(ok->bid.empty());
}

TEST_F(ReadModelsTest, SignInLookupsFollowTheUserAndTheBusiness) {
  const Id uid = user(a_, UserRole::kAdmin);
  const auto email = users_.get(a_, uid)->email;
  EXPECT_EQ(users_.businesses_with_email(email).value(), std::vector<std::string>{a_.bid()});
  EXPECT_TRUE(users_.businesses_with_email("nobody-" + unique_suffix() + "@example.com")->empty());
  EXPECT_EQ(users_.active_role(a_, uid).value(), UserRole::kAdmin);
  EXPECT_FALSE(users_.active_role(b_, uid).value());  // another business's user
  ASSERT_TRUE(users_.set_disabled(a_, uid, true));
  EXPECT_FALSE(users_.active_role(a_, uid).value());

  const auto key = crypto::generate_api_key();
  const Id kid = keys_.create(a_, "k", key.prefix, key.hash, {"read"}).value();
  auto found = keys_.authenticate_active(key.hash);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, kid);
  EXPECT_EQ(found->bid, a_.bid());
  EXPECT_EQ(found->scopes, std::vector<std::string>{"read"});
  ASSERT_TRUE(businesses_.set_status(a_, BusinessStatus::kDisabled));
  EXPECT_EQ(keys_.authenticate_active(key.hash).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(keys_.authenticate(key.hash));  // the key itself is still valid
}

TEST_F(ReadModelsTest, AnalyticsAndPipelineStatusCountOnlyTheBusinessesCalls) {
  const Id ann = agents_.upsert(a_, {"ann", "Ann", "t", "Austin"}).value();
  auto add = [&](const TenantId& t, const std::string& ext, std::int64_t when, const std::string& city) {
    CallInput in;
    in.external_id = ext;
    if (t.bid() == a_.bid()) in.human_agent_id = ann;
    in.customer_phone = "+15551230000";
    in.started_at = at(when);
    in.city = city;
    in.issue_category = "billing";
    in.metadata_json = R"({"state":"TX"})";
    return calls_.upsert(t, in).value().id;
  };
  add(a_, "c1", 0, "Austin");
  add(a_, "c2", 60, "Austin");
  const Id failed = add(a_, "c3", 86'400, "Dallas");
  add(b_, "c1", 0, "Austin");
  ASSERT_TRUE(calls_.mark_failed(a_, failed, "transcribe", "no audio").value());
  ASSERT_TRUE(watermarks_.put(a_, "source-db", "42"));

  auto days = analytics_.agent_days(a_, ann, at(-10), at(200'000), 0);
  ASSERT_TRUE(days) << days.error().to_string();
  ASSERT_EQ(days->size(), 2u);
  EXPECT_EQ((*days)[0].calls, 2);
  EXPECT_EQ((*days)[0].day.size(), 10u);
  auto o = analytics_.overview(a_, at(-10), at(200'000), 0);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->calls, 3);
  EXPECT_EQ(o->unscored, 3);
  EXPECT_EQ(o->by_day.size(), 2u);
  ASSERT_EQ(o->by_issue.size(), 1u);
  EXPECT_EQ(o->by_issue[0].key, "billing");
  EXPECT_EQ(o->by_issue[0].calls, 3);
  EXPECT_EQ(analytics_.overview(a_, at(-10), at(30), 0)->calls, 1);  // [from, to)
  // Local days: the offset is bounded (UTC-14..UTC+14).
  EXPECT_EQ(analytics_.overview(a_, at(-10), at(200'000), 840)->calls, 3);
  EXPECT_EQ(analytics_.overview(a_, at(-10), at(200'000), 841).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(analytics_.agent_days(a_, ann, at(-10), at(200'000), -841).error().code, ErrorCode::kInvalidArgument);
  auto cities = analytics_.regions(a_, RegionGroup::kCity, at(-10), at(200'000));
  ASSERT_TRUE(cities);
  ASSERT_EQ(cities->size(), 2u);
  EXPECT_EQ((*cities)[0].region, "Austin");
  EXPECT_EQ((*cities)[0].calls, 2);
  auto states = analytics_.regions(a_, RegionGroup::kState, at(-10), at(200'000));
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].region, "TX");

  auto counts = calls_.count_by_status(a_);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->at(CallStatus::kPending), 2);
  EXPECT_EQ(counts->at(CallStatus::kFailed), 1);
  auto fails = status_.recent_failures(a_, 20);
  ASSERT_EQ(fails->size(), 1u);
  EXPECT_EQ((*fails)[0].id, failed);
  EXPECT_EQ((*fails)[0].stage, "transcribe");
  EXPECT_EQ((*fails)[0].reason, "no audio");
  EXPECT_TRUE(status_.recent_failures(a_, 0)->empty());
  auto marks = status_.watermarks(a_);
  ASSERT_EQ(marks->size(), 1u);
  EXPECT_EQ((*marks)[0].position, "42");
  // The other business sees only its own call.
  EXPECT_EQ(analytics_.overview(b_, at(-10), at(200'000), 0)->calls, 1);
  EXPECT_EQ(calls_.count_by_status(b_)->at(CallStatus::kPending), 1);
  EXPECT_TRUE(status_.watermarks(b_)->empty());
  EXPECT_TRUE(status_.recent_failures(b_, 20)->empty());
  EXPECT_TRUE(analytics_.agent_days(b_, ann, at(-10), at(200'000), 0)->empty());
}

}  // namespace
}  // namespace earshot::testing
