// The embed stage against the storage fakes and in-process embedders: a pending document is
// chunked, embedded and set ready with a knowledge.status event; a message for an older
// version writes nothing; a retryable embedder failure is retried and, on the last attempt,
// ends the document failed with the reason (dead-lettered); a permanent failure fails at
// once; another business's document id is never touched; a redelivery embeds nothing twice;
// reembed re-embeds the documents and then the analysed calls of another embedder in bounded
// messages (calls from their stored chunk texts, with a call.reindexed event each, never
// over a call analysed meanwhile, another business's untouched), waits for the config to
// name the embedder it was sent for, and its metrics count what it did. Hermetic.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "earshot/llm/embedding.hpp"
#include "earshot/pipeline/embed_stage.hpp"
#include "earshot/queue/messages.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/pipeline/business_llm_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/embeddings_fake.hpp"
#include "fakes/storage/knowledge_fake.hpp"
#include "fakes/storage/pipeline_configs_fake.hpp"
#include "stage_outcome.hpp"

namespace earshot::pipeline {
namespace {

namespace fakes = earshot::testing;
using nlohmann::json;
using storage::KnowledgeStatus;
using storage::TenantId;

// The hashed bag-of-words embedder, counting texts, that can be told to fail its next
// requests with an error.
class ScriptedEmbedder final : public llm::EmbeddingProvider {
 public:
  explicit ScriptedEmbedder(std::string id = "hashed-bow:64") : id_(std::move(id)) {}
  void embed(std::vector<std::string> texts, llm::EmbedCallback done) override {
    std::optional<Error> fail;
    std::function<void(const std::vector<std::string>&)> hook;
    {
      std::lock_guard lock(mu_);
      if (failures_ > 0) {
        --failures_;
        fail = error_;
      }
      hook = on_embed_;
    }
    if (hook) hook(texts);
    if (fail) {
      done(std::unexpected(*fail));
      return;
    }
    texts_ += static_cast<int>(texts.size());
    std::vector<llm::Embedding> out;
    out.reserve(texts.size());
    for (const auto& t : texts) out.push_back(inner_.embed_one(t));
    done(std::move(out));
  }
  [[nodiscard]] std::string id() const override { return id_; }
  void fail_next(Error e, int times = 1) {
    std::lock_guard lock(mu_);
    error_ = std::move(e);
    failures_ = times;
  }
  [[nodiscard]] int texts() const { return texts_; }
  // Runs before every request (with its texts), on the calling thread.
  void on_embed(std::function<void(const std::vector<std::string>&)> hook) {
    std::lock_guard lock(mu_);
    on_embed_ = std::move(hook);
  }

