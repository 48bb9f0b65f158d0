// The admin routes' validation through the Router against in-memory repositories: users,
// API keys, business registration and status. Handlers are called directly (the dispatcher's
// policies have their own tests); no database, broker or network.
#include <gtest/gtest.h>

#include "earshot/api/gateway.hpp"
#include "earshot/crypto/api_key.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/queue/messages.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/storage/agent_configs_fake.hpp"
#include "fakes/storage/analyses_fake.hpp"
#include "fakes/storage/analytics_fake.hpp"
#include "fakes/storage/api_keys_fake.hpp"
#include "fakes/storage/businesses_fake.hpp"
#include "fakes/storage/call_details_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/category_matches_fake.hpp"
#include "fakes/storage/chat_fake.hpp"
#include "fakes/storage/crm_leads_fake.hpp"
#include "fakes/storage/deliveries_fake.hpp"
#include "fakes/storage/embeddings_fake.hpp"
#include "fakes/storage/escalations_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/human_agents_fake.hpp"
#include "fakes/storage/knowledge_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"
#include "fakes/storage/notes_fake.hpp"
#include "fakes/storage/pipeline_configs_fake.hpp"
#include "fakes/storage/pipeline_status_fake.hpp"
#include "fakes/storage/refresh_tokens_fake.hpp"
#include "fakes/storage/rule_sets_fake.hpp"
#include "fakes/storage/run_locks_fake.hpp"
#include "fakes/storage/transcripts_fake.hpp"
#include "fakes/storage/users_fake.hpp"
#include "fakes/storage/watermarks_fake.hpp"

namespace earshot::api {
namespace {

using storage::TenantId;

// Records what the routes ask of the broker.
class FakeQueueControl final : public QueueControl {
 public:
  Status declare_business(const std::string& bid) override {
    std::lock_guard l(mu);
    declared.push_back(bid);
    return {};
  }
  Status publish(std::vector<queue::OutgoingMessage> messages) override {
    std::lock_guard l(mu);
    for (auto& m : messages) published.push_back(std::move(m));
    return {};
  }
  const queue::TopologySettings& topology() const override { return topology_; }
  Result<std::uint32_t> queue_depth(const std::string&) override { return 0u; }

  std::mutex mu;
  std::vector<std::string> declared;
  std::vector<queue::OutgoingMessage> published;

 private:
  queue::TopologySettings topology_;
};

class AdminRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(businesses.create(acme, "Acme"));
    ASSERT_TRUE(businesses.create(globex, "Globex"));
    add_admin_routes(router, services);
  }

