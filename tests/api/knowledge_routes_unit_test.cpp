// The knowledge routes' handlers through the Router against the in-memory repositories and a
// broker stand-in that can refuse: every write publishes the document's version to
// embed.{bid}, and a refused publish leaves the document failed with the reason, never
// pending with nothing queued. Hermetic: no database, broker or network.
#include <gtest/gtest.h>

#include <mutex>

#include "earshot/api/gateway.hpp"
#include "earshot/queue/messages.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/storage/repositories_fake.hpp"

namespace earshot::api {
namespace {

using storage::TenantId;

class FlakyQueueControl final : public QueueControl {
 public:
  Status declare_business(const std::string&) override { return {}; }
  Status publish(std::vector<queue::OutgoingMessage> messages) override {
    std::lock_guard l(mu);
    if (down) return make_error(ErrorCode::kUnavailable, "broker connection lost");
    for (auto& m : messages) published.push_back(std::move(m));
    return {};
  }
  const queue::TopologySettings& topology() const override { return topology_; }
  Result<std::uint32_t> queue_depth(const std::string&) override { return 0U; }

  std::mutex mu;
  bool down = false;
  std::vector<queue::OutgoingMessage> published;

 private:
  queue::TopologySettings topology_;
};

class KnowledgeRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { add_knowledge_routes(router, services); }

  Result<Reply> call(const std::string& method, const std::string& path, const Json& body = nullptr) {
    auto found = router.find(method, path);
    if (!found.match) return make_error(ErrorCode::kNotFound, "no route " + method + " " + path);
    Request req;
    req.method = method;
    req.path = path;
    req.target = path;
    req.path_params = found.match->params;
    if (!body.is_null()) req.body = body.dump();
    Principal p;
    p.kind = Principal::Kind::kUser;
    p.id = 7;
    p.bid = "acme";
    p.role = Role::kAnalyst;
    req.principal = p;
    return found.match->route->handler(req);
  }

  const TenantId acme = *TenantId::make("acme");
  testing::FakeClock clock;
  crypto::Keyring keyring = *crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k");
  testing::FakeRepositories fakes{&clock};
  JwtCodec jwt = *JwtCodec::make(std::string(48, 'k'), std::chrono::minutes(15), clock);
  AuthService auth{fakes.repos, jwt, clock, std::chrono::hours(1)};
  FlakyQueueControl queues;
  GatewayServices services{fakes.repos, keyring, clock, auth, queues, "/nonexistent", nullptr, nullptr, "{}"};
  Router router;
};

TEST_F(KnowledgeRoutesTest, EveryNewVersionIsQueuedForItsBusinessAndATitleAloneIsNot) {
  auto r = call("POST", "/api/v1/knowledge", {{"title", "Refunds"}, {"text", "Refunds take thirty days."}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 201);
  const auto id = r->json["id"].get<std::int64_t>();
  ASSERT_EQ(queues.published.size(), 1U);
  EXPECT_EQ(queues.published[0].routing_key, "embed.acme");
  EXPECT_EQ(queue::EmbedRequest::parse(queues.published[0].body).value(),
            queue::EmbedRequest::for_document("acme", id, 1));
  EXPECT_EQ(fakes.knowledge.get(acme, id)->created_by, 7);

  r = call("PUT", "/api/v1/knowledge/" + std::to_string(id), {{"text", "Refunds take fourteen days."}});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(queues.published.size(), 2U);
  EXPECT_EQ(queue::EmbedRequest::parse(queues.published[1].body).value(),
            queue::EmbedRequest::for_document("acme", id, 2));

  r = call("PUT", "/api/v1/knowledge/" + std::to_string(id), {{"title", "Refunds (EU)"}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(queues.published.size(), 2U);
}

TEST_F(KnowledgeRoutesTest, ARefusedPublishLeavesTheDocumentFailedWithTheReason) {
  queues.down = true;
  auto r = call("POST", "/api/v1/knowledge", {{"title", "Refunds"}, {"text", "Refunds take thirty days."}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->json["status"], "failed");
  const std::string reason = "could not be queued for embedding (broker connection lost); save it again to retry";
  EXPECT_EQ(r->json["reason"], reason);
  const auto id = r->json["id"].get<std::int64_t>();
  auto stored = fakes.knowledge.get(acme, id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, storage::KnowledgeStatus::kFailed);
  EXPECT_EQ(stored->error, reason);

  // Saved again once the broker is back: a new version, pending, queued.
  queues.down = false;
  r = call("PUT", "/api/v1/knowledge/" + std::to_string(id), {{"text", "Refunds take thirty days."}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->json["status"], "pending");
  EXPECT_EQ(r->json["version"], 2);
  ASSERT_EQ(queues.published.size(), 1U);
  EXPECT_EQ(queue::EmbedRequest::parse(queues.published[0].body).value(),
            queue::EmbedRequest::for_document("acme", id, 2));
}

}  // namespace
}  // namespace earshot::api
