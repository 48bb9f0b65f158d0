// The in-memory repository fakes (tests/fakes/storage) keep the contracts of their interfaces
// (repositories.hpp, delivery_repository.hpp, run_locks.hpp) that the unit tests built on them
// rely on: tenant scoping, idempotency, ordering, leases. Hermetic.
#include <gtest/gtest.h>

#include "call_steps.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/storage/analyses_fake.hpp"
#include "fakes/storage/calls_fake.hpp"
#include "fakes/storage/category_matches_fake.hpp"
#include "fakes/storage/chat_fake.hpp"
#include "fakes/storage/crm_leads_fake.hpp"
#include "fakes/storage/deliveries_fake.hpp"
#include "fakes/storage/embeddings_fake.hpp"
#include "fakes/storage/escalations_fake.hpp"
#include "fakes/storage/events_fake.hpp"
#include "fakes/storage/knowledge_fake.hpp"
#include "fakes/storage/metrics_fake.hpp"
#include "fakes/storage/repositories_fake.hpp"
#include "fakes/storage/run_locks_fake.hpp"
#include "fakes/storage/transcripts_fake.hpp"
#include "fakes/storage/watermarks_fake.hpp"

namespace earshot::testing {
namespace {

using namespace std::chrono_literals;
using storage::CallStatus;
using storage::TenantId;

storage::CallInput input(const std::string& external_id, const std::string& city) {
  storage::CallInput in;
  in.external_id = external_id;
  in.city = city;
  return in;
}

storage::CallEmbedding chunk(std::int64_t index) {
  storage::CallEmbedding e;
  e.chunk_index = index;
  return e;
}

storage::Timestamp at(int seconds) {
  return storage::Timestamp(std::chrono::seconds(1'800'000'000 + seconds));
}

class Fakes : public ::testing::Test {
 protected:
  TenantId a = *TenantId::make("acme");
  TenantId b = *TenantId::make("globex");
  FakeClock clock;
  FakeCallRepository calls{&clock};

  storage::Id call(const TenantId& t, const std::string& ext, int started = 0, std::int64_t duration = 0) {
    storage::CallInput in;
    in.external_id = ext;
    in.started_at = at(started);
    in.duration_ms = duration;
    return calls.upsert(t, in)->id;
  }
};

TEST_F(Fakes, CallsAreScopedIdempotentAndGuarded) {
  const auto id = call(a, "x1");
  EXPECT_EQ(calls.get(b, id).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(*calls.advance(b, id, CallStatus::kPending, CallStatus::kTranscribing));
  EXPECT_EQ(calls.advance(a, id, CallStatus::kPending, CallStatus::kAnalyzed).error().code,
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(*calls.advance(a, id, CallStatus::kPending, CallStatus::kTranscribing));
  EXPECT_FALSE(*calls.advance(a, id, CallStatus::kPending, CallStatus::kTranscribing)) << "no longer pending";
  EXPECT_EQ(calls.get(a, id)->attempts, 1);

  // Re-sync: same id, status kept, sync_count grows.
  auto again = calls.upsert(a, input("x1", "Reno"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(calls.get(a, id)->city, "Reno");
  EXPECT_EQ(calls.get(a, id)->status, CallStatus::kTranscribing);
  auto absent = calls.insert_if_absent(a, input("x1", "Elko"));
  EXPECT_FALSE(absent->created);
  EXPECT_EQ(calls.get(a, id)->city, "Reno") << "insert_if_absent leaves an existing call alone";
  const std::vector<std::string> ids{"x1", "nope"};
  auto states = calls.sync_states(a, ids);
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ(states->at(0).sync_count, 3);
  EXPECT_TRUE(calls.sync_states(b, ids)->empty());

  EXPECT_TRUE(*calls.mark_failed(a, id, "stt", "boom"));
  EXPECT_TRUE(*calls.reprocess(a, id));
  EXPECT_EQ(calls.get(a, id)->attempts, 0);
  EXPECT_EQ((*calls.count_by_status(a))[CallStatus::kPending], 1);
  EXPECT_TRUE(calls.count_by_status(b)->empty());
  EXPECT_FALSE(*calls.remove(b, id));
  EXPECT_TRUE(*calls.remove(a, id));
}

TEST_F(Fakes, CallListPagesInSortOrderWithACursor) {
  for (int i = 0; i < 5; ++i) call(a, "c" + std::to_string(i), i, 1000 * (5 - i));
  call(b, "other", 3);
  storage::CallListQuery q;
  q.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto p = calls.list(a, q);
    ASSERT_TRUE(p) << p.error().to_string();
    for (const auto& c : p->calls) seen.push_back(c.external_id);
    if (p->next_cursor.empty()) break;
    q.cursor = p->next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"c4", "c3", "c2", "c1", "c0"})) << "newest first, every call once";
  q.cursor.clear();
  q.sort = storage::CallSort::kDuration;
  q.order = storage::SortOrder::kAsc;
  q.limit = 1;
  EXPECT_EQ(calls.list(a, q)->calls.at(0).external_id, "c4");
  q.cursor = calls.list(a, q)->next_cursor;
  q.order = storage::SortOrder::kDesc;
  EXPECT_EQ(calls.list(a, q).error().code, ErrorCode::kInvalidArgument) << "a cursor of another order";
}

TEST_F(Fakes, DerivedRowsNeedTheTenantsCall) {
  FakeMetricsRepository metrics{calls};
  FakeProcessingEventRepository events{calls};
  FakeTranscriptRepository transcripts{calls, metrics, events};
  FakeEscalationRepository escalations{calls, &clock};
  FakeAnalysisRepository analyses{calls, escalations};
  FakeEmbeddingRepository embeddings{calls};
  FakeCategoryMatchRepository matches{calls};
  const auto id = call(a, "d1");
  ASSERT_TRUE(*calls.advance(a, id, CallStatus::kPending, CallStatus::kTranscribing));

  storage::Transcript tr;
  tr.call_id = id;
  tr.full_text = "Refund for the Blue plan";
  storage::CallMetrics m;
  m.call_id = id;
  m.customer_sentiment = 0.5;
  storage::ProcessingEvent ev;
  ev.call_id = id;
  ev.stage = "transcribe";
  EXPECT_EQ(transcripts.put_transcribed(b, tr, m, ev).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(*transcripts.put_transcribed(a, tr, m, ev));
  EXPECT_EQ(calls.get(a, id)->status, CallStatus::kTranscribed);
  EXPECT_EQ(calls.get(a, id)->customer_sentiment, 0.5);
  EXPECT_EQ(events.list_for_call(a, id)->size(), 1u);
  EXPECT_EQ(*transcripts.search(a, "blue refund", 10), std::vector<storage::Id>{id});
  EXPECT_TRUE(transcripts.search(b, "blue", 10)->empty());

  storage::CallAnalysisResult r;
  r.analyses.emplace_back();
  r.analyses.back().agent_config_id = 7;
  r.qa_score = 80;
  r.escalation_reason = "angry";
  EXPECT_FALSE(analyses.record(a, id, r)->recorded) << "the call is not analyzing: nothing is written";
  EXPECT_TRUE(analyses.list_for_call(a, id, false)->empty());
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls, a, id));
  const auto first = analyses.record(a, id, r);
  EXPECT_TRUE(first->recorded);
  EXPECT_FALSE(first->aggregated) << "no human agent: no aggregates";
  EXPECT_EQ(calls.get(a, id)->status, CallStatus::kAnalyzed);
  ASSERT_TRUE(earshot::testing::walk_to_analyzing(calls, a, id));
  EXPECT_TRUE(analyses.record(a, id, r)->recorded);
  auto latest = analyses.list_for_call(a, id, true);
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ(analyses.list_for_call(a, id, false)->size(), 2u);
  EXPECT_EQ(calls.get(a, id)->qa_score, 80);
  auto esc = escalations.list_for_call(a, id);
  ASSERT_EQ(esc->size(), 2u);
  EXPECT_GT(esc->at(0).id, esc->at(1).id) << "newest first";
  EXPECT_TRUE(escalations.list_for_call(b, id)->empty());
  EXPECT_EQ(escalations.create(b, id, "x", storage::EscalationSeverity::kLow).error().code, ErrorCode::kNotFound);

  EXPECT_EQ(embeddings.replace(b, id, {}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(embeddings.replace(a, id, {chunk(1), chunk(-1)}));
  EXPECT_EQ(embeddings.list_for_call(a, id)->at(0).chunk_index, -1) << "whole call first";
  EXPECT_EQ(matches.replace(b, id, {}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(matches.replace(a, id, {{9, "[]"}, {3, "[]"}}));
  EXPECT_EQ(matches.list_for_call(a, id)->at(0).category_id, 3);
}

TEST_F(Fakes, LeadsKeepTheNewestAndStayWithTheirBusiness) {
  FakeCrmLeadRepository leads;
  ASSERT_TRUE(leads.upsert(a, {0, "+1555", "L1", R"({"v":2})", at(20)}));
  ASSERT_TRUE(leads.upsert(a, {0, "+1555", "L1", R"({"v":1})", at(10)})) << "older: ignored";
  ASSERT_TRUE(leads.upsert(a, {0, "+1555", "L2", R"({"v":3})", at(15)}));
  EXPECT_EQ((*leads.find_by_phone(a, "+1555"))->fields_json, R"({"v":2})");
  EXPECT_FALSE(leads.find_by_phone(b, "+1555")->has_value());
  EXPECT_EQ(*leads.count(a), 2);
  EXPECT_EQ(*leads.count(b), 0);
  const std::vector<std::string> phones{"+1555", "+1666"};
  auto found = leads.find_by_phones(a, phones);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->at("+1555").lead_id, "L1");
  EXPECT_FALSE(*leads.remove(b, "L1"));

  FakeWatermarkRepository marks;
  ASSERT_TRUE(marks.put(a, "db", "p1"));
  EXPECT_EQ(**marks.get(a, "db"), "p1");
  EXPECT_FALSE(marks.get(b, "db")->has_value());
}

TEST_F(Fakes, RunLocksAreHeldUntilReleased) {
  FakeRunLocks locks;
  auto first = locks.try_acquire(a, "db");
  ASSERT_TRUE(first && *first);
  auto second = locks.try_acquire(a, "db");
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, nullptr) << "held elsewhere";
  EXPECT_NE(*locks.try_acquire(b, "db"), nullptr) << "another business's lock is independent";
  EXPECT_NE(*locks.try_acquire(a, "crm"), nullptr) << "another job's lock is independent";
  first->reset();
  EXPECT_NE(*locks.try_acquire(a, "db"), nullptr);
}

TEST_F(Fakes, DeliveriesAreLeasedAndEnqueuedOnce) {
  FakeDeliveryRepository d;
  const auto sub = *d.create_subscription(a, "https://h/x", "", {"call.analyzed"}, "s");
  EXPECT_EQ(d.get_subscription(b, sub).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(d.signing_secret(b, sub).error().code, ErrorCode::kNotFound);
  storage::NewDelivery n{storage::DeliveryChannel::kWebhook, sub, std::nullopt, "call.analyzed", "e1", "{}"};
  const std::span<const storage::NewDelivery> one(&n, 1);
  EXPECT_EQ(*d.enqueue(b, one, at(0)), 0) << "not b's subscription";
  EXPECT_EQ(*d.enqueue(a, one, at(0)), 1);
  EXPECT_EQ(*d.enqueue(a, one, at(0)), 0) << "same event id";
  auto claimed = *d.claim_due(at(1), 10, 30s);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].attempts, 1);
  EXPECT_TRUE(d.claim_due(at(2), 10, 30s)->empty()) << "leased";
  EXPECT_EQ(d.claim_due(at(32), 10, 30s)->size(), 1u) << "the lease ran out";
  EXPECT_TRUE(d.list_deliveries(b, sub, 10, std::nullopt)->empty());

  storage::AttemptOutcome o;
  o.delivery_id = claimed[0].id;
  o.bid = "acme";
  o.subscription_id = sub;
  o.attempt = 2;
  o.kind = storage::AttemptKind::kRetry;
  o.error = "HTTP 500";
  o.next_attempt_at = at(100);
  o.at = at(33);
  EXPECT_EQ(d.record(std::span(&o, 1), 1)->size(), 1u) << "the first failure pauses at a streak of 1";
  EXPECT_TRUE(d.get_subscription(a, sub)->paused_at.has_value());
  EXPECT_TRUE(d.claim_due(at(200), 10, 30s)->empty()) << "paused subscriptions wait";
  EXPECT_EQ(d.gauges()->paused_subscriptions, 1);
  EXPECT_EQ(d.gauges()->pending_retries, 1);
  storage::WebhookSubscriptionPatch resume;
  resume.resume = true;
  ASSERT_TRUE(*d.update_subscription(a, sub, resume));
  EXPECT_EQ(d.claim_due(at(200), 10, 30s)->size(), 1u);
  EXPECT_FALSE(*d.remove_subscription(b, sub));
  EXPECT_TRUE(*d.remove_subscription(a, sub));
  EXPECT_TRUE(d.deliveries().empty());
}

TEST_F(Fakes, EmbeddingRowsHaveIdsThatReplacementRetires) {
  FakeEmbeddingRepository embeddings{calls};
  const auto x = call(a, "e1");
  const auto y = call(a, "e2");
  const auto z = call(b, "e3");
  auto vec = [](std::int64_t index, const std::string& model, const std::string& text) {
    storage::CallEmbedding e = chunk(index);
    e.model = model;
    e.text = text;
    e.vector = {1.0F, 0.0F};
    return e;
  };
  ASSERT_TRUE(embeddings.replace(a, x, {vec(-1, "m1", ""), vec(0, "m1", "hello"), vec(0, "m2", "hello")}));
  ASSERT_TRUE(embeddings.replace(a, y, {vec(-1, "m1", ""), vec(0, "m1", "refund")}));
  ASSERT_TRUE(embeddings.replace(b, z, {vec(0, "m1", "refund")}));
  auto page = embeddings.scan(a, "m1", 0, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2U);
  EXPECT_LT(page->at(0).id, page->at(1).id);
  auto rest = embeddings.scan(a, "m1", page->back().id, 10);
  ASSERT_EQ(rest->size(), 2U) << "four m1 rows of business a, none of b";
  EXPECT_EQ(rest->back().text, "refund");
  EXPECT_EQ(rest->back().vector, (std::vector<float>{1.0F, 0.0F}));
  EXPECT_EQ(*embeddings.models(a), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(*embeddings.models(b), (std::vector<std::string>{"m1"}));

  const storage::Id old_id = rest->back().id;
  ASSERT_TRUE(embeddings.replace(a, y, {vec(0, "m1", "refund again")}));
  const std::vector<storage::Id> ids{old_id, page->at(0).id};
  auto hits = embeddings.by_ids(a, ids);
  ASSERT_EQ(hits->size(), 1U) << "the replaced row is gone";
  EXPECT_TRUE(hits->at(0).vector.empty());
  const auto of_y = embeddings.rows_of_call(a, "m1", y);
  ASSERT_EQ(of_y->size(), 1U);
  EXPECT_GT(of_y->at(0).id, old_id);
  const std::vector<storage::Id> foreign{embeddings.scan(b, "m1", 0, 10)->at(0).id};
  EXPECT_TRUE(embeddings.by_ids(a, foreign)->empty());
  EXPECT_EQ(embeddings.scan(a, "m1", 0, 0).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Fakes, CallIdsMatchTheFilterNewestFirst) {
  const auto c1 = call(a, "f1", 10);
  const auto c2 = call(a, "f2", 20);
  const auto c3 = call(a, "f3", 30);
  call(b, "f4", 40);
  calls.match_category(a, c2, 7);
  ASSERT_TRUE(*calls.advance(a, c3, CallStatus::kPending, CallStatus::kTranscribing));
  storage::CallFilter f;
  EXPECT_EQ(*calls.ids_matching(a, f, 10), (std::vector<storage::Id>{c3, c2, c1}));
  EXPECT_EQ(*calls.ids_matching(a, f, 2), (std::vector<storage::Id>{c3, c2}));
  f.started_from = at(15);
  f.started_to = at(30);
  EXPECT_EQ(*calls.ids_matching(a, f, 10), (std::vector<storage::Id>{c2}));
  f = {};
  f.status = CallStatus::kPending;
  EXPECT_EQ(*calls.ids_matching(a, f, 10), (std::vector<storage::Id>{c2, c1}));
  f = {};
  f.matched_category_id = 7;
  EXPECT_EQ(*calls.ids_matching(a, f, 10), (std::vector<storage::Id>{c2}));
  f = {};
  f.call_ids = {c1, c3, 999};
  EXPECT_EQ(*calls.ids_matching(a, f, 10), (std::vector<storage::Id>{c3, c1}));
  EXPECT_TRUE(calls.ids_matching(b, f, 10)->empty()) << "another business's ids match nothing";
}

storage::KnowledgeDocumentInput document(const std::string& title, const std::string& text) {
  storage::KnowledgeDocumentInput in;
  in.title = title;
  in.content.content_type = "text/markdown";
  in.content.text = text;
  in.content.size_bytes = static_cast<std::int64_t>(text.size());
  return in;
}

std::vector<storage::KnowledgeChunkInput> chunks(int n, float x) {
  std::vector<storage::KnowledgeChunkInput> out;
  for (int i = 0; i < n; ++i) {
    storage::KnowledgeChunkInput c;
    c.chunk_index = i;
    c.start_offset = i * 10;
    c.end_offset = i * 10 + 9;
    c.text = "chunk " + std::to_string(i);
    c.vector = {x, static_cast<float>(i)};
    out.push_back(c);
  }
  return out;
}

TEST_F(Fakes, KnowledgeVersionsGuardWorkersAndScopeByBusiness) {
  FakeKnowledgeRepository kb{&clock};
  EXPECT_EQ(kb.create(a, document("", "x")).error().code, ErrorCode::kInvalidArgument);
  auto bad = document("t", "x");
  bad.content.content_type = "image/png";
  EXPECT_EQ(kb.create(a, bad).error().code, ErrorCode::kInvalidArgument);
  const auto id = *kb.create(a, document("Refunds", "Refunds take five days."));
  EXPECT_EQ(kb.get(b, id).error().code, ErrorCode::kNotFound);
  auto doc = kb.get(a, id);
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, storage::KnowledgeStatus::kPending);
  EXPECT_EQ(doc->version, 1);
  EXPECT_EQ(doc->content.text, "Refunds take five days.");

  EXPECT_FALSE(*kb.replace_chunks(b, id, 1, "m1", chunks(2, 1))) << "another business";
  ASSERT_TRUE(*kb.replace_chunks(a, id, 1, "m1", chunks(2, 1)));
  EXPECT_EQ(kb.get(a, id)->status, storage::KnowledgeStatus::kReady);
  EXPECT_EQ(kb.get(a, id)->chunk_count, 2);
  EXPECT_EQ(kb.chunks_of(a, "m1", id)->size(), 2U);

  // An edit while a worker embeds version 2: the stale worker's result is refused.
  auto edited = kb.update(a, id, std::nullopt, storage::KnowledgeContent{"text/plain", "New text.", 9, ""});
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->version, 2);
  EXPECT_EQ(edited->status, storage::KnowledgeStatus::kPending);
  EXPECT_TRUE(kb.chunks_of(a, "m1", id)->empty()) << "new content drops the chunks";
  EXPECT_FALSE(*kb.replace_chunks(a, id, 1, "m1", chunks(3, 1)));
  EXPECT_FALSE(*kb.set_status(a, id, 1, storage::KnowledgeStatus::kFailed, "stale"));
  EXPECT_EQ(kb.get(a, id)->status, storage::KnowledgeStatus::kPending);
  auto renamed = kb.update(a, id, std::string("Refund policy"), std::nullopt);
  EXPECT_EQ(renamed->version, 2) << "a title alone keeps the version";
  ASSERT_TRUE(*kb.replace_chunks(a, id, 2, "m1", chunks(3, 2)));
  EXPECT_EQ(kb.replace_chunks(a, id, 2, "m1", {chunks(1, 1)[0], chunks(1, 1)[0]}).error().code,
            ErrorCode::kInvalidArgument);

  const auto scanned = kb.scan_chunks(a, "m1", 0, 10);
  ASSERT_EQ(scanned->size(), 3U);
  EXPECT_TRUE(kb.scan_chunks(b, "m1", 0, 10)->empty());
  EXPECT_TRUE(kb.scan_chunks(a, "m2", 0, 10)->empty());
  const std::vector<storage::Id> ids{scanned->at(0).id, scanned->at(2).id};
  auto hits = kb.chunks_by_ids(a, ids);
  ASSERT_EQ(hits->size(), 2U);
  EXPECT_EQ(hits->at(0).title, "Refund policy");
  EXPECT_TRUE(kb.chunks_by_ids(b, ids)->empty());

  // Re-embedding: ready documents of another model, and pending ones.
  const auto other = *kb.create(a, document("Other", "Pending text."));
  EXPECT_EQ(kb.documents_needing_embedding(a, "m1", 10)->size(), 1U);
  const auto jobs = kb.documents_needing_embedding(a, "m2", 10);
  ASSERT_EQ(jobs->size(), 2U);
  EXPECT_EQ(jobs->at(0).document_id, id);
  EXPECT_EQ(jobs->at(0).model, "m1");
  EXPECT_EQ(jobs->at(1).document_id, other);
  EXPECT_TRUE(kb.documents_needing_embedding(b, "m2", 10)->empty());

  ASSERT_TRUE(*kb.set_status(a, other, 1, storage::KnowledgeStatus::kFailed, "embedder down"));
  EXPECT_EQ(kb.get(a, other)->error, "embedder down");
  storage::KnowledgeListQuery q;
  q.limit = 1;
  auto first = kb.list(a, q);
  ASSERT_EQ(first->documents.size(), 1U);
  EXPECT_EQ(first->documents[0].id, other) << "newest first";
  EXPECT_TRUE(first->documents[0].content.text.empty()) << "lists carry no text";
  q.before_id = first->next_before_id;
  auto second = kb.list(a, q);
  ASSERT_EQ(second->documents.size(), 1U);
  EXPECT_EQ(second->documents[0].id, id);
  EXPECT_EQ(second->next_before_id, 0);
  q = {};
  q.status = storage::KnowledgeStatus::kFailed;
  EXPECT_EQ(kb.list(a, q)->documents.size(), 1U);
  EXPECT_TRUE(kb.list(b, {})->documents.empty());

  EXPECT_FALSE(*kb.remove(b, id));
  EXPECT_TRUE(*kb.remove(a, id));
  EXPECT_TRUE(kb.scan_chunks(a, "m1", 0, 10)->empty()) << "removing drops the chunks";
  EXPECT_FALSE(*kb.remove(a, id));
}

TEST_F(Fakes, ChatSessionsBelongToTheirUser) {
  FakeChatRepository chat{&clock};
  const auto s1 = *chat.create_session(a, 1, "Refunds");
  const auto s2 = *chat.create_session(a, 1, "Churn");
  const auto other_user = *chat.create_session(a, 2, "Mine");
  EXPECT_EQ(chat.get_session(a, 2, s1).error().code, ErrorCode::kNotFound) << "another user, same business";
  EXPECT_EQ(chat.get_session(b, 1, s1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(chat.append_message(a, 2, s1, {}).error().code, ErrorCode::kNotFound);
  storage::ChatMessageInput q;
  q.content = "How long do refunds take?";
  clock.advance(5s);
  ASSERT_TRUE(chat.append_message(a, 1, s1, q));
  storage::ChatMessageInput answer;
  answer.role = storage::ChatRole::kAssistant;
  answer.content = "Five days [1].";
  answer.citations_json = R"([{"source":1}])";
  ASSERT_TRUE(chat.append_message(a, 1, s1, answer));
  const auto msgs = chat.messages(a, 1, s1, 10);
  ASSERT_EQ(msgs->size(), 2U);
  EXPECT_EQ(msgs->at(0).content, q.content) << "oldest first";
  EXPECT_EQ(msgs->at(1).citations_json, answer.citations_json);
  EXPECT_EQ(chat.messages(a, 1, s1, 1)->at(0).content, answer.content) << "the newest one";
  EXPECT_TRUE(chat.messages(a, 2, s1, 10)->empty());
  EXPECT_GT(chat.get_session(a, 1, s1)->updated_at, chat.get_session(a, 1, s1)->created_at);
  auto page = chat.list_sessions(a, 1, 0, 1);
  ASSERT_EQ(page->sessions.size(), 1U);
  EXPECT_EQ(page->sessions[0].id, s2);
  page = chat.list_sessions(a, 1, page->next_before_id, 5);
  ASSERT_EQ(page->sessions.size(), 1U);
  EXPECT_EQ(page->sessions[0].id, s1);
  EXPECT_EQ(chat.list_sessions(a, 2, 0, 5)->sessions.at(0).id, other_user);
  EXPECT_TRUE(chat.list_sessions(b, 1, 0, 5)->sessions.empty());
}

TEST(FakeRepositoriesBundle, WiresEveryFake) {
  FakeRepositories fakes;
  const TenantId t = *TenantId::make("acme");
  EXPECT_EQ(&fakes.repos.knowledge, &fakes.knowledge);
  EXPECT_EQ(&fakes.repos.chat, &fakes.chat);
  EXPECT_EQ(&fakes.repos.calls, &fakes.calls);
  storage::CallInput in;
  in.external_id = "x";
  const auto id = fakes.repos.calls.upsert(t, in)->id;
  EXPECT_TRUE(fakes.repos.embeddings.replace(t, id, {}).has_value()) << "the embeddings fake sees the bundle's calls";
}

}  // namespace
}  // namespace earshot::testing