  Result<Reply> call(const std::string& method, const std::string& path, const Json& body = nullptr,
                     Principal who = business_admin()) {
    auto found = router.find(method, path);
    if (!found.match) return make_error(ErrorCode::kNotFound, "no route " + method + " " + path);
    Request req;
    req.method = method;
    req.path = path;
    req.target = path;
    req.path_params = found.match->params;
    if (!body.is_null()) req.body = body.dump();
    req.principal = std::move(who);
    return found.match->route->handler(req);
  }
  static Principal business_admin() {
    Principal p;
    p.kind = Principal::Kind::kUser;
    p.id = 1;
    p.bid = "acme";
    p.role = Role::kAdmin;
    return p;
  }
  static Principal platform_admin() {
    Principal p;
    p.kind = Principal::Kind::kPlatformAdmin;
    p.id = 1;
    p.role = Role::kPlatformAdmin;
    return p;
  }
  static void expect_invalid(const Result<Reply>& r, const std::string& message) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message, message);
  }
  storage::Id user_id(const TenantId& t, const std::string& email) { return users.find_by_email(t, email)->id; }

  const TenantId acme = *TenantId::make("acme");
  const TenantId globex = *TenantId::make("globex");
  testing::FakeClock clock;
  crypto::Keyring keyring = *crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k");
  testing::FakeBusinessRepository businesses;
  testing::FakeUserRepository users{businesses};
  testing::FakeApiKeyRepository api_keys{businesses};
  testing::FakePipelineConfigRepository pipeline_configs;
  testing::FakeAgentConfigRepository agent_configs;
  testing::FakeHumanAgentRepository human_agents;
  testing::FakeRuleSetRepository categories;
  testing::FakeRuleSetRepository scorecards;
  testing::FakeNoteRepository notes;
  testing::FakeRefreshTokenRepository refresh_tokens{users};
  testing::FakeAnalyticsRepository analytics;
  testing::FakePipelineStatusRepository pipeline_status;
  testing::FakeCallDetailRepository call_details;
  // The call pipeline's repositories, which the admin routes do not reach.
  testing::FakeCallRepository calls;
  testing::FakeMetricsRepository metrics{calls};
  testing::FakeProcessingEventRepository events{calls};
  testing::FakeTranscriptRepository transcripts{calls, metrics, events};
  testing::FakeEscalationRepository escalations{calls};
  testing::FakeAnalysisRepository analyses{calls, escalations};
  testing::FakeEmbeddingRepository embeddings{calls};
  testing::FakeWatermarkRepository watermarks;
  testing::FakeCrmLeadRepository crm_leads;
  testing::FakeCategoryMatchRepository category_matches{calls};
  testing::FakeDeliveryRepository deliveries;
  testing::FakeRunLocks run_locks;
  testing::FakeKnowledgeRepository knowledge;
  testing::FakeChatRepository chat;
  storage::Repositories repos{businesses, users,          api_keys,   pipeline_configs, agent_configs,    human_agents,
                              calls,      transcripts,    metrics,    analyses,         embeddings,       events,
                              watermarks, crm_leads,      categories, scorecards,       category_matches, escalations,
                              notes,      refresh_tokens, analytics,  pipeline_status,  call_details,     deliveries,
                              run_locks,  knowledge,      chat};
  JwtCodec jwt = *JwtCodec::make(std::string(48, 'k'), std::chrono::minutes(15), clock);
  AuthService auth{repos, jwt, clock, std::chrono::hours(1)};
  FakeQueueControl queues;
  GatewayServices services{repos, keyring, clock, auth, queues, "/nonexistent", nullptr, nullptr, "{}"};
  Router router;
};

TEST_F(AdminRoutesTest, UserCreationValidatesAndKeepsEmailsUniqueOnThePlatform) {
  const std::string path = "/api/v1/admin/businesses/acme/users";
  expect_invalid(call("POST", path, {{"email", "no-at-sign"}, {"password", "long enough"}}),
                 "email must be an e-mail address");
  auto short_pw = call("POST", path, {{"email", "bob@acme.test"}, {"password", "short"}});
  ASSERT_FALSE(short_pw);
  EXPECT_EQ(short_pw.error().code, ErrorCode::kInvalidArgument);
  expect_invalid(call("POST", path, {{"email", "bob@acme.test"}, {"password", "long enough"}, {"role", "owner"}}),
                 "role must be admin|analyst|viewer");
  auto extra = call("POST", path, {{"email", "bob@acme.test"}, {"password", "long enough"}, {"bid", "globex"}});
  ASSERT_FALSE(extra);
  EXPECT_EQ(extra.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(users.list(acme)->empty());  // nothing was created by a refused request

  auto made =
      call("POST", path,
           {{"email", "bob@acme.test"}, {"password", "long enough"}, {"role", "analyst"}, {"display_name", "Bob"}});
  ASSERT_TRUE(made) << made.error().to_string();
  EXPECT_EQ(made->status, 201);
  EXPECT_EQ(made->json["email"], "bob@acme.test");
  EXPECT_EQ(made->json["role"], "analyst");
  EXPECT_EQ(made->json.count("password_hash"), 0u);  // never shown
  auto stored = users.find_by_email(acme, "bob@acme.test");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(crypto::verify_password(stored->password_hash, "long enough"));

  // The same e-mail in another business, any case: refused.
  auto dup = call("POST", "/api/v1/admin/businesses/globex/users",
                  {{"email", "BOB@acme.test"}, {"password", "long enough"}, {"role", "viewer"}}, platform_admin());
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  // A business that does not exist answers as absent.
  auto absent =
      call("POST", "/api/v1/admin/businesses/initech/users",
           {{"email", "carol@initech.test"}, {"password", "long enough"}, {"role", "viewer"}}, platform_admin());
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, ErrorCode::kNotFound);
}

