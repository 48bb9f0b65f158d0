// The embed stage against the storage fakes and in-process embedders: a pending document is
// chunked, embedded and set ready with a knowledge.status event; a message for an older
// version writes nothing; a retryable embedder failure is retried and, on the last attempt,
// ends the document failed with the reason (dead-lettered); a permanent failure fails at
// once; another business's document id is never touched; a redelivery embeds nothing twice;
// reembed re-embeds the documents of another embedder in bounded messages. Hermetic.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "earshot/llm/embedding.hpp"
#include "earshot/pipeline/embed_stage.hpp"
#include "earshot/queue/messages.hpp"
#include "fakes/pipeline/business_llm_fake.hpp"
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
    {
      std::lock_guard lock(mu_);
      if (failures_ > 0) {
        --failures_;
        fail = error_;
      }
    }
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

 private:
  std::string id_;
  llm::HashedBowEmbedder inner_{64};
  std::mutex mu_;
  Error error_{ErrorCode::kInternal, ""};
  int failures_ = 0;
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
                          .configs = configs,
                          .providers = providers,
                          .topology = topology,
                          .publish_event =
                              [this](const std::string& bid, std::string_view type, json data) {
                                std::lock_guard lock(mu);
                                events.push_back({bid, std::string(type), std::move(data)});
                              },
                          .chunking = {},
                          .embed_batch = 4,
                          .wait = std::chrono::seconds(5),
                          .reembed_per_message = 200};
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
  fakes::FakeKnowledgeRepository knowledge;
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
  const queue::EmbedRequest reembed{
      .bid = "acme", .kind = queue::EmbedKind::kReembed, .id = "hashed-bow", .version = {}};
  auto next = testing::next_messages(stage->handle(message(reembed)));
  ASSERT_EQ(next.size(), 1U);  // two done, more may remain: the same message again
  EXPECT_EQ(queue::EmbedRequest::parse(next[0].body).value(), reembed);
  EXPECT_TRUE(testing::next_messages(stage->handle(message(reembed))).empty());

  for (const auto id : ids) {
    const auto doc_now = doc(acme, id);
    EXPECT_EQ(doc_now.status, KnowledgeStatus::kReady);
    EXPECT_EQ(doc_now.model, "hashed-bow:64");
    EXPECT_TRUE(knowledge.chunks_of(acme, "old-model:8", id).value().empty());
  }
  EXPECT_EQ(doc(globex, other).model, "old-model:8");  // another business is not touched
  EXPECT_EQ(taken_events().size(), 3U);
}

}  // namespace
}  // namespace earshot::pipeline
