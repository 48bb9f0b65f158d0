// The S3 object store against the loopback fake S3 (tests/fakes/s3), which checks every
// signature the way AWS does: put / get / range / head / delete in path and virtual-host
// style, S3's errors mapped with their codes and messages, SlowDown and 500 retried,
// refused credentials and clock skew not retried, deadlines; and the object_store settings.
#include "earshot/objectstore/s3_store.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "earshot/core/config.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/http/sigv4.hpp"
#include "earshot/objectstore/object_store.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/s3/fake_s3.hpp"
#include "process.hpp"
#include "test_env.hpp"

namespace earshot::objectstore {
namespace {

using namespace std::chrono_literals;
using testing::FakeS3;

constexpr const char* kKeyId = "AKIDS3TEST";
constexpr const char* kSecret = "s3cr3t/S3+test-SECRET-never-logged";

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string payload(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + 3) % 251);
  return s;
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeS3::Options o;
    o.credentials = {{kKeyId, kSecret}};
    o.buckets = {"recordings"};
    fake_ = std::make_unique<FakeS3>(o);
    ASSERT_TRUE(fake_->start());
  }
  void TearDown() override { client_.shutdown(); }

  S3Settings settings() const {
    S3Settings s;
    s.endpoint = fake_->endpoint();
    s.bucket = "recordings";
    s.prefix = "calls";
    s.access_key_id = kKeyId;
    s.secret_access_key = kSecret;
    s.timeout = 5s;
    s.initial_backoff = 10ms;
    s.max_backoff = 50ms;
    return s;
  }
  std::unique_ptr<S3ObjectStore> store(S3Settings s, const Clock& clock = SystemClock::instance()) {
    return std::make_unique<S3ObjectStore>(client_, clock, std::move(s));
  }

  http::CurlHttpClient client_;
  std::unique_ptr<FakeS3> fake_;
};

TEST_F(S3StoreTest, PutReadRangeStatRemovePathStyle) {
  auto s3 = store(settings());
  const std::string body = payload(100'000);
  auto uri = s3->put("biz/ingest/20261121/a1-b2.wav", bytes_of(body), "audio/wav");
  ASSERT_TRUE(uri) << uri.error().to_string();
  EXPECT_EQ(*uri, "s3://recordings/calls/biz/ingest/20261121/a1-b2.wav");
  auto stored = fake_->object("recordings", "calls/biz/ingest/20261121/a1-b2.wav");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->body, body);
  EXPECT_EQ(stored->content_type, "audio/wav");

  auto whole = s3->read(*uri, 1 << 20);
  ASSERT_TRUE(whole) << whole.error().to_string();
  EXPECT_EQ(std::string(whole->begin(), whole->end()), body);

  auto info = s3->stat(*uri);
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->size, body.size());
  EXPECT_EQ(info->content_type, "audio/wav");

  auto piece = s3->read_range(*uri, 1000, 2345);
  ASSERT_TRUE(piece) << piece.error().to_string();
  EXPECT_EQ(*piece, body.substr(1000, 2345));
  auto tail = s3->read_range(*uri, body.size() - 10, 4096);  // past the end: what there is
  ASSERT_TRUE(tail);
  EXPECT_EQ(*tail, body.substr(body.size() - 10));
  auto log = fake_->log();
  EXPECT_EQ(std::ranges::count_if(log, [](const auto& l) { return l.status == 206; }), 2);
  EXPECT_TRUE(std::ranges::none_of(log, [](const auto& l) { return l.virtual_host; }));

  auto beyond = s3->read_range(*uri, body.size() + 5, 10);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(beyond.error().message.find("InvalidRange"), std::string::npos) << beyond.error().message;

  // A read capped below the object's size fails instead of buffering it.
  auto capped = s3->read(*uri, 1000);
  ASSERT_FALSE(capped);
  EXPECT_EQ(capped.error().code, ErrorCode::kInvalidArgument);

  ASSERT_TRUE(s3->remove(*uri));
  EXPECT_FALSE(fake_->object("recordings", "calls/biz/ingest/20261121/a1-b2.wav"));
  EXPECT_TRUE(s3->remove(*uri)) << "removing an absent object is not an error";
  auto gone = s3->read(*uri, 1 << 20);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_NE(gone.error().message.find("NoSuchKey: The specified key does not exist."), std::string::npos)
      << gone.error().message;
  auto stat_gone = s3->stat(*uri);
  ASSERT_FALSE(stat_gone);
  EXPECT_EQ(stat_gone.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(fake_->count("PUT", "SignatureDoesNotMatch") + fake_->count("GET", "SignatureDoesNotMatch"), 0);
}

