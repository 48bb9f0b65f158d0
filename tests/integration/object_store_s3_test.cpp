// The S3 object store end to end: the real earshot-gateway and earshot-stt binaries,
// configured with EARSHOT_OBJECT_STORE=s3 against the fake S3 (which checks every SigV4
// signature as AWS does), the real MariaDB (a migrated scratch database), RabbitMQ and Redis.
// An upload lands in the bucket (after a SlowDown the gateway retried), the stt worker reads
// it from there and transcribes it, the gateway streams it with HTTP Range forwarded to the
// store, and deleting the call deletes the object. A gateway with a wrong secret answers
// 503 with S3's reason and creates nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "earshot/crypto/password.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "fakes/s3/fake_s3.hpp"
#include "process.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "correct horse battery";
constexpr const char* kBucket = "earshot-e2e";
constexpr const char* kKeyId = "AKIDE2ETEST";
constexpr const char* kSecret = "e2e/secret+KEY-for-the-fake";

std::string bin(const std::string& name) {
  return std::string(EARSHOT_BIN_DIR) + "/" + name;
}

std::string master_keys() {
  auto r = run_command("head -c 32 /dev/urandom | base64");
  std::string b64 = r.output;
  while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r')) b64.pop_back();
  return "k1:" + b64;
}

struct Reply {
  int status = 0;
  std::string body;
  httplib::Headers headers;
  json j;
  [[nodiscard]] std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  }
};

