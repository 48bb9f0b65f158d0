// Tenant isolation: a row of business A is invisible and untouchable through every method
// called with business B. Each method is called with B on A's rows, then A's rows are
// checked unchanged.
#include <gtest/gtest.h>

#include <array>

#include "call_steps.hpp"
#include "earshot/crypto/base64.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "storage_fixture.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using namespace storage;
using namespace std::chrono_literals;

Timestamp at(std::int64_t seconds) {
  return Timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

bool not_found(const auto& r) {
  return !r.has_value() && r.error().code == ErrorCode::kNotFound;
}

class IsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = new_tenant("iso-a");
    b_ = new_tenant("iso-b");
    agent_ = agents_.upsert(*a_, {"agent-1", "Ann", "t", "c"}).value();
    CallInput in;
    in.external_id = "ext-1";
    in.human_agent_id = agent_;
    in.customer_phone = "+15551230000";
    in.started_at = at(0);
    in.city = "Austin";
    call_ = calls_.upsert(*a_, in).value().id;
    Transcript tr;
    tr.call_id = call_;
    tr.full_text = "isolation canary words";
    tr.provider = "test";
    ASSERT_TRUE(transcripts_.put(*a_, tr));
    CallMetrics m;
    m.call_id = call_;
    m.agent_talk_ratio = 0.4;
    ASSERT_TRUE(metrics_.put(*a_, m));
    AgentConfig cfg;
    cfg.name = "qa";
    agent_cfg_ = agent_configs_.create(*a_, cfg).value();
  }

  Database& db_ = StorageEnvironment::db();
  std::optional<TenantId> a_, b_;
  Id call_ = 0, agent_ = 0, agent_cfg_ = 0;
  MySqlCallRepository calls_{db_};
  MySqlHumanAgentRepository agents_{db_};
  MySqlTranscriptRepository transcripts_{db_};
  MySqlMetricsRepository metrics_{db_};
  MySqlAgentConfigRepository agent_configs_{db_};
};

TEST_F(IsolationTest, Calls) {
  const TenantId& b = *b_;
  EXPECT_TRUE(not_found(calls_.get(b, call_)));
  EXPECT_TRUE(not_found(calls_.find_by_external_id(b, "ext-1")));
  EXPECT_FALSE(calls_.advance(b, call_, CallStatus::kPending, CallStatus::kTranscribing).value());
  EXPECT_FALSE(calls_.mark_failed(b, call_, "stt", "x").value());
  EXPECT_FALSE(calls_.hash_customer_phone(b, call_).value());
  EXPECT_FALSE(calls_.remove(b, call_).value());
  EXPECT_TRUE(calls_.purge_candidates(b, at(1'000'000), 100).value().empty());
  const std::array<Id, 1> a_ids{call_};
  EXPECT_EQ(calls_.remove_many(b, a_ids).value(), 0);
  EXPECT_EQ(calls_.hash_finished_phones(b, 100).value(), 0);
  EXPECT_TRUE(calls_.list(b, CallListQuery{}).value().calls.empty());
  CallListQuery q;
  q.text = "canary";
  EXPECT_TRUE(calls_.list(b, q).value().calls.empty());
  // B upserting the same external id creates B's own call; A's stays as it was.
  CallInput in;
  in.external_id = "ext-1";
  in.started_at = at(5);
  in.city = "Boston";
  auto mine = calls_.upsert(b, in);
  ASSERT_TRUE(mine.has_value());
  EXPECT_TRUE(mine->created);
  EXPECT_NE(mine->id, call_);
  ASSERT_TRUE(calls_.upsert_batch(b, std::span<const CallInput>(&in, 1)));
  // Reprocess: get A's call into a reprocessable state first, then try from B.
  ASSERT_TRUE(calls_.mark_failed(*a_, call_, "stt", "boom").value());
  EXPECT_FALSE(calls_.reprocess(b, call_).value());

  auto a_call = calls_.get(*a_, call_);
  ASSERT_TRUE(a_call.has_value());
  EXPECT_EQ(a_call->status, CallStatus::kFailed);
  EXPECT_EQ(a_call->city, "Austin");
  EXPECT_EQ(a_call->customer_phone, "+15551230000");
  EXPECT_EQ(calls_.list(*a_, CallListQuery{}).value().calls.size(), 1u);
}