TEST_F(S3StoreTest, VirtualHostStyleAddressesTheBucketByHostName) {
  auto s = settings();
  s.endpoint = fake_->localhost_endpoint();
  s.path_style = false;
  auto s3 = store(s);
  EXPECT_EQ(s3->url_for("calls/x.wav"), "http://recordings." + s.endpoint.substr(7) + "/calls/x.wav");
  const std::string body = payload(5000);
  auto uri = s3->put("x.wav", bytes_of(body), "audio/wav");
  ASSERT_TRUE(uri) << uri.error().to_string();
  auto back = s3->read_range(*uri, 0, 5000);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, body);
  auto log = fake_->log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_TRUE(log[0].virtual_host && log[1].virtual_host);
  EXPECT_EQ(log[0].bucket, "recordings");
  EXPECT_EQ(log[0].key, "calls/x.wav");
}

TEST_F(S3StoreTest, WrongSecretIsRefusedWithS3sReasonAndNotRetried) {
  auto s = settings();
  s.secret_access_key = "not-the-secret";
  auto r = store(s)->put("a.wav", bytes_of(payload(10)), "audio/wav");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not "
                                   "match the signature you provided."),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("not-the-secret"), std::string::npos);
  EXPECT_EQ(fake_->count("PUT", "SignatureDoesNotMatch"), 1);
  EXPECT_EQ(fake_->object_count("recordings"), 0u);

  s = settings();
  s.access_key_id = "AKIDUNKNOWN";
  r = store(s)->put("a.wav", bytes_of(payload(10)), "audio/wav");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("InvalidAccessKeyId"), std::string::npos) << r.error().message;

  s = settings();
  s.region = "eu-west-3";
  r = store(s)->put("a.wav", bytes_of(payload(10)), "audio/wav");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("AuthorizationHeaderMalformed"), std::string::npos) << r.error().message;

  s = settings();
  s.bucket = "no-such-bucket";
  r = store(s)->put("a.wav", bytes_of(payload(10)), "audio/wav");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("NoSuchBucket"), std::string::npos) << r.error().message;
}

TEST_F(S3StoreTest, ClockSkewBeyondFifteenMinutesIsRefused) {
  testing::FakeClock clock;
  clock.set_wall(std::chrono::system_clock::now() - 20min);
  auto r = store(settings(), clock)->put("a.wav", bytes_of(payload(10)), "audio/wav");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("RequestTimeTooSkewed"), std::string::npos) << r.error().message;
  clock.set_wall(std::chrono::system_clock::now() - 10min);  // within AWS's 15 minutes
  EXPECT_TRUE(store(settings(), clock)->put("a.wav", bytes_of(payload(10)), "audio/wav"));
}

