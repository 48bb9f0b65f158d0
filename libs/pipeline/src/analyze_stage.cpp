#include "earshot/pipeline/analyze_stage.hpp"

#include <fmt/format.h>

#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "earshot/analytics/categories.hpp"
#include "earshot/analytics/pii.hpp"
#include "earshot/analytics/summary.hpp"
#include "earshot/analytics/transcript.hpp"
#include "earshot/core/json_ms.hpp"
#include "earshot/core/log.hpp"
#include "earshot/pipeline/builtin_analyzers.hpp"
#include "earshot/pipeline/call_language.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/queue/outcome.hpp"
#include "earshot/storage/stage_call.hpp"

namespace earshot::pipeline {
namespace {

using nlohmann::json;
constexpr std::string_view kStage = "analyze";

json opt_json(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

json intervals_json(const std::vector<analytics::Interval>& v) {
  json out = json::array();
  for (const auto& i : v) out.push_back({{"start_ms", i.start_ms}, {"end_ms", i.end_ms}});
  return out;
}

Result<std::vector<analytics::TranscriptSegment>> parse_segments(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return make_error(ErrorCode::kInvalidArgument, "stored transcript segments are not a JSON array");
  std::vector<analytics::TranscriptSegment> out;
  for (const auto& s : j) {
    if (!s.is_object()) continue;
    analytics::TranscriptSegment seg;
    seg.role = json_str(s, "speaker") == "customer" ? analytics::Role::kCustomer : analytics::Role::kAgent;
    seg.start_ms = json_ms(s, "start_ms", 0);
    seg.end_ms = json_ms(s, "end_ms", seg.start_ms);
    seg.text = json_str(s, "text");
    out.push_back(std::move(seg));
  }
  return out;
}

}  // namespace

// What one message's analysis carries from one step to the next (the asynchronous path holds
// it between the work threads and the HTTP client's loop).
struct AnalyzeStage::Job {
  queue::Envelope envelope;
  std::string body;
  std::chrono::steady_clock::time_point t0;
  std::uint64_t order = 0;  // the work pool runs the oldest job's next step first
  std::optional<storage::StageCall> sc;
  storage::CallRecord call;
  storage::Transcript transcript;
  std::vector<analytics::TranscriptSegment> segments;
  LanguagePlan lang;
  std::string text_language;
  storage::CallMetrics m;
  std::int64_t duration = 0;
  analytics::SentimentTimeline tl;
  json llm_sentiment;
  PiiScan pii;
  json redacted = json::array();
  analytics::CallFacts facts;
  std::vector<storage::CategoryMatch> matches;
  std::vector<std::string> matched_names;
  json categories_out = json::array();
  std::map<std::string, double> metric_values;
  std::optional<LlmPlan> plan;
  LlmOutcome llm_out;