 private:
  std::string id_;
  llm::HashedBowEmbedder inner_{64};
  std::mutex mu_;
  Error error_{ErrorCode::kInternal, ""};
  int failures_ = 0;
  std::function<void(const std::vector<std::string>&)> on_embed_;
  std::atomic<int> texts_{0};
};

struct Event {
  std::string bid;
  std::string type;
  json data;
};

// About `words` words in sentences and paragraphs, enough for several chunks.
std::string long_text(int words) {
  std::string out;
  for (int i = 0; i < words; ++i) {
    out += "word" + std::to_string(i % 97);
    if (i % 12 == 11) out += ".";
    out += (i % 60 == 59) ? "\n\n" : " ";
  }
  return out + "end.";
}

// The value of the series `series` (name{labels} as exposed) in `m`; -1 when absent.
double sample(const Metrics& m, const std::string& series) {
  std::istringstream in(m.serialize());
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// The Fail of `r` (a test failure, and an empty Fail, when it is something else).
queue::Fail must_fail(const queue::HandlerResult& r) {
  return testing::failure_of(r).value_or(queue::Fail{"(not a Fail)", ErrorCode::kInternal});
}

class EmbedStageUnit : public ::testing::Test {
 protected:
  EmbedStageUnit() {
    topology.max_attempts = 3;
    stage = std::make_unique<EmbedStage>(deps());
  }

  EmbedStageDeps deps() {
    return EmbedStageDeps{.knowledge = knowledge,
                          .embeddings = embeddings,
                          .configs = configs,
                          .providers = providers,
                          .metrics = metrics,
                          .clock = clock,
                          .topology = topology,
                          .publish_event =
                              [this](const std::string& bid, std::string_view type, json data) {
                                std::lock_guard lock(mu);
                                events.push_back({bid, std::string(type), std::move(data)});
                              },
                          .chunking = {},
                          .embed_batch = 4,
                          .wait = std::chrono::seconds(5),
                          .reembed_per_message = 200,
                          .reembed_calls_per_message = 100};
  }

  // An analysed call of `t` whose vectors `old` made from these chunks (what the analyze
  // stage stored); `status` other than analyzed stops short of it.
  storage::Id analysed_call(const TenantId& t, const std::string& external, const std::vector<std::string>& chunks,
                            llm::EmbeddingProvider& old, storage::CallStatus status = storage::CallStatus::kAnalyzed) {
    storage::CallInput in;
    in.external_id = external;
    const auto id = calls.upsert(t, in).value().id;
    using S = storage::CallStatus;
    for (auto [from, to] : {std::pair{S::kPending, S::kTranscribing}, std::pair{S::kTranscribing, S::kTranscribed},
                            std::pair{S::kTranscribed, S::kAnalyzing}, std::pair{S::kAnalyzing, S::kAnalyzed}}) {
      if (from == status) break;
      EXPECT_TRUE(calls.advance(t, id, from, to).value());
    }
    std::vector<TranscriptChunk> parts;
    parts.reserve(chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      parts.push_back(
          {static_cast<std::int64_t>(i) * 10'000, static_cast<std::int64_t>(i) * 10'000 + 9'000, chunks[i]});
    }
    BusinessLlm llm;
    llm.embedder = &old;
    llm.embedder_id = old.id();
    auto rows = embed_call_chunks(llm, parts, std::chrono::seconds(5));
    EXPECT_TRUE(rows) << rows.error().to_string();
    EXPECT_TRUE(embeddings.replace(t, id, rows.value_or(std::vector<storage::CallEmbedding>{})));
    return id;
  }

  queue::HandlerResult reembed(const std::string& bid, const std::string& selected = "hashed-bow",
                               std::optional<std::int64_t> after = {}, int attempt = 1) {
    const queue::EmbedRequest r{
        .bid = bid, .kind = queue::EmbedKind::kReembed, .id = selected, .version = {}, .after = after};
    return stage->handle(message(r, attempt));
  }

  storage::Id document(const TenantId& t, const std::string& text, const std::string& title = "Refund policy") {
    storage::KnowledgeDocumentInput in;
    in.title = title;
    in.content.text = text;
    auto id = knowledge.create(t, in);
    EXPECT_TRUE(id) << id.error().to_string();
    return id.value_or(0);
  }

  static queue::IncomingMessage message(const queue::EmbedRequest& r, int attempt = 1) {
    queue::IncomingMessage m;
    m.envelope.bid = r.bid;
    m.envelope.stage = queue::Stage::kEmbed;
    m.envelope.attempt = attempt;
    m.body = r.to_json();
    return m;
  }

  queue::HandlerResult embed(const TenantId& t, storage::Id id, std::int64_t version, int attempt = 1) {
    return stage->handle(message(queue::EmbedRequest::for_document(t.bid(), id, version), attempt));
  }

  storage::KnowledgeDocument doc(const TenantId& t, storage::Id id) { return knowledge.get(t, id).value(); }

  std::vector<Event> taken_events() {
    std::lock_guard lock(mu);
    return std::exchange(events, {});
  }

  const TenantId acme = *TenantId::make("acme");
  const TenantId globex = *TenantId::make("globex");
  fakes::FakeClock clock;
  Metrics metrics{"embed-test", "0", "0"};
  fakes::FakeKnowledgeRepository knowledge;
  fakes::FakeCallRepository calls{&clock};
  fakes::FakeEmbeddingRepository embeddings{calls};
  fakes::FakePipelineConfigRepository configs;
  ScriptedEmbedder embedder;
  fakes::FakeBusinessLlmSource providers{nullptr, &embedder};
  queue::TopologySettings topology;
  std::mutex mu;
  std::vector<Event> events;
  std::unique_ptr<EmbedStage> stage;
};

TEST_F(EmbedStageUnit, APendingDocumentIsChunkedEmbeddedAndSetReadyWithALiveEvent) {
  const std::string text = long_text(400);
  const auto id = document(acme, text);
  auto r = embed(acme, id, 1);
  EXPECT_TRUE(testing::next_messages(r).empty());

  const auto d = doc(acme, id);
  EXPECT_EQ(d.status, KnowledgeStatus::kReady);
  EXPECT_EQ(d.model, "hashed-bow:64");
  EXPECT_GT(d.chunk_count, 2);
  const auto chunks = knowledge.chunks_of(acme, "hashed-bow:64", id).value();
  ASSERT_EQ(static_cast<std::int64_t>(chunks.size()), d.chunk_count);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].chunk_index, static_cast<std::int64_t>(i));
    EXPECT_EQ(chunks[i].text, text.substr(chunks[i].start_offset, chunks[i].end_offset - chunks[i].start_offset));
    EXPECT_EQ(chunks[i].vector.size(), 64U);
  }
  EXPECT_EQ(embedder.texts(), d.chunk_count);  // each chunk once, in batches of 4

  const auto ev = taken_events();
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].bid, "acme");
  EXPECT_EQ(ev[0].type, "knowledge.status");
  EXPECT_EQ(ev[0].data, (json{{"document_id", id}, {"status", "ready"}, {"version", 1}}));

