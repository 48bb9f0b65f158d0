// A business changes its embedder through the real gateway, MariaDB, RabbitMQ and Redis: the
// pipeline-config route queues a reembed on embed.{bid}, the embed stage (in-process, with the
// worker's provider factory) re-embeds the business's analysed calls from their stored chunk
// texts in bounded steps, the old model's vectors go, another business is untouched, and the
// gateway's loaded search shards follow the call.reindexed live events: the calls are found
// again under the new embedder. And a broker that refuses the reembed message leaves the
// config unsaved (503), so no change of embedder is ever without its re-embedding.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "analysed_call.hpp"
#include "earshot/http/curl_http_client.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/pipeline/llm_agents.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/rag/business_index.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "embed_worker_fixture.hpp"
#include "gateway_fixture.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using json = nlohmann::json;
using storage::Id;

constexpr const char* kOld = "hashed-bow:64";
constexpr const char* kNew = "hashed-bow:128";

// The worker's provider factory (hashed-bow needs no network).
struct WorkerProviders {
  WorkerProviders() = default;
  ~WorkerProviders() { http.shutdown(); }
  WorkerProviders(const WorkerProviders&) = delete;
  WorkerProviders& operator=(const WorkerProviders&) = delete;
  http::CurlHttpClient http;
  pipeline::LlmProviderFactory factory{http, SystemClock::instance(), pipeline::LlmSettings{}};
};

// The business's call.reindexed events so far: their call ids, oldest first.
std::vector<Id> reindexed(EmbedWorker& worker, const std::string& bid) {
  std::vector<Id> out;
  for (const auto& e : worker.events(bid, "call.reindexed")) out.push_back(e["data"]["call_id"].get<Id>());
  return out;
}

// An analysed call of `bid` with the vectors the analyze stage stored with embedder `model`
// (chunk_transcript, then embed_call_chunks); one line per segment, customer first.
Id analysed_call(const std::string& bid, const std::vector<std::string>& lines, const std::string& model) {
  AnalysedCallSeed seed;
  seed.external_id = "r-" + unique_suffix();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    seed.lines.push_back({i % 2 == 0 ? analytics::Role::kCustomer : analytics::Role::kAgent, lines[i]});
  }
  seed.chunk_words = 8;
  llm::HashedBowEmbedder embedder(std::stoi(model.substr(model.find(':') + 1)));
  auto id = seed_analysed_call(StorageEnvironment::db(), tenant(bid), seed, embedder);
  EXPECT_TRUE(id) << id.error().to_string();
  return id.value_or(0);
}

std::vector<storage::EmbeddingRow> rows_of(const std::string& bid, const std::string& model, Id call) {
  auto rows = storage::MySqlEmbeddingRepository(StorageEnvironment::db()).rows_of_call(tenant(bid), model, call);
  EXPECT_TRUE(rows) << rows.error().to_string();
  return rows.value_or(std::vector<storage::EmbeddingRow>{});
}

std::set<Id> found_calls(const HttpReply& r) {
  std::set<Id> out;
  if (!r.json.is_object() || !r.json.contains("items")) return out;
  for (const auto& it : r.json["items"]) {
    if (it["source"] == "call") out.insert(it["call_id"].get<Id>());
  }
  return out;
}

std::string pipeline_path(const std::string& bid) {
  return "/api/v1/admin/businesses/" + bid + "/pipeline-config";
}

