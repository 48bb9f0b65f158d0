// The search routes on the real gateway against the real MariaDB and Redis: tenant isolation
// (overlapping text in two businesses), bad input, a deleted call leaving search through the
// live event path, similar calls and recommendations, and a labelled retrieval set made from
// the demo dialogues (recall@5 and MRR, with floors).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "analysed_call.hpp"
#include "call_steps.hpp"
#include "earshot/cache/live_events.hpp"
#include "earshot/cache/redis_client.hpp"
#include "earshot/llm/embedding.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "gateway_fixture.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using nlohmann::json;
using storage::Id;

// A spoken line: agent (true) or customer.
using Line = std::pair<bool, std::string>;

llm::HashedBowEmbedder& embedder() {
  static llm::HashedBowEmbedder e(256);  // the businesses' default embedder
  return e;
}

struct CallSeed {
  std::vector<Line> lines;
  std::optional<Id> agent;
  std::optional<double> qa;
  std::string outcome = "unknown";
  std::optional<double> talk_ratio;
  std::optional<double> patience_ms;
  bool transcript = false;  // also store the transcript (one segment per line)
};

// The analyze stage's output for a call, written straight to the database: the call
// (analyzed), its metrics, its builtin summary and QA analyses, and its embeddings (chunks of
// the transcript as the stage cuts them, and the whole-call vector).
Id add_call(const std::string& bid, const CallSeed& seed) {
  auto& db = StorageEnvironment::db();
  const auto t = tenant(bid);
  AnalysedCallSeed call;
  call.external_id = "s-" + unique_suffix();
  call.human_agent_id = seed.agent;
  call.transcript = seed.transcript;
  for (const auto& [agent, text] : seed.lines) {
    call.lines.push_back({agent ? analytics::Role::kAgent : analytics::Role::kCustomer, text});
  }
  auto seeded = seed_analysed_call(db, t, call, embedder());
  EXPECT_TRUE(seeded) << seeded.error().to_string();
  const Id id = seeded.value_or(0);
  storage::MySqlMetricsRepository metrics(db);
  storage::CallMetrics m;
  m.call_id = id;
  m.duration_ms = 60'000;
  m.agent_talk_ratio = seed.talk_ratio;
  m.patience_ms = seed.patience_ms;
  EXPECT_TRUE(metrics.put(t, m));
  storage::MySqlAgentConfigRepository agents(db);
  std::map<std::string, Id> builtin;
  auto listed = agents.list(t, false);
  EXPECT_TRUE(listed);
  for (const auto& a : *listed) builtin[a.name] = a.id;
  for (const char* name : {"builtin.summary", "builtin.qa"}) {
    if (builtin.contains(name)) continue;
    storage::AgentConfig c;
    c.name = name;
    c.kind = storage::AgentKind::kBuiltin;
    c.model = "builtin";
    builtin[name] = *agents.create(t, c);
  }
  storage::CallAnalysisResult r;
  storage::AnalysisInput summary;
  summary.agent_config_id = builtin["builtin.summary"];
  summary.output_json = json{{"outcome", seed.outcome}}.dump();
  storage::AnalysisInput qa;
  qa.agent_config_id = builtin["builtin.qa"];
  qa.output_json = json{{"score", seed.qa ? json(*seed.qa) : json(nullptr)}, {"scorecards", json::array()}}.dump();
  r.analyses = {summary, qa};
  r.qa_score = seed.qa;
  // The seed left the call analyzed; record() takes a call being analysed.
  storage::MySqlCallRepository calls(db);
  EXPECT_TRUE(earshot::testing::walk_to_analyzing(calls, t, id));
  EXPECT_TRUE(storage::MySqlAnalysisRepository(db).record(t, id, r).value().recorded);
  return id;
}

Id add_call(const std::string& bid, const std::vector<Line>& lines) {
  CallSeed seed;
  seed.lines = lines;
  return add_call(bid, seed);
}

