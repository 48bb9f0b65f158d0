// Retrieval storage against the real MariaDB: the knowledge base (versions, chunks, keyset
// scans), chat sessions, the embedding scans a search index loads from, and the call filter a
// search resolves. Every test uses two fresh businesses holding the same texts and checks
// that nothing of one is visible or changeable through the other.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <span>

#include "earshot/storage/mysql_repositories.hpp"
#include "earshot/storage/repository_set.hpp"
#include "test_env.hpp"
#include "test_main_env.hpp"

namespace earshot::testing {
namespace {

using namespace storage;

Timestamp at(std::int64_t seconds) {
  return Timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

template <class T>
ErrorCode code_of(const Result<T>& r) {
  EXPECT_FALSE(r.has_value());
  return r ? ErrorCode::kInternal : r.error().code;
}

KnowledgeDocumentInput document(const std::string& title, const std::string& text) {
  KnowledgeDocumentInput in;
  in.title = title;
  in.content.content_type = "text/markdown";
  in.content.text = text;
  in.content.size_bytes = static_cast<std::int64_t>(text.size()) + 5;
  in.content.sha256 = std::string(64, 'a');
  in.created_by = 7;
  return in;
}

std::vector<KnowledgeChunkInput> chunk_rows(int n, float tag) {
  std::vector<KnowledgeChunkInput> out;
  for (int i = 0; i < n; ++i) {
    KnowledgeChunkInput c;
    c.chunk_index = i;
    c.start_offset = std::int64_t{i} * 100;
    c.end_offset = (std::int64_t{i} * 100) + 99;
    c.text = fmt::format("refund chunk {}", i);
    c.vector = {tag, static_cast<float>(i), -1.5F};
    out.push_back(c);
  }
  return out;
}

class RagStorageTest : public ::testing::Test {
 protected:
  Database& db_ = StorageEnvironment::db();
  TenantId a_ = new_tenant("rag-a");
  TenantId b_ = new_tenant("rag-b");
  MySqlKnowledgeRepository kb_{db_};
  MySqlChatRepository chat_{db_};
  MySqlEmbeddingRepository embeddings_{db_};
  MySqlCallRepository calls_{db_};

  Id make_call(const TenantId& t, const std::string& ext, std::int64_t started, std::optional<Id> agent = {},
               const std::string& category = "") {
    CallInput in;
    in.external_id = ext;
    in.started_at = at(started);
    in.human_agent_id = agent;
    in.issue_category = category;
    return calls_.upsert(t, in).value().id;
  }

  static CallEmbedding vector_row(std::int64_t index, const std::string& model, const std::string& text, float x) {
    CallEmbedding e;
    e.chunk_index = index;
    e.start_ms = index * 1000;
    e.end_ms = index * 1000 + 900;
    e.text = text;
    e.model = model;
    e.vector = {x, 0.5F};
    return e;
  }
};

TEST_F(RagStorageTest, KnowledgeDocumentLifecycleWithVersions) {
  const Id id = kb_.create(a_, document("Refunds", "Refunds take five days.")).value();
  const Id twin = kb_.create(b_, document("Refunds", "Refunds take five days.")).value();
  EXPECT_EQ(code_of(kb_.create(a_, document("", "x"))), ErrorCode::kInvalidArgument);
  auto png = document("Image", "x");
  png.content.content_type = "image/png";
  EXPECT_EQ(code_of(kb_.create(a_, png)), ErrorCode::kInvalidArgument);

  auto doc = kb_.get(a_, id);
  ASSERT_TRUE(doc) << doc.error().to_string();
  EXPECT_EQ(doc->title, "Refunds");
  EXPECT_EQ(doc->content.text, "Refunds take five days.");
  EXPECT_EQ(doc->content.content_type, "text/markdown");
  EXPECT_EQ(doc->content.size_bytes, 28);
  EXPECT_EQ(doc->content.sha256, std::string(64, 'a'));
  EXPECT_EQ(doc->created_by, 7);
  EXPECT_EQ(doc->status, KnowledgeStatus::kPending);
  EXPECT_EQ(doc->version, 1);
  EXPECT_EQ(doc->chunk_count, 0);
  EXPECT_EQ(doc->model, "");
  EXPECT_EQ(code_of(kb_.get(b_, id)), ErrorCode::kNotFound);

  // A worker embeds version 1.
  ASSERT_TRUE(*kb_.replace_chunks(a_, id, 1, "hashed-bow:256", chunk_rows(3, 1.0F)));
  doc = kb_.get(a_, id);
  EXPECT_EQ(doc->status, KnowledgeStatus::kReady);
  EXPECT_EQ(doc->model, "hashed-bow:256");
  EXPECT_EQ(doc->chunk_count, 3);
  const auto stored = kb_.chunks_of(a_, "hashed-bow:256", id);
  ASSERT_EQ(stored->size(), 3U);
  EXPECT_EQ(stored->at(2).text, "refund chunk 2");
  EXPECT_EQ(stored->at(2).start_offset, 200);
  EXPECT_EQ(stored->at(2).end_offset, 299);
  EXPECT_EQ(stored->at(2).vector, (std::vector<float>{1.0F, 2.0F, -1.5F}));
  EXPECT_EQ(stored->at(2).document_id, id);
  EXPECT_TRUE(kb_.chunks_of(a_, "other", id)->empty());
  EXPECT_TRUE(kb_.chunks_of(b_, "hashed-bow:256", id)->empty());

  // The document is edited while a second worker still embeds version 1: its chunks and its
  // failure are both refused, the edit's pending state stays.
  auto edited = kb_.update(a_, id, std::nullopt, KnowledgeContent{"text/plain", "Refunds take ten days.", 22, ""});
  ASSERT_TRUE(edited) << edited.error().to_string();
  EXPECT_EQ(edited->version, 2);
  EXPECT_EQ(edited->status, KnowledgeStatus::kPending);
  EXPECT_EQ(edited->chunk_count, 0);
  EXPECT_EQ(edited->content.content_type, "text/plain");
  EXPECT_TRUE(kb_.chunks_of(a_, "hashed-bow:256", id)->empty()) << "new content drops the old chunks";
  EXPECT_FALSE(*kb_.replace_chunks(a_, id, 1, "hashed-bow:256", chunk_rows(2, 9.0F)));
  EXPECT_FALSE(*kb_.set_status(a_, id, 1, KnowledgeStatus::kFailed, "stale worker"));
  EXPECT_TRUE(kb_.chunks_of(a_, "hashed-bow:256", id)->empty());
  EXPECT_EQ(kb_.get(a_, id)->status, KnowledgeStatus::kPending);
  EXPECT_EQ(kb_.get(a_, id)->content.text, "Refunds take ten days.");

  // A title alone keeps the version (and the chunks).
  ASSERT_TRUE(*kb_.replace_chunks(a_, id, 2, "hashed-bow:256", chunk_rows(2, 2.0F)));
  auto renamed = kb_.update(a_, id, std::string("Refund policy"), std::nullopt);
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->version, 2);
  EXPECT_EQ(renamed->status, KnowledgeStatus::kReady);
  EXPECT_EQ(kb_.chunks_of(a_, "hashed-bow:256", id)->size(), 2U);
  EXPECT_EQ(code_of(kb_.update(a_, id, std::string(""), std::nullopt)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(kb_.update(b_, id, std::string("Hijack"), std::nullopt)), ErrorCode::kNotFound);
  EXPECT_EQ(kb_.get(a_, id)->title, "Refund policy");

  // Bad chunk sets change nothing.
  auto mixed = chunk_rows(2, 1.0F);
  mixed[1].vector.push_back(0);
  EXPECT_EQ(code_of(kb_.replace_chunks(a_, id, 2, "m", mixed)), ErrorCode::kInvalidArgument);
  auto repeated = chunk_rows(2, 1.0F);
  repeated[1].chunk_index = 0;
  EXPECT_EQ(code_of(kb_.replace_chunks(a_, id, 2, "m", repeated)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(kb_.get(a_, id)->chunk_count, 2);

  // Failing the current version drops its chunks; the reason is kept.
  EXPECT_FALSE(*kb_.set_status(b_, id, 2, KnowledgeStatus::kFailed, "cross-tenant"));
  ASSERT_TRUE(*kb_.set_status(a_, id, 2, KnowledgeStatus::kFailed, "embedder refused"));
  doc = kb_.get(a_, id);
  EXPECT_EQ(doc->status, KnowledgeStatus::kFailed);
  EXPECT_EQ(doc->error, "embedder refused");
  EXPECT_EQ(doc->chunk_count, 0);
  EXPECT_TRUE(kb_.chunks_of(a_, "hashed-bow:256", id)->empty());

  EXPECT_FALSE(*kb_.remove(b_, id));
  EXPECT_TRUE(*kb_.remove(a_, id));
  EXPECT_FALSE(*kb_.remove(a_, id));
  EXPECT_EQ(code_of(kb_.get(a_, id)), ErrorCode::kNotFound);
  EXPECT_EQ(kb_.get(b_, twin)->title, "Refunds") << "the other business's twin is untouched";
}

TEST_F(RagStorageTest, KnowledgeListingAndChunkScansPageByKeyset) {
  std::vector<Id> ids;
  ids.reserve(5);
  for (int i = 0; i < 5; ++i) ids.push_back(kb_.create(a_, document(fmt::format("Doc {}", i), "same text")).value());
  const Id foreign = kb_.create(b_, document("Doc b", "same text")).value();
  ASSERT_TRUE(*kb_.set_status(a_, ids[1], 1, KnowledgeStatus::kFailed, "x"));

  KnowledgeListQuery q;
  q.limit = 2;
  std::vector<Id> seen;
  for (int page = 0; page < 5; ++page) {
    auto p = kb_.list(a_, q);
    ASSERT_TRUE(p) << p.error().to_string();
    for (const auto& d : p->documents) {
      seen.push_back(d.id);
      EXPECT_TRUE(d.content.text.empty());
    }
    if (p->next_before_id == 0) break;
    q.before_id = p->next_before_id;
  }
  EXPECT_EQ(seen, (std::vector<Id>{ids[4], ids[3], ids[2], ids[1], ids[0]})) << "newest first, each once";
  q = {};
  q.status = KnowledgeStatus::kFailed;
  ASSERT_EQ(kb_.list(a_, q)->documents.size(), 1U);
  EXPECT_EQ(kb_.list(a_, q)->documents[0].id, ids[1]);
  q.limit = 0;
  EXPECT_EQ(code_of(kb_.list(a_, q)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(kb_.list(b_, {})->documents.size(), 1U);

  // Chunks of two documents and two models in business a, the same texts in business b.
  ASSERT_TRUE(*kb_.replace_chunks(a_, ids[0], 1, "m1", chunk_rows(3, 0.0F)));
  ASSERT_TRUE(*kb_.replace_chunks(a_, ids[2], 1, "m1", chunk_rows(4, 2.0F)));
  ASSERT_TRUE(*kb_.replace_chunks(a_, ids[3], 1, "m2", chunk_rows(2, 3.0F)));
  ASSERT_TRUE(*kb_.replace_chunks(b_, foreign, 1, "m1", chunk_rows(3, 0.0F)));
  std::vector<Id> scanned;
  std::set<Id> documents;
  for (Id after = 0;;) {
    auto page = kb_.scan_chunks(a_, "m1", after, 3);
    ASSERT_TRUE(page) << page.error().to_string();
    if (page->empty()) break;
    for (const auto& c : *page) {
      scanned.push_back(c.id);
      documents.insert(c.document_id);
      EXPECT_EQ(c.vector.size(), 3U);
    }
    after = page->back().id;
  }
  EXPECT_EQ(scanned.size(), 7U) << "3 + 4 chunks of model m1, none of m2 or of business b";
  EXPECT_TRUE(std::is_sorted(scanned.begin(), scanned.end()));
  EXPECT_EQ(documents, (std::set<Id>{ids[0], ids[2]}));
  EXPECT_EQ(code_of(kb_.scan_chunks(a_, "m1", 0, 0)), ErrorCode::kInvalidArgument);

  // Search results re-read by key: the title comes along, foreign and deleted keys do not.
  const Id foreign_chunk = kb_.scan_chunks(b_, "m1", 0, 1)->at(0).id;
  const std::vector<Id> keys{scanned[0], scanned[5], foreign_chunk, 999'999'999};
  auto hits = kb_.chunks_by_ids(a_, keys);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 2U);
  std::sort(hits->begin(), hits->end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  EXPECT_EQ(hits->at(0).title, "Doc 0");
  EXPECT_EQ(hits->at(0).text, "refund chunk 0");
  EXPECT_EQ(hits->at(1).title, "Doc 2");
  EXPECT_EQ(hits->at(1).chunk_index, 2);
  EXPECT_EQ(hits->at(1).start_offset, 200);
  ASSERT_TRUE(*kb_.remove(a_, ids[0]));
  EXPECT_EQ(kb_.chunks_by_ids(a_, keys)->size(), 1U) << "a deleted document's chunks are gone";
  EXPECT_TRUE(kb_.chunks_by_ids(a_, {})->empty());

  // Re-embedding when the embedder changes to m2: pending ones, and ready ones of m1.
  auto jobs = kb_.documents_needing_embedding(a_, "m2", 100);
  ASSERT_TRUE(jobs);
  std::vector<Id> job_ids;
  for (const auto& j : *jobs) job_ids.push_back(j.document_id);
  EXPECT_EQ(job_ids, (std::vector<Id>{ids[2], ids[4]})) << "ready with m1, pending; not failed, not ready with m2";
  EXPECT_EQ(jobs->at(0).model, "m1");
  EXPECT_EQ(jobs->at(0).status, KnowledgeStatus::kReady);
  EXPECT_EQ(jobs->at(1).version, 1);
  EXPECT_EQ(kb_.documents_needing_embedding(a_, "m1", 100)->size(), 2U) << "ids[3] (m2) and ids[4] (pending)";
  EXPECT_EQ(kb_.documents_needing_embedding(b_, "m2", 100)->size(), 1U);
}

TEST_F(RagStorageTest, ChatSessionsAreTheirUsersOnly) {
  const Id s1 = chat_.create_session(a_, 10, "Refund questions").value();
  const Id s2 = chat_.create_session(a_, 10, "Churn").value();
  const Id colleague = chat_.create_session(a_, 11, "Mine").value();
  const Id other_business = chat_.create_session(b_, 10, "Refund questions").value();

  auto s = chat_.get_session(a_, 10, s1);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->title, "Refund questions");
  EXPECT_EQ(s->user_id, 10);
  EXPECT_EQ(code_of(chat_.get_session(a_, 11, s1)), ErrorCode::kNotFound) << "a colleague (even an admin)";
  EXPECT_EQ(code_of(chat_.get_session(b_, 10, s1)), ErrorCode::kNotFound);

  ChatMessageInput question;
  question.content = "How long do refunds take?";
  ChatMessageInput answer;
  answer.role = ChatRole::kAssistant;
  answer.content = "Five days [1].";
  answer.sources_json = R"([{"key":"k:1","document_id":3}])";
  answer.citations_json = R"([{"source":1}])";
  answer.model = "llama3";
  answer.latency_ms = 840;
  answer.input_tokens = 1200;
  answer.output_tokens = 40;
  answer.incomplete = "client_gone";
  ASSERT_TRUE(chat_.append_message(a_, 10, s1, question));
  ASSERT_TRUE(chat_.append_message(a_, 10, s1, answer));
  EXPECT_EQ(code_of(chat_.append_message(a_, 11, s1, question)), ErrorCode::kNotFound);
  EXPECT_EQ(code_of(chat_.append_message(b_, 10, s1, question)), ErrorCode::kNotFound);
  auto bad = answer;
  bad.sources_json = "{not json";
  EXPECT_EQ(code_of(chat_.append_message(a_, 10, s1, bad)), ErrorCode::kInvalidArgument);

  auto msgs = chat_.messages(a_, 10, s1, 50);
  ASSERT_TRUE(msgs) << msgs.error().to_string();
  ASSERT_EQ(msgs->size(), 2U);
  EXPECT_EQ(msgs->at(0).role, ChatRole::kUser);
  EXPECT_EQ(msgs->at(0).content, question.content);
  EXPECT_EQ(msgs->at(1).role, ChatRole::kAssistant);
  EXPECT_EQ(msgs->at(1).model, "llama3");
  EXPECT_EQ(msgs->at(1).latency_ms, 840);
  EXPECT_EQ(msgs->at(1).input_tokens, 1200);
  EXPECT_EQ(msgs->at(1).output_tokens, 40);
  EXPECT_EQ(msgs->at(1).incomplete, "client_gone");
  EXPECT_EQ(msgs->at(0).incomplete, "");
  EXPECT_EQ(msgs->at(1).session_id, s1);
  EXPECT_NE(msgs->at(1).citations_json.find("\"source\""), std::string::npos);
  EXPECT_EQ(chat_.messages(a_, 10, s1, 1)->at(0).content, answer.content) << "the newest one";
  EXPECT_TRUE(chat_.messages(a_, 11, s1, 50)->empty());
  EXPECT_TRUE(chat_.messages(b_, 10, s1, 50)->empty());
  EXPECT_EQ(code_of(chat_.messages(a_, 10, s1, 0)), ErrorCode::kInvalidArgument);
  EXPECT_GE(chat_.get_session(a_, 10, s1)->updated_at, msgs->at(1).created_at) << "appending touches the session";

  auto page = chat_.list_sessions(a_, 10, 0, 1);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->sessions.size(), 1U);
  EXPECT_EQ(page->sessions[0].id, s2);
  page = chat_.list_sessions(a_, 10, page->next_before_id, 10);
  ASSERT_EQ(page->sessions.size(), 1U);
  EXPECT_EQ(page->sessions[0].id, s1);
  EXPECT_EQ(page->next_before_id, 0);
  EXPECT_EQ(chat_.list_sessions(a_, 11, 0, 10)->sessions.at(0).id, colleague);
  EXPECT_EQ(chat_.list_sessions(b_, 10, 0, 10)->sessions.at(0).id, other_business);
  EXPECT_TRUE(chat_.messages(b_, 10, other_business, 10)->empty());
}

TEST_F(RagStorageTest, EmbeddingScansAreKeysetAndTenantScoped) {
  const Id x = make_call(a_, "x", 0);
  const Id y = make_call(a_, "y", 1);
  const Id w = make_call(a_, "w", 2);
  const Id z = make_call(b_, "z", 0);
  // A call holds one embedder's rows (unique (bid, call_id, chunk_index)).
  ASSERT_TRUE(embeddings_.replace(a_, x, {vector_row(-1, "m1", "", 1), vector_row(0, "m1", "refund please", 2)}));
  ASSERT_TRUE(embeddings_.replace(a_, w, {vector_row(0, "m2", "refund please", 3)}));
  ASSERT_TRUE(embeddings_.replace(a_, y, {vector_row(-1, "m1", "", 4), vector_row(0, "m1", "cancel my plan", 5)}));
  ASSERT_TRUE(embeddings_.replace(b_, z, {vector_row(-1, "m1", "", 6), vector_row(0, "m1", "refund please", 7)}));

  std::vector<EmbeddingRow> rows;
  for (Id after = 0;;) {
    auto page = embeddings_.scan(a_, "m1", after, 3);
    ASSERT_TRUE(page) << page.error().to_string();
    if (page->empty()) break;
    rows.insert(rows.end(), page->begin(), page->end());
    after = page->back().id;
  }
  ASSERT_EQ(rows.size(), 4U) << "m1 rows of business a only";
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end(), [](const auto& p, const auto& q) { return p.id < q.id; }));
  const auto chunk =
      std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.call_id == x && r.chunk_index == 0; });
  ASSERT_NE(chunk, rows.end());
  EXPECT_EQ(chunk->text, "refund please");
  EXPECT_EQ(chunk->start_ms, 0);
  EXPECT_EQ(chunk->end_ms, 900);
  EXPECT_EQ(chunk->vector, (std::vector<float>{2.0F, 0.5F}));
  EXPECT_EQ(code_of(embeddings_.scan(a_, "m1", 0, 10001)), ErrorCode::kInvalidArgument);

