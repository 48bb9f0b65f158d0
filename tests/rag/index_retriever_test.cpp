// IndexRetriever over the in-memory repositories: filters resolved to call ids, rows deleted
// since the shard loaded dropped, tenant scoping, the keyword-only fallback, similar calls,
// call hits citing the utterance that answers (and utterances.hpp on its own).
#include "earshot/rag/index_retriever.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "earshot/core/json_ms.hpp"
#include "earshot/rag/storage_source.hpp"
#include "earshot/rag/utterances.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/storage/repositories_fake.hpp"

namespace earshot::rag {
namespace {

using storage::Id;

storage::TenantId tenant(const std::string& bid) {
  return *storage::TenantId::make(bid);
}

storage::CallFilter filter(const std::function<void(storage::CallFilter&)>& set) {
  storage::CallFilter f;
  set(f);
  return f;
}

IndexRetrieverSettings fast_timeout() {
  IndexRetrieverSettings s;
  s.embed_timeout = std::chrono::milliseconds(50);
  return s;
}

// An embedder that fails every request, or (hold) keeps its callbacks unanswered until the
// test releases them.
class BrokenEmbedder final : public llm::EmbeddingProvider {
 public:
  explicit BrokenEmbedder(bool hold) : hold_(hold) {}
  ~BrokenEmbedder() override { release(); }
  void embed(std::vector<std::string> /*texts*/, llm::EmbedCallback done) override {
    if (!hold_) {
      done(make_error(ErrorCode::kUnavailable, "embedder down"));
      return;
    }
    std::lock_guard lock(mu_);
    held_.push_back(std::move(done));
  }
  [[nodiscard]] std::string id() const override { return "hashed-bow:256"; }
  void release() {
    std::vector<llm::EmbedCallback> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& cb : held) cb(make_error(ErrorCode::kTimeout, "late"));
  }

 private:
  bool hold_;
  std::mutex mu_;
  std::vector<llm::EmbedCallback> held_;
};

class RetrieverTest : public ::testing::Test {
 protected:
  RetrieverTest()
      : source_(repos_.embeddings, repos_.knowledge),
        registry_(source_, clock_, RegistrySettings{}),
        retriever_(registry_, repos_.calls, repos_.embeddings, repos_.knowledge, &repos_.transcripts, fast_timeout()) {}