TEST_F(AdminRoutesTest, UserChangesApplyOnlyWhenValidAndOnlyInTheBusiness) {
  storage::User u;
  u.email = "dave@acme.test";
  u.role = storage::UserRole::kViewer;
  u.password_hash = *crypto::hash_password("old password");
  const auto dave = *users.create(acme, u);
  const std::string path = "/api/v1/admin/businesses/acme/users/" + std::to_string(dave);

  expect_invalid(call("PATCH", path, {{"role", "root"}}), "role must be admin|analyst|viewer");
  EXPECT_EQ(users.get(acme, dave)->role, storage::UserRole::kViewer);
  auto promoted = call("PATCH", path, {{"role", "admin"}, {"disabled", true}});
  ASSERT_TRUE(promoted) << promoted.error().to_string();
  EXPECT_EQ(promoted->json["role"], "admin");
  EXPECT_EQ(promoted->json["disabled"], true);
  EXPECT_EQ(users.get(acme, dave)->role, storage::UserRole::kAdmin);
  EXPECT_TRUE(users.get(acme, dave)->disabled);
  ASSERT_FALSE(call("PATCH", path, {{"password", "short"}}));
  EXPECT_TRUE(crypto::verify_password(users.get(acme, dave)->password_hash, "old password"));
  ASSERT_TRUE(call("PATCH", path, {{"password", "a new password"}}));
  EXPECT_TRUE(crypto::verify_password(users.get(acme, dave)->password_hash, "a new password"));

  // Globex's admin cannot reach Dave through Globex's path: he is not Globex's user.
  const std::string foreign = "/api/v1/admin/businesses/globex/users/" + std::to_string(dave);
  Principal globex_admin = business_admin();
  globex_admin.bid = "globex";
  EXPECT_EQ(call("PATCH", foreign, {{"role", "viewer"}}, globex_admin).error().code, ErrorCode::kNotFound);
  auto gone = call("DELETE", foreign, nullptr, globex_admin);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "no such user");
  EXPECT_TRUE(users.get(acme, dave));
  auto removed = call("DELETE", path);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 204);
  EXPECT_EQ(users.get(acme, dave).error().code, ErrorCode::kNotFound);
}

TEST_F(AdminRoutesTest, ApiKeyScopesAreCheckedAndTheSecretShownOnce) {
  const std::string path = "/api/v1/admin/businesses/acme/api-keys";
  const std::string scopes_msg = "scopes must be a non-empty list of ingest|read|embed";
  expect_invalid(call("POST", path, {{"name", "k"}, {"scopes", Json::array()}}), scopes_msg);
  expect_invalid(call("POST", path, {{"name", "k"}, {"scopes", {"write"}}}), scopes_msg);
  expect_invalid(call("POST", path, {{"name", "k"}, {"scopes", {"embed", "ingest"}}}),
                 "embed keys are read-only: they cannot also have ingest");
  EXPECT_TRUE(api_keys.list(acme)->empty());

  auto made = call("POST", path, {{"name", "uploader"}, {"scopes", {"ingest", "read", "ingest"}}});
  ASSERT_TRUE(made) << made.error().to_string();
  EXPECT_EQ(made->status, 201);
  EXPECT_EQ(made->json["scopes"], Json({"ingest", "read"}));  // duplicates dropped
  const auto secret = made->json["secret"].get<std::string>();
  auto p = auth.authenticate_api_key(secret);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->bid, "acme");
  auto listed = call("GET", path);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->json["items"].size(), 1u);
  EXPECT_FALSE(listed->json["items"][0].contains("secret"));

  const std::string key = path + "/" + std::to_string(made->json["id"].get<std::int64_t>());
  ASSERT_TRUE(call("DELETE", key));
  EXPECT_FALSE(auth.authenticate_api_key(secret));
  EXPECT_EQ(call("DELETE", key).error().message, "no such API key");  // already revoked
}