TEST_F(IsolationTest, DerivedData) {
  const TenantId& b = *b_;
  EXPECT_TRUE(not_found(transcripts_.get(b, call_)));
  Transcript tr;
  tr.call_id = call_;
  tr.full_text = "overwritten";
  tr.provider = "evil";
  EXPECT_TRUE(not_found(transcripts_.put(b, tr)));
  EXPECT_TRUE(transcripts_.search(b, "canary", 10).value().empty());
  EXPECT_EQ(transcripts_.get(*a_, call_)->full_text, "isolation canary words");
  // The batched read gives B nothing of A's; A gets its own (and nothing for an unknown id).
  const std::vector<Id> ids{call_, call_ + 1'000'000};
  EXPECT_TRUE(transcripts_.segments_of(b, ids).value().empty());
  const auto own = transcripts_.segments_of(*a_, ids).value();
  ASSERT_EQ(own.size(), 1U);
  EXPECT_EQ(own.at(call_), transcripts_.get(*a_, call_)->segments_json);
  EXPECT_EQ(transcripts_.segments_of(*a_, std::vector<Id>(1001, call_)).error().code, ErrorCode::kInvalidArgument);
  // The redacted form: B can neither write A's nor read it.
  const auto version = transcripts_.get(*a_, call_)->version;
  TranscriptRedaction red;
  red.call_id = call_;
  red.version = version;
  red.segments_json = R"([{"text":"evil"}])";
  red.audio_uri = "store://" + b.bid() + "/x.wav";
  EXPECT_FALSE(transcripts_.put_redaction(b, red).value());
  EXPECT_FALSE(transcripts_.get(*a_, call_)->redacted_segments_json.has_value());
  red.segments_json = R"([{"text":"redacted canary"}])";
  red.full_text = "redacted canary";
  red.audio_uri.clear();
  ASSERT_TRUE(transcripts_.put_redaction(*a_, red).value());
  EXPECT_TRUE(transcripts_.redacted_segments_of(b, ids).value().empty());
  EXPECT_EQ(transcripts_.redacted_segments_of(*a_, ids).value().at(call_), red.segments_json);
  CallListQuery redacted_words;
  redacted_words.text = "redacted canary";
  redacted_words.text_redacted = true;
  EXPECT_TRUE(calls_.list(b, redacted_words).value().calls.empty());
  EXPECT_EQ(calls_.list(*a_, redacted_words).value().calls.size(), 1U);

  EXPECT_TRUE(not_found(metrics_.get(b, call_)));
  CallMetrics m;
  m.call_id = call_;
  m.agent_talk_ratio = 0.99;
  EXPECT_TRUE(not_found(metrics_.put(b, m)));
  EXPECT_EQ(metrics_.get(*a_, call_)->agent_talk_ratio, 0.4);

  MySqlAnalysisRepository analyses(db_);
  CallAnalysisResult r;
  r.qa_score = 0.1;
  r.analyses.push_back(AnalysisInput{agent_cfg_, 1, "{}", "m", "h", 1, 1, 1});
  EXPECT_TRUE(not_found(analyses.record(b, call_, r)));
  // B's own call cannot use A's agent config either.
  CallInput in;
  in.external_id = "b-call";
  in.started_at = at(0);
  const Id b_call = calls_.upsert(b, in).value().id;
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, b, b_call));
  EXPECT_TRUE(not_found(analyses.record(b, b_call, r)));
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls_, *a_, call_));
  ASSERT_TRUE(analyses.record(*a_, call_, r).value().recorded);
  EXPECT_TRUE(analyses.list_for_call(b, call_, false).value().empty());
  EXPECT_EQ(analyses.list_for_call(*a_, call_, false)->size(), 1u);

  MySqlProcessingEventRepository events(db_);
  ProcessingEvent e;
  e.call_id = call_;
  e.stage = "stt";
  EXPECT_TRUE(not_found(events.append(b, e)));
  ASSERT_TRUE(events.append(*a_, e).has_value());
  EXPECT_TRUE(events.list_for_call(b, call_).value().empty());

  MySqlNoteRepository notes(db_);
  EXPECT_TRUE(not_found(notes.create(b, call_, std::nullopt, "x")));
  const Id note = notes.create(*a_, call_, std::nullopt, "a's note").value();
  EXPECT_TRUE(notes.list_for_call(b, call_).value().empty());
  EXPECT_FALSE(notes.remove(b, note).value());
  EXPECT_EQ(notes.list_for_call(*a_, call_)->size(), 1u);

  MySqlEscalationRepository esc(db_);
  EXPECT_TRUE(not_found(esc.create(b, call_, "x", EscalationSeverity::kLow)));
  const Id e_id = esc.create(*a_, call_, "a's", EscalationSeverity::kLow).value();
  EXPECT_TRUE(esc.list(b, std::nullopt, 100).value().empty());
  EXPECT_FALSE(esc.set_status(b, e_id, EscalationStatus::kResolved, at(1)).value());
  EXPECT_EQ(esc.list(*a_, EscalationStatus::kOpen, 100)->size(), 1u);

  MySqlRuleSetRepository cats(db_, MySqlRuleSetRepository::Kind::kCategories);
  const Id cat = cats.create(*a_, {0, "billing", "[]", true, 0}).value();
  MySqlCategoryMatchRepository matches(db_);
  EXPECT_TRUE(not_found(matches.replace(b, call_, {{cat, "[]"}})));
  EXPECT_TRUE(not_found(matches.replace(b, b_call, {{cat, "[]"}})));  // A's category
  ASSERT_TRUE(matches.replace(*a_, call_, {{cat, "[]"}}));
  EXPECT_TRUE(matches.list_for_call(b, call_).value().empty());

  // Deleting from B removes nothing of A's.
  EXPECT_FALSE(calls_.remove(b, call_).value());
  EXPECT_EQ(notes.list_for_call(*a_, call_)->size(), 1u);
  EXPECT_EQ(events.list_for_call(*a_, call_)->size(), 1u);
  EXPECT_EQ(matches.list_for_call(*a_, call_)->size(), 1u);
}