  // A redelivery embeds nothing twice and announces nothing.
  EXPECT_TRUE(testing::next_messages(embed(acme, id, 1)).empty());
  EXPECT_EQ(embedder.texts(), d.chunk_count);
  EXPECT_TRUE(taken_events().empty());
}

TEST_F(EmbedStageUnit, AMessageForAnOlderVersionIsAckedWithNothingWritten) {
  const auto id = document(acme, "The first text. It is short.");
  storage::KnowledgeContent v2;
  v2.text = "The second text, about refunds within thirty days.";
  ASSERT_TRUE(knowledge.update(acme, id, std::nullopt, v2));

  EXPECT_TRUE(testing::next_messages(embed(acme, id, 1)).empty());
  auto d = doc(acme, id);
  EXPECT_EQ(d.status, KnowledgeStatus::kPending);
  EXPECT_EQ(d.version, 2);
  EXPECT_EQ(d.chunk_count, 0);
  EXPECT_EQ(embedder.texts(), 0);
  EXPECT_TRUE(taken_events().empty());

  EXPECT_TRUE(testing::next_messages(embed(acme, id, 2)).empty());
  d = doc(acme, id);
  EXPECT_EQ(d.status, KnowledgeStatus::kReady);
  EXPECT_EQ(knowledge.chunks_of(acme, "hashed-bow:64", id).value().front().text, v2.text);
  const auto ev = taken_events();
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].data["version"], 2);
}

TEST_F(EmbedStageUnit, ARetryableFailureIsRetriedAndOnTheLastAttemptFailsTheDocumentWithTheReason) {
  const auto id = document(acme, "Refunds are paid within thirty days.");
  embedder.fail_next(Error{ErrorCode::kUnavailable, "ollama: connection refused"}, 3);

  auto r = embed(acme, id, 1);
  ASSERT_TRUE(r);
  const auto* retry = std::get_if<queue::Retry>(&*r);
  ASSERT_NE(retry, nullptr);
  EXPECT_NE(retry->reason.find("connection refused"), std::string::npos);
  EXPECT_EQ(doc(acme, id).status, KnowledgeStatus::kPending);
  EXPECT_TRUE(taken_events().empty());

  r = embed(acme, id, 1, 2);
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::holds_alternative<queue::Retry>(*r));

  const queue::Fail fail = must_fail(embed(acme, id, 1, 3));  // max_attempts 3
  EXPECT_EQ(fail.code, ErrorCode::kUnavailable);
  EXPECT_EQ(fail.reason, "embedding failed after 3 attempts: ollama: connection refused");
  const auto d = doc(acme, id);
  EXPECT_EQ(d.status, KnowledgeStatus::kFailed);
  EXPECT_EQ(d.error, fail.reason);
  const auto ev = taken_events();
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].data, (json{{"document_id", id}, {"status", "failed"}, {"version", 1}, {"reason", fail.reason}}));

  // A redelivery of the dead-lettered message changes nothing.
  EXPECT_TRUE(testing::next_messages(embed(acme, id, 1, 3)).empty());
  EXPECT_EQ(doc(acme, id).status, KnowledgeStatus::kFailed);
}