CallSeed scored(const std::vector<Line>& lines, Id agent, double qa, const std::string& outcome, double talk_ratio,
                double patience_ms) {
  CallSeed s;
  s.lines = lines;
  s.agent = agent;
  s.qa = qa;
  s.outcome = outcome;
  s.talk_ratio = talk_ratio;
  s.patience_ms = patience_ms;
  return s;
}

Id add_agent(const std::string& bid, const std::string& name) {
  storage::MySqlHumanAgentRepository agents(StorageEnvironment::db());
  return *agents.upsert(tenant(bid), {"ext-" + unique_suffix(), name, "north", "Pune"});
}

HttpReply search(const std::string& token, const json& body) {
  return gateway().request("POST", "/api/v1/search", token, body);
}

std::vector<Id> result_calls(const HttpReply& r) {
  std::vector<Id> out;
  for (const auto& it : r.json["items"]) {
    if (it["source"] == "call") out.push_back(it["call_id"].get<Id>());
  }
  return out;
}

const std::vector<Line> kRefund = {{true, "Thank you for calling, how can I help?"},
                                   {false, "My refund never arrived and it has been two weeks."},
                                   {true, "I am sorry, I will resend the refund today."}};

TEST(SearchRoutes, OneBusinessesChunksNeverAppearInAnothersSearchOrSimilarCalls) {
  auto& gw = gateway();
  const std::string a = gw.new_business("sa");
  const std::string b = gw.new_business("sb");
  const Id a1 = add_call(a, kRefund);
  const Id a2 = add_call(a, std::vector<Line>{{false, "The refund has not arrived yet."}});
  const Id b1 = add_call(b, kRefund);
  const Id b2 = add_call(b, kRefund);
  storage::MySqlKnowledgeRepository knowledge(StorageEnvironment::db());
  storage::KnowledgeDocumentInput doc;
  doc.title = "Beta refund policy";
  doc.content.text = "My refund never arrived";
  const Id bdoc = *knowledge.create(tenant(b), doc);
  ASSERT_TRUE(
      *knowledge.replace_chunks(tenant(b), bdoc, 1, embedder().id(),
                                {{0, 0, 23, "My refund never arrived", embedder().embed_one("refund arrived")}}));
  const std::string ta = gw.user_token(a, "viewer");
  auto r = search(ta, {{"query", "my refund never arrived"}, {"k", 50}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["model"], embedder().id());
  EXPECT_EQ(r.json["keyword_only"], false);
  const auto got = result_calls(r);
  EXPECT_EQ(std::set<Id>(got.begin(), got.end()), (std::set<Id>{a1, a2}));
  EXPECT_EQ(r.json["items"].size(), got.size()) << "a knowledge chunk of another business: " << r.body;
  const auto& top = r.json["items"][0];
  EXPECT_EQ(top["call_id"], a1);
  EXPECT_EQ(top["rank"], 1);
  EXPECT_TRUE(top["similarity"].is_number());
  EXPECT_NE(top["text"].get<std::string>().find("refund never arrived"), std::string::npos);
  // Similar calls stay in the business; another business's call id is absent (404).
  auto sim = gw.request("GET", fmt::format("/api/v1/calls/{}/similar", a1), ta);
  ASSERT_EQ(sim.status, 200) << sim.body;
  ASSERT_EQ(sim.json["items"].size(), 1U) << sim.body;
  EXPECT_EQ(sim.json["items"][0]["call_id"], a2);
  for (const char* what : {"similar", "recommendations"}) {
    auto foreign = gw.request("GET", fmt::format("/api/v1/calls/{}/{}", b1, what), ta);
    EXPECT_EQ(foreign.status, 404) << what << " " << foreign.body;
    auto missing = gw.request("GET", fmt::format("/api/v1/calls/{}/{}", b2 + 1'000'000, what), ta);
    EXPECT_EQ(missing.status, 404) << what;
    EXPECT_EQ(foreign.json["error"]["code"], missing.json["error"]["code"])
        << "another business's call must look missing";
  }
  // Another business's call ids as a filter find nothing.
  r = search(ta, {{"query", "refund"}, {"filters", {{"call_ids", {b1, b2}}}}, {"sources", "calls"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.json["items"].empty()) << r.body;
  // And an ingest-only key may not search at all.
  auto key = gw.request("POST", "/api/v1/admin/businesses/" + a + "/api-keys", gw.user_token(a, "admin"),
                        {{"name", "k" + unique_suffix()}, {"scopes", {"ingest"}}});
  ASSERT_EQ(key.status, 201);
  EXPECT_EQ(search(key.json["secret"].get<std::string>(), {{"query", "refund"}}).status, 403);
}

TEST(SearchRoutes, SearchAndChatCiteTheUtteranceThatAnswersNotTheChunksStart) {
  auto& gw = gateway();
  const std::string bid = gw.new_business("cite");
  CallSeed seed;
  // One chunk of four utterances (0, 5, 10, 15 s); the answer is the agent's, in the third.
  seed.lines = {{false, "Hi, I am calling about my order."},
                {true, "Let me look at your account."},
                {true, "The courier lost the parcel, so a replacement ships tomorrow."},
                {false, "Okay, thanks."}};
  seed.transcript = true;
  const Id call = add_call(bid, seed);
  const std::string viewer = gw.user_token(bid, "viewer");
  const std::string question = "What happened to the parcel the courier lost?";
  auto r = search(viewer, {{"query", question}, {"sources", "calls"}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["items"].size(), 1u) << r.body;
  const auto& hit = r.json["items"][0];
  EXPECT_EQ(hit["call_id"], call);
  EXPECT_EQ(hit["start_ms"], 10'000);
  EXPECT_EQ(hit["end_ms"], 14'000);
  EXPECT_EQ(hit["speaker"], "agent");  // the chunk's first line is the customer's
  EXPECT_EQ(hit["chunk_start_ms"], 0);
  EXPECT_EQ(hit["chunk_end_ms"], 19'000);
  // The chat's citation (the business has no LLM: the extractive answer cites it too).
  auto chat =
      gw.request("POST", "/api/v1/chat", viewer, {{"question", question}, {"scope", "call"}, {"call_id", call}});
  ASSERT_EQ(chat.status, 200) << chat.body;
  ASSERT_FALSE(chat.json["citations"].empty()) << chat.body;
  const auto& cited = chat.json["citations"][0];
  EXPECT_EQ(cited["call_id"], call);
  EXPECT_EQ(cited["start_ms"], 10'000);
  EXPECT_EQ(cited["chunk_start_ms"], 0);
  EXPECT_EQ(cited["chunk_end_ms"], 19'000);
  ASSERT_EQ(chat.json["sources"].size(), 1u);
  EXPECT_EQ(chat.json["sources"][0]["start_ms"], 10'000);
  EXPECT_EQ(chat.json["sources"][0]["speaker"], "agent");
}

TEST(SearchRoutes, BadInputIsRefusedWithAReasonAndEmptyFiltersFindNothing) {
  auto& gw = gateway();
  const std::string bid = gw.new_business("sbad");
  const Id call = add_call(bid, kRefund);
  const std::string t = gw.user_token(bid, "analyst");
  const std::vector<json> bad = {
      json::object(),
      {{"query", ""}},
      {{"query", "   "}},
      {{"query", std::string(std::size_t{10} * 1024, 'a')}},
      {{"query", 42}},
      {{"query", "refund"}, {"k", 0}},
      {{"query", "refund"}, {"k", 51}},
      {{"query", "refund"}, {"k", "5"}},
      {{"query", "refund"}, {"sources", "everything"}},
      {{"query", "refund"}, {"min_similarity", 2}},
      {{"query", "refund"}, {"limit", 5}},
      {{"query", "refund"}, {"filters", "calls"}},
      {{"query", "refund"}, {"filters", {{"bid", "other"}}}},
      {{"query", "refund"}, {"filters", {{"from", "yesterday"}}}},
      {{"query", "refund"}, {"filters", {{"from", "2026-11-02"}, {"to", "2026-11-01"}}}},
      {{"query", "refund"}, {"filters", {{"status", "deleted"}}}},
      {{"query", "refund"}, {"filters", {{"agent_id", "1 OR 1=1"}}}},
      {{"query", "refund"}, {"filters", {{"call_ids", std::vector<Id>(1001, 1)}}}},
      {{"query", "refund"}, {"filters", {{"call_ids", {-1}}}}},
      {{"query", "refund"}, {"filters", {{"document_ids", "1,2"}}}},
  };
  for (const auto& body : bad) {
    auto r = search(t, body);
    EXPECT_EQ(r.status, 400) << body.dump().substr(0, 200) << " -> " << r.body;
    EXPECT_EQ(r.json["error"]["code"], "invalid_argument") << r.body;
    EXPECT_FALSE(r.json["error"]["message"].get<std::string>().empty());
  }
  auto not_json = gw.raw_request("POST", "/api/v1/search", "{\"query\":", {{"Authorization", "Bearer " + t}});
  EXPECT_EQ(not_json.status, 400);
  for (const json& filters :
       {json{{"call_ids", {call + 1'000'000}}}, json{{"status", "failed"}}, json{{"agent_id", 999'999'999}},
        json{{"from", "2030-01-01"}}, json{{"call_ids", json::array()}}, json{{"category", "no such category"}}}) {
    auto r = search(t, {{"query", "refund"}, {"filters", filters}});
    ASSERT_EQ(r.status, 200) << filters.dump() << " " << r.body;
    EXPECT_TRUE(r.json["items"].empty()) << filters.dump() << " " << r.body;
  }
  auto ok = search(t, {{"query", "refund"}, {"filters", {{"status", "analyzed"}, {"category", "billing"}}}});
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(result_calls(ok), std::vector<Id>{call});
  for (const char* q : {"?k=0", "?k=51", "?k=ten", "?limit=3"}) {
    auto r = gw.request("GET", fmt::format("/api/v1/calls/{}/similar{}", call, q), t);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
  }
  EXPECT_EQ(gw.request("GET", fmt::format("/api/v1/calls/{}/recommendations?k=11", call), t).status, 400);
  EXPECT_EQ(gw.request("GET", "/api/v1/calls/abc/similar", t).status, 400);
}

TEST(SearchRoutes, ADeletedCallLeavesSearchAndTheShardWithinSeconds) {
  auto& gw = gateway();
  const std::string bid = gw.new_business("sdel");
  const Id gone = add_call(bid, kRefund);
  const Id kept = add_call(bid, std::vector<Line>{{false, "Where is my refund? It has not arrived."}});
  const std::string admin = gw.user_token(bid, "admin");
  auto before = search(admin, {{"query", "refund never arrived"}});
  ASSERT_EQ(before.status, 200) << before.body;
  const auto found = result_calls(before);
  ASSERT_NE(std::find(found.begin(), found.end(), gone), found.end()) << before.body;
  auto rows =
      storage::MySqlEmbeddingRepository(StorageEnvironment::db()).rows_of_call(tenant(bid), embedder().id(), gone);
  ASSERT_TRUE(rows);
  ASSERT_FALSE(rows->empty());
  auto shard = gw.rag_index->get(bid, embedder().id());
  ASSERT_TRUE(shard);
  const auto chunk_key = rag::call_chunk_key(rows->back().id);
  ASSERT_TRUE((*shard)->meta(chunk_key).has_value());
  ASSERT_EQ(gw.request("DELETE", fmt::format("/api/v1/calls/{}", gone), admin).status, 204);
  // The call.deleted live event takes the call out of the loaded shard.
  EXPECT_TRUE(wait_until([&] { return !(*shard)->meta(chunk_key).has_value(); }, std::chrono::seconds(5)));
  std::vector<Id> after;
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = search(admin, {{"query", "refund never arrived"}});
        after = result_calls(r);
        return r.status == 200 && std::find(after.begin(), after.end(), gone) == after.end();
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(after, std::vector<Id>{kept});
}

TEST(SearchRoutes, CallsPurgedByRetentionLeaveTheShard) {
  auto& gw = gateway();
  const std::string bid = gw.new_business("spurge");
  const Id gone1 = add_call(bid, kRefund);
  const Id gone2 = add_call(bid, std::vector<Line>{{false, "My refund never arrived, I want it now."}});
  const Id kept = add_call(bid, std::vector<Line>{{false, "Where is my refund? It has not arrived."}});
  const std::string admin = gw.user_token(bid, "admin");
  ASSERT_EQ(search(admin, {{"query", "refund never arrived"}}).status, 200);
  auto shard = gw.rag_index->get(bid, embedder().id());
  ASSERT_TRUE(shard);
  std::vector<std::uint64_t> keys;
  for (Id id : {gone1, gone2}) {
    auto rows =
        storage::MySqlEmbeddingRepository(StorageEnvironment::db()).rows_of_call(tenant(bid), embedder().id(), id);
    ASSERT_TRUE(rows && !rows->empty());
    keys.push_back(rag::call_chunk_key(rows->back().id));
    ASSERT_TRUE((*shard)->meta(keys.back()).has_value());
  }
  // What the sync worker's retention sweep does: delete a batch, announce it once.
  storage::MySqlCallRepository calls(StorageEnvironment::db());
  const std::vector<Id> batch{gone1, gone2};
  ASSERT_EQ(calls.remove_many(tenant(bid), batch).value(), 2);
  auto redis =
      cache::RedisClient::make(cache::RedisSettings{.url = endpoints().redis_url, .timeout = std::chrono::seconds(2)});
  ASSERT_TRUE(redis);
  cache::LiveEvents events(**redis, SystemClock::instance());
  ASSERT_TRUE(events.publish(bid, "calls.purged", {{"call_ids", batch}}).has_value());
  EXPECT_TRUE(wait_until([&] { return !(*shard)->meta(keys[0]).has_value() && !(*shard)->meta(keys[1]).has_value(); },
                         std::chrono::seconds(5)));
  auto after = search(admin, {{"query", "refund never arrived"}});
  EXPECT_EQ(result_calls(after), std::vector<Id>{kept}) << after.body;
}

TEST(SearchRoutes, SimilarCallsAndRecommendationsFromAnotherAgentsBetterCall) {
  auto& gw = gateway();
  const std::string bid = gw.new_business("srec");
  const Id sam = add_agent(bid, "Sam Ortiz");
  const Id ria = add_agent(bid, "Ria Shah");
  const Id me = add_call(bid, scored(kRefund, sam, 0.4, "unresolved", 0.8, 150));
  const Id better = add_call(bid, scored(kRefund, ria, 0.9, "resolved", 0.45, 900));
  const Id own = add_call(bid, scored(kRefund, sam, 1.0, "resolved", 0.4, 900));  // the same agent: no example
  add_call(bid,
           scored({{false, "The internet is down again, the router blinks red."}}, ria, 1.0, "resolved", 0.3, 900));
  const std::string t = gw.user_token(bid, "viewer");
  auto sim = gw.request("GET", fmt::format("/api/v1/calls/{}/similar?k=2", me), t);
  ASSERT_EQ(sim.status, 200) << sim.body;
  EXPECT_EQ(sim.json["indexed"], true);
  ASSERT_EQ(sim.json["items"].size(), 2U);
  std::map<Id, json> by_id;
  for (const auto& it : sim.json["items"]) by_id[it["call_id"].get<Id>()] = it;
  ASSERT_TRUE(by_id.contains(better)) << sim.body;
  EXPECT_EQ(by_id[better]["human_agent"]["name"], "Ria Shah");
  EXPECT_EQ(by_id[better]["qa_score"], 0.9);
  EXPECT_EQ(by_id[better]["outcome"], "resolved");
  EXPECT_GT(by_id[better]["score"].get<double>(), 0.9);

  auto rec = gw.request("GET", fmt::format("/api/v1/calls/{}/recommendations", me), t);
  ASSERT_EQ(rec.status, 200) << rec.body;
  EXPECT_EQ(rec.json["outcome"], "unresolved");
  EXPECT_EQ(rec.json["human_agent"]["name"], "Sam Ortiz");
  ASSERT_EQ(rec.json["examples"].size(), 1U) << rec.body;
  EXPECT_EQ(rec.json["examples"][0]["call_id"], better);
  std::map<std::string, json> nudges;
  for (const auto& n : rec.json["nudges"]) nudges[n["metric"].get<std::string>()] = n;
  ASSERT_TRUE(nudges.contains("agent_talk_ratio")) << rec.body;
  EXPECT_EQ(nudges["agent_talk_ratio"]["value"], 0.8);
  EXPECT_EQ(nudges["agent_talk_ratio"]["example_value"], 0.45);
  EXPECT_EQ(nudges["agent_talk_ratio"]["example_call_id"], better);
  ASSERT_TRUE(nudges.contains("patience_ms"));
  EXPECT_EQ(nudges["patience_ms"]["value"], 150);
  EXPECT_EQ(nudges["patience_ms"]["example_value"], 900);
  for (const auto& n : rec.json["nudges"]) EXPECT_EQ(n["example_call_id"], better);
  // With no similarity floor the unrelated call of the other agent is an example too.
  auto loose = gw.request("GET", fmt::format("/api/v1/calls/{}/recommendations?min_similarity=0&k=5", me), t);
  ASSERT_EQ(loose.status, 200) << loose.body;
  EXPECT_EQ(loose.json["examples"].size(), 2U) << loose.body;
  for (const auto& e : loose.json["examples"]) EXPECT_NE(e["call_id"], own) << "the same agent's call";
  // A call without a whole-call vector yet: answered, not indexed.
  const Id fresh = seed_call(bid, "f-" + unique_suffix(), "Pune", 0.1, 0.5, storage::CallStatus::kAnalyzed);
  auto none = gw.request("GET", fmt::format("/api/v1/calls/{}/similar", fresh), t);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.json["indexed"], false);
  EXPECT_TRUE(none.json["items"].empty());
}

// ---- the labelled retrieval set -----------------------------------------------------------

// The six scripted dialogues of the demo data generator (services/cli/demo_data.cpp), as the
// analyze stage would index them; each is seeded twice, with two agents' greetings.
std::vector<std::vector<Line>> demo_dialogues(const std::string& agent) {
  return {
      {{true, "Thank you for calling Acme billing, my name is " + agent + ", how can I help you today?"},
       {false, "Hi, I was charged twice for my October invoice."},
       {true, "I am sorry about that. Please hold while I look into your account."},
       {true, "Thank you for holding. I can see the duplicate charge and I have refunded it."},
       {false, "Great, thank you. When will I see the money back?"},
       {true, "The refund takes three to five business days. Is there anything else I can help with?"},
       {false, "No, that is all. Thanks for your help."}},
      {{true, "Hello, this is " + agent + " from Acme. I am calling about your premium plan trial."},
       {false, "Oh yes, hello. I have been using it for two weeks."},
       {true, "Wonderful. Would you like to upgrade today? I can offer twenty percent off the first year."},
       {false, "Twenty percent sounds good. What does the plan include?"},
       {true, "Unlimited users, priority support and the analytics dashboard."},
       {false, "Okay, let us do it. Please upgrade my account."},
       {true, "Done. Thank you for choosing Acme, you will get a confirmation email shortly."}},
      {{true, "Thank you for calling Acme support, this is " + agent + ". How can I help?"},
       {false, "The blender I ordered arrived broken and I am very unhappy about it."},
       {true, "I am really sorry to hear that. We will send you a replacement right away."},
       {false, "No, I do not want a replacement, I want a refund."},
       {true, "Of course. I will process a full refund today."},
       {false, "This is the second time this happened. It is terrible service."},
       {true, "I understand, and I apologize. I have added a credit to your account as well."}},
      {{true, "Acme billing, " + agent + " speaking."},
       {false, "I cancelled my subscription last month but you still charged me."},
       {true, "Let me check that for you."},
       {false, "This is ridiculous, I want my money back now."},
       {true, "I completely understand. The cancellation was recorded late, so I am refunding the charge."},
       {false, "Okay. Please make sure it does not happen again."},
       {true, "It will not. You will receive a confirmation by email."}},
      {{true, "Thank you for calling Acme sales, this is " + agent + "."},
       {false, "Hi, I run a small team of ten people. How much does your service cost?"},
       {true, "For ten people the standard plan is two hundred dollars a month."},
       {false, "Is there a discount if we pay for the whole year?"},
       {true, "Yes, annual billing saves fifteen percent. I can send you a quote."},
       {false, "Please do, that would be helpful."},
       {true, "I have sent it to your email. Thank you for calling."}},
      {{true, "Acme support, this is " + agent + ", how may I help you?"},
       {false, "My order is two weeks late and nobody answers my emails."},
       {true, "I am sorry. Let me track the order. Please hold."},
       {true, "Thank you for waiting. The package is stuck at the depot."},
       {false, "That is not acceptable. I want to speak to a manager."},
       {true, "I understand your frustration. I will escalate this to my manager and we will call you back today."},
       {false, "Fine. I expect a call today."}},
  };
}

TEST(SearchRoutes, LabelledRetrievalSetFromTheDemoDialogues) {
  auto& gw = gateway();
  const std::string bid = gw.new_business("slab");
  std::map<int, std::set<Id>> calls_of;  // dialogue -> its calls
  for (const char* agent : {"Sarah", "Mark"}) {
    const auto d = demo_dialogues(agent);
    for (std::size_t i = 0; i < d.size(); ++i) calls_of[static_cast<int>(i)].insert(add_call(bid, d[i]));
  }
  // Questions a team lead would ask, in their own words, and the dialogue that answers each.
  const std::vector<std::pair<std::string, int>> questions = {
      {"customer charged twice on an invoice", 0},
      {"how many days until the refund shows up", 0},
      {"upgrading after the premium trial with a discount", 1},
      {"what is included in the premium plan", 1},
      {"blender delivered broken", 2},
      {"customer refused a replacement and wanted a refund", 2},
      {"still billed after cancelling the subscription", 3},
      {"price of the service for a team of ten", 4},
      {"discount for paying yearly", 4},
      {"late order, customer asked for a manager", 5},
      {"package stuck at the depot", 5},
      {"nobody answers my emails", 5},
  };
  const std::string t = gw.user_token(bid, "viewer");
  double recall_sum = 0;
  double rr_sum = 0;
  for (const auto& [q, answer] : questions) {
    auto r = search(t, {{"query", q}, {"k", 20}, {"sources", "calls"}});
    ASSERT_EQ(r.status, 200) << r.body;
    std::vector<Id> ranked;  // distinct calls in rank order
    for (Id id : result_calls(r)) {
      if (std::find(ranked.begin(), ranked.end(), id) == ranked.end()) ranked.push_back(id);
    }
    const auto& relevant = calls_of[answer];
    std::size_t found = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(5, ranked.size()); ++i) found += relevant.count(ranked[i]);
    recall_sum += static_cast<double>(found) / static_cast<double>(relevant.size());
    for (std::size_t i = 0; i < ranked.size(); ++i) {
      if (relevant.contains(ranked[i])) {
        rr_sum += 1.0 / static_cast<double>(i + 1);
        break;
      }
    }
  }
  const double recall5 = recall_sum / static_cast<double>(questions.size());
  const double mrr = rr_sum / static_cast<double>(questions.size());
  std::printf("labelled retrieval set: %zu questions over %zu calls: recall@5 %.3f, MRR %.3f\n", questions.size(),
              std::size_t{12}, recall5, mrr);
  EXPECT_GE(recall5, 0.9);
  EXPECT_GE(mrr, 0.85);
}

}  // namespace
}  // namespace earshot::testing
