// Every repository method against the real MariaDB (calls: calls_test.cpp).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "earshot/crypto/api_key.hpp"
#include "earshot/crypto/keyring.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/storage/mysql_delivery_repository.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::testing {
namespace {

using namespace storage;
using namespace std::chrono_literals;

Timestamp at(std::int64_t seconds) {
  return Timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

crypto::Keyring make_keyring(const std::string& kid, const std::string& key) {
  return *crypto::Keyring::parse(kid + ":" + key, kid);
}

Id make_call(const TenantId& t, const std::string& ext = "") {
  MySqlCallRepository calls(StorageEnvironment::db());
  CallInput in;
  in.external_id = ext.empty() ? "c-" + unique_suffix() : ext;
  in.started_at = at(0);
  in.customer_phone = "+15551234567";
  return calls.upsert(t, in).value().id;
}

TEST(Businesses, CreateGetListStatusRename) {
  MySqlBusinessRepository repo(StorageEnvironment::db());
  auto t = *TenantId::make("biz-" + unique_suffix());
  ASSERT_TRUE(repo.create(t, "Acme"));
  EXPECT_EQ(repo.create(t, "Acme again").error().code, ErrorCode::kAlreadyExists);
  auto b = repo.get(t);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->name, "Acme");
  EXPECT_EQ(b->status, BusinessStatus::kActive);
  EXPECT_TRUE(repo.set_status(t, BusinessStatus::kDisabled).value());
  EXPECT_TRUE(repo.rename(t, "Acme Corp").value());
  b = repo.get(t);
  EXPECT_EQ(b->status, BusinessStatus::kDisabled);
  EXPECT_EQ(b->name, "Acme Corp");
  auto all = repo.list_all();
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(std::any_of(all->begin(), all->end(), [&](auto& x) { return x.bid == t.bid(); }));
  auto missing = *TenantId::make("nobody-" + unique_suffix());
  EXPECT_EQ(repo.get(missing).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(repo.rename(missing, "x").value());
}

TEST(Users, FullLifecycleWithArgon2Hashes) {
  auto t = new_tenant();
  MySqlUserRepository repo(StorageEnvironment::db());
  User u;
  u.email = "ana@example.com";
  u.display_name = "Ana";
  u.role = UserRole::kAnalyst;
  u.password_hash = crypto::hash_password("s3cret pass").value();
  auto id = repo.create(t, u);
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  EXPECT_EQ(repo.create(t, u).error().code, ErrorCode::kAlreadyExists);
  auto got = repo.get(t, *id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->role, UserRole::kAnalyst);
  EXPECT_TRUE(crypto::verify_password(got->password_hash, "s3cret pass"));
  EXPECT_EQ(repo.find_by_email(t, "ana@example.com")->id, *id);
  EXPECT_TRUE(repo.set_role(t, *id, UserRole::kAdmin).value());
  EXPECT_TRUE(repo.set_password_hash(t, *id, crypto::hash_password("new").value()).value());
  EXPECT_TRUE(repo.set_disabled(t, *id, true).value());
  EXPECT_TRUE(repo.record_login(t, *id, at(5)).value());
  got = repo.get(t, *id);
  EXPECT_EQ(got->role, UserRole::kAdmin);
  EXPECT_TRUE(got->disabled);
  EXPECT_EQ(got->last_login_at, at(5));
  EXPECT_TRUE(crypto::verify_password(got->password_hash, "new"));
  EXPECT_EQ(repo.list(t)->size(), 1u);
  EXPECT_TRUE(repo.remove(t, *id).value());
  EXPECT_FALSE(repo.remove(t, *id).value());
  EXPECT_EQ(repo.get(t, *id).error().code, ErrorCode::kNotFound);

  const std::string admin_email = "root-" + unique_suffix() + "@earshot.test";
  auto aid = repo.create_platform_admin(admin_email, crypto::hash_password("root").value());
  ASSERT_TRUE(aid.has_value());
  auto admin = repo.find_platform_admin(admin_email);
  ASSERT_TRUE(admin.has_value());
  EXPECT_TRUE(crypto::verify_password(admin->password_hash, "root"));
  EXPECT_EQ(repo.find_platform_admin("nobody@x").error().code, ErrorCode::kNotFound);
}

TEST(ApiKeys, StoredHashedAuthenticatedRevoked) {
  auto t = new_tenant();
  MySqlApiKeyRepository repo(StorageEnvironment::db());
  const auto key = crypto::generate_api_key();
  auto id = repo.create(t, "ci", key.prefix, key.hash, {"calls:read", "calls:write"});
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  // The secret is nowhere in the row.
  auto raw = StorageEnvironment::db().execute(
      "SELECT CONCAT_WS('|', name, prefix, key_hash, scopes) FROM api_keys WHERE id = ?", {*id});
  EXPECT_EQ(raw->rows[0][0].as_string().find(key.secret), std::string::npos);
  auto auth = repo.authenticate(crypto::hash_api_key(key.secret));
  ASSERT_TRUE(auth.has_value());
  EXPECT_EQ(auth->bid, t.bid());
  EXPECT_EQ(auth->scopes, (std::vector<std::string>{"calls:read", "calls:write"}));
  EXPECT_EQ(repo.authenticate(crypto::hash_api_key("esk_wrong")).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(repo.touch(t, *id, at(9)).value());
  EXPECT_EQ(repo.list(t)->at(0).last_used_at, at(9));
  EXPECT_TRUE(repo.revoke(t, *id, at(10)).value());
  EXPECT_FALSE(repo.revoke(t, *id, at(11)).value());
  EXPECT_EQ(repo.authenticate(key.hash).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(repo.create(t, "bad", "p", "short", {}).error().code, ErrorCode::kInvalidArgument);
}

TEST(PipelineConfig, SecretsAreSealedAtRestAndRotate) {
  auto t = new_tenant();
  const std::string k1 = crypto::Keyring::generate_key_base64();
  auto ring1 = make_keyring("k1", k1);
  MySqlPipelineConfigRepository repo(StorageEnvironment::db(), ring1);
  EXPECT_EQ(repo.get(t).error().code, ErrorCode::kNotFound);

  PipelineConfig c;
  c.source_db_json = R"({"kind":"mysql","host":"10.0.0.5","user":"reader"})";
  c.lead_filter_mode = LeadFilterMode::kRequire;
  c.retention_days = 30;
  c.llm_chain_json = R"([{"provider":"openai-compatible","model":"summary-small"}])";
  c.secrets = {{"source_db_password", "Pa55-word-visible?"}, {"llm_api_key", "sk-live-abcdef123456"}};
  ASSERT_TRUE(repo.put(t, c));

  auto raw = StorageEnvironment::db().execute(
      "SELECT secrets_sealed, secrets_key_id, CONCAT_WS('|', source_db, column_mapping, crm, "
      "stt_options, llm_chain, channel_roles) FROM business_pipeline_config WHERE bid = ?",
      {t.bid()});
  ASSERT_TRUE(raw.has_value());
  const std::string sealed = raw->rows[0][0].as_string();
  for (const auto& [name, plain] : c.secrets) {
    EXPECT_EQ(sealed.find(plain), std::string::npos) << name;
    EXPECT_EQ(raw->rows[0][2].as_string().find(plain), std::string::npos) << name;
  }
  EXPECT_EQ(raw->rows[0][1].as_string(), "k1");

  auto got = repo.get(t);
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_EQ(got->secrets, c.secrets);
  EXPECT_EQ(got->lead_filter_mode, LeadFilterMode::kRequire);
  EXPECT_EQ(got->retention_days, 30);
  EXPECT_EQ(got->source_db_json, c.source_db_json);
  EXPECT_EQ(got->version, 1);
  ASSERT_TRUE(repo.put(t, c));
  EXPECT_EQ(repo.get(t)->version, 2);

  // A process without key k1 cannot read the secrets and says which key is missing.
  auto other = make_keyring("k2", crypto::Keyring::generate_key_base64());
  MySqlPipelineConfigRepository wrong(StorageEnvironment::db(), other);
  auto err = wrong.get(t);
  ASSERT_FALSE(err.has_value());
  EXPECT_EQ(err.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(err.error().message.find("'k1'"), std::string::npos) << err.error().message;

  // Rotation: k2 primary, k1 still known -> reseal moves the row to k2.
  const std::string k2 = crypto::Keyring::generate_key_base64();
  auto both = *crypto::Keyring::parse("k1:" + k1 + ",k2:" + k2, "k2");
  MySqlPipelineConfigRepository rotating(StorageEnvironment::db(), both);
  auto n = rotating.reseal_all();
  ASSERT_TRUE(n.has_value()) << n.error().to_string();
  EXPECT_GE(*n, 1);
  auto only_k2 = make_keyring("k2", k2);
  MySqlPipelineConfigRepository after(StorageEnvironment::db(), only_k2);
  EXPECT_EQ(after.get(t)->secrets, c.secrets);

  c.source_db_json = "{not json";
  EXPECT_EQ(repo.put(t, c).error().code, ErrorCode::kInvalidArgument);
}

TEST(AgentConfig, CreateGetListUpdateRemove) {
  auto t = new_tenant();
  MySqlAgentConfigRepository repo(StorageEnvironment::db());
  AgentConfig a;
  a.name = "summary";
  a.kind = AgentKind::kLlm;
  a.prompt_template = "Summarize: {{transcript}}";
  a.output_schema_json = R"({"type":"object"})";
  a.model = "summary-small";
  auto id = repo.create(t, a);
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  EXPECT_EQ(repo.create(t, a).error().code, ErrorCode::kAlreadyExists);
  a.name = "qa";
  a.kind = AgentKind::kBuiltin;
  a.enabled = false;
  auto id2 = repo.create(t, a);
  ASSERT_TRUE(id2.has_value());
  EXPECT_EQ(repo.list(t, false)->size(), 2u);
  EXPECT_EQ(repo.list(t, true)->size(), 1u);
  auto got = repo.get(t, *id);
  EXPECT_EQ(got->kind, AgentKind::kLlm);
  EXPECT_EQ(got->version, 1);
  got->prompt_template = "v2";
  EXPECT_TRUE(repo.update(t, *got).value());
  EXPECT_EQ(repo.get(t, *id)->version, 2);
  EXPECT_EQ(repo.get(t, *id)->prompt_template, "v2");
  EXPECT_TRUE(repo.remove(t, *id2).value());
  EXPECT_EQ(repo.get(t, *id2).error().code, ErrorCode::kNotFound);
}

TEST(HumanAgents, UpsertIsIdempotentOnExternalId) {
  auto t = new_tenant();
  MySqlHumanAgentRepository repo(StorageEnvironment::db());
  auto id = repo.upsert(t, {"ag-1", "Bo", "red", "Austin"});
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  auto again = repo.upsert(t, {"ag-1", "Bo B.", "blue", "Austin"});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *id);
  auto got = repo.get(t, *id);
  EXPECT_EQ(got->name, "Bo B.");
  EXPECT_EQ(got->team, "blue");
  EXPECT_EQ(got->total_calls, 0);
  EXPECT_EQ(got->trend_json, "[]");
  EXPECT_EQ(repo.find_by_external_id(t, "ag-1")->id, *id);
  EXPECT_EQ(repo.find_by_external_id(t, "nope").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(repo.upsert(t, {"ag-2", "Al", "red", "Austin"}).has_value());
  auto all = repo.list(t);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at(0).name, "Al");
}

TEST(ProcessingEvents, AppendOnlyPerCall) {
  auto t = new_tenant();
  const Id call = make_call(t);
  MySqlProcessingEventRepository repo(StorageEnvironment::db());
  ProcessingEvent e;
  e.call_id = call;
  e.stage = "stt";
  e.outcome = EventOutcome::kStarted;
  ASSERT_TRUE(repo.append(t, e).has_value());
  e.outcome = EventOutcome::kFailed;
  e.error = "provider timeout";
  e.attempt = 2;
  e.duration_ms = 1234;
  ASSERT_TRUE(repo.append(t, e).has_value());
  auto list = repo.list_for_call(t, call);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->at(1).outcome, EventOutcome::kFailed);
  EXPECT_EQ(list->at(1).error, "provider timeout");
  EXPECT_EQ(list->at(1).duration_ms, 1234);
  e.call_id = 999'999'999;
  EXPECT_EQ(repo.append(t, e).error().code, ErrorCode::kNotFound);
}

TEST(Watermarks, GetAndPut) {
  auto t = new_tenant();
  MySqlWatermarkRepository repo(StorageEnvironment::db());
  EXPECT_FALSE(repo.get(t, "calls").value().has_value());
  ASSERT_TRUE(repo.put(t, "calls", "2026-11-21T10:00:00Z|42"));
  ASSERT_TRUE(repo.put(t, "calls", "2026-11-21T11:00:00Z|43"));
  EXPECT_EQ(repo.get(t, "calls").value(), "2026-11-21T11:00:00Z|43");
}

TEST(CrmLeads, UpsertKeepsNewestAndFindsByPhone) {
  auto t = new_tenant();
  MySqlCrmLeadRepository repo(StorageEnvironment::db());
  ASSERT_TRUE(repo.upsert(t, {0, "+15550000001", "L1", R"({"stage":"new"})", at(10)}));
  ASSERT_TRUE(repo.upsert(t, {0, "+15550000001", "L1", R"({"stage":"won"})", at(20)}));
  ASSERT_TRUE(repo.upsert(t, {0, "+15550000001", "L1", R"({"stage":"stale"})", at(15)}));
  auto lead = repo.find_by_phone(t, "+15550000001");
  ASSERT_TRUE(lead.has_value() && lead->has_value());
  EXPECT_EQ((*lead)->fields_json, R"({"stage":"won"})");
  EXPECT_EQ((*lead)->modified_at, at(20));
  ASSERT_TRUE(repo.upsert(t, {0, "+15550000001", "L2", "{}", at(30)}));
  EXPECT_EQ(repo.find_by_phone(t, "+15550000001").value()->lead_id, "L2");
  EXPECT_FALSE(repo.find_by_phone(t, "+15559999999").value().has_value());
  EXPECT_TRUE(repo.remove(t, "L2").value());
  EXPECT_FALSE(repo.remove(t, "L2").value());
}

TEST(RuleSets, CategoriesAndScorecards) {
  auto t = new_tenant();
  for (auto kind : {MySqlRuleSetRepository::Kind::kCategories, MySqlRuleSetRepository::Kind::kScorecards}) {
    MySqlRuleSetRepository repo(StorageEnvironment::db(), kind);
    RuleSet r{0, "refund", R"([{"type":"transcript","phrases":["refund"]}])", true, 0};
    auto id = repo.create(t, r);
    ASSERT_TRUE(id.has_value()) << id.error().to_string();
    EXPECT_EQ(repo.create(t, r).error().code, ErrorCode::kAlreadyExists);
    auto got = repo.get(t, *id);
    EXPECT_EQ(got->rules_json, r.rules_json);
    EXPECT_EQ(got->version, 1);
    got->enabled = false;
    EXPECT_TRUE(repo.update(t, *got).value());
    EXPECT_EQ(repo.get(t, *id)->version, 2);
    EXPECT_FALSE(repo.get(t, *id)->enabled);
    EXPECT_EQ(repo.list(t)->size(), 1u);
    EXPECT_TRUE(repo.remove(t, *id).value());
    EXPECT_EQ(repo.get(t, *id).error().code, ErrorCode::kNotFound);
  }
}

TEST(CategoryMatches, ReplaceAndList) {
  auto t = new_tenant();
  const Id call = make_call(t);
  MySqlRuleSetRepository cats(StorageEnvironment::db(), MySqlRuleSetRepository::Kind::kCategories);
  const Id a = cats.create(t, {0, "a", "[]", true, 0}).value();
  const Id b = cats.create(t, {0, "b", "[]", true, 0}).value();
  MySqlCategoryMatchRepository repo(StorageEnvironment::db());
  ASSERT_TRUE(repo.replace(t, call, {{a, R"([{"begin_ms":0,"end_ms":10}])"}, {b, "[]"}}));
  EXPECT_EQ(repo.list_for_call(t, call)->size(), 2u);
  ASSERT_TRUE(repo.replace(t, call, {{b, "[]"}}));
  auto list = repo.list_for_call(t, call);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->at(0).category_id, b);
  EXPECT_EQ(repo.replace(t, call, {{987654321, "[]"}}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(repo.list_for_call(t, call)->size(), 1u);  // the failed replace rolled back
  EXPECT_TRUE(cats.remove(t, b).value());
  EXPECT_TRUE(repo.list_for_call(t, call)->empty());
}

TEST(Escalations, CreateListResolve) {
  auto t = new_tenant();
  const Id call = make_call(t);
  MySqlEscalationRepository repo(StorageEnvironment::db());
  auto id = repo.create(t, call, "customer threatened to cancel", EscalationSeverity::kHigh);
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  EXPECT_EQ(repo.create(t, 999'999'999, "x", EscalationSeverity::kLow).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(repo.list(t, EscalationStatus::kOpen, 10)->size(), 1u);
  EXPECT_TRUE(repo.set_status(t, *id, EscalationStatus::kResolved, at(50)).value());
  EXPECT_TRUE(repo.list(t, EscalationStatus::kOpen, 10)->empty());
  auto all = repo.list(t, std::nullopt, 10);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->at(0).severity, EscalationSeverity::kHigh);
  EXPECT_EQ(all->at(0).resolved_at, at(50));
}

TEST(Notes, CreateListRemove) {
  auto t = new_tenant();
  const Id call = make_call(t);
  MySqlNoteRepository repo(StorageEnvironment::db());
  auto id = repo.create(t, call, std::nullopt, "call back tomorrow — ok? ✓");
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  ASSERT_TRUE(repo.create(t, call, 7, "second").has_value());
  auto notes = repo.list_for_call(t, call);
  ASSERT_EQ(notes->size(), 2u);
  EXPECT_EQ(notes->at(0).body, "call back tomorrow — ok? ✓");
  EXPECT_FALSE(notes->at(0).author_user_id.has_value());
  EXPECT_EQ(notes->at(1).author_user_id, 7);
  EXPECT_TRUE(repo.remove(t, *id).value());
  EXPECT_EQ(repo.list_for_call(t, call)->size(), 1u);
  EXPECT_EQ(repo.create(t, 999'999'999, std::nullopt, "x").error().code, ErrorCode::kNotFound);
}

TEST(Deliveries, SubscriptionsDeliveriesAndSealedSecret) {
  auto t = new_tenant();
  auto ring = make_keyring("wk", crypto::Keyring::generate_key_base64());
  MySqlDeliveryRepository repo(StorageEnvironment::db(), ring);
  const std::string secret = "whsec_" + unique_suffix() + unique_suffix();
  auto sub = repo.create_subscription(t, "https://hooks.example.com/x", "ops", {"call.analyzed"}, secret);
  ASSERT_TRUE(sub.has_value()) << sub.error().to_string();
  auto raw = StorageEnvironment::db().execute(
      "SELECT secret_sealed, url, events FROM webhook_subscriptions WHERE id = ?", {*sub});
  for (const auto& v : raw->rows[0]) EXPECT_EQ(v.as_string().find(secret), std::string::npos);
  EXPECT_EQ(repo.signing_secret(t, *sub).value(), secret);
  auto subs = repo.list_subscriptions(t);
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ(subs->at(0).events, std::vector<std::string>{"call.analyzed"});
  EXPECT_EQ(subs->at(0).description, "ops");

  auto one = [&](const std::string& event_id, Timestamp due) {
    NewDelivery n{DeliveryChannel::kWebhook, *sub, std::nullopt, "call.analyzed", event_id, R"({"call":1})"};
    return repo.enqueue(t, std::span<const NewDelivery>(&n, 1), due).value();
  };
  EXPECT_EQ(one("evt-1", at(0)), 1);
  EXPECT_EQ(one("evt-1", at(0)), 0) << "the same event id is enqueued once";
  EXPECT_EQ(one("evt-2", at(0)), 1);
  EXPECT_EQ(one("evt-3", at(1000)), 1);

  // Claim everything due at t=10 (this test's rows, possibly others' too): ours are evt-1/2.
  auto claimed = repo.claim_due(at(10), 1000, 30s);
  ASSERT_TRUE(claimed.has_value()) << claimed.error().to_string();
  std::vector<Delivery> mine;
  for (auto& d : *claimed) {
    if (d.bid == t.bid()) mine.push_back(d);
  }
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].attempts, 1);
  // Leased: a second dispatcher at the same time gets none of them.
  auto again = repo.claim_due(at(10), 1000, 30s);
  for (auto& d : *again) EXPECT_NE(d.bid, t.bid());
  auto outcome = [&](Id delivery, std::int64_t attempt, AttemptKind kind, int code) {
    AttemptOutcome o;
    o.delivery_id = delivery;
    o.bid = t.bid();
    o.subscription_id = *sub;
    o.attempt = attempt;
    o.kind = kind;
    o.response_code = code;
    o.at = at(11);
    return o;
  };
  std::vector<AttemptOutcome> outcomes{outcome(mine[0].id, 1, AttemptKind::kDelivered, 200),
                                       outcome(mine[1].id, 1, AttemptKind::kRetry, 500),
                                       outcome(mine[1].id, 2, AttemptKind::kFailed, 500)};
  outcomes[1].next_attempt_at = at(100);
  ASSERT_TRUE(repo.record(outcomes, 20).value().empty());
  EXPECT_EQ(repo.list_attempts(t, mine[1].id)->size(), 2u);
  auto list = repo.list_deliveries(t, *sub, 10, std::nullopt);
  ASSERT_EQ(list->size(), 3u);
  int delivered = 0, failed = 0, pending = 0;
  for (auto& d : *list) {
    delivered += d.status == DeliveryStatus::kDelivered;
    failed += d.status == DeliveryStatus::kFailed;
    pending += d.status == DeliveryStatus::kPending;
  }
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(pending, 1);

  WebhookSubscriptionPatch disable;
  disable.enabled = false;
  EXPECT_TRUE(repo.update_subscription(t, *sub, disable).value());
  EXPECT_EQ(one("evt-9", at(0)), 0) << "a disabled subscription gets no deliveries";
  EXPECT_TRUE(repo.remove_subscription(t, *sub).value());
  EXPECT_TRUE(repo.list_deliveries(t, *sub, 10, std::nullopt)->empty());
  EXPECT_EQ(repo.signing_secret(t, *sub).error().code, ErrorCode::kNotFound);
}

TEST(Database, PoolWaitIsBoundedAndErrorsAreMapped) {
  auto settings = mysql_settings(StorageEnvironment::database_name(), 1);
  PoolOptions opts;
  opts.acquire_timeout = 100ms;
  Database db(settings, opts);
  auto held = db.acquire();
  ASSERT_TRUE(held.has_value());
  auto second = db.acquire();
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  { auto released = std::move(*held); }
  EXPECT_TRUE(db.acquire().has_value());

  EXPECT_EQ(db.execute("SELECT * FROM no_such_table").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(db.execute("SELECT ? + ?", {1}).error().code, ErrorCode::kInternal);  // arity bug

  auto bad = mysql_settings(StorageEnvironment::database_name(), 1);
  bad.port = 1;  // nothing listens there
  Database down(bad);
  auto r = down.execute("SELECT 1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(Database, ReconnectsAfterTheServerDropsTheConnection) {
  Database db(mysql_settings(StorageEnvironment::database_name(), 1));
  auto id = db.execute("SELECT CONNECTION_ID()");
  ASSERT_TRUE(id.has_value());
  const auto conn_id = id->rows[0][0].as_int();
  // Kill our own pooled connection from another one.
  Database killer(mysql_settings(StorageEnvironment::database_name(), 1));
  ASSERT_TRUE(killer.execute(fmt::format("KILL CONNECTION {}", conn_id)).has_value());
  auto lost = db.execute("SELECT 1");
  if (lost.has_value()) GTEST_SKIP() << "server closed the connection lazily";
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable);
  // The next use reconnects.
  auto again = db.execute("SELECT CONNECTION_ID()");
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_NE(again->rows[0][0].as_int(), conn_id);
}

TEST(Database, DeadlocksAreRetried) {
  auto t = new_tenant();
  MySqlHumanAgentRepository agents(StorageEnvironment::db());
  const Id a = agents.upsert(t, {"dl-a", "A", "", ""}).value();
  const Id b = agents.upsert(t, {"dl-b", "B", "", ""}).value();
  Database db(mysql_settings(StorageEnvironment::database_name(), 4));
  // Two transactions lock a and b in opposite orders; the barrier makes them overlap.
  std::atomic<int> arrived{0};
  auto run = [&](Id first, Id second) {
    return db.transaction([&](Connection& c) -> Status {
      auto r1 = c.execute("UPDATE human_agents SET escalations = escalations + 1 WHERE id = ?", {first});
      if (!r1) return std::unexpected(r1.error());
      arrived.fetch_add(1);
      wait_until([&] { return arrived.load() >= 2; }, 2s, 1ms);
      auto r2 = c.execute("UPDATE human_agents SET escalations = escalations + 1 WHERE id = ?", {second});
      if (!r2) return std::unexpected(r2.error());
      return {};
    });
  };
  Status s1, s2;
  std::thread t1([&] { s1 = run(a, b); });
  std::thread t2([&] { s2 = run(b, a); });
  t1.join();
  t2.join();
  EXPECT_TRUE(s1.has_value()) << s1.error().to_string();
  EXPECT_TRUE(s2.has_value()) << s2.error().to_string();
  EXPECT_GE(db.transaction_retries(), 1u);
  EXPECT_EQ(agents.get(t, a)->escalations, 2);
  EXPECT_EQ(agents.get(t, b)->escalations, 2);
}

// The read deadline (EARSHOT_MYSQL_READ_TIMEOUT): a statement that outlasts it
// fails as a lost connection instead of hanging the caller, and the pool then reconnects.
TEST(Connection, ReadDeadlineEndsAStatementThatOutlastsIt) {
  auto settings = mysql_settings(StorageEnvironment::database_name(), 1);
  settings.read_timeout = 1s;
  Database db(settings);
  auto quick = db.execute("SELECT 7", {});
  ASSERT_TRUE(quick) << quick.error().to_string();
  EXPECT_EQ(quick->rows.at(0).at(0).as_int(), 7);
  auto slow = db.execute("SELECT SLEEP(4)", {});
  ASSERT_FALSE(slow) << "a 4 s statement returned under a 1 s read deadline";
  EXPECT_EQ(slow.error().code, ErrorCode::kUnavailable) << slow.error().to_string();
  // The next statement gets a fresh connection.
  auto after = db.execute("SELECT 8", {});
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_EQ(after->rows.at(0).at(0).as_int(), 8);
}

}  // namespace
}  // namespace earshot::testing