TEST_F(EmbedStageUnit, PermanentFailuresFailTheDocumentAtOnceWithTheirReason) {
  // The embedder refuses the request (e.g. an unknown model).
  const auto a = document(acme, "Refunds are paid within thirty days.");
  embedder.fail_next(Error{ErrorCode::kInvalidArgument, "openai: model not found"});
  const queue::Fail fail = must_fail(embed(acme, a, 1));
  EXPECT_EQ(fail.reason, "embedding failed: openai: model not found");
  EXPECT_EQ(doc(acme, a).error, fail.reason);

  // The business's embedder config cannot be used.
  const auto b = document(acme, "Shipping takes five days.");
  providers.fail_next(Error{ErrorCode::kInvalidArgument, "embedding_provider: unknown provider 'x'"});
  EXPECT_EQ(must_fail(embed(acme, b, 1)).reason,
            "the embedder is not usable: embedding_provider: unknown provider 'x'");
  EXPECT_EQ(doc(acme, b).status, KnowledgeStatus::kFailed);

  // A text without words (whitespace only; the routes never store one).
  const auto c = document(acme, " \n\n \t ");
  EXPECT_EQ(must_fail(embed(acme, c, 1)).reason, "the document has no words to index");

  const auto ev = taken_events();
  ASSERT_EQ(ev.size(), 3U);
  for (const auto& e : ev) EXPECT_EQ(e.data["status"], "failed");
}

TEST_F(EmbedStageUnit, AnotherBusinesssDocumentIdAndADeletedDocumentAreAckedUntouched) {
  const auto id = document(acme, "Refunds are paid within thirty days.");
  EXPECT_TRUE(testing::next_messages(embed(globex, id, 1)).empty());
  EXPECT_EQ(doc(acme, id).status, KnowledgeStatus::kPending);
  EXPECT_EQ(embedder.texts(), 0);

  ASSERT_TRUE(knowledge.remove(acme, id).value());
  EXPECT_TRUE(testing::next_messages(embed(acme, id, 1)).empty());
  EXPECT_TRUE(taken_events().empty());
}

TEST_F(EmbedStageUnit, MalformedMessagesAreDeadLetteredAndAStorageOutageIsRetried) {
  queue::IncomingMessage m;
  m.body = R"({"schema_version":1,"bid":"acme","kind":"document","id":"abc","version":1})";
  const queue::Fail fail = must_fail(stage->handle(m));
  EXPECT_EQ(fail.code, ErrorCode::kInvalidArgument);
  m.body = R"({"schema_version":1,"bid":"acme","kind":"document","id":"5"})";
  EXPECT_EQ(must_fail(stage->handle(m)).reason, "version is required");

  const auto id = document(acme, "Refunds are paid within thirty days.");
  knowledge.fail_next(Error{ErrorCode::kUnavailable, "mariadb: gone away"});
  auto r = embed(acme, id, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);  // the worker retries by the code's fate
  EXPECT_EQ(doc(acme, id).status, KnowledgeStatus::kPending);
}