  [[nodiscard]] log::Context log_context() const {
    if (sc) return sc->log_context(envelope.trace_id);
    return {.bid = envelope.bid, .call_id = {}, .trace_id = envelope.trace_id};
  }
};

AnalyzeStage::AnalyzeStage(AnalyzeStageDeps deps, AnalyzeStageOptions options)
    : d_(std::move(deps)),
      analyzer_(d_.lexicon),
      pool_(std::make_shared<WorkPool>(std::max<std::size_t>(1, options.work_threads))) {
  analyzed_ = &d_.prometheus.counter("earshot_calls_analyzed_total", "Calls analyzed.");
  failed_ = &d_.prometheus.counter("earshot_calls_failed_total", "Calls failed, by stage and reason code.");
  duration_ = &d_.prometheus.histogram("earshot_analyze_duration_seconds", "Time to analyze one call.");
  escalations_ = &d_.prometheus.counter("earshot_escalations_total", "Escalations opened, by severity.");
}

AnalyzeStage::~AnalyzeStage() {
  shutdown();
}

void AnalyzeStage::shutdown() {
  pool_->shutdown();
}

void AnalyzeStage::start(const queue::IncomingMessage& msg, queue::StageCompletion done) {
  auto job = std::make_shared<Job>();
  job->envelope = msg.envelope;
  job->body = msg.body;
  job->t0 = d_.clock.steady_now();
  job->order = started_.fetch_add(1, std::memory_order_relaxed);
  // A step posted after shutdown() is dropped with its completion: the worker has stopped by
  // then and the broker redelivers the message.
  pool_->post(
      [this, job, done = std::move(done)]() mutable {
        if (auto early = prepare(*job)) {
          done(std::move(*early));
          return;
        }
        run_llm_async(job, [this, job, pool = pool_, done = std::move(done)]() mutable {
          pool->post([this, job, done = std::move(done)] { done(finish(*job)); }, job->order);
        });
      },
      job->order);
}

queue::HandlerResult AnalyzeStage::handle(const queue::IncomingMessage& msg) {
  auto job = std::make_shared<Job>();
  job->envelope = msg.envelope;
  job->body = msg.body;
  job->t0 = d_.clock.steady_now();
  if (auto early = prepare(*job)) return std::move(*early);
  // The same steps as start(), this thread waiting for the agents and embeddings (up to the
  // configured wait; a call not answered by then is retried, its answers so far cached).
  auto ready = std::make_shared<std::promise<void>>();
  auto answered = ready->get_future();
  run_llm_async(job, [ready] { ready->set_value(); });
  const auto wait = llm_ ? llm_->wait : std::chrono::milliseconds(0);
  if (answered.wait_for(wait) != std::future_status::ready) {
    return queue::Outcome{queue::Retry{
        fmt::format("the call's agents and embeddings did not answer within {} ms", wait.count()), std::nullopt}};
  }
  return finish(*job);
}

void AnalyzeStage::run_llm_async(const std::shared_ptr<Job>& job, std::function<void()> then) {
  const auto& maybe_plan = job->plan;
  if (!maybe_plan || !llm_) {
    then();
    return;
  }
  const LlmPlan& plan = *maybe_plan;
  LlmAgents& agents = llm_->agents;
  // The agents and the embeddings at once; the job goes on when both have answered.
  struct Join {
    std::mutex mu;
    int left = 0;
    std::vector<llm::AgentResult> results;
    std::optional<Result<std::vector<storage::CallEmbedding>>> embeddings;
    std::function<void()> then;
  };
  auto join = std::make_shared<Join>();
  const bool ask_agents = plan.run_agents && plan.input.has_value();
  join->left = (ask_agents ? 1 : 0) + (plan.embed ? 1 : 0);
  join->then = [job, join, then = std::move(then)] {
    if (job->plan) job->llm_out = collect_llm(*job->plan, std::move(join->results), std::move(join->embeddings));
    then();
  };
  if (join->left == 0) {
    auto go = std::move(join->then);
    go();
    return;
  }
  auto arrive = [join](const std::function<void(Join&)>& put) {
    std::function<void()> go;
    {
      std::lock_guard l(join->mu);
      put(*join);
      if (--join->left == 0) go = std::move(join->then);
    }
    if (go) go();
  };
  if (plan.run_agents && plan.input) {
    agents.run_async(*plan.business, plan.agents, *plan.input,
                     [arrive](std::vector<llm::AgentResult> r) { arrive([&](Join& j) { j.results = std::move(r); }); });
  }
  if (plan.embed) {
    agents.embed_async(*plan.business, job->pii.redacted, [arrive](Result<std::vector<storage::CallEmbedding>> e) {
      arrive([&](Join& j) { j.embeddings = std::move(e); });
    });
  }
}

queue::Outcome AnalyzeStage::analyzed_notice(const storage::StageCall& sc, const std::string& trace_id) const {
  const queue::NotifyRequest next{
      .bid = sc.tenant().bid(), .call_id = sc.call_text(), .event = queue::NotifyEvent::kCallAnalyzed};
  return queue::Outcome{queue::Done{{queue::make_stage_message(d_.topology, next, trace_id)}}};
}

queue::HandlerResult AnalyzeStage::fail_call(const storage::StageCall& sc, const Error& e) {
  if (auto st = sc.fail(e); !st) return std::unexpected(st.error());
  publish_status(sc.tenant(), sc.call_id(), storage::CallStatus::kFailed, storage::CallStatus::kAnalyzing, e.message);
  failed_->Add({{"stage", std::string(kStage)}, {"code", std::string(code_name(e.code))}}).Increment();
  return queue::Outcome{queue::Fail{e.message, e.code}};
}

std::optional<queue::HandlerResult> AnalyzeStage::prepare(Job& job) {
  using Early = std::optional<queue::HandlerResult>;
  auto request = queue::AnalyzeRequest::parse(job.body);
  if (!request) return Early(queue::outcome_of(request.error()));
  auto stage_call = storage::StageCall::parse(
      {.stage = kStage, .bid = job.envelope.bid, .attempt = job.envelope.attempt, .received = job.t0},
      std::move(request->call_id), {.calls = &d_.calls, .events = &d_.events, .clock = &d_.clock});
  if (!stage_call) return Early(queue::outcome_of(stage_call.error()));
  job.sc.emplace(std::move(*stage_call));
  const auto& sc = *job.sc;
  const auto& t = sc.tenant();
  const auto call_id = sc.call_id();
  log::ScopedContext ctx(job.log_context());

  auto call = sc.load();
  if (!call) return Early(queue::outcome_of(call.error()));
  switch (call->status) {
    case storage::CallStatus::kAnalyzed:
      sc.record(storage::EventOutcome::kSkipped, "already analyzed");
      return Early(analyzed_notice(sc, job.envelope.trace_id));
    case storage::CallStatus::kNotified:
    case storage::CallStatus::kFailed:
      sc.record(storage::EventOutcome::kSkipped, fmt::format("call is {}", storage::status_name(call->status)));
      return Early(queue::Outcome{queue::Done{}});
    case storage::CallStatus::kPending:
    case storage::CallStatus::kTranscribing:
      return Early(queue::Outcome{queue::Retry{"transcript not ready yet", std::chrono::seconds(5)}});
    case storage::CallStatus::kTranscribed: {
      auto moved = d_.calls.advance(t, call_id, storage::CallStatus::kTranscribed, storage::CallStatus::kAnalyzing);
      if (!moved) return Early(std::unexpected(moved.error()));
      if (*moved) publish_status(t, call_id, storage::CallStatus::kAnalyzing, storage::CallStatus::kTranscribed);
      break;
    }
    case storage::CallStatus::kAnalyzing:
      break;
  }
  job.call = std::move(*call);
  sc.record(storage::EventOutcome::kStarted);

  auto transcript = d_.transcripts.get(t, call_id);
  if (!transcript) {
    if (transcript.error().code == ErrorCode::kNotFound)
      return Early(fail_call(sc, Error(ErrorCode::kFailedPrecondition, "call has no transcript")));
    return Early(std::unexpected(transcript.error()));
  }
  job.transcript = std::move(*transcript);
  auto segments = parse_segments(job.transcript.segments_json);
  if (!segments) return Early(fail_call(sc, segments.error()));
  job.segments = std::move(*segments);
  // The English analyzers read `text_segments`: the original in English, else its English
  // rendering; a call with neither gets "not analyzed: language xx" from them.
  auto lang = prepare_language(t, job.call, job.transcript, job.segments);
  if (!lang) return Early(std::unexpected(lang.error()));
  job.lang = std::move(*lang);
  const auto& text_segments = job.lang.english;
  job.text_language = job.lang.analyzable() ? "en" : job.lang.tag;

  auto& m = job.m;
  if (auto got = d_.metrics.get(t, call_id); got) {
    m = *got;
  } else if (got.error().code != ErrorCode::kNotFound) {
    return Early(std::unexpected(got.error()));
  } else {
    // A call that arrived as text: conversation metrics come from the transcript.
    std::vector<analytics::Interval> agent, customer;
    analytics::intervals_from_segments(job.segments, agent, customer);
    std::int64_t duration = job.call.duration_ms;
    for (const auto& s : job.segments) duration = std::max(duration, s.end_ms);
    const auto c = analytics::compute_conversation(agent, customer, duration);
    m.call_id = call_id;
    m.source = storage::MetricsSource::kTranscript;
    m.duration_ms = duration;
    m.agent_talk_ms = c.agent.talk_ms;
    m.customer_talk_ms = c.customer.talk_ms;
    if (c.agent.talk_ms + c.customer.talk_ms > 0) m.agent_talk_ratio = c.agent_talk_ratio;
    if (duration > 0) m.agent_talk_pct_of_call = c.agent_talk_share_of_call;
    m.non_talk_ms = c.non_talk_ms;
    json sil = json::array();
    for (const auto& s : c.silences)
      sil.push_back({{"start_ms", s.start_ms}, {"end_ms", s.end_ms}, {"duration_ms", s.length()}});
    m.silences_json = sil.dump();
    m.overtalk_ms = c.overtalk_ms;
    m.overtalk_count = static_cast<std::int64_t>(c.overtalk.size());
    m.agent_interruptions = c.agent.interruptions;
    m.agent_interruption_ms = c.agent.interruption_ms;
    m.customer_interruptions = c.customer.interruptions;
    m.customer_interruption_ms = c.customer.interruption_ms;
    m.longest_monologue_ms = c.agent.longest_turn_ms;
    m.longest_customer_story_ms = c.customer.longest_turn_ms;
    m.interactivity_per_min = c.interactivity;
    if (c.patience_samples > 0) m.patience_ms = c.patience_ms;
  }
  job.duration = std::max<std::int64_t>(m.duration_ms, job.call.duration_ms);
  const auto duration = job.duration;

  // Sentiment and speech analyzers (words per minute count the original's words).
  job.tl = analytics::sentiment_timeline(text_segments, duration, analyzer_);
  auto& tl = job.tl;
  job.llm_sentiment = llm_sentiment_pass(t, text_segments, duration, tl);
  const auto speed = analytics::talk_speed(job.segments, m.agent_talk_ms, m.customer_talk_ms);
  m.agent_sentiment = tl.agent.call;
  m.customer_sentiment = tl.customer.call;
  for (std::size_t q = 0; q < 4; ++q) {
    m.agent_sentiment_q[q] = tl.agent.quarter[q];
    m.customer_sentiment_q[q] = tl.customer.quarter[q];
  }
  m.sentiment_change = tl.customer_change;
  if (!m.agent_wpm) m.agent_wpm = speed.agent_wpm;
  if (!m.customer_wpm) m.customer_wpm = speed.customer_wpm;
  m.question_rate_per_hour =
      job.lang.analyzable()
          ? analytics::talk_speed(text_segments, m.agent_talk_ms, m.customer_talk_ms).agent_questions_per_hour
          : std::nullopt;

  // PII (agents and embeddings read the redacted English, else the redacted original).
  job.pii = scan_pii(job.lang.analyzable() ? text_segments : job.segments);
  for (const auto& s : job.pii.redacted) {
    job.redacted.push_back(
        {{"speaker", analytics::role_name(s.role)}, {"start_ms", s.start_ms}, {"end_ms", s.end_ms}, {"text", s.text}});
  }

  // Categories.
  auto& facts = job.facts;
  facts.duration_ms = duration;
  facts.segments = text_segments;
  facts.segment_sentiment = tl.segment;
  auto sil = json::parse(m.silences_json, nullptr, false);
  if (sil.is_array()) {
    for (const auto& s : sil) facts.silences.push_back({json_ms(s, "start_ms", 0), json_ms(s, "end_ms", 0)});
  }
  facts.agent_interruption_ms = m.agent_interruption_ms;
  facts.customer_interruption_ms = m.customer_interruption_ms;
  auto cats = d_.categories.list(t);
  if (!cats) return Early(std::unexpected(cats.error()));
  if (!job.lang.analyzable()) cats->clear();  // phrase and sentiment rules read English
  for (const auto& rs : *cats) {
    if (!rs.enabled) continue;
    auto c = analytics::parse_category(rs.name, rs.rules_json);
    if (!c) {
      log::warn("category skipped: invalid rules", {{"category", rs.name}, {"error", c.error().message}});
      continue;
    }
    if (auto hit = analytics::match_category(*c, facts)) {
      job.matches.push_back({rs.id, intervals_json(hit->spans).dump()});
      job.matched_names.push_back(rs.name);
      job.categories_out.push_back({{"id", rs.id}, {"name", rs.name}, {"spans", intervals_json(hit->spans)}});
    }
  }

  // What QA scorecards and the agents read of the metrics.
  auto& metric_values = job.metric_values;
  auto put_metric = [&](const char* name, const std::optional<double>& v) {
    if (v) metric_values[name] = *v;
  };
  put_metric("agent_talk_ratio", m.agent_talk_ratio);
  put_metric("agent_wpm", m.agent_wpm);
  put_metric("customer_wpm", m.customer_wpm);
  put_metric("customer_sentiment", m.customer_sentiment);
  put_metric("agent_sentiment", m.agent_sentiment);
  put_metric("sentiment_change", m.sentiment_change);
  put_metric("question_rate_per_hour", m.question_rate_per_hour);
  put_metric("interactivity_per_min", m.interactivity_per_min);
  put_metric("patience_ms", m.patience_ms);
  metric_values["non_talk_ms"] = static_cast<double>(m.non_talk_ms);
  metric_values["overtalk_ms"] = static_cast<double>(m.overtalk_ms);
  metric_values["longest_monologue_ms"] = static_cast<double>(m.longest_monologue_ms);
  metric_values["agent_interruptions"] = static_cast<double>(m.agent_interruptions);
  // LLM agents (concurrently) and embeddings: agents see the redacted transcript. What to
  // ask is read here; the asking happens off this thread.
  if (const auto& L = llm_; L) {
    auto plan = plan_llm(*L, t, job.call, job.pii.redacted, metric_values);
    if (!plan) return Early(std::unexpected(plan.error()));
    job.plan = std::move(*plan);
  }
  return std::nullopt;
}

queue::HandlerResult AnalyzeStage::finish(Job& job) {
  if (!job.sc) return make_error(ErrorCode::kInternal, "analyze: finishing a call that was never loaded");
  const auto& sc = *job.sc;
  const auto& t = sc.tenant();
  const auto call_id = sc.call_id();
  log::ScopedContext ctx(job.log_context());
  const auto& text_segments = job.lang.english;
  const auto& lang = job.lang;
  const auto& tl = job.tl;
  const auto& facts = job.facts;
  auto& llm_out = job.llm_out;
  auto& m = job.m;

  auto cards = d_.scorecards.list(t);
  if (!cards) return std::unexpected(cards.error());
  if (!lang.analyzable()) cards->clear();
  std::optional<double> qa_score;
  json qa_out = json::array();
  for (const auto& rs : *cards) {
    if (!rs.enabled) continue;
    auto card = analytics::parse_scorecard(rs.name, rs.rules_json);
    if (!card) {
      log::warn("scorecard skipped: invalid", {{"scorecard", rs.name}, {"error", card.error().message}});
      continue;
    }
    auto r = analytics::score_call(*card, facts, job.metric_values, llm_out.outputs);
    if (!qa_score && r.score) qa_score = r.score;
    // Each answer with its question's text, so a reader needs no second look at the scorecard.
    std::map<std::string, std::string_view> texts;
    for (const auto& q : card->questions) texts.emplace(q.id, q.text);
    json answers = json::array();
    for (const auto& a : r.answers) {
      const auto text = texts.find(a.id);
      answers.push_back({{"id", a.id},
                         {"text", text == texts.end() ? std::string() : std::string(text->second)},
                         {"answer", analytics::answer_name(a.answer)},
                         {"weight", a.weight}});
    }
    qa_out.push_back({{"scorecard_id", rs.id},
                      {"name", rs.name},
                      {"score", opt_json(r.score)},
                      {"answers", answers},
                      {"automatic", true}});
  }

  const auto [summary, outcome, escalation] = conclude_call(text_segments, tl, job.matched_names, llm_out.escalations);

  // The redacted transcript and recording (before anything is stored: an unavailable store
  // retries the message).
  auto red = redact_transcript(job.transcript.segments_json, lang.analyzable() ? text_segments : job.segments,
                               job.pii.findings);
  json located = json::array();
  for (const auto& l : red.located) {
    located.push_back({{"type", std::string(analytics::pii_name(l.finding.type))},
                       {"segment", l.finding.segment},
                       {"begin", l.finding.begin},
                       {"end", l.finding.end},
                       {"start_ms", l.time.start_ms},
                       {"end_ms", l.time.end_ms},
                       {"confidence", l.finding.confidence}});
  }
  auto redaction = redact_call(t, job.call, job.transcript, std::move(red));
  if (!redaction) return std::unexpected(redaction.error());

  // Store.
  if (auto st = d_.metrics.put(t, m); !st) return std::unexpected(st.error());
  if (auto st = d_.category_matches.replace(t, call_id, job.matches); !st) return std::unexpected(st.error());

  auto configs = d_.agents.list(t, false);
  if (!configs) return std::unexpected(configs.error());
  std::map<std::string, storage::AgentConfig> by_name;
  for (const auto& c : *configs) by_name[c.name] = c;
  for (auto name : kBuiltinAgents) {
    if (by_name.contains(std::string(name))) continue;
    storage::AgentConfig c;
    c.name = std::string(name);
    c.kind = storage::AgentKind::kBuiltin;
    c.model = "builtin";
    auto id = d_.agents.create(t, c);
    if (!id) {
      if (id.error().code != ErrorCode::kAlreadyExists) return std::unexpected(id.error());
      auto again = d_.agents.list(t, false);  // another worker created it concurrently
      if (!again) return std::unexpected(again.error());
      for (const auto& a : *again) by_name[a.name] = a;
      continue;
    }
    c.id = *id;
    by_name[c.name] = c;
  }
  const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(d_.clock.steady_now() - job.t0).count();
  auto analysis = [&](std::string_view name, const json& output) {
    const auto& c = by_name.at(std::string(name));
    storage::AnalysisInput a;
    a.agent_config_id = c.id;
    a.agent_version = c.version;
    a.output_json =
        analyzer_supports(name, job.text_language)
            ? output.dump()
            : json{{"analyzed", false}, {"reason", not_analyzed_reason(lang.tag)}, {"language", lang.tag}}.dump();
    a.model = "builtin";
    a.latency_ms = latency;
    return a;
  };
  json seg_sentiment = json::array();
  for (double v : tl.segment) seg_sentiment.push_back(v);
  auto speaker_json = [&](const analytics::SpeakerSentiment& s) {
    json q = json::array();
    for (const auto& v : s.quarter) q.push_back(opt_json(v));
    return json{{"call", opt_json(s.call)}, {"quarters", q}};
  };
  storage::CallAnalysisResult result;
  result.analyses.push_back(analysis("builtin.sentiment", {{"segments", seg_sentiment},
                                                           {"agent", speaker_json(tl.agent)},
                                                           {"customer", speaker_json(tl.customer)},
                                                           {"customer_change", opt_json(tl.customer_change)},
                                                           {"language", lang.tag},
                                                           {"text", lang.english_source},
                                                           {"llm", job.llm_sentiment}}));
  result.analyses.push_back(analysis(
      "builtin.pii", {{"counts", job.pii.counts}, {"findings", located}, {"redacted_segments", job.redacted}}));
  result.analyses.push_back(analysis("builtin.categories", {{"matches", job.categories_out}}));
  result.analyses.push_back(analysis("builtin.qa", {{"score", opt_json(qa_score)}, {"scorecards", qa_out}}));
  result.analyses.push_back(analysis("builtin.summary", {{"summary", summary.text},
                                                         {"issue", summary.issue},
                                                         {"resolution", summary.resolution},
                                                         {"outcome", outcome.outcome},
                                                         {"outcome_evidence", outcome.evidence}}));
  for (auto& a : llm_out.analyses) result.analyses.push_back(std::move(a));
  result.qa_score = qa_score;
  if (escalation.escalate) {
    result.escalation_reason = escalation.reason;
    result.escalation_severity =
        escalation.high ? storage::EscalationSeverity::kHigh : storage::EscalationSeverity::kMedium;
  }
  result.at = std::chrono::time_point_cast<std::chrono::milliseconds>(d_.clock.now());
  // The redaction and the vectors replace what a run stored before (idempotent), so they go
  // first; record() then writes what is counted (analyses, escalation, the agent's
  // aggregates) and the step to analyzed in one transaction, only while the call is still
  // analyzing: a failure before its commit leaves the call analyzing for the retry, and a
  // second run of the same analysis counts nothing.
  if (auto st = d_.transcripts.put_redaction(t, *redaction); !st) return std::unexpected(st.error());
  if (llm_ && llm_->embeddings != nullptr && !llm_out.embeddings.empty()) {
    if (auto st = llm_->embeddings->replace(t, call_id, llm_out.embeddings); !st) return std::unexpected(st.error());
  }
  auto recorded = d_.analyses.record(t, call_id, result);
  if (!recorded) return std::unexpected(recorded.error());
  if (!recorded->recorded) {
    // Another run finished the call (it sends the notice), or it failed or went back to
    // pending meanwhile: nothing was written.
    sc.record(storage::EventOutcome::kSkipped,
              fmt::format("call is {}, no longer analyzing: nothing recorded", storage::status_name(recorded->status)));
    return queue::Outcome{queue::Done{}};
  }
  publish_status(t, call_id, storage::CallStatus::kAnalyzed, storage::CallStatus::kAnalyzing);
  duration_->Add({}, Metrics::latency_buckets())
      .Observe(std::chrono::duration<double>(d_.clock.steady_now() - job.t0).count());
  analyzed_->Add({}).Increment();
  if (escalation.escalate) escalations_->Add({{"severity", escalation.high ? "high" : "medium"}}).Increment();
  sc.record(storage::EventOutcome::kSucceeded);
  auto done = std::get<queue::Done>(analyzed_notice(sc, job.envelope.trace_id));
  if (auto again = reembed_if_embedder_changed(t, call_id, llm_out)) done.next.push_back(std::move(*again));
  std::size_t agents_failed = 0;
  for (const auto& a : result.analyses) agents_failed += a.failed ? 1 : 0;
  log::info("call analyzed", {{"categories", std::to_string(job.matched_names.size())},
                              {"agents_failed", std::to_string(agents_failed)},
                              {"outcome", outcome.outcome},
                              {"escalated", escalation.escalate ? "true" : "false"}});
  return queue::Outcome{std::move(done)};
}

std::optional<queue::OutgoingMessage> AnalyzeStage::reembed_if_embedder_changed(const storage::TenantId& t,
                                                                                storage::Id call_id,
                                                                                const LlmOutcome& llm_out) const {
  // The call's vectors were stored under the config read at the start. A change of embedder
  // saved since then queued a re-embedding pass that may already have gone past this call
  // (or run before its vectors were stored): re-embed this call alone with the new one. A
  // change saved after this read is the pass's to find: the call is analysed by then.
  if (!llm_ || llm_->embeddings == nullptr || llm_out.embeddings.empty()) return std::nullopt;
  auto now = llm_->configs.get(t);
  if (!now || now->embedding_provider == llm_out.embedding_provider) return std::nullopt;
  log::info("the embedder changed during the analysis: the call is queued for re-embedding",
            {{"embedder_used", llm_out.embedding_provider}, {"embedder_now", now->embedding_provider}});
  return queue::make_stage_message(
      d_.topology,
      queue::EmbedRequest{
          .bid = t.bid(), .kind = queue::EmbedKind::kReembed, .id = now->embedding_provider, .call = call_id});
}

void AnalyzeStage::publish_status(const storage::TenantId& t, storage::Id call_id, storage::CallStatus status,
                                  storage::CallStatus previous, const std::string& reason) {
  if (live_ == nullptr) return;
  json data{
      {"call_id", call_id}, {"status", storage::status_name(status)}, {"previous", storage::status_name(previous)}};
  if (!reason.empty()) data["reason"] = reason;
  (void)live_->publish(t.bid(), "call.status", std::move(data));  // failures are logged and counted there
}

Result<AnalyzeStage::LlmPlan> AnalyzeStage::plan_llm(const AnalyzeLlmDeps& L, const storage::TenantId& t,
                                                     const storage::CallRecord& call,
                                                     const std::vector<analytics::TranscriptSegment>& redacted,
                                                     const std::map<std::string, double>& metric_values) {
  LlmPlan plan;
  auto configs = d_.agents.list(t, true);
  if (!configs) return std::unexpected(configs.error());
  for (const auto& c : *configs) {
    if (c.kind == storage::AgentKind::kLlm) plan.jobs.push_back(c);
  }
  if (auto got = L.configs.get(t); got) {
    plan.config = std::move(*got);
  } else if (got.error().code == ErrorCode::kFailedPrecondition || got.error().code == ErrorCode::kInvalidArgument) {
    plan.config_error = "pipeline config unusable: " + got.error().message;
  } else if (got.error().code != ErrorCode::kNotFound) {
    return std::unexpected(got.error());
  }
  if (plan.config_error.empty()) {
    if (auto b = L.providers.for_business(t.bid(), plan.config); b) {
      plan.business = std::move(*b);
    } else {
      plan.config_error = b.error().message;
    }
  }
  plan.have_chain = plan.business && !plan.business->chain.empty();
  plan.agents.reserve(plan.jobs.size());
  for (const auto& j : plan.jobs) plan.agents.push_back(L.agents.to_agent(j));
  plan.hashes.resize(plan.jobs.size());
  if (!plan.jobs.empty() && plan.have_chain) {
    std::string lead = "{}";
    if (L.leads != nullptr && !call.customer_phone.empty() && !call.customer_phone_hashed) {
      if (auto l = L.leads->find_by_phone(t, call.customer_phone); l) {
        if (const auto& found = *l; found.has_value()) lead = found->fields_json;
      }
    }
    plan.input = agent_input(redacted, call, json(metric_values), lead);
    const llm::JsonAgentRunner keys(plan.business->chain, nullptr, d_.clock);
    for (std::size_t i = 0; i < plan.agents.size(); ++i) plan.hashes[i] = keys.cache_key(plan.agents[i], *plan.input);
    plan.run_agents = true;
  }
  plan.embed = L.embeddings != nullptr && plan.business != nullptr;
  return plan;
}

AnalyzeStage::LlmOutcome AnalyzeStage::collect_llm(
    const LlmPlan& plan, std::vector<llm::AgentResult> results,
    std::optional<Result<std::vector<storage::CallEmbedding>>> embeddings) {
  LlmOutcome out;
  if (!plan.jobs.empty() && (plan.have_chain || !plan.config_error.empty())) {
    if (!plan.run_agents) {
      results.clear();
      for (const auto& a : plan.agents) {
        llm::AgentResult r;
        r.agent = a.name;
        r.failure_reason = plan.config_error;
        results.push_back(std::move(r));
      }
    }
    results.resize(plan.jobs.size());
    for (std::size_t i = 0; i < plan.jobs.size(); ++i) {
      const auto& r = results[i];
      const auto& job = plan.jobs[i];
      storage::AnalysisInput a;
      a.agent_config_id = job.id;
      a.agent_version = job.version;
      a.model = r.provider.empty() && plan.have_chain ? plan.business->chain.front()->id() : r.provider;
      a.prompt_hash = plan.hashes[i];
      a.latency_ms = r.latency.count();
      a.input_tokens = r.input_tokens;
      a.output_tokens = r.output_tokens;
      a.cache_hit = r.cache_hit;
      if (r.ok) {
        a.output_json = r.output;
        out.outputs[job.name] = r.output;
        if (auto why = agent_escalation(job.name, r.output)) out.escalations.push_back(std::move(*why));
      } else {
        a.failed = true;
        a.error = r.failure_reason.empty() ? std::string("the agent gave no answer") : r.failure_reason;
        a.output_json = "{}";
        log::warn("llm agent failed", {{"agent", job.name}, {"reason", a.error}});
      }
      out.analyses.push_back(std::move(a));
    }
  }

  if (plan.embed) {
    out.embedding_provider = plan.config.embedding_provider;
    if (embeddings && *embeddings) {
      out.embeddings = std::move(**embeddings);
    } else {
      out.embeddings_error = embeddings ? embeddings->error().to_string() : std::string("no embeddings were made");
      log::warn("call embeddings failed", {{"error", out.embeddings_error}});
    }
  }
  return out;
}

}  // namespace earshot::pipeline