TEST_F(AdminRoutesTest, RegisteringABusinessRefusesATakenAdminEmailBeforeMakingAnything) {
  storage::User u;
  u.email = "erin@acme.test";
  u.password_hash = *crypto::hash_password("whatever1");
  ASSERT_TRUE(users.create(acme, u));
  const Json body = {
      {"bid", "initech"}, {"name", "Initech"}, {"admin_email", "erin@acme.test"}, {"admin_password", "long enough"}};
  auto taken = call("POST", "/api/v1/admin/businesses", body, platform_admin());
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(businesses.get(*TenantId::make("initech")).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(queues.declared.empty());

  auto bad_pw = call(
      "POST", "/api/v1/admin/businesses",
      {{"bid", "initech"}, {"name", "Initech"}, {"admin_email", "frank@initech.test"}, {"admin_password", "short"}},
      platform_admin());
  ASSERT_FALSE(bad_pw);
  EXPECT_EQ(bad_pw.error().message, "admin_password must be at least 8 characters");

  Json ok = body;
  ok["admin_email"] = "frank@initech.test";
  auto made = call("POST", "/api/v1/admin/businesses", ok, platform_admin());
  ASSERT_TRUE(made) << made.error().to_string();
  EXPECT_EQ(made->status, 201);
  EXPECT_EQ(made->json["bid"], "initech");
  const auto initech = *TenantId::make("initech");
  EXPECT_EQ(queues.declared, std::vector<std::string>{"initech"});
  EXPECT_EQ(queues.published.size(), 1u);  // the registered event
  EXPECT_TRUE(pipeline_configs.get(initech));
  EXPECT_FALSE(agent_configs.list(initech, false)->empty());  // default agents seeded
  auto admin = users.find_by_email(initech, "frank@initech.test");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->role, storage::UserRole::kAdmin);
  // The bid is taken now.
  EXPECT_EQ(
      call("POST", "/api/v1/admin/businesses", {{"bid", "initech"}, {"name", "Again"}}, platform_admin()).error().code,
      ErrorCode::kAlreadyExists);
}

TEST_F(AdminRoutesTest, DisablingABusinessTellsTheWorkersAndEndsItsSessions) {
  auto s = auth.login("nobody@acme.test", "irrelevant", std::nullopt);
  ASSERT_FALSE(s);
  storage::User u;
  u.email = "gina@acme.test";
  u.password_hash = *crypto::hash_password("gina's password");
  ASSERT_TRUE(users.create(acme, u));
  auto session = auth.login("gina@acme.test", "gina's password", std::nullopt);
  ASSERT_TRUE(session);

  expect_invalid(call("PATCH", "/api/v1/admin/businesses/acme", {{"status", "paused"}}, platform_admin()),
                 "status must be active|disabled");
  auto off =
      call("PATCH", "/api/v1/admin/businesses/acme", {{"status", "disabled"}, {"name", "Acme Corp"}}, platform_admin());
  ASSERT_TRUE(off) << off.error().to_string();
  EXPECT_EQ(off->json["status"], "disabled");
  EXPECT_EQ(off->json["name"], "Acme Corp");
  EXPECT_EQ(queues.published.size(), 1u);  // the disabled event
  EXPECT_FALSE(auth.refresh(session->refresh_token));
  EXPECT_FALSE(auth.login("gina@acme.test", "gina's password", std::nullopt));

  auto on = call("PATCH", "/api/v1/admin/businesses/acme", {{"status", "active"}}, platform_admin());
  ASSERT_TRUE(on);
  EXPECT_EQ(queues.declared, std::vector<std::string>{"acme"});  // re-enabling declares its queues again
  EXPECT_EQ(queues.published.size(), 2u);
  EXPECT_EQ(call("PATCH", "/api/v1/admin/businesses/initech", {{"name", "X"}}, platform_admin()).error().code,
            ErrorCode::kNotFound);
}

// A saved config that changes the embedder queues one reembed message for the business's
// embed worker; saving it again unchanged, or changing anything else, queues nothing.
TEST_F(AdminRoutesTest, ChangingTheEmbedderQueuesAReembedOfTheKnowledgeBase) {
  const std::string path = "/api/v1/admin/businesses/acme/pipeline-config";
  auto r = call("PUT", path, {{"language", "de"}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(queues.published.empty());  // hashed-bow, as before (the default)

  r = call("PUT", path, {{"embedding_provider", "openai"}});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(queues.published.size(), 1U);
  EXPECT_EQ(queues.published[0].routing_key, "embed.acme");
  const auto m = queue::EmbedRequest::parse(queues.published[0].body);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->kind, queue::EmbedKind::kReembed);
  EXPECT_EQ(m->bid, "acme");
  EXPECT_EQ(m->id, "openai");

  r = call("PUT", path, {{"embedding_provider", "openai"}, {"language", "en"}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(queues.published.size(), 1U);
}

}  // namespace
}  // namespace earshot::api