TEST_F(EmbedStageUnit, ReembedEmbedsEveryDocumentOfAnotherEmbedderInBoundedMessages) {
  std::vector<storage::Id> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(document(acme, "Document " + std::to_string(i) + " says refunds take thirty days."));
    storage::KnowledgeChunkInput old{
        .chunk_index = 0, .start_offset = 0, .end_offset = 1, .text = "D", .vector = std::vector<float>(8, 0.5F)};
    ASSERT_TRUE(knowledge.replace_chunks(acme, ids.back(), 1, "old-model:8", {old}).value());
  }
  const auto other = document(globex, "Globex's own document.");
  ASSERT_TRUE(knowledge
                  .replace_chunks(globex, other, 1, "old-model:8",
                                  {{.chunk_index = 0,
                                    .start_offset = 0,
                                    .end_offset = 1,
                                    .text = "G",
                                    .vector = std::vector<float>(8, 0.5F)}})
                  .value());

  auto d = deps();
  d.reembed_per_message = 2;
  stage = std::make_unique<EmbedStage>(d);
  const queue::EmbedRequest request{
      .bid = "acme", .kind = queue::EmbedKind::kReembed, .id = "hashed-bow", .version = {}, .after = {}};
  auto next = testing::next_messages(stage->handle(message(request)));
  ASSERT_EQ(next.size(), 1U);  // two done, more may remain: the same message again
  EXPECT_EQ(queue::EmbedRequest::parse(next[0].body).value(), request);
  EXPECT_TRUE(testing::next_messages(stage->handle(message(request))).empty());

  for (const auto id : ids) {
    const auto doc_now = doc(acme, id);
    EXPECT_EQ(doc_now.status, KnowledgeStatus::kReady);
    EXPECT_EQ(doc_now.model, "hashed-bow:64");
    EXPECT_TRUE(knowledge.chunks_of(acme, "old-model:8", id).value().empty());
  }
  EXPECT_EQ(doc(globex, other).model, "old-model:8");  // another business is not touched
  EXPECT_EQ(taken_events().size(), 3U);
}

// The business moved from the "old-model:32" embedder to the current one ("hashed-bow:64"):
// reembed re-embeds its analysed calls from their stored chunk texts, in steps of two calls
// that carry the last call id, drops the old vectors in the same write, announces each call;
// a call still being analysed and another business's call are not touched.
TEST_F(EmbedStageUnit, ReembedReembedsAnalysedCallsFromTheirStoredChunksInBoundedSteps) {
  ScriptedEmbedder old("old-model:32");
  const std::vector<std::vector<std::string>> texts = {
      {"agent: thanks for calling\ncustomer: I want a refund", "agent: the refund is on its way"},
      {"customer: my plan is too expensive", "agent: I can offer a discount", "customer: fine"},
      {"agent: hello"}};
  std::vector<storage::Id> ids;
  ids.reserve(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i)
    ids.push_back(analysed_call(acme, fmt::format("c{}", i), texts[i], old));
  const auto analysing =
      analysed_call(acme, "busy", {"customer: still being analysed"}, old, storage::CallStatus::kAnalyzing);
  const auto theirs = analysed_call(globex, "g", {"customer: globex refund"}, old);
  const auto old_ids = embeddings.rows_of_call(acme, "old-model:32", ids[0]).value();

  auto d = deps();
  d.reembed_calls_per_message = 2;
  stage = std::make_unique<EmbedStage>(d);
  auto next = testing::next_messages(reembed("acme"));
  ASSERT_EQ(next.size(), 1U);  // two calls done, more may remain: the next step starts after the second
  const auto step = queue::EmbedRequest::parse(next[0].body).value();
  EXPECT_EQ(step.kind, queue::EmbedKind::kReembed);
  EXPECT_EQ(step.id, "hashed-bow");
  EXPECT_EQ(step.after, ids[1]);
  EXPECT_EQ(next[0].routing_key, "embed.acme");
  EXPECT_TRUE(testing::next_messages(stage->handle(message(step))).empty());

  llm::HashedBowEmbedder current(64);
  int vectors = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(embeddings.rows_of_call(acme, "old-model:32", ids[i]).value().empty()) << i;
    const auto rows = embeddings.rows_of_call(acme, "hashed-bow:64", ids[i]).value();
    ASSERT_EQ(rows.size(), texts[i].size() + 1) << i;  // the whole call, then each chunk
    EXPECT_EQ(rows[0].chunk_index, -1);
    EXPECT_EQ(rows[0].text, "");
    std::string whole;
    for (const auto& t : texts[i]) whole += (whole.empty() ? "" : "\n") + t;
    EXPECT_EQ(rows[0].vector, current.embed_one(whole)) << "the whole call as the analyze stage embeds it";
    for (std::size_t c = 0; c < texts[i].size(); ++c) {
      EXPECT_EQ(rows[c + 1].chunk_index, static_cast<std::int64_t>(c));
      EXPECT_EQ(rows[c + 1].text, texts[i][c]);
      EXPECT_EQ(rows[c + 1].start_ms, static_cast<std::int64_t>(c) * 10'000);
      EXPECT_EQ(rows[c + 1].end_ms, static_cast<std::int64_t>(c) * 10'000 + 9'000);
      EXPECT_EQ(rows[c + 1].vector, current.embed_one(texts[i][c]));
    }
    vectors += static_cast<int>(rows.size());
  }
  EXPECT_NE(embeddings.rows_of_call(acme, "hashed-bow:64", ids[0]).value()[0].id, old_ids[0].id);
  EXPECT_EQ(embeddings.rows_of_call(acme, "old-model:32", analysing).value().size(), 2U);  // not analysed yet
  EXPECT_EQ(embeddings.rows_of_call(globex, "old-model:32", theirs).value().size(), 2U);   // another business

  const auto ev = taken_events();
  ASSERT_EQ(ev.size(), 3U);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ev[i].bid, "acme");
    EXPECT_EQ(ev[i].type, "call.reindexed");
    EXPECT_EQ(ev[i].data, (json{{"call_id", ids[i]}}));
  }
  EXPECT_EQ(sample(metrics, "earshot_embed_calls_total"), 3);
  EXPECT_EQ(sample(metrics, R"(earshot_embed_chunks_total{kind="call"})"), vectors);
  EXPECT_EQ(sample(metrics, R"(earshot_embed_message_seconds_count{kind="reembed"})"), 2);

  // Done: another reembed finds nothing.
  EXPECT_TRUE(testing::next_messages(reembed("acme")).empty());
  EXPECT_TRUE(taken_events().empty());
}

