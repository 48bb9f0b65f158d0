// The in-memory repository fakes of tests/fakes/storage honour the interfaces' contracts
// (repositories.hpp): another business's row behaves like a missing one, unique keys,
// versions, error codes. Tests of the gateway rely on them behaving as MySQL does.
#include <gtest/gtest.h>

#include "fakes/storage/agent_configs_fake.hpp"
#include "fakes/storage/analytics_fake.hpp"
#include "fakes/storage/api_keys_fake.hpp"
#include "fakes/storage/businesses_fake.hpp"
#include "fakes/storage/call_details_fake.hpp"
#include "fakes/storage/human_agents_fake.hpp"
#include "fakes/storage/notes_fake.hpp"
#include "fakes/storage/pipeline_configs_fake.hpp"
#include "fakes/storage/pipeline_status_fake.hpp"
#include "fakes/storage/rule_sets_fake.hpp"
#include "fakes/storage/users_fake.hpp"

namespace earshot::storage {
namespace {

using testing::FakeAgentConfigRepository;
using testing::FakeAnalyticsRepository;
using testing::FakeApiKeyRepository;
using testing::FakeBusinessRepository;
using testing::FakeCallDetailRepository;
using testing::FakeHumanAgentRepository;
using testing::FakeNoteRepository;
using testing::FakePipelineConfigRepository;
using testing::FakePipelineStatusRepository;
using testing::FakeRuleSetRepository;
using testing::FakeUserRepository;

class TenancyFakesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(businesses.create(a, "A"));
    ASSERT_TRUE(businesses.create(b, "B"));
  }
  const TenantId a = *TenantId::make("fake-a");
  const TenantId b = *TenantId::make("fake-b");
  FakeBusinessRepository businesses;
};