class S3EndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    FakeS3::Options o;
    o.credentials = {{kKeyId, kSecret}};
    o.buckets = {kBucket};
    fake_ = new FakeS3(o);
    ASSERT_TRUE(fake_->start());
    keys_ = master_keys();

    port_ = free_port();
    admin_port_ = free_port();
    gateway_ = start("gateway", env_for(port_, admin_port_, kSecret));
    stt_admin_port_ = free_port();
    stt_ = start("stt", env_for(0, stt_admin_port_, kSecret));

    storage::MySqlUserRepository users(StorageEnvironment::db());
    const std::string root = fmt::format("root-{}@platform.test", unique_suffix());
    ASSERT_TRUE(users.create_platform_admin(root, *crypto::hash_password(kPassword)));
    const auto platform = login(port_, root, "");
    bid_ = "s3e-" + unique_suffix();
    auto r = call(port_, "POST", "/api/v1/admin/businesses", platform,
                  {{"bid", bid_},
                   {"name", "S3 " + bid_},
                   {"admin_email", "admin@" + bid_ + ".test"},
                   {"admin_password", kPassword}});
    ASSERT_EQ(r.status, 201) << r.body;
    admin_token_ = login(port_, "admin@" + bid_ + ".test", bid_);
    r = call(port_, "POST", "/api/v1/admin/businesses/" + bid_ + "/api-keys", admin_token_,
             {{"name", "s3 e2e"}, {"scopes", {"ingest", "read"}}});
    ASSERT_EQ(r.status, 201) << r.body;
    api_key_ = r.j.value("secret", "");

    // A short spoken call (flite), for the worker to transcribe.
    const std::string path = ::testing::TempDir() + "s3-e2e-" + unique_suffix() + ".wav";
    auto f = run_command(fmt::format(
        "flite -voice slt -t 'Hello, thank you for calling. How can I help you with your bill today?' -o {}", path));
    ASSERT_EQ(f.exit_code, 0) << "flite is needed (scripts/install-deps.sh): " << f.output;
    std::ifstream in(path, std::ios::binary);
    wav_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::remove(path.c_str());
    ASSERT_GT(wav_.size(), 10'000u);
  }

  static void TearDownTestSuite() {
    for (auto* p : {gateway_, stt_}) {
      if (p == nullptr) continue;
      p->signal(SIGTERM);
      (void)p->wait_exit(10s);
      delete p;
    }
    delete fake_;
    queue::AmqpSettings amqp;
    amqp.url = endpoints().amqp_url;
    amqp.heartbeat = 30s;
    amqp.connect_timeout = 5s;
    queue::TopologyAdmin admin(amqp, queue::TopologySettings{});
    for (auto stage : queue::kAllStages) (void)admin.delete_business(stage, bid_);
  }

  static std::map<std::string, std::string> env_for(int http_port, int admin_port, const std::string& secret) {
    const auto ep = endpoints();
    std::map<std::string, std::string> env{
        {"EARSHOT_MYSQL_HOST", ep.mysql_host},
        {"EARSHOT_MYSQL_PORT", std::to_string(ep.mysql_port)},
        {"EARSHOT_MYSQL_USER", ep.mysql_user},
        {"EARSHOT_MYSQL_PASSWORD", ep.mysql_password},
        {"EARSHOT_MYSQL_DATABASE", StorageEnvironment::database_name()},
        {"EARSHOT_AMQP_URL", ep.amqp_url},
        {"EARSHOT_REDIS_URL", ep.redis_url},
        {"EARSHOT_ADMIN_PORT", std::to_string(admin_port)},
        {"EARSHOT_DEPENDENCY_CHECK_INTERVAL", "200ms"},
        {"EARSHOT_MASTER_KEYS", keys_},
        {"EARSHOT_MASTER_KEY_ID", "k1"},
        {"EARSHOT_SHUTDOWN_GRACE", "5s"},
        {"EARSHOT_OBJECT_STORE", "s3"},
        {"EARSHOT_OBJECT_STORE_DIR", ::testing::TempDir() + "s3-e2e-unused"},
        {"EARSHOT_S3_ENDPOINT", fake_->endpoint()},
        {"EARSHOT_S3_REGION", "us-east-1"},
        {"EARSHOT_S3_BUCKET", kBucket},
        {"EARSHOT_S3_PREFIX", "e2e/"},
        {"EARSHOT_S3_ACCESS_KEY_ID", kKeyId},
        {"EARSHOT_S3_SECRET_ACCESS_KEY", secret},
        {"EARSHOT_S3_TIMEOUT", "5s"},
    };
    if (http_port != 0) {
      env["EARSHOT_HTTP_PORT"] = std::to_string(http_port);
      env["EARSHOT_JWT_SECRET"] = std::string(40, 's') + unique_suffix();
      env["EARSHOT_RATE_LIMIT_ENABLED"] = "false";
    } else {
      env["EARSHOT_QUEUE_RETRY_DELAYS"] = "1s";
    }
    return env;
  }

  static ChildProcess* start(const std::string& service, std::map<std::string, std::string> env) {
    const int admin = std::stoi(env.at("EARSHOT_ADMIN_PORT"));
    auto* child = new ChildProcess(bin("earshot-" + service), {}, std::move(env));
    EXPECT_TRUE(child->start()) << service;
    const bool up =
        wait_until([&] { return http_get("127.0.0.1", admin, "/readyz").status == 200 || !child->running(); }, 30s);
    EXPECT_TRUE(up && child->running()) << service << " never became ready:\n" << child->output();
    return child;
  }

  static Reply finish(const httplib::Result& res) {
    Reply out;
    if (!res) return out;
    out.status = res->status;
    out.body = res->body;
    out.headers = res->headers;
    out.j = json::parse(res->body, nullptr, false);
    return out;
  }

  static Reply call(int port, const std::string& method, const std::string& path, const std::string& token,
                    const json& body = nullptr, httplib::Headers headers = {}) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(30, 0);
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = std::move(headers);
    if (!token.empty()) req.set_header("Authorization", "Bearer " + token);
    if (!body.is_null()) {
      req.body = body.dump();
      req.set_header("Content-Type", "application/json");
    }
    return finish(cli.send(req));
  }

  static std::string login(int port, const std::string& email, const std::string& bid) {
    json body{{"email", email}, {"password", kPassword}};
    if (!bid.empty()) body["bid"] = bid;
    auto r = call(port, "POST", "/api/v1/auth/login", "", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.j.value("access_token", "");
  }

  static Reply upload(int port, const std::string& external_id) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(60, 0);
    httplib::MultipartFormDataItems items{{"audio", wav_, "call.wav", "audio/wav"},
                                          {"external_id", external_id, "", ""},
                                          {"agent_id", "agent-s3", "", ""},
                                          {"language", "en", "", ""}};
    return finish(cli.Post("/api/v1/ingest/calls", {{"X-Api-Key", api_key_}}, items));
  }

  static inline FakeS3* fake_ = nullptr;
  static inline ChildProcess* gateway_ = nullptr;
  static inline ChildProcess* stt_ = nullptr;
  static inline int port_ = 0, admin_port_ = 0, stt_admin_port_ = 0;
  static inline std::string keys_, bid_, admin_token_, api_key_, wav_;
};