// The analyze stage's message for one call whose analysis straddled a change of embedder:
// that call alone is re-embedded (no documents, no other call, no next step); a call that
// already has the current embedder's vectors, or is not analysed, or is another business's,
// is left as it is.
TEST_F(EmbedStageUnit, AReembedOfOneCallReembedsThatCallAlone) {
  ScriptedEmbedder old("old-model:32");
  const auto first = analysed_call(acme, "c1", {"customer: my refund is late"}, old);
  const auto target = analysed_call(acme, "c2", {"customer: the parcel is broken", "agent: we replace it"}, old);
  const auto later = analysed_call(acme, "c3", {"customer: cancel my plan"}, old);
  const auto busy = analysed_call(acme, "c4", {"customer: still analysing"}, old, storage::CallStatus::kAnalyzing);
  const auto policy = document(acme, "Refunds take five days.");
  storage::KnowledgeChunkInput chunk{
      .chunk_index = 0, .start_offset = 0, .end_offset = 1, .text = "R", .vector = std::vector<float>(8, 0.5F)};
  ASSERT_TRUE(knowledge.replace_chunks(acme, policy, 1, "old-model:8", {chunk}).value());
  const auto one = [&](const std::string& bid, storage::Id call) {
    return stage->handle(
        message(queue::EmbedRequest{.bid = bid, .kind = queue::EmbedKind::kReembed, .id = "hashed-bow", .call = call}));
  };

  auto r = one("acme", target);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(testing::next_messages(r).empty()) << "no next step";
  EXPECT_EQ(embeddings.rows_of_call(acme, "hashed-bow:64", target).value().size(), 3U);
  EXPECT_TRUE(embeddings.rows_of_call(acme, "old-model:32", target).value().empty());
  for (const auto other : {first, later}) {
    EXPECT_EQ(embeddings.rows_of_call(acme, "old-model:32", other).value().size(), 2U) << other;
  }
  EXPECT_EQ(doc(acme, policy).model, "old-model:8") << "documents are the pass's";
  const auto ev = taken_events();
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].data, (json{{"call_id", target}}));

  // Again (a redelivery), a call not analysed, another business's id: nothing is written.
  for (auto [bid, call] : {std::pair{std::string("acme"), target}, std::pair{std::string("acme"), busy},
                           std::pair{std::string("globex"), later}}) {
    auto again = one(bid, call);
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_TRUE(std::holds_alternative<queue::Done>(*again));
  }
  EXPECT_TRUE(taken_events().empty());
  EXPECT_EQ(embeddings.rows_of_call(acme, "old-model:32", busy).value().size(), 2U);
  EXPECT_EQ(embeddings.rows_of_call(acme, "old-model:32", later).value().size(), 2U);
}