TEST_F(TenancyFakesTest, BusinessesAreUniqueByBid) {
  EXPECT_EQ(businesses.create(a, "again").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(businesses.list_all()->size(), 2u);
  EXPECT_TRUE(businesses.rename(a, "A2").value());
  EXPECT_EQ(businesses.get(a)->name, "A2");
  EXPECT_FALSE(businesses.set_status(*TenantId::make("fake-c"), BusinessStatus::kDisabled).value());
  EXPECT_EQ(businesses.get(*TenantId::make("fake-c")).error().code, ErrorCode::kNotFound);
}

TEST_F(TenancyFakesTest, UsersAreScopedAndEmailsUniqueOnThePlatform) {
  FakeUserRepository users(businesses);
  User u;
  u.email = "Ann@Example.com";
  u.role = UserRole::kAnalyst;
  const Id ann = *users.create(a, u);
  u.email = "ann@example.com";
  EXPECT_EQ(users.create(b, u).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(users.create_platform_admin("ANN@example.com", "h").error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(users.create_platform_admin("root@example.com", "h"));
  u.email = "Root@example.com";
  EXPECT_EQ(users.create(b, u).error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(users.email_taken("ann@EXAMPLE.com").value());
  EXPECT_FALSE(users.email_taken("bob@example.com").value());

  EXPECT_EQ(users.get(b, ann).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(users.set_role(b, ann, UserRole::kAdmin).value());
  EXPECT_FALSE(users.remove(b, ann).value());
  EXPECT_TRUE(users.list(b)->empty());
  EXPECT_EQ(users.find_by_email(a, "ann@example.com")->id, ann);
  EXPECT_EQ(users.businesses_with_email("ann@example.com").value(), std::vector<std::string>{"fake-a"});

  EXPECT_EQ(users.active_role(a, ann).value(), UserRole::kAnalyst);
  EXPECT_FALSE(users.active_role(b, ann).value());
  ASSERT_TRUE(businesses.set_status(a, BusinessStatus::kDisabled));
  EXPECT_FALSE(users.active_role(a, ann).value());
  ASSERT_TRUE(businesses.set_status(a, BusinessStatus::kActive));
  ASSERT_TRUE(users.set_disabled(a, ann, true).value());
  EXPECT_FALSE(users.active_role(a, ann).value());

  EXPECT_TRUE(users.set_platform_admin_disabled("root@example.com", true).value());
  EXPECT_FALSE(users.set_platform_admin_disabled("nobody@example.com", true).value());
  EXPECT_TRUE(users.find_platform_admin("root@example.com")->disabled);
  EXPECT_EQ(users.list_platform_admins()->size(), 1u);
}

TEST_F(TenancyFakesTest, ApiKeysAuthenticateOnlyUnrevokedAndInActiveBusinesses) {
  FakeApiKeyRepository keys(businesses);
  const std::string hash(32, 'h');
  EXPECT_EQ(keys.create(a, "k", "p", "short", {"read"}).error().code, ErrorCode::kInvalidArgument);
  const Id id = *keys.create(a, "k", "p", hash, {"read"});
  EXPECT_EQ(keys.authenticate_active(hash)->bid, "fake-a");
  EXPECT_FALSE(keys.revoke(b, id, Timestamp{}).value());
  EXPECT_FALSE(keys.touch(b, id, Timestamp{}).value());
  EXPECT_TRUE(keys.list(b)->empty());
  ASSERT_TRUE(businesses.set_status(a, BusinessStatus::kDisabled));
  EXPECT_EQ(keys.authenticate_active(hash).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(keys.authenticate(hash));
  EXPECT_TRUE(keys.revoke(a, id, Timestamp{}).value());
  EXPECT_FALSE(keys.revoke(a, id, Timestamp{}).value());  // already revoked
  EXPECT_EQ(keys.authenticate(hash).error().code, ErrorCode::kNotFound);
}

TEST_F(TenancyFakesTest, ConfigurationsAreVersionedAndNamesUniquePerBusiness) {
  FakePipelineConfigRepository configs;
  EXPECT_EQ(configs.get(a).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(configs.put(a, PipelineConfig{}));
  PipelineConfig c;
  c.language = "hi";
  ASSERT_TRUE(configs.put(a, c));
  EXPECT_EQ(configs.get(a)->version, 2);
  EXPECT_EQ(configs.get(a)->language, "hi");
  EXPECT_EQ(configs.get(b).error().code, ErrorCode::kNotFound);

  FakeAgentConfigRepository agents;
  AgentConfig qa;
  qa.name = "qa";
  const Id id = *agents.create(a, qa);
  EXPECT_EQ(agents.create(a, qa).error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(agents.create(b, qa));  // another business may use the name
  qa.id = id;
  qa.enabled = false;
  EXPECT_TRUE(agents.update(a, qa).value());
  EXPECT_EQ(agents.get(a, id)->version, 2);
  EXPECT_TRUE(agents.list(a, true)->empty());
  EXPECT_EQ(agents.list(a, false)->size(), 1u);
  EXPECT_FALSE(agents.update(b, qa).value());
  EXPECT_FALSE(agents.remove(b, id).value());
  EXPECT_TRUE(agents.remove(a, id).value());

  FakeRuleSetRepository rules;
  RuleSet r;
  r.name = "refunds";
  const Id rid = *rules.create(a, r);
  RuleSet other;
  other.name = "churn";
  const Id oid = *rules.create(a, other);
  EXPECT_EQ(rules.list(a)->front().name, "churn");  // by name
  r.id = rid;
  r.name = "churn";
  EXPECT_EQ(rules.update(a, r).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(rules.get(a, rid)->name, "refunds");
  EXPECT_EQ(rules.get(b, oid).error().code, ErrorCode::kNotFound);
}

TEST_F(TenancyFakesTest, AgentsAndNotesAreScoped) {
  FakeHumanAgentRepository agents;
  const Id ann = *agents.upsert(a, {"ext-1", "Ann", "t", "c"});
  EXPECT_EQ(*agents.upsert(a, {"ext-1", "Ann B", "t2", "c"}), ann);  // same external id: updated
  EXPECT_EQ(agents.get(a, ann)->name, "Ann B");
  EXPECT_NE(*agents.upsert(b, {"ext-1", "Other", "t", "c"}), ann);
  EXPECT_EQ(agents.get(b, ann).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(agents.find_by_external_id(a, "ext-1")->id, ann);
  EXPECT_EQ(agents.list(a)->size(), 1u);

  FakeNoteRepository notes;
  const Id n1 = *notes.create(a, 7, std::nullopt, "first");
  ASSERT_TRUE(notes.create(a, 8, 3, "other call"));
  EXPECT_EQ(notes.list_for_call(a, 7)->size(), 1u);
  EXPECT_TRUE(notes.list_for_call(b, 7)->empty());
  EXPECT_FALSE(notes.remove(b, n1).value());
  EXPECT_TRUE(notes.remove(a, n1).value());
  EXPECT_TRUE(notes.list_for_call(a, 7)->empty());
}

TEST_F(TenancyFakesTest, ReadModelFakesAnswerOnlyTheBusinessesRows) {
  FakeAnalyticsRepository analytics;
  AnalyticsOverview o;
  o.calls = 5;
  analytics.set_overview(a, o);
  EXPECT_EQ(analytics.overview(a, Timestamp{}, Timestamp{}, 0)->calls, 5);
  EXPECT_EQ(analytics.overview(b, Timestamp{}, Timestamp{}, 0)->calls, 0);

  FakePipelineStatusRepository status;
  auto failure = [](Id id) {
    FailedCall f;
    f.id = id;
    return f;
  };
  status.set(a, {}, {failure(1), failure(2), failure(3)});
  EXPECT_EQ(status.recent_failures(a, 2)->size(), 2u);
  EXPECT_TRUE(status.recent_failures(b, 2)->empty());

  FakeCallDetailRepository details;
  CallDetail d;
  d.call.id = 9;
  details.set(a, d);
  EXPECT_EQ(details.detail(a, 9)->call.id, 9);
  EXPECT_EQ(details.detail(b, 9).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace earshot::storage
