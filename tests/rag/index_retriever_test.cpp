// IndexRetriever over the in-memory repositories: filters resolved to call ids, rows deleted
// since the shard loaded dropped, tenant scoping, the keyword-only fallback, similar calls.
#include "earshot/rag/index_retriever.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/rag/storage_source.hpp"
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
        retriever_(registry_, repos_.calls, repos_.embeddings, repos_.knowledge, fast_timeout()) {}

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

}  // namespace
}  // namespace earshot::rag