TEST_F(S3StoreTest, SlowDownAndInternalErrorsAreRetriedWithBackoff) {
  auto s3 = store(settings());
  fake_->slow_down_next = 2;
  auto uri = s3->put("retry.wav", bytes_of(payload(2000)), "audio/wav");
  ASSERT_TRUE(uri) << uri.error().to_string();
  EXPECT_EQ(fake_->count("PUT", "SlowDown"), 2);
  EXPECT_EQ(fake_->count("PUT"), 3);
  EXPECT_TRUE(fake_->object("recordings", "calls/retry.wav"));

  fake_->internal_error_next = 1;
  auto back = s3->read(*uri, 1 << 20);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(fake_->count("GET", "InternalError"), 1);

  // Throttling that outlasts the attempts: kRateLimited with S3's reason.
  auto s = settings();
  s.max_attempts = 3;
  fake_->slow_down_next = 100;
  auto r = store(s)->put("late.wav", bytes_of(payload(10)), "audio/wav");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRateLimited);
  EXPECT_NE(r.error().message.find("SlowDown: Please reduce your request rate."), std::string::npos)
      << r.error().message;
  EXPECT_EQ(fake_->count("PUT", "SlowDown"), 2 + 3);
  fake_->slow_down_next = 0;
}

TEST_F(S3StoreTest, AStoreThatNeverAnswersTimesOut) {
  // Accepts connections (the kernel completes them) and never answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks one
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  auto s = settings();
  s.endpoint = "http://127.0.0.1:" + std::to_string(port);
  s.timeout = 200ms;
  s.max_attempts = 2;
  auto r = store(s)->put("t.wav", bytes_of(payload(10)), "audio/wav");
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().to_string();
  EXPECT_NE(r.error().message.find("2 attempts"), std::string::npos) << r.error().message;
}

TEST_F(S3StoreTest, TheFakeChecksThePayloadHashAndTheSignature) {
  http::SigV4Signer signer({kKeyId, kSecret, {}}, "us-east-1", "s3", SystemClock::instance());
  signer.s3 = true;
  http::HttpRequest req;
  req.method = "PUT";
  req.url = fake_->endpoint() + "/recordings/tampered.wav";
  req.body = "original";
  ASSERT_TRUE(signer.sign(req));
  req.body = "tampered";  // the signed hash no longer matches
  auto r = client_.send_sync(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("<Code>XAmzContentSHA256Mismatch</Code>"), std::string::npos) << r->body;

  http::HttpRequest get;
  get.url = fake_->endpoint() + "/recordings/x.wav";
  ASSERT_TRUE(signer.sign(get));
  get.add_header("Range", "bytes=0-1");  // added after signing and named nowhere: fine
  get.url += "?versionId=1";             // the query is signed: refused
  r = client_.send_sync(get);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("<CanonicalRequest>GET\n/recordings/x.wav\nversionId=1\n"), std::string::npos) << r->body;

  http::HttpRequest anonymous;
  anonymous.url = fake_->endpoint() + "/recordings/x.wav";
  r = client_.send_sync(anonymous);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("<Code>AccessDenied</Code>"), std::string::npos) << r->body;
}