TEST_F(EmbedStageUnit, AReembedWaitsForTheConfigToNameItsEmbedderAndIsDroppedWhenItNeverDoes) {
  ScriptedEmbedder old("old-model:32");
  const auto id = analysed_call(acme, "c", {"customer: refund please"}, old);
  // Queued before the route saved "ollama:nomic-embed-text": the config still names the old one.
  auto r = reembed("acme", "ollama:nomic-embed-text");
  ASSERT_TRUE(r);
  const auto* retry = std::get_if<queue::Retry>(&*r);
  ASSERT_NE(retry, nullptr);
  EXPECT_NE(retry->reason.find("ollama:nomic-embed-text"), std::string::npos);
  EXPECT_EQ(embeddings.rows_of_call(acme, "old-model:32", id).value().size(), 2U);

  // Never saved (or replaced since): the last attempt acks it with nothing done.
  EXPECT_TRUE(testing::next_messages(reembed("acme", "ollama:nomic-embed-text", {}, 3)).empty());
  EXPECT_EQ(embeddings.rows_of_call(acme, "old-model:32", id).value().size(), 2U);
  EXPECT_EQ(embedder.texts(), 0);

  // Saved: the next attempt re-embeds.
  storage::PipelineConfig cfg;
  cfg.embedding_provider = "ollama:nomic-embed-text";
  ASSERT_TRUE(configs.put(acme, cfg));
  EXPECT_TRUE(testing::next_messages(reembed("acme", "ollama:nomic-embed-text", {}, 2)).empty());
  EXPECT_EQ(embeddings.rows_of_call(acme, "hashed-bow:64", id).value().size(), 2U);
}

TEST_F(EmbedStageUnit, ReembedFailuresRetryTheStepDeadLetterOnTheLastAttemptAndSkipARefusedCall) {
  ScriptedEmbedder old("old-model:32");
  const auto a = analysed_call(acme, "a", {"customer: refund please"}, old);
  const auto b = analysed_call(acme, "b", {"customer: cancel my plan"}, old);

  // The embedder is down: the step is retried; calls done before the failure stay done.
  embedder.fail_next(Error{ErrorCode::kUnavailable, "ollama: connection refused"});
  auto r = reembed("acme");
  ASSERT_TRUE(r);
  const auto* retry = std::get_if<queue::Retry>(&*r);
  ASSERT_NE(retry, nullptr);
  EXPECT_EQ(retry->reason, fmt::format("re-embedding call {} failed: ollama: connection refused", a));
  EXPECT_EQ(embeddings.rows_of_call(acme, "old-model:32", a).value().size(), 2U);

  // Still down on the last attempt: dead-lettered with the reason (the message can be re-driven).
  embedder.fail_next(Error{ErrorCode::kTimeout, "ollama: timed out"});
  const queue::Fail fail = must_fail(reembed("acme", "hashed-bow", {}, 3));
  EXPECT_EQ(fail.code, ErrorCode::kTimeout);
  EXPECT_EQ(fail.reason, fmt::format("re-embedding call {} failed after 3 attempts: ollama: timed out", a));

  // The embedder refuses one call's text for good: that call is skipped, the others go on.
  embedder.fail_next(Error{ErrorCode::kInvalidArgument, "openai: input too long"});
  EXPECT_TRUE(testing::next_messages(reembed("acme")).empty());
  EXPECT_EQ(embeddings.rows_of_call(acme, "old-model:32", a).value().size(), 2U);  // keeps the old vectors
  EXPECT_EQ(embeddings.rows_of_call(acme, "hashed-bow:64", b).value().size(), 2U);

  // A MariaDB outage while listing is an error the worker retries by its code.
  embeddings.fail_next(Error{ErrorCode::kUnavailable, "mariadb: gone away"});
  auto outage = reembed("acme");
  ASSERT_FALSE(outage);
  EXPECT_EQ(outage.error().code, ErrorCode::kUnavailable);

  EXPECT_EQ(sample(metrics, R"(earshot_embed_failures_total{kind="call",reason="unavailable"})"), 1);
  EXPECT_EQ(sample(metrics, R"(earshot_embed_failures_total{kind="call",reason="timeout"})"), 1);
  EXPECT_EQ(sample(metrics, R"(earshot_embed_failures_total{kind="call",reason="invalid_argument"})"), 1);
  EXPECT_EQ(sample(metrics, "earshot_embed_calls_total"), 1);
}

