#include "gateway_fixture.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "earshot/api/rag_events.hpp"
#include "earshot/crypto/password.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "test_env.hpp"

namespace earshot::testing {

Gateway::Gateway(api::RateLimitOptions limits, std::int64_t max_body, ingest::IngestSettings ingest,
                 api::LoginThrottlePolicy login_policy, std::shared_ptr<objectstore::ObjectStore> store,
                 std::int64_t listener_threads, std::string amqp_url, queue::PublisherOptions publisher) {
  const auto ep = endpoints();
  auto& db = StorageEnvironment::db();
  keys = std::make_unique<crypto::Keyring>(*crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k"));
  objects = std::filesystem::temp_directory_path() / ("earshot-gw-" + unique_suffix());
  std::filesystem::create_directories(objects);
  repos_ = std::make_unique<storage::MySqlRepositories>(db, *keys);
  jwt_secret_ = std::string(48, 'j') + unique_suffix();
  jwt_.emplace(*api::JwtCodec::make(jwt_secret_, std::chrono::minutes(5), SystemClock::instance()));
  auth_ = std::make_unique<api::AuthService>(repos_->repos(), *jwt_, SystemClock::instance(), std::chrono::hours(1));
  authenticator_ = std::make_unique<api::ServiceAuthenticator>(*auth_);
  queue::AmqpSettings amqp;
  amqp.url = amqp_url.empty() ? ep.amqp_url : amqp_url;  // another: a broker that is down
  amqp.heartbeat = std::chrono::seconds(30);
  amqp.connect_timeout = std::chrono::seconds(5);
  queue::TopologySettings topology;
  publisher_ = std::make_unique<queue::Publisher>(amqp, publisher);
  publisher_->start();
  queues_ = std::make_unique<api::AmqpQueueControl>(amqp, topology, *publisher_);
  topology_admin = std::make_unique<queue::TopologyAdmin>(amqp, topology);
  cache::RedisSettings redis;
  redis.url = ep.redis_url;
  redis.timeout = std::chrono::seconds(2);
  redis_ = std::move(*cache::RedisClient::make(redis));
  limiter_ = std::make_unique<cache::RedisRateLimiter>(*redis_, "earshot:test:" + unique_suffix() + ":");
  // Failed-login throttling as the gateway runs it (Redis), under this gateway's own prefix.
  login_failures_ =
      std::make_unique<api::RedisLoginFailureStore>(*redis_, "earshot:test:" + unique_suffix() + ":login:");
  login_throttle_ = std::make_unique<api::LoginThrottle>(*login_failures_, SystemClock::instance(), login_policy);
  auth_->set_login_throttle(login_throttle_.get());
  live_events_ = std::make_unique<cache::LiveEvents>(*redis_, SystemClock::instance(), &metrics_);
  provider_error_store_ = std::make_unique<cache::RedisProviderErrorStore>(*redis_);
  cache::ProviderErrorOptions perr;
  perr.prefix = "earshot:test:" + unique_suffix() + ":perr:";
  provider_errors_ =
      std::make_unique<cache::ProviderErrorRecorder>(*provider_error_store_, SystemClock::instance(), &metrics_, perr);
  event_hub_ = std::make_unique<api::EventHub>(
      *live_events_, api::EventStreamSettings{std::chrono::seconds(15), 4, std::chrono::seconds(1)}, &metrics_);
  services_ = std::make_unique<api::GatewayServices>(
      api::GatewayServices{repos_->repos(), *keys, SystemClock::instance(), *auth_, *queues_, objects.string(), nullptr,
                           &metrics_, api::openapi_document(), event_hub_.get()});
  services_->ingest = std::move(ingest);
  services_->object_store = std::move(store);  // null: the local store in `objects`
  chunk_source = std::make_unique<rag::StorageChunkSource>(repos_->repos().embeddings, repos_->repos().knowledge);
  rag_index = std::make_unique<rag::IndexRegistry>(*chunk_source, SystemClock::instance(), rag::RegistrySettings{});
  retriever = std::make_unique<rag::IndexRetriever>(*rag_index, repos_->repos().calls, repos_->repos().embeddings,
                                                    repos_->repos().knowledge, &repos_->repos().transcripts);
  llm_http_ = std::make_unique<http::CurlHttpClient>();
  llm_ = std::make_unique<pipeline::LlmProviderFactory>(*llm_http_, SystemClock::instance(), pipeline::LlmSettings{},
                                                        nullptr, provider_errors_.get());
  services_->retriever = retriever.get();
  services_->rag_index = rag_index.get();
  services_->llm = llm_.get();
  services_->provider_errors = provider_errors_.get();
  index_events_ = std::make_unique<cache::LiveEventSubscriber>(
      redis, [index = rag_index.get()](const std::string& bid, const cache::LiveEvent& event) {
        (void)api::apply_index_event(*index, bid, event);
      });
  if (auto st = index_events_->start(); !st) throw std::runtime_error(st.error().to_string());
  api::add_all_routes(router, *services_);
  dispatcher_ = std::make_unique<api::Dispatcher>(router, *authenticator_, limiter_.get(), limits,
                                                  SystemClock::instance(), metrics_);
  api::ApiSettings settings;
  settings.host = "127.0.0.1";
  settings.port = 0;
  settings.threads = listener_threads;
  settings.max_body_bytes = max_body;
  settings.read_timeout = std::chrono::seconds(5);
  settings.write_timeout = std::chrono::seconds(5);
  settings.cors_origins = "https://dash.example";
  http_ = std::make_unique<api::HttpServer>(settings, *dispatcher_, metrics_);
  if (auto st = http_->start(); !st) throw std::runtime_error(st.error().to_string());
  port = http_->bound_port();

  storage::MySqlUserRepository users(db);
  const std::string email = fmt::format("root-{}@platform.test", unique_suffix());
  if (!users.create_platform_admin(email, *crypto::hash_password(kPassword))) {
    throw std::runtime_error("cannot create the platform admin");
  }
  platform_token = login(email, kPassword);
}

Gateway::~Gateway() {
  event_hub_->close();
  http_->stop();
  index_events_->stop();
  for (const auto& bid : businesses) {
    for (auto stage : queue::kAllStages) (void)topology_admin->delete_business(stage, bid);
  }
  publisher_->stop();
  std::error_code ec;
  std::filesystem::remove_all(objects, ec);
}

HttpReply Gateway::raw_request(const std::string& method, const std::string& path, const std::string& body,
                               httplib::Headers headers) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(10, 0);
  cli.set_decompress(false);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = std::move(headers);
  req.body = body;
  if (!body.empty() && !req.has_header("Content-Type")) req.set_header("Content-Type", "application/json");
  auto res = cli.send(req);
  HttpReply out;
  if (!res) return out;
  out.status = res->status;
  out.body = res->body;
  out.headers = res->headers;
  out.json = nlohmann::json::parse(res->body, nullptr, false);
  return out;
}

HttpReply Gateway::request(const std::string& method, const std::string& path, const std::string& token,
                           const nlohmann::json& body, httplib::Headers extra) {
  if (!token.empty()) {
    extra.emplace("Authorization", token.starts_with("esk_") ? "ApiKey " + token : "Bearer " + token);
  }
  return raw_request(method, path, body.is_null() ? std::string() : body.dump(), std::move(extra));
}

std::string Gateway::login(const std::string& email, const std::string& password, const std::string& bid) {
  nlohmann::json body{{"email", email}, {"password", password}};
  if (!bid.empty()) body["bid"] = bid;
  auto r = request("POST", "/api/v1/auth/login", "", body);
  if (r.status != 200) throw std::runtime_error("login failed: " + r.body);
  return r.json["access_token"].get<std::string>();
}

std::string Gateway::new_business(const std::string& prefix) {
  const std::string bid = prefix + "-" + unique_suffix();
  auto r = request("POST", "/api/v1/admin/businesses", platform_token,
                   {{"bid", bid},
                    {"name", "Business " + bid},
                    {"admin_email", "admin@" + bid + ".test"},
                    {"admin_password", kPassword}});
  if (r.status != 201) throw std::runtime_error("register failed: " + r.body);
  businesses.push_back(bid);
  return bid;
}

std::string Gateway::user_token(const std::string& bid, const std::string& role) {
  std::string admin = login("admin@" + bid + ".test", kPassword, bid);
  if (role == "admin") return admin;
  const std::string email = role + "-" + unique_suffix() + "@" + bid + ".test";
  auto r = request("POST", "/api/v1/admin/businesses/" + bid + "/users", admin,
                   {{"email", email}, {"password", kPassword}, {"role", role}});
  if (r.status != 201) throw std::runtime_error("user create failed: " + r.body);
  return login(email, kPassword, bid);
}

namespace {

std::unique_ptr<Gateway> g_gateway;

// Stops the shared gateway and deletes the queues of the businesses it registered.
class GatewayEnvironment final : public ::testing::Environment {
 public:
  void TearDown() override { g_gateway.reset(); }
};
::testing::Environment* const kGatewayEnvironment = ::testing::AddGlobalTestEnvironment(new GatewayEnvironment);

}  // namespace

Gateway& gateway() {
  if (!g_gateway) g_gateway = std::make_unique<Gateway>();
  return *g_gateway;
}

storage::TenantId tenant(const std::string& bid) {
  return *storage::TenantId::make(bid);
}

std::string pct(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

storage::Id seed_call(const std::string& bid, const std::string& external, const std::string& city, double sentiment,
                      double talk_ratio, storage::CallStatus status, const std::string& audio_key) {
  auto& db = StorageEnvironment::db();
  storage::MySqlCallRepository calls(db);
  storage::CallInput in;
  in.external_id = external;
  in.city = city;
  in.language = "en";
  in.channels = 2;
  in.issue_category = "billing";
  in.started_at = storage::Timestamp(std::chrono::milliseconds(1'790'000'000'000LL));
  in.duration_ms = 60'000;
  in.customer_phone = "+15550100001";
  if (!audio_key.empty()) in.audio_uri = "store://" + audio_key;
  auto up = calls.upsert(tenant(bid), in);
  EXPECT_TRUE(up) << up.error().to_string();
  const auto id = up->id;
  storage::MySqlTranscriptRepository transcripts(db);
  storage::Transcript tr;
  tr.call_id = id;
  tr.segments_json = R"([{"speaker":"agent","start_ms":0,"end_ms":2500,"text":"thank you for calling","confidence":0.9},
                         {"speaker":"customer","start_ms":3000,"end_ms":65500,"text":"my refund never arrived","confidence":0.8}])";
  tr.full_text = "thank you for calling my refund never arrived";
  tr.provider = "test";
  tr.language = "en";
  EXPECT_TRUE(transcripts.put(tenant(bid), tr));
  storage::MySqlMetricsRepository metrics(db);
  storage::CallMetrics m;
  m.call_id = id;
  m.duration_ms = 60'000;
  m.agent_talk_ratio = talk_ratio;
  m.customer_sentiment = sentiment;
  EXPECT_TRUE(metrics.put(tenant(bid), m));
  if (status == storage::CallStatus::kFailed) {
    EXPECT_TRUE(calls.mark_failed(tenant(bid), id, "transcribe", "bad audio"));
  } else if (status == storage::CallStatus::kAnalyzed) {
    using S = storage::CallStatus;
    for (auto [a, b] : {std::pair{S::kPending, S::kTranscribing}, std::pair{S::kTranscribing, S::kTranscribed},
                        std::pair{S::kTranscribed, S::kAnalyzing}, std::pair{S::kAnalyzing, S::kAnalyzed}}) {
      EXPECT_TRUE(calls.advance(tenant(bid), id, a, b));
    }
  }
  return id;
}

void Gateway::set_egress_policy(const http::AddressPolicy* policy) {
  services_->egress_policy = policy;
}

void Gateway::set_rag_settings(const api::RagSettings& rag) {
  services_->rag = rag;
}

}  // namespace earshot::testing
