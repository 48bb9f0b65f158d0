#pragma once
// The analyze stage (analyze.{bid} -> notify.{bid}), run by earshot-analyze.
//
// For each message: load the call (tenant-scoped) and skip it when already past this stage
// (an analyzed call re-sends its notify message); move it to analyzing; read the transcript
// and metrics; run the built-in analyzers (sentiment per segment / quarter / call, talk speed
// and question rate, PII redaction, categories, QA scorecards, extractive summary, outcome
// guess, escalation detection); store the metrics, the category matches and, in one
// transaction, the analyses (history kept), the QA score, the escalation and the human
// agent's aggregates; move the call to analyzed and publish notify.{bid}.
// LLM agents join this stage when their providers land.

#include "earshot/analytics/sentiment.hpp"
#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/queue/worker.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::pipeline {

// The built-in analyzers, as agent configs of kind builtin (created per business on first use).
inline constexpr std::string_view kBuiltinAgents[] = {"builtin.sentiment", "builtin.pii", "builtin.categories",
                                                      "builtin.qa", "builtin.summary"};

struct AnalyzeStageDeps {
  storage::CallRepository& calls;
  storage::TranscriptRepository& transcripts;
  storage::MetricsRepository& metrics;
  storage::AgentConfigRepository& agents;
  storage::RuleSetRepository& categories;
  storage::RuleSetRepository& scorecards;
  storage::CategoryMatchRepository& category_matches;
  storage::AnalysisRepository& analyses;
  storage::ProcessingEventRepository& events;
  const analytics::SentimentLexicon& lexicon;
  Metrics& prometheus;
  Clock& clock;
  queue::TopologySettings topology;
};

class AnalyzeStage final : public queue::StageHandler {
 public:
  explicit AnalyzeStage(AnalyzeStageDeps deps);
  [[nodiscard]] queue::HandlerResult handle(const queue::IncomingMessage& message) override;

 private:
  AnalyzeStageDeps d_;
  analytics::SentimentAnalyzer analyzer_;
  prometheus::Family<prometheus::Counter>* analyzed_;
  prometheus::Family<prometheus::Counter>* failed_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Family<prometheus::Counter>* escalations_;
};

}  // namespace earshot::pipeline