TEST_F(IsolationTest, AgentsAndConfiguration) {
  const TenantId& b = *b_;
  EXPECT_TRUE(not_found(agents_.get(b, agent_)));
  EXPECT_TRUE(not_found(agents_.find_by_external_id(b, "agent-1")));
  EXPECT_TRUE(agents_.list(b).value().empty());
  const Id b_agent = agents_.upsert(b, {"agent-1", "Mallory", "", ""}).value();
  EXPECT_NE(b_agent, agent_);
  EXPECT_EQ(agents_.get(*a_, agent_)->name, "Ann");

  EXPECT_TRUE(not_found(agent_configs_.get(b, agent_cfg_)));
  EXPECT_TRUE(agent_configs_.list(b, false).value().empty());
  AgentConfig evil;
  evil.id = agent_cfg_;
  evil.name = "evil";
  EXPECT_FALSE(agent_configs_.update(b, evil).value());
  EXPECT_FALSE(agent_configs_.remove(b, agent_cfg_).value());
  EXPECT_EQ(agent_configs_.get(*a_, agent_cfg_)->name, "qa");

  for (auto kind : {MySqlRuleSetRepository::Kind::kCategories, MySqlRuleSetRepository::Kind::kScorecards}) {
    MySqlRuleSetRepository repo(db_, kind);
    const Id id = repo.create(*a_, {0, "rs", "[]", true, 0}).value();
    EXPECT_TRUE(not_found(repo.get(b, id)));
    EXPECT_TRUE(repo.list(b).value().empty());
    EXPECT_FALSE(repo.update(b, {id, "x", "[]", false, 0}).value());
    EXPECT_FALSE(repo.remove(b, id).value());
    EXPECT_EQ(repo.get(*a_, id)->name, "rs");
  }

  auto ring = *crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k");
  MySqlPipelineConfigRepository pipeline(db_, ring);
  PipelineConfig pc;
  pc.secrets = {{"crm_api_key", "a-secret"}};
  ASSERT_TRUE(pipeline.put(*a_, pc));
  EXPECT_TRUE(not_found(pipeline.get(b)));
  ASSERT_TRUE(pipeline.put(b, PipelineConfig{}));
  EXPECT_EQ(pipeline.get(*a_)->secrets.at("crm_api_key"), "a-secret");
  EXPECT_TRUE(pipeline.get(b)->secrets.empty());
}

TEST_F(IsolationTest, UsersKeysAndBusiness) {
  const TenantId& b = *b_;
  MySqlUserRepository users(db_);
  User u;
  u.email = "same@example.com";
  u.password_hash = "h";
  const Id uid = users.create(*a_, u).value();
  EXPECT_TRUE(not_found(users.get(b, uid)));
  EXPECT_TRUE(not_found(users.find_by_email(b, "same@example.com")));
  EXPECT_TRUE(users.list(b).value().empty());
  EXPECT_FALSE(users.set_role(b, uid, UserRole::kAdmin).value());
  EXPECT_FALSE(users.set_password_hash(b, uid, "x").value());
  EXPECT_FALSE(users.set_disabled(b, uid, true).value());
  EXPECT_FALSE(users.record_login(b, uid, at(1)).value());
  EXPECT_FALSE(users.remove(b, uid).value());
  // E-mails are unique on the platform: another business cannot take it (case ignored), and
  // is not told which business has it.
  for (const char* e : {"same@example.com", "SAME@example.com"}) {
    u.email = e;
    auto dup = users.create(b, u);
    ASSERT_FALSE(dup) << e;
    EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
    EXPECT_EQ(dup.error().message.find(a_->bid()), std::string::npos) << dup.error().message;
  }
  EXPECT_TRUE(users.email_taken("Same@Example.com").value());
  EXPECT_FALSE(users.email_taken("other-" + unique_suffix() + "@example.com").value());
  // Nor can a platform admin, and a user cannot take a platform admin's e-mail.
  EXPECT_EQ(users.create_platform_admin("same@example.com", "h").error().code, ErrorCode::kAlreadyExists);
  const std::string root = "root-" + unique_suffix() + "@example.com";
  ASSERT_TRUE(users.create_platform_admin(root, "h"));
  u.email = root;
  EXPECT_EQ(users.create(b, u).error().code, ErrorCode::kAlreadyExists);
  u.email = "same@example.com";
  auto a_user = users.get(*a_, uid);
  EXPECT_EQ(a_user->role, UserRole::kViewer);
  EXPECT_EQ(a_user->password_hash, "h");
  EXPECT_FALSE(a_user->disabled);

  MySqlApiKeyRepository keys(db_);
  const std::string hash = crypto::sha256(unique_suffix());
  const Id kid = keys.create(*a_, "k", "p", hash, {}).value();
  EXPECT_TRUE(keys.list(b).value().empty());
  EXPECT_FALSE(keys.revoke(b, kid, at(1)).value());
  EXPECT_FALSE(keys.touch(b, kid, at(1)).value());
  EXPECT_EQ(keys.authenticate(hash)->bid, a_->bid());

  MySqlBusinessRepository biz(db_);
  EXPECT_EQ(biz.get(b)->bid, b.bid());
  ASSERT_TRUE(biz.set_status(b, BusinessStatus::kDisabled).value());
  EXPECT_EQ(biz.get(*a_)->status, BusinessStatus::kActive);
}