TEST_F(S3StoreTest, ObjectStoresWriteToTheConfiguredKindAndReadByScheme) {
  const auto dir = std::filesystem::temp_directory_path() / ("earshot-s3-" + earshot::testing::unique_suffix());
  ObjectStoreSettings st;
  st.kind = "s3";
  st.dir = dir.string();
  st.s3 = settings();
  st.max_attempts = 2;
  auto stores = ObjectStores::make(st, &client_, SystemClock::instance());
  ASSERT_TRUE(stores) << stores.error().to_string();
  const std::string body = payload(3000);
  auto uri = (*stores)->put("b/c.wav", bytes_of(body), "audio/wav");
  ASSERT_TRUE(uri) << uri.error().to_string();
  EXPECT_EQ(*uri, "s3://recordings/calls/b/c.wav");
  // An older recording in the local directory stays readable.
  auto local = (*stores)->local().write("old/d.wav", bytes_of(body));
  ASSERT_TRUE(local);
  for (const auto& u : {*uri, *local}) {
    std::promise<Result<std::vector<std::uint8_t>>> p;
    (*stores)->read_async(u, 1 << 20, [&p](Result<std::vector<std::uint8_t>> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    ASSERT_TRUE(r) << u << ": " << r.error().to_string();
    EXPECT_EQ(r->size(), body.size());
    EXPECT_TRUE((*stores)->owns(u));
  }
  // Only the local store has a file a provider request can be sent from; an unsafe key has none.
  EXPECT_EQ((*stores)->local_file(*local), (dir / "old/d.wav").string());
  EXPECT_EQ((*stores)->local_file(*uri), std::nullopt);
  EXPECT_EQ((*stores)->local_file("store://../etc/passwd"), std::nullopt);
  auto other = (*stores)->read("s3://other-bucket/b/c.wav", 1 << 20);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(other.error().message.find("not in the configured bucket"), std::string::npos);
  EXPECT_FALSE((*stores)->owns("s3://recordings/../x"));

  // Local only: an s3:// location says what is missing.
  ObjectStoreSettings local_settings;
  local_settings.dir = dir.string();
  auto only_local = ObjectStores::make(local_settings, nullptr, SystemClock::instance());
  ASSERT_TRUE(only_local);
  auto no_s3 = (*only_local)->read(*uri, 1 << 20);
  ASSERT_FALSE(no_s3);
  EXPECT_NE(no_s3.error().message.find("EARSHOT_OBJECT_STORE is not s3"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ObjectStoreSettingsTest, StrictKeysAndSecretNeverShown) {
  auto load = [](EnvMap env, ObjectStoreSettings& out) {
    ConfigSpec spec;
    out.declare(spec);
    auto st = spec.load_from(env, "{}");
    return std::make_pair(st, spec.effective_values());
  };
  ObjectStoreSettings a;
  auto [st, shown] = load({{"EARSHOT_OBJECT_STORE", "s3"},
                           {"EARSHOT_S3_ENDPOINT", "https://s3.eu-west-1.amazonaws.com"},
                           {"EARSHOT_S3_REGION", "eu-west-1"},
                           {"EARSHOT_S3_BUCKET", "acme-calls"},
                           {"EARSHOT_S3_URL_STYLE", "virtual"},
                           {"EARSHOT_S3_ACCESS_KEY_ID", "AKID"},
                           {"EARSHOT_S3_SECRET_ACCESS_KEY", "top-secret-value"}},
                          a);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_TRUE(a.validate());
  EXPECT_FALSE(a.s3_settings().path_style);
  for (const auto& [k, v] : shown) EXPECT_EQ(v.find("top-secret-value"), std::string::npos) << k;

  ObjectStoreSettings b;
  auto typo = load({{"EARSHOT_S3_BUKET", "x"}}, b).first;
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("S3_BUKET"), std::string::npos) << typo.error().message;
  ObjectStoreSettings c;
  ASSERT_FALSE(load({{"EARSHOT_OBJECT_STORE", "gcs"}}, c).first);

  ObjectStoreSettings d;
  ASSERT_TRUE(load({{"EARSHOT_OBJECT_STORE", "s3"}, {"EARSHOT_S3_ENDPOINT", "http://127.0.0.1:9000"}}, d).first);
  auto missing = d.validate();
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("EARSHOT_S3_BUCKET"), std::string::npos) << missing.error().message;
  d.s3.bucket = "calls";
  d.s3.access_key_id = "AKID";
  d.s3.secret_access_key = "x";
  d.s3.endpoint = "http://127.0.0.1:9000/path";
  EXPECT_FALSE(d.validate());
  ObjectStoreSettings local;  // the default needs nothing
  EXPECT_TRUE(local.validate());
}

// The one ownership rule (key_owned_by) as each store applies it: only keys under the
// business's own first segment, whatever the spelling tricks.
TEST(ObjectOwnership, OnlyKeysUnderTheBusinessOwnPrefix) {
  EXPECT_TRUE(key_owned_by("acme/ingest/20261121/a.wav", "acme"));
  for (const char* key : {"acme2/ingest/a.wav",          // a bid that extends another
                          "acm/ingest/a.wav",            // a prefix of the bid
                          "ACME/ingest/a.wav",           // case
                          "acme",                        // the prefix itself, no object
                          "acme/../other/ingest/a.wav",  // traversal
                          "acme/./a.wav", "acme//a.wav", "/acme/a.wav",
                          "acme%2f..%2fother/a.wav",  // percent-encoding
                          "%61cme/a.wav", "other/acme/a.wav", ""}) {
    auto st = key_owned_by(key, "acme");
    ASSERT_FALSE(st) << key;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << key;
  }
  EXPECT_FALSE(key_owned_by("acme/a.wav", ""));

  LocalObjectStore local("/nonexistent");
  EXPECT_TRUE(local.owned_by("store://acme/ingest/a.wav", "acme"));
  EXPECT_FALSE(local.owned_by("store://acme2/ingest/a.wav", "acme"));
  EXPECT_FALSE(local.owned_by("store://acme/../acme2/a.wav", "acme"));
  EXPECT_FALSE(local.owned_by("STORE://acme/a.wav", "acme"));
  EXPECT_FALSE(local.owned_by("s3://recordings/calls/acme/a.wav", "acme"));
  EXPECT_FALSE(local.owned_by("https://example.com/acme/a.wav", "acme"));
}

TEST_F(S3StoreTest, OwnershipNeedsTheConfiguredBucketAndPrefixThenTheBusiness) {
  const auto dir = std::filesystem::temp_directory_path() / ("earshot-own-" + earshot::testing::unique_suffix());
  ObjectStoreSettings st;
  st.kind = "s3";
  st.dir = dir.string();
  st.s3 = settings();  // bucket "recordings", prefix "calls"
  auto stores = ObjectStores::make(st, &client_, SystemClock::instance());
  ASSERT_TRUE(stores) << stores.error().to_string();
  const ObjectStore& s = **stores;
  EXPECT_TRUE(s.owned_by("s3://recordings/calls/acme/ingest/a.wav", "acme"));
  EXPECT_TRUE(s.owned_by("store://acme/ingest/a.wav", "acme"));  // older local recordings
  for (const char* uri : {"s3://recordings/calls/acme2/ingest/a.wav", "s3://recordings/acme/ingest/a.wav",
                          "s3://recordings/other/acme/a.wav", "s3://other-bucket/calls/acme/a.wav",
                          "s3://recordings/calls/acme/../acme2/a.wav", "s3://recordings/calls//acme/a.wav",
                          "s3://recordings/calls/acme%2F..%2Facme2/a.wav", "s3://Recordings/calls/acme/a.wav",
                          "store://acme2/a.wav", "ftp://acme/a.wav"}) {
    auto own = s.owned_by(uri, "acme");
    ASSERT_FALSE(own) << uri;
    EXPECT_EQ(own.error().code, ErrorCode::kInvalidArgument) << uri;
  }
  // Without an s3 store no s3:// location is anyone's.
  ObjectStoreSettings local_settings;
  local_settings.dir = dir.string();
  auto only_local = ObjectStores::make(local_settings, nullptr, SystemClock::instance());
  ASSERT_TRUE(only_local);
  EXPECT_FALSE((*only_local)->owned_by("s3://recordings/calls/acme/a.wav", "acme"));
  // A fetcher passes http(s) URLs (its address policy decides) and asks its store for the rest.
  HttpAudioStore fetcher(client_, **only_local, {});
  EXPECT_TRUE(fetcher.owned_by("https://recordings.example/acme/a.wav", "acme"));
  EXPECT_TRUE(fetcher.owned_by("store://acme/a.wav", "acme"));
  EXPECT_FALSE(fetcher.owned_by("store://acme2/a.wav", "acme"));
}

}  // namespace
}  // namespace earshot::objectstore