  // A call of `bid` with one chunk per text ("agent: ..." / "customer: ..."), 10 s each, and
  // its whole-call vector.
  Id add_call(const std::string& bid, const std::string& external, std::vector<std::string> chunks,
              std::optional<Id> agent = std::nullopt, std::int64_t started_ms = 1'790'000'000'000) {
    storage::CallInput in;
    in.external_id = external;
    in.human_agent_id = agent;
    in.issue_category = "billing";
    in.started_at = storage::Timestamp(std::chrono::milliseconds(started_ms));
    const auto id = repos_.calls.upsert(tenant(bid), in)->id;
    std::vector<storage::CallEmbedding> rows;
    std::string all;
    for (const auto& c : chunks) all += c + "\n";
    rows.push_back({-1, 0, 0, "", embedder_.id(), embedder_.embed_one(all)});
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      const auto at = static_cast<std::int64_t>(i) * 10'000;
      rows.push_back(
          {static_cast<std::int64_t>(i), at, at + 10'000, chunks[i], embedder_.id(), embedder_.embed_one(chunks[i])});
    }
    EXPECT_TRUE(repos_.embeddings.replace(tenant(bid), id, rows));
    return id;
  }

  Id add_document(const std::string& bid, const std::string& title, std::vector<std::string> chunks) {
    storage::KnowledgeDocumentInput in;
    in.title = title;
    in.content.text = title;
    const auto id = *repos_.knowledge.create(tenant(bid), in);
    std::vector<storage::KnowledgeChunkInput> rows;
    rows.reserve(chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      rows.push_back({static_cast<std::int64_t>(i), 0, 1, chunks[i], embedder_.embed_one(chunks[i])});
    }
    EXPECT_TRUE(*repos_.knowledge.replace_chunks(tenant(bid), id, 1, embedder_.id(), rows));
    return id;
  }

  Result<std::vector<Retrieved>> search(const std::string& bid, const RetrievalQuery& q) {
    return retriever_.search(tenant(bid), q, QueryEmbedder{&embedder_, embedder_.id()});
  }

  static RetrievalQuery query(std::string text, std::size_t k = 5) {
    RetrievalQuery q;
    q.text = std::move(text);
    q.k = k;
    return q;
  }

  static std::vector<Id> call_ids(const std::vector<Retrieved>& hits) {
    std::vector<Id> out;
    for (const auto& h : hits) {
      if (h.source.kind == SourceKind::kCall) out.push_back(h.source.call_id);
    }
    return out;
  }

  testing::FakeClock clock_;
  testing::FakeRepositories repos_;
  StorageChunkSource source_;
  IndexRegistry registry_;
  IndexRetriever retriever_;
  llm::HashedBowEmbedder embedder_{256};
};

TEST(Utterances, ParsedFromTheStoredSegmentsAsTheAnalyzeStageReadsThem) {
  const auto u = parse_utterances(R"([{"speaker":"agent","start_ms":0,"end_ms":2500,"text":"hello","confidence":0.9},)"
                                  R"( 7, {"speaker":"customer","start_ms":3000,"end_ms":6000,"text":"my refund"},)"
                                  R"( {"speaker":"spk_1","start_ms":6500,"text":"late"}])");
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].speaker, "agent");
  EXPECT_EQ(u[0].end_ms, 2'500);
  EXPECT_EQ(u[1].speaker, "customer");
  EXPECT_EQ(u[1].start_ms, 3'000);
  EXPECT_EQ(u[1].text, "my refund");
  EXPECT_EQ(u[2].speaker, "agent");  // anything but the customer is the agent
  EXPECT_EQ(u[2].end_ms, 6'500);     // no end: its start
  EXPECT_TRUE(parse_utterances("not json").empty());
  EXPECT_TRUE(parse_utterances(R"({"speaker":"agent"})").empty());
}

TEST(Utterances, TheBestIsTheOneInsideTheRangeSharingTheMostQuestionTerms) {
  const std::vector<Utterance> u = {
      {0, 4'000, "agent", "Thanks for calling about your refund, how can I help?"},
      {5'000, 9'000, "customer", "I was charged twice for the same order"},
      {10'000, 14'000, "agent", "The double charge is refunded within five business days"},
      {15'000, 19'000, "customer", "Refunded within five days, charged twice, got it"},
  };
  // "charged twice": utterances 1 and 3 share both terms; the earlier wins.
  EXPECT_EQ(best_utterance("why was the customer charged twice?", u, 0, 19'000), 1u);
  EXPECT_EQ(best_utterance("how long until it is refunded, five days?", u, 0, 14'000), 2u);
  // Only utterances starting inside the range count.
  EXPECT_EQ(best_utterance("charged twice", u, 10'000, 19'000), 3u);
  // Stop words alone, or no shared term: none.
  EXPECT_EQ(best_utterance("what is the", u, 0, 19'000), std::nullopt);
  EXPECT_EQ(best_utterance("weather forecast", u, 0, 19'000), std::nullopt);
  EXPECT_EQ(best_utterance("refund", {}, 0, 19'000), std::nullopt);
}

TEST_F(RetrieverTest, ACallHitCitesTheUtteranceThatAnswersNotTheChunksStart) {
  // One chunk of four utterances; the answer is in the third, said by the agent.
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"customer", "hello I am calling about my order"},
      {"agent", "sure let me look at your account"},
      {"agent", "the courier lost the parcel so we ship a replacement tomorrow"},
      {"customer", "ok thanks"}};
  storage::CallInput in;
  in.external_id = "multi";
  in.started_at = storage::Timestamp(std::chrono::milliseconds(1'790'000'000'000));
  const Id id = repos_.calls.upsert(tenant("biz"), in)->id;
  nlohmann::json segments = nlohmann::json::array();
  std::string chunk;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto at = 3'000 + static_cast<std::int64_t>(i) * 6'000;
    segments.push_back(
        {{"speaker", lines[i].first}, {"start_ms", at}, {"end_ms", at + 5'000}, {"text", lines[i].second}});
    chunk += (chunk.empty() ? "" : "\n") + lines[i].first + ": " + lines[i].second;
  }
  storage::Transcript tr;
  tr.call_id = id;
  tr.segments_json = segments.dump();
  ASSERT_TRUE(repos_.transcripts.put(tenant("biz"), tr));
  ASSERT_TRUE(repos_.embeddings.replace(tenant("biz"), id,
                                        {{-1, 0, 0, "", embedder_.id(), embedder_.embed_one(chunk)},
                                         {0, 3'000, 26'000, chunk, embedder_.id(), embedder_.embed_one(chunk)}}));
  // Citations are pinpointed in the redacted transcript, which the analyze stage stores.
  auto hits = search("biz", query("what happened to the parcel the courier lost?"));
  ASSERT_TRUE(hits) << hits.error().to_string();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().source.start_ms, 3'000);  // none stored yet: the chunk's start
  storage::TranscriptRedaction red;
  red.call_id = id;
  red.version = repos_.transcripts.get(tenant("biz"), id)->version;
  red.segments_json = tr.segments_json;  // nothing personal in it
  ASSERT_TRUE(repos_.transcripts.put_redaction(tenant("biz"), red));
  hits = search("biz", query("what happened to the parcel the courier lost?"));
  ASSERT_TRUE(hits) << hits.error().to_string();
  ASSERT_EQ(hits->size(), 1u);
  const auto& s = hits->front().source;
  EXPECT_EQ(s.start_ms, 15'000);  // the third utterance
  EXPECT_EQ(s.end_ms, 20'000);
  EXPECT_EQ(s.speaker, "agent");  // the chunk's first line is the customer's
  EXPECT_EQ(s.chunk_start_ms, 3'000);
  EXPECT_EQ(s.chunk_end_ms, 26'000);
  EXPECT_EQ(s.text, chunk);  // the passage is still the whole chunk
  // Another business never reads this transcript: its own call, same chunk, no transcript.
  const Id other = add_call("other", "o", {chunk});
  auto theirs = search("other", query("what happened to the parcel the courier lost?"));
  ASSERT_TRUE(theirs);
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ(theirs->front().source.call_id, other);
  EXPECT_EQ(theirs->front().source.start_ms, 0);  // no transcript of its own: the chunk's start
  EXPECT_EQ(theirs->front().source.speaker, "customer");
}

TEST_F(RetrieverTest, ReturnsTheMatchingChunkWithItsSourceFieldsNumberedInRankOrder) {
  const Id weather = add_call("biz", "w", {"agent: good morning", "customer: the weather is sunny today"});
  const Id refund = add_call("biz", "r", {"agent: how can I help", "customer: my refund never arrived at my bank"});
  auto hits = search("biz", query("refund never arrived"));
  ASSERT_TRUE(hits) << hits.error().to_string();
  ASSERT_FALSE(hits->empty());
  const auto& top = hits->front();
  EXPECT_EQ(top.source.number, 1);
  EXPECT_EQ(top.source.kind, SourceKind::kCall);
  EXPECT_EQ(top.source.call_id, refund);
  EXPECT_EQ(top.source.speaker, "customer");
  EXPECT_EQ(top.source.start_ms, 10'000);
  EXPECT_EQ(top.source.end_ms, 20'000);
  EXPECT_EQ(top.source.text, "customer: my refund never arrived at my bank");
  ASSERT_TRUE(top.similarity.has_value());
  EXPECT_GT(top.similarity.value_or(0), 0.5F);
  EXPECT_FALSE(top.keyword_only);
  for (std::size_t i = 0; i < hits->size(); ++i) EXPECT_EQ((*hits)[i].source.number, static_cast<int>(i) + 1);
  (void)weather;
}

TEST_F(RetrieverTest, KnowledgeHitsCarryTheDocumentTitleAndChunk) {
  add_call("biz", "c", {"customer: where is my parcel"});
  const Id doc =
      add_document("biz", "Refund policy", {"Shipping takes five days.", "Refunds are paid within 14 days."});
  RetrievalQuery q = query("refunds paid within days");
  q.sources = SourceSet::kKnowledge;
  auto hits = search("biz", q);
  ASSERT_TRUE(hits);
  ASSERT_FALSE(hits->empty());
  for (const auto& h : *hits) EXPECT_EQ(h.source.kind, SourceKind::kKnowledge);
  EXPECT_EQ(hits->front().source.document_id, doc);
  EXPECT_EQ(hits->front().source.document_title, "Refund policy");
  EXPECT_EQ(hits->front().source.chunk_index, 1);
  EXPECT_EQ(hits->front().source.text, "Refunds are paid within 14 days.");
}

TEST_F(RetrieverTest, AnotherBusinessesChunksNeverComeBack) {
  const Id mine = add_call("alpha", "a", {"customer: my refund never arrived"});
  const Id theirs = add_call("beta", "b", {"customer: my refund never arrived"});
  add_document("beta", "Beta refunds", {"my refund never arrived"});
  auto hits = search("alpha", query("refund never arrived", 10));
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1U);
  EXPECT_EQ(hits->front().source.call_id, mine);
  auto other = search("beta", query("refund never arrived", 10));
  ASSERT_TRUE(other);
  EXPECT_EQ(call_ids(*other), std::vector<Id>{theirs});
  // Similar calls of alpha's call, asked under beta: not there.
  auto sim = retriever_.similar_calls(tenant("beta"), mine, 5, QueryEmbedder{&embedder_, embedder_.id()});
  ASSERT_FALSE(sim);
  EXPECT_EQ(sim.error().code, ErrorCode::kNotFound);
}

TEST_F(RetrieverTest, CallFiltersRestrictTheCallsSearched) {
  const Id a1 = add_call("biz", "a1", {"customer: refund please"}, 7, 1'790'000'000'000);
  const Id a2 = add_call("biz", "a2", {"customer: refund again please"}, 8, 1'790'000'100'000);
  const Id doc = add_document("biz", "Refunds", {"refund please"});
  RetrievalQuery q = query("refund please", 10);
  q.calls = filter([](auto& f) { f.human_agent_id = 8; });
  auto hits = search("biz", q);
  ASSERT_TRUE(hits);
  EXPECT_EQ(call_ids(*hits), std::vector<Id>{a2});
  // Knowledge is not restricted by call filters.
  EXPECT_EQ(hits->size(), 2U);

  q.calls = filter([](auto& f) { f.started_to = storage::Timestamp(std::chrono::milliseconds(1'790'000'050'000)); });
  hits = search("biz", q);
  ASSERT_TRUE(hits);
  EXPECT_EQ(call_ids(*hits), std::vector<Id>{a1});

  q.calls = filter([&](auto& f) { f.call_ids = {a1}; });
  q.document_ids = std::vector<std::int64_t>{doc + 100};
  hits = search("biz", q);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1U);
  EXPECT_EQ(hits->front().source.call_id, a1);

  q.calls = filter([](auto& f) { f.status = storage::CallStatus::kFailed; });
  q.document_ids = std::vector<std::int64_t>{};
  hits = search("biz", q);
  ASSERT_TRUE(hits);
  EXPECT_TRUE(hits->empty());
}

TEST_F(RetrieverTest, RowsDeletedSinceTheShardLoadedAreDroppedAndTheRestRenumbered) {
  const Id gone = add_call("biz", "g", {"customer: refund never arrived"});
  const Id kept = add_call("biz", "k", {"customer: my refund has not arrived yet"});
  auto before = search("biz", query("refund never arrived"));
  ASSERT_TRUE(before);
  ASSERT_EQ(before->front().source.call_id, gone);
  ASSERT_TRUE(registry_.loaded("biz", embedder_.id()));
  // The rows go from the database; the shard has not heard of it.
  ASSERT_TRUE(repos_.embeddings.replace(tenant("biz"), gone, {}));
  auto after = search("biz", query("refund never arrived"));
  ASSERT_TRUE(after);
  EXPECT_EQ(call_ids(*after), std::vector<Id>{kept});
  EXPECT_EQ(after->front().source.number, 1);
}

TEST_F(RetrieverTest, AFailingEmbedderFallsBackToKeywordsAndSaysSo) {
  const Id refund = add_call("biz", "r", {"customer: my refund never arrived"});
  add_call("biz", "w", {"customer: the weather is sunny"});
  for (bool hold : {false, true}) {
    BrokenEmbedder broken(hold);
    RetrievalQuery q = query("refund");
    auto hits = retriever_.search(tenant("biz"), q, QueryEmbedder{&broken, embedder_.id()});
    ASSERT_TRUE(hits) << hits.error().to_string();
    ASSERT_EQ(hits->size(), 1U) << "hold " << hold;
    EXPECT_EQ(hits->front().source.call_id, refund);
    EXPECT_TRUE(hits->front().keyword_only);
    EXPECT_FALSE(hits->front().similarity.has_value());
    EXPECT_TRUE(hits->front().bm25.has_value());
  }
  // No embedder at all: keywords too.
  auto none = retriever_.search(tenant("biz"), query("refund"), QueryEmbedder{nullptr, embedder_.id()});
  ASSERT_TRUE(none);
  ASSERT_EQ(none->size(), 1U);
  EXPECT_TRUE(none->front().keyword_only);
}

TEST_F(RetrieverTest, BadQueriesAreRefused) {
  add_call("biz", "r", {"customer: refund"});
  for (const auto& q : {query(""), query("   \n"), query("refund", 0), query("refund", 100'000)}) {
    auto hits = search("biz", q);
    ASSERT_FALSE(hits) << q.text << " k " << q.k;
    EXPECT_EQ(hits.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(RetrieverTest, SimilarCallsExcludeTheCallItselfAndCallsDeletedSince) {
  const Id a = add_call("biz", "a", {"customer: my refund never arrived", "agent: I will refund you today"});
  const Id b = add_call("biz", "b", {"customer: my refund has not arrived", "agent: I refund you now"});
  const Id c = add_call("biz", "c", {"customer: the internet is down", "agent: restart the router"});
  const QueryEmbedder e{&embedder_, embedder_.id()};
  auto sim = retriever_.similar_calls(tenant("biz"), a, 5, e);
  ASSERT_TRUE(sim) << sim.error().to_string();
  ASSERT_EQ(sim->size(), 2U);
  EXPECT_EQ(sim->front().call_id, b);
  EXPECT_EQ(sim->back().call_id, c);
  EXPECT_GT(sim->front().similarity, sim->back().similarity);
  ASSERT_TRUE(*repos_.calls.remove(tenant("biz"), b));
  sim = retriever_.similar_calls(tenant("biz"), a, 5, e);
  ASSERT_TRUE(sim);
  ASSERT_EQ(sim->size(), 1U);
  EXPECT_EQ(sim->front().call_id, c);
  auto missing = retriever_.similar_calls(tenant("biz"), 999'999, 5, e);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(Utterances, StoredTimesOutOfRangeAreClampedNotOverflowed) {
  // get<int64_t>() of a float out of range is undefined; times are clamped to 0..kMaxJsonMs.
  const auto u = parse_utterances(R"([{"speaker":"agent","start_ms":1e300,"end_ms":9e18,"text":"a"},)"
                                  R"({"speaker":"agent","start_ms":-5,"end_ms":-1e300,"text":"b"},)"
                                  R"({"speaker":"agent","start_ms":18446744073709551615,"end_ms":2.6,"text":"c"}])");
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].start_ms, kMaxJsonMs);
  EXPECT_EQ(u[0].end_ms, kMaxJsonMs);
  EXPECT_EQ(u[1].start_ms, 0);
  EXPECT_EQ(u[1].end_ms, 0);
  EXPECT_EQ(u[2].start_ms, kMaxJsonMs);
  EXPECT_EQ(u[2].end_ms, 3);
}

}  // namespace
}  // namespace earshot::rag