TEST_F(IsolationTest, SyncLeadsAndWebhooks) {
  const TenantId& b = *b_;
  MySqlWatermarkRepository wm(db_);
  ASSERT_TRUE(wm.put(*a_, "calls", "a-pos"));
  EXPECT_FALSE(wm.get(b, "calls").value().has_value());
  ASSERT_TRUE(wm.put(b, "calls", "b-pos"));
  EXPECT_EQ(wm.get(*a_, "calls").value(), "a-pos");

  MySqlCrmLeadRepository leads(db_);
  ASSERT_TRUE(leads.upsert(*a_, {0, "+15557770000", "L1", R"({"a":1})", at(1)}));
  EXPECT_FALSE(leads.find_by_phone(b, "+15557770000").value().has_value());
  EXPECT_FALSE(leads.remove(b, "L1").value());
  ASSERT_TRUE(leads.upsert(b, {0, "+15557770000", "L1", R"({"b":1})", at(9)}));
  EXPECT_EQ(leads.find_by_phone(*a_, "+15557770000").value()->fields_json, R"({"a":1})");

  auto ring = *crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k");
  MySqlDeliveryRepository hooks(db_, ring);
  const Id sub = hooks.create_subscription(*a_, "https://a.example", "", {"x"}, "a-secret").value();
  EXPECT_TRUE(hooks.list_subscriptions(b).value().empty());
  EXPECT_TRUE(not_found(hooks.get_subscription(b, sub)));
  EXPECT_TRUE(not_found(hooks.signing_secret(b, sub)));
  WebhookSubscriptionPatch disable;
  disable.enabled = false;
  EXPECT_FALSE(hooks.update_subscription(b, sub, disable).value());
  auto enqueue = [&](const TenantId& t, Timestamp due) {
    NewDelivery n{DeliveryChannel::kWebhook, sub, std::nullopt, "x", "e1", "{}"};
    return hooks.enqueue(t, std::span<const NewDelivery>(&n, 1), due).value();
  };
  EXPECT_EQ(enqueue(b, at(0)), 0);
  ASSERT_EQ(enqueue(*a_, at(1'000'000'000)), 1);
  const Id delivery = hooks.list_deliveries(*a_, sub, 10, std::nullopt)->at(0).id;
  EXPECT_TRUE(hooks.list_deliveries(b, sub, 10, std::nullopt).value().empty());
  EXPECT_TRUE(not_found(hooks.get_delivery(b, delivery)));
  EXPECT_FALSE(hooks.redeliver(b, delivery, at(1)).value());
  // An outcome is matched on its bid: one naming business b changes nothing of a's row.
  AttemptOutcome o;
  o.delivery_id = delivery;
  o.bid = b.bid();
  o.subscription_id = sub;
  o.kind = AttemptKind::kFailed;
  o.response_code = 500;
  o.at = at(1);
  ASSERT_TRUE(hooks.record(std::span<const AttemptOutcome>(&o, 1), 1));
  EXPECT_FALSE(hooks.remove_subscription(b, sub).value());
  EXPECT_EQ(hooks.list_deliveries(*a_, sub, 10, std::nullopt)->at(0).status, DeliveryStatus::kPending);
  EXPECT_TRUE(hooks.list_subscriptions(*a_)->at(0).enabled);
  EXPECT_FALSE(hooks.list_subscriptions(*a_)->at(0).paused_at.has_value());
  EXPECT_TRUE(hooks.list_attempts(*a_, delivery).value().empty());
}

}  // namespace
}  // namespace earshot::testing