// The call is analysed again (new vectors, new row ids) while its old chunks are being
// embedded: the analysis's vectors stand and nothing is announced.
TEST_F(EmbedStageUnit, ACallAnalysedDuringItsReembeddingKeepsTheAnalysissVectors) {
  ScriptedEmbedder old("old-model:32");
  const auto id = analysed_call(acme, "c", {"customer: refund please"}, old);
  storage::CallEmbedding fresh{.chunk_index = -1,
                               .start_ms = 0,
                               .end_ms = 1,
                               .text = "",
                               .model = "hashed-bow:64",
                               .vector = std::vector<float>(64, 0.25F)};
  embedder.on_embed([&](const std::vector<std::string>&) { ASSERT_TRUE(embeddings.replace(acme, id, {fresh})); });
  EXPECT_TRUE(testing::next_messages(reembed("acme")).empty());
  const auto rows = embeddings.rows_of_call(acme, "hashed-bow:64", id).value();
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].vector, fresh.vector);
  EXPECT_TRUE(taken_events().empty());
  EXPECT_EQ(sample(metrics, "earshot_embed_calls_total"), 0);
}

// Documents embedded, chunks stored, failures by kind and reason, seconds per message (the
// embedder takes 1.5 s of the fake clock per request).
TEST_F(EmbedStageUnit, MetricsCountDocumentsChunksFailuresAndSecondsPerMessage) {
  embedder.on_embed([&](const std::vector<std::string>&) { clock.advance(std::chrono::milliseconds(1500)); });
  const auto a = document(acme, long_text(300));
  ASSERT_TRUE(testing::next_messages(embed(acme, a, 1)).empty());
  const auto chunks = doc(acme, a).chunk_count;
  ASSERT_GT(chunks, 0);
  const auto b = document(acme, "Refunds are paid within thirty days.");
  embedder.fail_next(Error{ErrorCode::kRateLimited, "openai: 429"});
  ASSERT_TRUE(embed(acme, b, 1));  // retried

  EXPECT_EQ(sample(metrics, "earshot_embed_documents_total"), 1);
  EXPECT_EQ(sample(metrics, R"(earshot_embed_chunks_total{kind="document"})"), chunks);
  EXPECT_EQ(sample(metrics, R"(earshot_embed_failures_total{kind="document",reason="rate_limited"})"), 1);
  EXPECT_EQ(sample(metrics, R"(earshot_embed_message_seconds_count{kind="document"})"), 2);
  // Batches of 4 chunks: ceil(chunks / 4) requests for the first, one for the second.
  const std::int64_t requests = ((chunks + 3) / 4) + 1;
  EXPECT_DOUBLE_EQ(sample(metrics, R"(earshot_embed_message_seconds_sum{kind="document"})"),
                   1.5 * static_cast<double>(requests));
}

}  // namespace
}  // namespace earshot::pipeline