  const auto of_x = embeddings_.rows_of_call(a_, "m1", x);
  ASSERT_EQ(of_x->size(), 2U);
  EXPECT_EQ(of_x->at(0).chunk_index, -1) << "the whole call first";
  EXPECT_TRUE(embeddings_.rows_of_call(b_, "m1", x)->empty());
  EXPECT_EQ(*embeddings_.models(a_), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(*embeddings_.models(b_), (std::vector<std::string>{"m1"}));

  const Id foreign = embeddings_.rows_of_call(b_, "m1", z)->at(1).id;
  const std::vector<Id> keys{chunk->id, foreign};
  auto hits = embeddings_.by_ids(a_, keys);
  ASSERT_EQ(hits->size(), 1U);
  EXPECT_EQ(hits->at(0).call_id, x);
  EXPECT_TRUE(hits->at(0).vector.empty());
  // Re-analysis gives the call new rows: the old keys stop answering.
  ASSERT_TRUE(embeddings_.replace(a_, x, {vector_row(0, "m1", "refund now", 8)}));
  EXPECT_TRUE(embeddings_.by_ids(a_, keys)->empty());
  // Deleting the call deletes its vectors.
  ASSERT_TRUE(*calls_.remove(a_, y));
  EXPECT_TRUE(embeddings_.rows_of_call(a_, "m1", y)->empty());
}

// A re-embedding's reads and write: the analysed calls (analyzed, notified) of the business
// whose whole-call vector another model made, in call id order after a cursor, bounded; the
// conditional swap of a call's vectors that refuses once its rows changed.
TEST_F(RagStorageTest, CallsNeedingEmbeddingAndTheConditionalSwapOfACallsVectors) {
  auto analysed = [&](const TenantId& t, const std::string& ext, CallStatus status) {
    const Id id = make_call(t, ext, 0);
    for (auto [from, to] : {std::pair{CallStatus::kPending, CallStatus::kTranscribing},
                            std::pair{CallStatus::kTranscribing, CallStatus::kTranscribed},
                            std::pair{CallStatus::kTranscribed, CallStatus::kAnalyzing},
                            std::pair{CallStatus::kAnalyzing, CallStatus::kAnalyzed},
                            std::pair{CallStatus::kAnalyzed, CallStatus::kNotified}}) {
      if (from == status) break;
      EXPECT_TRUE(*calls_.advance(t, id, from, to));
    }
    return id;
  };
  const Id p = analysed(a_, "p", CallStatus::kAnalyzed);
  const Id q = analysed(a_, "q", CallStatus::kNotified);
  const Id r = analysed(a_, "r", CallStatus::kAnalyzed);
  const Id busy = analysed(a_, "busy", CallStatus::kAnalyzing);
  const Id done = analysed(a_, "done", CallStatus::kAnalyzed);
  const Id theirs = analysed(b_, "theirs", CallStatus::kAnalyzed);
  for (const Id id : {p, q, r, busy}) {
    ASSERT_TRUE(embeddings_.replace(a_, id, {vector_row(-1, "old", "", 1), vector_row(0, "old", "refund please", 2)}));
  }
  ASSERT_TRUE(embeddings_.replace(a_, done, {vector_row(-1, "new", "", 3), vector_row(0, "new", "thanks", 4)}));
  ASSERT_TRUE(embeddings_.replace(b_, theirs, {vector_row(-1, "old", "", 5)}));

  auto stale = embeddings_.calls_needing_embedding(a_, "new", 0, 2);
  ASSERT_TRUE(stale) << stale.error().to_string();
  ASSERT_EQ(stale->size(), 2U);
  EXPECT_EQ(stale->at(0).call_id, p);
  EXPECT_EQ(stale->at(0).model, "old");
  EXPECT_EQ(stale->at(1).call_id, q);  // notified counts as analysed
  stale = embeddings_.calls_needing_embedding(a_, "new", q, 100);
  ASSERT_EQ(stale->size(), 1U);  // r; busy is being analysed, done has the new model's
  EXPECT_EQ(stale->at(0).call_id, r);
  EXPECT_TRUE(embeddings_.calls_needing_embedding(a_, "new", r, 100)->empty());
  ASSERT_EQ(embeddings_.calls_needing_embedding(b_, "new", 0, 100)->size(), 1U);  // only its own
  EXPECT_EQ(embeddings_.calls_needing_embedding(b_, "new", 0, 100)->at(0).call_id, theirs);
  EXPECT_EQ(code_of(embeddings_.calls_needing_embedding(a_, "new", 0, 0)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(embeddings_.calls_needing_embedding(a_, "new", 0, 1001)), ErrorCode::kInvalidArgument);

  // The swap: only while the call's rows are the ones read; the old rows go with it.
  const auto old_rows = embeddings_.rows_of_call(a_, "old", p).value();
  std::vector<Id> ids;
  ids.reserve(old_rows.size());
  for (const auto& row : old_rows) ids.push_back(row.id);
  const std::vector<CallEmbedding> fresh{vector_row(-1, "new", "", 6), vector_row(0, "new", "refund please", 7)};
  EXPECT_FALSE(*embeddings_.replace_if_unchanged(a_, p, std::span<const Id>(ids).first(1), fresh));  // not all of them
  EXPECT_FALSE(*embeddings_.replace_if_unchanged(b_, p, ids, fresh));  // another business's call: nothing
  EXPECT_EQ(embeddings_.rows_of_call(a_, "old", p)->size(), 2U);
  EXPECT_TRUE(*embeddings_.replace_if_unchanged(a_, p, std::vector<Id>{ids[1], ids[0]}, fresh));
  EXPECT_TRUE(embeddings_.rows_of_call(a_, "old", p)->empty());
  const auto now = embeddings_.rows_of_call(a_, "new", p).value();
  ASSERT_EQ(now.size(), 2U);
  EXPECT_EQ(now[1].text, "refund please");
  EXPECT_EQ(now[1].vector, fresh[1].vector);
  // The same ids again: they are gone (re-embedded, or analysed again), nothing written.
  EXPECT_FALSE(*embeddings_.replace_if_unchanged(a_, p, ids, {vector_row(-1, "other", "", 8)}));
  EXPECT_EQ(embeddings_.rows_of_call(a_, "new", p)->size(), 2U);
  // A deleted call: nothing written.
  ASSERT_TRUE(*calls_.remove(a_, q));
  EXPECT_FALSE(*embeddings_.replace_if_unchanged(a_, q, ids, fresh));
  EXPECT_TRUE(embeddings_.rows_of_call(a_, "new", q)->empty());
}

// The re-embedding's listing walks the business's (bid, call_id, chunk_index) range in call
// order, without a sort.
TEST_F(RagStorageTest, CallsNeedingEmbeddingWalksTheCallChunkIndexWithoutSorting) {
  auto plan = db_.execute(
      "EXPLAIN SELECT STRAIGHT_JOIN e.call_id, e.model FROM call_embeddings e FORCE INDEX "
      "(uq_embeddings_bid_call_chunk) "
      "JOIN call_records c FORCE INDEX (uq_calls_id) ON c.id = e.call_id AND c.bid = e.bid "
      "WHERE e.bid = ? AND e.call_id > ? AND e.chunk_index = -1 AND e.model <> ? "
      "AND c.status IN ('analyzed', 'notified') ORDER BY e.call_id LIMIT ?",
      {a_.bid(), 0, "m1", 100});
  ASSERT_TRUE(plan) << plan.error().to_string();
  ASSERT_EQ(plan->rows.size(), 2U);
  std::map<std::string, std::string> first;
  for (std::size_t i = 0; i < plan->columns.size(); ++i) first[plan->columns[i]] = plan->rows[0][i].as_string();
  EXPECT_EQ(first["table"], "e");
  EXPECT_EQ(first["key"], "uq_embeddings_bid_call_chunk");
  EXPECT_EQ(first["type"], "range");
  EXPECT_EQ(first["Extra"].find("filesort"), std::string::npos) << first["Extra"];
  std::map<std::string, std::string> second;
  for (std::size_t i = 0; i < plan->columns.size(); ++i) second[plan->columns[i]] = plan->rows[1][i].as_string();
  EXPECT_EQ(second["key"], "uq_calls_id");
  EXPECT_EQ(second["type"], "eq_ref");
}

// The scans' statements as the repositories issue them: each walks its (bid, model, id)
// range in id order, without a sort.
TEST_F(RagStorageTest, ScansWalkTheBidModelIndexWithoutSorting) {
  const std::vector<std::pair<std::string, std::string>> scans{
      {"SELECT id, call_id, chunk_index, start_ms, end_ms, text, vector FROM call_embeddings "
       "FORCE INDEX (ix_embeddings_bid_model) WHERE bid = ? AND model = ? AND id > ? ORDER BY id LIMIT ?",
       "ix_embeddings_bid_model"},
      {"SELECT id, document_id, chunk_index, start_offset, end_offset, text, vector FROM knowledge_chunks "
       "FORCE INDEX (ix_knowledge_chunks_bid_model) WHERE bid = ? AND model = ? AND id > ? ORDER BY id LIMIT ?",
       "ix_knowledge_chunks_bid_model"}};
  for (const auto& [sql, index] : scans) {
    auto plan = db_.execute("EXPLAIN " + sql, {a_.bid(), "m1", 0, 100});
    ASSERT_TRUE(plan) << plan.error().to_string();
    ASSERT_EQ(plan->rows.size(), 1U);
    std::map<std::string, std::string> cols;
    for (std::size_t i = 0; i < plan->columns.size(); ++i) cols[plan->columns[i]] = plan->rows[0][i].as_string();
    EXPECT_EQ(cols["key"], index);
    EXPECT_EQ(cols["type"], "range") << index;
    EXPECT_EQ(cols["Extra"].find("filesort"), std::string::npos) << index << ": " << cols["Extra"];
  }
}

TEST_F(RagStorageTest, CallFilterResolvesToTheBusinesssCallIds) {
  MySqlHumanAgentRepository agents(db_);
  const Id ann = agents.upsert(a_, {"ann", "Ann", "", ""}).value();
  const Id c1 = make_call(a_, "c1", 10, ann, "billing");
  const Id c2 = make_call(a_, "c2", 20, std::nullopt, "billing");
  const Id c3 = make_call(a_, "c3", 30, ann, "sales");
  const Id twin = make_call(b_, "c1", 10, std::nullopt, "billing");
  ASSERT_TRUE(*calls_.advance(a_, c3, CallStatus::kPending, CallStatus::kTranscribing));
  MySqlRuleSetRepository categories(db_, MySqlRuleSetRepository::Kind::kCategories);
  const Id refund = categories.create(a_, {0, "refund", "[]", true, 0}).value();
  ASSERT_TRUE(MySqlCategoryMatchRepository(db_).replace(a_, c2, {{refund, "[]"}}));

  auto ids = [&](const TenantId& t, const CallFilter& f, int limit = 100) {
    auto r = calls_.ids_matching(t, f, limit);
    EXPECT_TRUE(r) << r.error().to_string();
    return r.value_or(std::vector<Id>{});
  };
  CallFilter f;
  EXPECT_EQ(ids(a_, f), (std::vector<Id>{c3, c2, c1})) << "newest first";
  EXPECT_EQ(ids(a_, f, 2), (std::vector<Id>{c3, c2}));
  EXPECT_EQ(ids(b_, f), (std::vector<Id>{twin}));
  f.human_agent_id = ann;
  EXPECT_EQ(ids(a_, f), (std::vector<Id>{c3, c1}));
  EXPECT_TRUE(ids(b_, f).empty()) << "another business's agent id matches nothing";
  f = {};
  f.started_from = at(15);
  f.started_to = at(30);
  EXPECT_EQ(ids(a_, f), (std::vector<Id>{c2}));
  f = {};
  f.status = CallStatus::kPending;
  f.category = "billing";
  EXPECT_EQ(ids(a_, f), (std::vector<Id>{c2, c1}));
  f = {};
  f.matched_category_id = refund;
  EXPECT_EQ(ids(a_, f), (std::vector<Id>{c2}));
  EXPECT_TRUE(ids(b_, f).empty());
  f = {};
  f.call_ids = {c1, c3, twin};
  EXPECT_EQ(ids(a_, f), (std::vector<Id>{c3, c1})) << "the other business's call id is not a's";
  f.call_ids = {twin};
  EXPECT_TRUE(ids(a_, f).empty());
  f.call_ids.assign(1001, c1);
  EXPECT_EQ(code_of(calls_.ids_matching(a_, f, 10)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(calls_.ids_matching(a_, {}, 0)), ErrorCode::kInvalidArgument);
}

TEST_F(RagStorageTest, TheMySqlBundleHoldsTheNewRepositories) {
  const auto keys = *crypto::Keyring::parse("k:" + crypto::Keyring::generate_key_base64(), "k");
  MySqlRepositories bundle(db_, keys);
  const Id id = bundle.repos().knowledge.create(a_, document("Via bundle", "text")).value();
  EXPECT_EQ(kb_.get(a_, id)->title, "Via bundle");
  const Id s = bundle.repos().chat.create_session(a_, 3, "t").value();
  EXPECT_EQ(chat_.get_session(a_, 3, s)->title, "t");
}

}  // namespace
}  // namespace earshot::testing