TEST(Reembed, ChangingTheEmbedderReembedsTheBusinesssAnalysedCallsAndSearchFindsThemUnderIt) {
  auto& gw = gateway();
  WorkerProviders providers;
  EmbedWorker worker(gw, providers.factory, 2);
  const std::string bid = gw.new_business("rmb");
  const std::string other = gw.new_business("rmbo");
  const std::string admin = gw.user_token(bid, "admin");
  for (const auto& b : {bid, other}) {
    auto put = gw.request("PUT", pipeline_path(b), gw.platform_token, {{"embedding_provider", kOld}});
    ASSERT_EQ(put.status, 200) << put.body;
    worker.run(worker.take(b));  // nothing to re-embed yet
  }

  const std::vector<std::vector<std::string>> calls_lines = {
      {"my refund never arrived and it has been two weeks", "I will resend the refund today"},
      {"please cancel my subscription today", "the subscription is cancelled", "thank you"},
      {"the parcel arrived broken", "we will send a replacement parcel"}};
  std::vector<Id> calls;
  std::vector<std::vector<storage::EmbeddingRow>> before;
  for (const auto& lines : calls_lines) {
    calls.push_back(analysed_call(bid, lines, kOld));
    before.push_back(rows_of(bid, kOld, calls.back()));
    ASSERT_GE(before.back().size(), 2U);
  }
  const Id theirs = analysed_call(other, calls_lines[0], kOld);
  const auto theirs_before = rows_of(other, kOld, theirs);

  // Under the old embedder the calls are found; the gateway has that shard loaded now.
  auto r = gw.request("POST", "/api/v1/search", admin, {{"query", "refund never arrived"}, {"sources", "calls"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["model"], kOld);
  EXPECT_TRUE(found_calls(r).contains(calls[0])) << r.body;
  auto old_shard = gw.rag_index->get(bid, kOld);
  ASSERT_TRUE(old_shard);
  const auto old_key = rag::call_chunk_key(before[0].back().id);
  ASSERT_TRUE((*old_shard)->meta(old_key).has_value());

  // The change: saved, one reembed queued. Until it runs the new embedder's shard (loaded by
  // this search) has none of the calls.
  auto put = gw.request("PUT", pipeline_path(bid), admin, {{"embedding_provider", kNew}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json["embedding_provider"], kNew);
  r = gw.request("POST", "/api/v1/search", admin, {{"query", "refund never arrived"}, {"sources", "calls"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["model"], kNew);
  EXPECT_TRUE(found_calls(r).empty()) << r.body;

  const auto m = worker.take(bid);
  const auto request = queue::EmbedRequest::parse(m.body);
  ASSERT_TRUE(request) << request.error().to_string();
  EXPECT_EQ(request->kind, queue::EmbedKind::kReembed);
  EXPECT_EQ(request->id, kNew);
  EXPECT_TRUE(worker.queue_empty(bid));
  // Two calls per step: the three calls take two steps.
  EXPECT_EQ(worker.run(m), 2);

  for (std::size_t i = 0; i < calls.size(); ++i) {
    EXPECT_TRUE(rows_of(bid, kOld, calls[i]).empty()) << i;
    const auto now = rows_of(bid, kNew, calls[i]);
    ASSERT_EQ(now.size(), before[i].size()) << i;
    for (std::size_t c = 0; c < now.size(); ++c) {
      EXPECT_EQ(now[c].chunk_index, before[i][c].chunk_index);
      EXPECT_EQ(now[c].text, before[i][c].text);  // the stored (redacted) texts, embedded again
      EXPECT_EQ(now[c].start_ms, before[i][c].start_ms);
      EXPECT_EQ(now[c].end_ms, before[i][c].end_ms);
      EXPECT_EQ(now[c].vector.size(), 128U);
    }
  }
  // Another business keeps its rows, ids and all.
  const auto theirs_now = rows_of(other, kOld, theirs);
  ASSERT_EQ(theirs_now.size(), theirs_before.size());
  EXPECT_EQ(theirs_now.front().id, theirs_before.front().id);
  EXPECT_TRUE(rows_of(other, kNew, theirs).empty());
  EXPECT_EQ(reindexed(worker, bid), calls);
  EXPECT_TRUE(reindexed(worker, other).empty());

  // The gateway's shards follow the live events: the new one finds the calls, the old one
  // lost them.
  for (std::size_t i = 0; i < calls.size(); ++i) {
    std::set<Id> got;
    EXPECT_TRUE(wait_until(
        [&] {
          auto s = gw.request("POST", "/api/v1/search", admin, {{"query", calls_lines[i][0]}, {"sources", "calls"}});
          got = found_calls(s);
          return s.status == 200 && s.json["model"] == kNew && got.contains(calls[i]);
        },
        std::chrono::seconds(5)))
        << "call " << calls[i];
  }
  EXPECT_TRUE(wait_until([&] { return !(*old_shard)->meta(old_key).has_value(); }, std::chrono::seconds(5)));

  // Changed back and forth: the message for the old embedder finds the config naming the new
  // one (a later change replaced it) and is retried, then dropped on its last attempt; the
  // one for the new embedder finds nothing left to do.
  std::vector<Id> ids_now;
  ids_now.reserve(calls.size());
  for (const Id c : calls) ids_now.push_back(rows_of(bid, kNew, c).front().id);
  ASSERT_EQ(gw.request("PUT", pipeline_path(bid), admin, {{"embedding_provider", kOld}}).status, 200);
  ASSERT_EQ(gw.request("PUT", pipeline_path(bid), admin, {{"embedding_provider", kNew}}).status, 200);
  auto superseded = worker.take(bid);
  EXPECT_EQ(queue::EmbedRequest::parse(superseded.body).value_or(queue::EmbedRequest{}).id, kOld);
  auto retried = worker.handle(superseded);
  ASSERT_TRUE(retried);
  EXPECT_TRUE(std::holds_alternative<queue::Retry>(*retried));
  superseded.envelope.attempt = 3;
  EXPECT_EQ(worker.run(superseded), 1);
  EXPECT_EQ(worker.run(worker.take(bid)), 1);
  for (std::size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(rows_of(bid, kNew, calls[i]).front().id, ids_now[i]);
  EXPECT_EQ(reindexed(worker, bid), calls);
}

// The real broker refuses the message (the business's embed queue is gone, so the publish is
// unroutable): 503 with the reason, and nothing of the request is saved; once the queue is
// back the same request saves and queues.
TEST(Reembed, ABrokerThatRefusesTheReembedLeavesTheConfigUnsaved) {
  auto& gw = gateway();
  WorkerProviders providers;
  EmbedWorker worker(gw, providers.factory);
  const std::string bid = gw.new_business("rmbq");
  const std::string admin = gw.user_token(bid, "admin");
  auto before = gw.request("GET", pipeline_path(bid), admin);
  ASSERT_EQ(before.status, 200) << before.body;
  ASSERT_TRUE(gw.topology_admin->delete_business(queue::Stage::kEmbed, bid));

  const json change{{"embedding_provider", "ollama:nomic-embed-text:latest"}, {"language", "de"}};
  auto put = gw.request("PUT", pipeline_path(bid), admin, change);
  EXPECT_EQ(put.status, 503) << put.body;
  EXPECT_EQ(put.json["error"]["code"], "unavailable");
  EXPECT_EQ(put.json["error"]["message"],
            "the new embedding_provider could not be queued for re-embedding (the message broker refused it); "
            "nothing was saved, try again");
  EXPECT_EQ(put.header("Retry-After"), "5");
  auto after = gw.request("GET", pipeline_path(bid), admin);
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.json, before.json);  // the embedder, the language and the version as they were

  ASSERT_TRUE(gw.topology_admin->declare_business(queue::Stage::kEmbed, bid));
  put = gw.request("PUT", pipeline_path(bid), admin, change);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json["embedding_provider"], "ollama:nomic-embed-text:latest");
  EXPECT_EQ(put.json["language"], "de");
  EXPECT_EQ(queue::EmbedRequest::parse(worker.take(bid).body).value_or(queue::EmbedRequest{}).id,
            "ollama:nomic-embed-text:latest");
}

}  // namespace
}  // namespace earshot::testing