TEST_F(S3EndToEnd, UploadLandsInTheBucketIsTranscribedStreamedWithRangeAndDeleted) {
  fake_->slow_down_next = 1;  // the first PUT is throttled and retried
  auto up = upload(port_, "s3-call-1");
  ASSERT_EQ(up.status, 201) << up.body << "\n" << gateway_->output();
  EXPECT_EQ(fake_->count("PUT", "SlowDown"), 1);
  const auto id = up.j["id"].get<std::int64_t>();

  // The object the upload wrote: under the prefix, the business and the ingest path.
  std::string key;
  for (const auto& l : fake_->log()) {
    if (l.method == "PUT" && l.status == 200) key = l.key;
  }
  const std::string prefix = fmt::format("e2e/{}/ingest/", bid_);
  ASSERT_TRUE(key.starts_with(prefix)) << key;
  EXPECT_TRUE(key.ends_with(".wav")) << key;
  auto object = fake_->object(kBucket, key);
  ASSERT_TRUE(object) << key;
  EXPECT_EQ(object->body, wav_);
  EXPECT_EQ(object->content_type, "audio/wav");

  // The stt worker reads the recording from the bucket and transcribes it.
  std::string status;
  const bool transcribed = wait_until(
      [&] {
        status = call(port_, "GET", fmt::format("/api/v1/calls/{}", id), admin_token_).j.value("status", "");
        return status == "transcribed" || status == "analyzed" || status == "failed";
      },
      180s, 250ms);
  ASSERT_TRUE(transcribed) << "status " << status << "\n" << stt_->output();
  EXPECT_EQ(status, "transcribed") << stt_->output();
  auto log = fake_->log();
  EXPECT_TRUE(std::ranges::any_of(log, [&](const auto& l) {
    return l.method == "GET" && l.key == key && l.status == 200;
  })) << "the worker never read the object";

  // Streaming: a Range is forwarded to the store (its answer is a 206 of that range).
  const auto before = fake_->log().size();
  auto part = call(port_, "GET", fmt::format("/api/v1/calls/{}/audio", id), admin_token_, nullptr,
                   {{"Range", "bytes=100-1099"}});
  ASSERT_EQ(part.status, 206) << part.body;
  EXPECT_EQ(part.header("Content-Range"), fmt::format("bytes 100-1099/{}", wav_.size()));
  EXPECT_EQ(part.body, wav_.substr(100, 1000));
  log = fake_->log();
  ASSERT_GT(log.size(), before);
  EXPECT_TRUE(std::ranges::any_of(log.begin() + static_cast<std::ptrdiff_t>(before), log.end(),
                                  [&](const auto& l) { return l.method == "GET" && l.key == key && l.status == 206; }));
  auto whole = call(port_, "GET", fmt::format("/api/v1/calls/{}/audio", id), admin_token_);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body, wav_);
  EXPECT_EQ(whole.header("Content-Type"), "audio/wav");
  auto unsatisfiable = call(port_, "GET", fmt::format("/api/v1/calls/{}/audio", id), admin_token_, nullptr,
                            {{"Range", fmt::format("bytes={}-", wav_.size() + 10)}});
  EXPECT_EQ(unsatisfiable.status, 416);

  // Deleting the call deletes its recording.
  auto del = call(port_, "DELETE", fmt::format("/api/v1/calls/{}", id), admin_token_);
  ASSERT_EQ(del.status, 204) << del.body;
  EXPECT_FALSE(fake_->object(kBucket, key));
  EXPECT_EQ(fake_->count("DELETE"), 1);
  EXPECT_EQ(call(port_, "GET", fmt::format("/api/v1/calls/{}", id), admin_token_).status, 404);
  EXPECT_EQ(fake_->count("PUT", "SignatureDoesNotMatch") + fake_->count("GET", "SignatureDoesNotMatch"), 0);
}

TEST_F(S3EndToEnd, WrongSecretAnswers503WithTheStoresReasonAndCreatesNothing) {
  const int port = free_port();
  auto* bad = start("gateway", env_for(port, free_port(), "not-the-secret"));
  auto r = upload(port, "s3-call-denied");
  bad->signal(SIGTERM);
  (void)bad->wait_exit(10s);
  const std::string output = bad->output();
  delete bad;
  ASSERT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.j["error"]["code"], "unavailable");
  const std::string message = r.j["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("object store unavailable"), std::string::npos) << message;
  EXPECT_NE(message.find("SignatureDoesNotMatch"), std::string::npos) << message;
  EXPECT_EQ(message.find("not-the-secret"), std::string::npos);
  EXPECT_EQ(output.find("not-the-secret"), std::string::npos) << "the secret reached the logs";
  EXPECT_EQ(fake_->count("PUT", "SignatureDoesNotMatch"), 1) << "a refused signature is not retried";

  // No call was created: the same external id through the working gateway is a new call.
  auto ok = upload(port_, "s3-call-denied");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.j["created"], true);
}

}  // namespace
}  // namespace earshot::testing
