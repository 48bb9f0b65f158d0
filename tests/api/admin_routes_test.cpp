// The admin routes' validation through the Router against in-memory repositories: users,
// API keys, business registration and status. Handlers are called directly (the dispatcher's
// policies have their own tests); no database, broker or network.
#include <gtest/gtest.h>

#include <functional>

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
    if (on_publish) on_publish();
    std::lock_guard l(mu);
    if (down) return make_error(ErrorCode::kUnavailable, "broker connection lost");
    for (auto& m : messages) published.push_back(std::move(m));
    return {};
  }
  const queue::TopologySettings& topology() const override { return topology_; }
  Result<std::uint32_t> queue_depth(const std::string&) override { return 0u; }

  std::mutex mu;
  bool down = false;                 // refuse every publish
  std::function<void()> on_publish;  // runs first in every publish
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
  const std::string scopes_msg = "scopes must be a non-empty list of ingest|read|embed|pii:read";
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

// A config change of the embedder queues one reembed message for the business's embed
// worker, before the change is saved; saving it again unchanged, or changing anything else,
// queues nothing.
TEST_F(AdminRoutesTest, ChangingTheEmbedderQueuesAReembedBeforeSavingIt) {
  const std::string path = "/api/v1/admin/businesses/acme/pipeline-config";
  auto r = call("PUT", path, {{"language", "de"}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(queues.published.empty());  // hashed-bow, as before (the default)

  std::optional<std::string> stored_at_publish;
  queues.on_publish = [&] { stored_at_publish = pipeline_configs.get(acme)->embedding_provider; };
  r = call("PUT", path, {{"embedding_provider", "ollama:nomic-embed-text:latest"}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->json["embedding_provider"], "ollama:nomic-embed-text:latest");
  EXPECT_EQ(stored_at_publish, "hashed-bow");  // queued first, saved after
  ASSERT_EQ(queues.published.size(), 1U);
  EXPECT_EQ(queues.published[0].routing_key, "embed.acme");
  const auto m = queue::EmbedRequest::parse(queues.published[0].body);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->kind, queue::EmbedKind::kReembed);
  EXPECT_EQ(m->bid, "acme");
  EXPECT_EQ(m->id, "ollama:nomic-embed-text:latest");
  EXPECT_EQ(pipeline_configs.get(acme)->embedding_provider, "ollama:nomic-embed-text:latest");

  r = call("PUT", path, {{"embedding_provider", "ollama:nomic-embed-text:latest"}, {"language", "en"}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(queues.published.size(), 1U);
}

// The broker refuses the reembed message: nothing is saved (the embedder and every other
// field of the request stay as they were) and the answer is 503 with the reason; once the
// broker is back the same request saves and queues.
TEST_F(AdminRoutesTest, ARefusedReembedSavesNothingAndAnswersUnavailable) {
  const std::string path = "/api/v1/admin/businesses/acme/pipeline-config";
  ASSERT_TRUE(call("PUT", path, {{"language", "en"}}));
  const auto before = *pipeline_configs.get(acme);
  queues.down = true;
  const Json change{{"embedding_provider", "openai:text-embedding-3-small"}, {"language", "de"}};
  auto r = call("PUT", path, change);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->json["error"]["code"], "unavailable");
  EXPECT_EQ(r->json["error"]["message"],
            "the new embedding_provider could not be queued for re-embedding (the message broker refused it); nothing "
            "was saved, try again");
  const auto after = *pipeline_configs.get(acme);
  EXPECT_EQ(after.embedding_provider, "hashed-bow");
  EXPECT_EQ(after.language, "en");
  EXPECT_EQ(after.version, before.version);

  // A change that needs no message is saved while the broker is down.
  r = call("PUT", path, {{"language", "fr"}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(pipeline_configs.get(acme)->language, "fr");

  queues.down = false;
  r = call("PUT", path, change);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(pipeline_configs.get(acme)->embedding_provider, "openai:text-embedding-3-small");
  ASSERT_EQ(queues.published.size(), 1U);
  EXPECT_EQ(queue::EmbedRequest::parse(queues.published[0].body)->id, "openai:text-embedding-3-small");
}

// Provider names are checked by the parsers the workers build providers with: every form
// they read is accepted, anything else is 400 naming the valid forms, with nothing saved or
// queued. Values that look like URLs, paths, or carry control characters are refused.
TEST_F(AdminRoutesTest, ProviderNamesAreTheFormsTheProvidersUnderstand) {
  const std::string path = "/api/v1/admin/businesses/acme/pipeline-config";
  for (const char* ok :
       {"hashed-bow", "hashed-bow:8", "hashed-bow:4096", "ollama:nomic-embed-text", "ollama:nomic-embed-text:latest",
        "ollama:hf.co/org/model:Q4_K_M", "openai:text-embedding-3-small", "bedrock:amazon.titan-embed-text-v2:0",
        "ollama:library/mxbai-embed-large@sha256"}) {
    auto r = call("PUT", path, {{"embedding_provider", ok}});
    ASSERT_TRUE(r) << ok << ": " << r.error().to_string();
    EXPECT_EQ(pipeline_configs.get(acme)->embedding_provider, ok);
  }
  for (const char* ok : {"pocketsphinx", "local", "none", "sarvam", "deepgram", "openai", "whisper_cpp"}) {
    auto r = call("PUT", path, {{"stt_provider", ok}});
    ASSERT_TRUE(r) << ok << ": " << r.error().to_string();
    EXPECT_EQ(pipeline_configs.get(acme)->stt_provider, ok);
  }

  const auto saved = *pipeline_configs.get(acme);
  const std::size_t queued = queues.published.size();
  const std::string forms =
      "it must be hashed-bow, hashed-bow:N (N from 8 to 4096), ollama:MODEL, openai:MODEL or bedrock:MODEL";
  const std::string bad_model =
      "embedding_provider has a bad model name (1-120 letters, digits and . _ - : / @, starting with a letter or "
      "digit, no .. or //); " +
      forms;
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"word2vec:x", "embedding_provider names an unknown provider 'word2vec'; " + forms},
      {"OLLAMA:nomic", "embedding_provider names an unknown provider 'OLLAMA'; " + forms},
      {":256", "embedding_provider names no known provider; " + forms},
      {"ollama", "embedding_provider 'ollama' needs a model (ollama:MODEL); " + forms},
      {"openai:", "embedding_provider 'openai' needs a model (openai:MODEL); " + forms},
      {"hashed-bow:3", "embedding_provider hashed-bow:N needs N from 8 to 4096; " + forms},
      {"hashed-bow:256abc", "embedding_provider hashed-bow:N needs N from 8 to 4096; " + forms},
      {"hashed-bow: 256", "embedding_provider hashed-bow:N needs N from 8 to 4096; " + forms},
      {"hashed-bow:", "embedding_provider hashed-bow:N needs N from 8 to 4096; " + forms},
      {"ollama:http://169.254.169.254/", bad_model},
      {"ollama:../../etc/passwd", bad_model},
      {"bedrock:..", bad_model},
      {"openai:/v1/files", bad_model},
      {"ollama:nomic embed", bad_model},
      {"ollama:nomic\nembed", bad_model},
      {std::string("ollama:nomic\0x", 14), bad_model},
      {"ollama:m?x=1", bad_model},
      {"ollama:m#frag", bad_model},
      {"openai:%2e%2e", bad_model},
      {"ollama:" + std::string(58, 'm'), "embedding_provider must be 1-64 characters"},
      {"", "embedding_provider must be 1-64 characters"},
  };
  for (const auto& [value, message] : refused) {
    SCOPED_TRACE(value);
    expect_invalid(call("PUT", path, {{"embedding_provider", value}}), message);
  }
  const std::string stt =
      "stt_provider must be one of pocketsphinx, local, none, sarvam, deepgram, openai, whisper_cpp";
  for (const char* bad : {"sarvam:saarika:v2.5", "whisper", "'; DROP TABLE x", "deepgram\n", "http://169.254.169.254/",
                          "Sarvam", "none "}) {
    expect_invalid(call("PUT", path, {{"stt_provider", bad}}), stt);
  }
  expect_invalid(call("PUT", path, {{"stt_provider", std::string(65, 's')}}), "stt_provider must be 1-64 characters");
  expect_invalid(call("PUT", path, {{"embedding_provider", 7}}), "embedding_provider must be a string");

  const auto now = *pipeline_configs.get(acme);
  EXPECT_EQ(now.version, saved.version);  // nothing saved
  EXPECT_EQ(now.embedding_provider, saved.embedding_provider);
  EXPECT_EQ(now.stt_provider, saved.stt_provider);
  EXPECT_EQ(queues.published.size(), queued);  // nothing queued
}

// The offline engine's options are a vocabulary, checked when sent: good ones are saved, a
// bad entry or another provider's key is 400 naming it, with nothing saved.
TEST_F(AdminRoutesTest, OfflineEngineVocabularyIsChecked) {
  const std::string path = "/api/v1/admin/businesses/acme/pipeline-config";
  const Json vocabulary = Json::parse(R"({"vocabulary": ["paula", {"word": "zentrix", "sounds_like": "zen tricks"}]})");
  auto r = call("PUT", path, {{"stt_provider", "pocketsphinx"}, {"stt_options", vocabulary}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(Json::parse(pipeline_configs.get(acme)->stt_options_json), vocabulary);
  const auto saved = *pipeline_configs.get(acme);
  expect_invalid(call("PUT", path, {{"stt_options", Json::parse(R"({"vocabulary": ["two words"]})")}}),
                 "stt options: vocabulary[0] word 'two words' may only hold letters, digits, ' and - (one word per "
                 "entry)");
  expect_invalid(call("PUT", path, {{"stt_options", Json::parse(R"({"base_url": "http://x"})")}}),
                 "stt options: 'base_url' is not a known key of the pocketsphinx engine (vocabulary)");
  expect_invalid(call("PUT", path,
                      {{"stt_provider", "local"},
                       {"stt_options", Json::parse(R"({"vocabulary": [{"word": "x1", "boost": 0}]})")}}),
                 "stt options: vocabulary[0] boost must be a number in [1, 1000]");
  EXPECT_EQ(pipeline_configs.get(acme)->version, saved.version);  // nothing saved
  // Another provider's options are that provider's business.
  auto d = call("PUT", path, {{"stt_provider", "deepgram"}, {"stt_options", Json::parse(R"({"model": "nova-2"})")}});
  ASSERT_TRUE(d) << d.error().to_string();
}

}  // namespace
}  // namespace earshot::api
