#pragma once
// What the analyze-stage tests share (the integration tests over MariaDB and RabbitMQ and
// the unit tests over the storage fakes): the sentiment lexicon, the stage's dependencies
// from a repository bundle, two known conversations, a transcribed call (its transcript
// stored, the call moved to transcribed) and the analyze message as the stage receives it.

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "earshot/analytics/sentiment.hpp"
#include "earshot/pipeline/analyze_stage.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/storage/repository_set.hpp"

namespace earshot::pipeline::testing {

// VADER from the fetched assets (a one-word lexicon when they are missing, which fails the
// test that loads it).
inline const analytics::SentimentLexicon& lexicon() {
  static const analytics::SentimentLexicon lex = [] {
    auto l = analytics::SentimentLexicon::load_file(std::string(EARSHOT_SOURCE_DIR) +
                                                    "/.local/assets/vader-1.1.3/vader_lexicon.txt");
    EXPECT_TRUE(l) << l.error().to_string();
    return l ? std::move(*l) : *analytics::SentimentLexicon::parse("good\t1.9\t0.9\t[]");
  }();
  return lex;
}

// The stage's dependencies, every repository from one bundle.
inline AnalyzeStageDeps analyze_deps(storage::Repositories& r, Metrics& metrics, Clock& clock,
                                     const queue::TopologySettings& topology) {
  return AnalyzeStageDeps{
      r.calls,    r.transcripts, r.metrics, r.agent_configs, r.categories, r.scorecards, r.category_matches,
      r.analyses, r.events,      lexicon(), metrics,         clock,        topology};
}

// One turn of a stored transcript.
inline nlohmann::json turn(const char* speaker, std::int64_t start_ms, std::int64_t end_ms, const char* text) {
  return {{"speaker", speaker}, {"start_ms", start_ms}, {"end_ms", end_ms}, {"text", text}};
}

// A furious customer who wants a refund and a supervisor (and gives an e-mail address),
// refunded, then "Okay, fine." after 12 s of silence. Agent talk: 4000 + 6500 ms.
inline nlohmann::json angry_customer_segments() {
  return nlohmann::json::array({
      turn("agent", 0, 4000, "Thank you for calling Acme, how can I help?"),
      turn("customer", 4500, 11000,
           "This is terrible, I am furious, I want a refund and I want your supervisor. My email is a.b@example.com"),
      turn("agent", 11500, 18000, "I am sorry. I have issued a full refund to your card."),
      turn("customer", 30000, 36000, "Okay, fine."),
  });
}

// A customer refunded for a broken blender (with an e-mail address), pleased at the end.
inline nlohmann::json blender_refund_segments() {
  return nlohmann::json::array({
      turn("agent", 0, 4000, "Thank you for calling Acme, how can I help?"),
      turn("customer", 4500, 11000, "My blender arrived broken and I want a refund. My email is a.b@example.com"),
      turn("agent", 11500, 18000, "I am sorry. I have issued a full refund to your card."),
      turn("customer", 18500, 22000, "Great, thank you."),
  });
}

// Creates call `in` of `t`, stores `segments` as its transcript and moves it to transcribed.
inline storage::Id transcribed_call(storage::CallRepository& calls, storage::TranscriptRepository& transcripts,
                                    const storage::TenantId& t, const storage::CallInput& in,
                                    const nlohmann::json& segments) {
  auto up = calls.upsert(t, in);
  EXPECT_TRUE(up) << up.error().to_string();
  if (!up) return 0;
  EXPECT_TRUE(*calls.advance(t, up->id, storage::CallStatus::kPending, storage::CallStatus::kTranscribing));
  storage::Transcript tr;
  tr.call_id = up->id;
  tr.segments_json = segments.dump();
  tr.full_text = "transcript";
  tr.provider = "test";
  EXPECT_TRUE(transcripts.put(t, tr));
  EXPECT_TRUE(*calls.advance(t, up->id, storage::CallStatus::kTranscribing, storage::CallStatus::kTranscribed));
  return up->id;
}

// A call input of 40 s started at `started_at`.
inline storage::CallInput call_input(std::string external_id, storage::Timestamp started_at) {
  storage::CallInput in;
  in.external_id = std::move(external_id);
  in.duration_ms = 40000;
  in.started_at = started_at;
  return in;
}

// The analyze message of call `id`, as the stage worker hands it to the stage.
inline queue::IncomingMessage analyze_message(const storage::TenantId& t, storage::Id id,
                                              std::string trace_id = "trace") {
  queue::IncomingMessage m;
  m.envelope.bid = t.bid();
  m.envelope.stage = queue::Stage::kAnalyze;
  m.envelope.trace_id = std::move(trace_id);
  m.body = queue::AnalyzeRequest::for_call(t.bid(), id).to_json();
  return m;
}

// The call's status (pending when it cannot be read).
inline storage::CallStatus status_of(storage::CallRepository& calls, const storage::TenantId& t, storage::Id id) {
  auto c = calls.get(t, id);
  return c ? c->status : storage::CallStatus::kPending;
}

}  // namespace earshot::pipeline::testing
