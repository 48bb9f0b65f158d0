// Transcripts, metrics, analyses (with the human-agent aggregates) and processing events.
#include <nlohmann/json.hpp>

#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

// ---- transcripts -------------------------------------------------------------------------

namespace {

// INSERT ... SELECT from the tenant's call: nothing is written for a foreign call id.
constexpr std::string_view kTranscriptUpsert =
    "INSERT INTO transcripts (call_id, bid, segments, full_text, provider, language, language_source, "
    "english_segments, english_source) "
    "SELECT id, bid, ?, ?, ?, ?, ?, ?, ? FROM call_records WHERE id = ? AND bid = ? "
    "ON DUPLICATE KEY UPDATE segments = VALUES(segments), full_text = VALUES(full_text), "
    "provider = VALUES(provider), language = VALUES(language), language_source = VALUES(language_source), "
    "english_segments = VALUES(english_segments), english_source = VALUES(english_source), version = version + 1, "
    "redacted_segments = NULL, redacted_text = NULL";

std::vector<Value> transcript_params(const TenantId& t, const Transcript& tr) {
  std::optional<std::string> english;
  if (!tr.english_segments_json.empty()) english = tr.english_segments_json;
  return {tr.segments_json, tr.full_text,      tr.provider, tr.language, tr.language_source,
          english,          tr.english_source, tr.call_id,  t.bid()};
}

}  // namespace

Status MySqlTranscriptRepository::put(const TenantId& t, const Transcript& tr) {
  auto r = db_.execute(kTranscriptUpsert, transcript_params(t, tr));
  if (!r) return std::unexpected(r.error());
  if (r->affected_rows == 0) return not_found("call", tr.call_id);
  return {};
}

Result<Transcript> MySqlTranscriptRepository::get(const TenantId& t, Id call_id) {
  auto r = db_.execute(
      "SELECT call_id, segments, full_text, provider, language, version, "
      "IF(redacted_version = version, redacted_segments, NULL), redacted_audio_uri, "
      "COALESCE(redacted_version = version, 0), language_source, english_segments, english_source "
      "FROM transcripts WHERE call_id = ? AND bid = ?",
      {call_id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("transcript of call", call_id);
  const auto& row = r->rows[0];
  Transcript tr;
  tr.call_id = row[0].as_int();
  tr.segments_json = row[1].as_string();
  tr.full_text = row[2].as_string();
  tr.provider = row[3].as_string();
  tr.language = row[4].as_string();
  tr.version = row[5].as_int();
  if (!row[6].is_null()) tr.redacted_segments_json = row[6].as_string();
  tr.redacted_audio_uri = row[7].as_string();
  tr.redaction_current = row[8].as_int() != 0;
  tr.language_source = row[9].as_string();
  if (!row[10].is_null()) tr.english_segments_json = row[10].as_string();
  tr.english_source = row[11].as_string();
  return tr;
}

Result<bool> MySqlTranscriptRepository::put_redaction(const TenantId& t, const TranscriptRedaction& red) {
  auto r = db_.execute(
      "UPDATE transcripts SET redacted_segments = ?, redacted_text = ?, redacted_audio_uri = ?, "
      "redacted_version = version WHERE call_id = ? AND bid = ? AND version = ?",
      {red.segments_json, red.full_text, red.audio_uri, red.call_id, t.bid(), red.version});
  if (!r) return std::unexpected(r.error());
  return r->affected_rows > 0;
}

Result<std::unordered_map<Id, std::string>> MySqlTranscriptRepository::redacted_segments_of(
    const TenantId& t, std::span<const Id> call_ids) {
  std::unordered_map<Id, std::string> out;
  if (call_ids.empty()) return out;
  if (call_ids.size() > 1000) return make_error(ErrorCode::kInvalidArgument, "at most 1000 call ids");
  std::vector<Value> p;
  p.reserve(call_ids.size() + 1);
  for (const Id id : call_ids) p.emplace_back(id);
  p.emplace_back(t.bid());
  auto r = db_.execute(fmt::format("SELECT call_id, redacted_segments FROM transcripts WHERE call_id IN ({}) AND "
                                   "bid = ? AND redacted_segments IS NOT NULL AND redacted_version = version",
                                   placeholders(call_ids.size())),
                       p);
  if (!r) return std::unexpected(r.error());
  out.reserve(r->rows.size());
  for (auto& row : r->rows) out.emplace(row[0].as_int(), row[1].take_string());
  return out;
}

Status MySqlTranscriptRepository::put_english(const TenantId& t, Id call_id, const std::string& segments_json,
                                              const std::string& source) {
  auto r = db_.execute("UPDATE transcripts SET english_segments = ?, english_source = ? WHERE call_id = ? AND bid = ?",
                       {segments_json, source, call_id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->affected_rows == 0) {
    // Unchanged rows count as not affected: tell that apart from a missing transcript.
    auto exists = db_.execute("SELECT 1 FROM transcripts WHERE call_id = ? AND bid = ?", {call_id, t.bid()});
    if (!exists) return std::unexpected(exists.error());
    if (exists->rows.empty()) return not_found("transcript of call", call_id);
  }
  return {};
}

Status MySqlTranscriptRepository::put_language(const TenantId& t, Id call_id, const std::string& language,
                                               const std::string& source) {
  return db_.transaction([&](Connection& c) -> Status {
    auto r = c.execute("SELECT language_source FROM transcripts WHERE call_id = ? AND bid = ? FOR UPDATE",
                       {call_id, t.bid()});
    if (!r) return std::unexpected(r.error());
    if (r->rows.empty()) return not_found("transcript of call", call_id);
    if (!r->rows[0][0].as_string().empty()) return {};  // a provider's or configured language stays
    if (auto u = c.execute("UPDATE transcripts SET language = ?, language_source = ? WHERE call_id = ? AND bid = ?",
                           {language, source, call_id, t.bid()});
        !u) {
      return std::unexpected(u.error());
    }
    auto u = c.execute("UPDATE call_records SET language = ? WHERE id = ? AND bid = ? AND language = ''",
                       {language, call_id, t.bid()});
    if (!u) return std::unexpected(u.error());
    return {};
  });
}

Result<std::unordered_map<Id, std::string>> MySqlTranscriptRepository::segments_of(const TenantId& t,
                                                                                   std::span<const Id> call_ids) {
  std::unordered_map<Id, std::string> out;
  if (call_ids.empty()) return out;
  if (call_ids.size() > 1000) return make_error(ErrorCode::kInvalidArgument, "at most 1000 call ids");
  std::vector<Value> p;
  p.reserve(call_ids.size() + 1);
  for (const Id id : call_ids) p.emplace_back(id);
  p.emplace_back(t.bid());
  auto r = db_.execute(fmt::format("SELECT call_id, segments FROM transcripts WHERE call_id IN ({}) AND bid = ?",
                                   placeholders(call_ids.size())),
                       p);
  if (!r) return std::unexpected(r.error());
  out.reserve(r->rows.size());
  for (auto& row : r->rows) out.emplace(row[0].as_int(), row[1].take_string());
  return out;
}

Result<std::vector<Id>> MySqlTranscriptRepository::search(const TenantId& t, std::string_view text, int limit) {
  CallListQuery q;
  q.text = std::string(text);
  q.limit = limit;
  MySqlCallRepository calls(db_);
  auto page = calls.list(t, q);
  if (!page) return std::unexpected(page.error());
  std::vector<Id> out;
  for (const auto& c : page->calls) out.push_back(c.id);
  return out;
}

// ---- metrics -----------------------------------------------------------------------------

namespace {

// Column order shared by put() and get().
constexpr std::array<std::string_view, 37> kMetricCols = {"source",
                                                          "duration_ms",
                                                          "agent_talk_ms",
                                                          "customer_talk_ms",
                                                          "agent_talk_ratio",
                                                          "agent_talk_pct_of_call",
                                                          "non_talk_ms",
                                                          "silences",
                                                          "overtalk_ms",
                                                          "overtalk_count",
                                                          "agent_interruptions",
                                                          "agent_interruption_ms",
                                                          "customer_interruptions",
                                                          "customer_interruption_ms",
                                                          "agent_loudness_mean_dbfs",
                                                          "agent_loudness_peak_dbfs",
                                                          "customer_loudness_mean_dbfs",
                                                          "customer_loudness_peak_dbfs",
                                                          "loudness_series",
                                                          "longest_monologue_ms",
                                                          "longest_customer_story_ms",
                                                          "interactivity_per_min",
                                                          "patience_ms",
                                                          "agent_wpm",
                                                          "customer_wpm",
                                                          "question_rate_per_hour",
                                                          "agent_sentiment",
                                                          "customer_sentiment",
                                                          "agent_sentiment_q1",
                                                          "agent_sentiment_q2",
                                                          "agent_sentiment_q3",
                                                          "agent_sentiment_q4",
                                                          "customer_sentiment_q1",
                                                          "customer_sentiment_q2",
                                                          "customer_sentiment_q3",
                                                          "customer_sentiment_q4",
                                                          "sentiment_change"};
constexpr std::size_t kMetricValueCols = kMetricCols.size();

std::vector<Value> metric_values(const CallMetrics& m) {
  return {to_name(kMetricsSource, m.source),
          m.duration_ms,
          m.agent_talk_ms,
          m.customer_talk_ms,
          m.agent_talk_ratio,
          m.agent_talk_pct_of_call,
          m.non_talk_ms,
          m.silences_json,
          m.overtalk_ms,
          m.overtalk_count,
          m.agent_interruptions,
          m.agent_interruption_ms,
          m.customer_interruptions,
          m.customer_interruption_ms,
          m.agent_loudness_mean_dbfs,
          m.agent_loudness_peak_dbfs,
          m.customer_loudness_mean_dbfs,
          m.customer_loudness_peak_dbfs,
          m.loudness_series_json,
          m.longest_monologue_ms,
          m.longest_customer_story_ms,
          m.interactivity_per_min,
          m.patience_ms,
          m.agent_wpm,
          m.customer_wpm,
          m.question_rate_per_hour,
          m.agent_sentiment,
          m.customer_sentiment,
          m.agent_sentiment_q[0],
          m.agent_sentiment_q[1],
          m.agent_sentiment_q[2],
          m.agent_sentiment_q[3],
          m.customer_sentiment_q[0],
          m.customer_sentiment_q[1],
          m.customer_sentiment_q[2],
          m.customer_sentiment_q[3],
          m.sentiment_change};
}

}  // namespace

std::string detail::metric_columns(std::string_view qualifier, bool with_series) {
  std::string cols;
  for (std::size_t i = 0; i < kMetricValueCols; ++i) {
    if (i > 0) cols += ", ";
    if (!with_series && kMetricCols[i] == "loudness_series") {
      cols += "''";  // keeps the positions to_metrics reads
      continue;
    }
    cols += qualifier;
    cols += kMetricCols[i];
  }
  return cols;
}

CallMetrics detail::to_metrics(const Row& r, Id call_id, std::size_t first) {
  CallMetrics m;
  m.call_id = call_id;
  std::size_t i = first;
  m.source = from_name(kMetricsSource, r[i++].as_string());
  m.duration_ms = r[i++].as_int();
  m.agent_talk_ms = r[i++].as_int();
  m.customer_talk_ms = r[i++].as_int();
  m.agent_talk_ratio = r[i++].opt_double();
  m.agent_talk_pct_of_call = r[i++].opt_double();
  m.non_talk_ms = r[i++].as_int();
  m.silences_json = r[i++].as_string();
  m.overtalk_ms = r[i++].as_int();
  m.overtalk_count = r[i++].as_int();
  m.agent_interruptions = r[i++].as_int();
  m.agent_interruption_ms = r[i++].as_int();
  m.customer_interruptions = r[i++].as_int();
  m.customer_interruption_ms = r[i++].as_int();
  m.agent_loudness_mean_dbfs = r[i++].opt_double();
  m.agent_loudness_peak_dbfs = r[i++].opt_double();
  m.customer_loudness_mean_dbfs = r[i++].opt_double();
  m.customer_loudness_peak_dbfs = r[i++].opt_double();
  m.loudness_series_json = r[i++].as_string();
  m.longest_monologue_ms = r[i++].as_int();
  m.longest_customer_story_ms = r[i++].as_int();
  m.interactivity_per_min = r[i++].opt_double();
  m.patience_ms = r[i++].opt_double();
  m.agent_wpm = r[i++].opt_double();
  m.customer_wpm = r[i++].opt_double();
  m.question_rate_per_hour = r[i++].opt_double();
  m.agent_sentiment = r[i++].opt_double();
  m.customer_sentiment = r[i++].opt_double();
  for (auto& q : m.agent_sentiment_q) q = r[i++].opt_double();
  for (auto& q : m.customer_sentiment_q) q = r[i++].opt_double();
  m.sentiment_change = r[i++].opt_double();
  return m;
}

namespace {

// Writes the call's metrics row; the caller has checked (and locked) the tenant's call.
Status upsert_metrics(Connection& c, const TenantId& t, const CallMetrics& m) {
  static const std::string sql = [] {
    std::string cols = "call_id, bid";
    std::string marks = "?, ?";
    std::string updates = "computed_at = CURRENT_TIMESTAMP(3)";
    for (std::size_t i = 0; i < kMetricValueCols; ++i) {
      cols += fmt::format(", {}", kMetricCols[i]);
      marks += ", ?";
      updates += fmt::format(", {0} = VALUES({0})", kMetricCols[i]);
    }
    return fmt::format("INSERT INTO call_metrics ({}) VALUES ({}) ON DUPLICATE KEY UPDATE {}", cols, marks, updates);
  }();
  std::vector<Value> p{m.call_id, t.bid()};
  for (auto& v : metric_values(m)) p.push_back(std::move(v));
  if (auto r = c.execute(sql, p); !r) return std::unexpected(r.error());
  return {};
}

// The call list filters and sorts on these; they are kept in step with the metrics row.
constexpr std::string_view kCallMetricsUpdate =
    "UPDATE call_records SET agent_talk_ratio = ?, customer_sentiment = ? WHERE id = ? AND bid = ?";
// The same with the step transcribing -> transcribed (which counts no attempt).
constexpr std::string_view kCallMetricsTranscribed =
    "UPDATE call_records SET agent_talk_ratio = ?, customer_sentiment = ?, status = 'transcribed', "
    "status_changed_at = CURRENT_TIMESTAMP(3) WHERE id = ? AND bid = ?";

}  // namespace

Status MySqlMetricsRepository::put(const TenantId& t, const CallMetrics& m) {
  return db_.transaction([&](Connection& c) -> Status {
    if (auto st = require_call(c, t, m.call_id, /*lock=*/true); !st) return st;
    if (auto st = upsert_metrics(c, t, m); !st) return st;
    auto r = c.execute(kCallMetricsUpdate, {m.agent_talk_ratio, m.customer_sentiment, m.call_id, t.bid()});
    if (!r) return std::unexpected(r.error());
    return {};
  });
}

Result<CallMetrics> MySqlMetricsRepository::get(const TenantId& t, Id call_id) {
  static const std::string sql =
      fmt::format("SELECT {} FROM call_metrics WHERE call_id = ? AND bid = ?", detail::metric_columns("", true));
  auto r = db_.execute(sql, {call_id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("metrics of call", call_id);
  return detail::to_metrics(r->rows[0], call_id, 0);
}

// ---- analyses and agent aggregates -------------------------------------------------------

namespace {

// A call's new analyses, latest per agent, in three statements whatever their number: the
// agents checked as the tenant's, their earlier results marked not latest, the rows inserted.
Status insert_analyses(Connection& c, const TenantId& t, Id call_id, std::span<const AnalysisInput> analyses) {
  if (analyses.empty()) return {};
  std::vector<Id> ids;
  for (const auto& a : analyses) {
    if (std::find(ids.begin(), ids.end(), a.agent_config_id) == ids.end()) ids.push_back(a.agent_config_id);
  }
  std::string marks;
  for (std::size_t i = 0; i < ids.size(); ++i) marks += i == 0 ? "?" : ", ?";
  std::vector<Value> p{t.bid()};
  for (Id id : ids) p.emplace_back(id);
  auto cfg = c.execute(fmt::format("SELECT id FROM business_agent_config WHERE bid = ? AND id IN ({})", marks), p);
  if (!cfg) return std::unexpected(cfg.error());
  if (cfg->rows.size() != ids.size()) {
    for (Id id : ids) {
      const bool found =
          std::any_of(cfg->rows.begin(), cfg->rows.end(), [&](const Row& r) { return r[0].as_int() == id; });
      if (!found) return not_found("agent config", id);
    }
  }
  p.insert(p.begin() + 1, Value(call_id));
  auto old =
      c.execute(fmt::format("UPDATE analyses SET is_latest = 0 WHERE bid = ? AND call_id = ? AND is_latest = 1 AND "
                            "agent_config_id IN ({})",
                            marks),
                p);
  if (!old) return std::unexpected(old.error());
  std::string sql =
      "INSERT INTO analyses (bid, call_id, agent_config_id, agent_version, output, status, error, model, "
      "prompt_hash, latency_ms, input_tokens, output_tokens, cache_hit, is_latest) VALUES ";
  std::vector<Value> rows;
  rows.reserve(analyses.size() * 14);
  for (std::size_t i = 0; i < analyses.size(); ++i) {
    const auto& a = analyses[i];
    // An agent named twice: its last result is the latest.
    const bool latest = std::none_of(analyses.begin() + static_cast<std::ptrdiff_t>(i) + 1, analyses.end(),
                                     [&](const AnalysisInput& b) { return b.agent_config_id == a.agent_config_id; });
    sql += i == 0 ? "" : ", ";
    sql += "(?, ?, ?, ?, ?, ?, LEFT(?, 1024), ?, ?, ?, ?, ?, ?, ?)";
    rows.insert(rows.end(), {t.bid(), call_id, a.agent_config_id, a.agent_version, a.output_json,
                             a.failed ? "failed" : "ok", a.error, a.model, a.prompt_hash, a.latency_ms, a.input_tokens,
                             a.output_tokens, a.cache_hit, std::int64_t{latest ? 1 : 0}});
  }
  auto ins = c.execute(sql, rows);
  if (!ins) return std::unexpected(ins.error());
  return {};
}

}  // namespace

Result<RecordOutcome> MySqlAnalysisRepository::record(const TenantId& t, Id call_id, const CallAnalysisResult& res) {
  return db_.transaction<RecordOutcome>([&](Connection& c) -> Result<RecordOutcome> {
    // Lock order everywhere: call row, then agent row.
    auto call = c.execute(
        "SELECT human_agent_id, aggregated, agent_talk_ratio, customer_sentiment, status "
        "FROM call_records WHERE id = ? AND bid = ? FOR UPDATE",
        {call_id, t.bid()});
    if (!call) return std::unexpected(call.error());
    if (call->rows.empty()) return not_found("call", call_id);
    // Only a call being analysed takes a result: a second run of the same analysis (a
    // redelivered message, a worker that lost its lease) finds it analyzed and writes nothing.
    if (const auto status = status_from_name(call->rows[0][4].as_string()); status != CallStatus::kAnalyzing) {
      return RecordOutcome{.recorded = false, .aggregated = false, .status = status.value_or(CallStatus::kFailed)};
    }
    const auto agent_id = call->rows[0][0].opt_int();
    const bool already = call->rows[0][1].as_int() != 0;
    const auto talk_ratio = call->rows[0][2].opt_double();
    const auto sentiment = call->rows[0][3].opt_double();
    const bool aggregate = agent_id.has_value() && !already;
    // The agent row is locked before anything else is written, so analyses of one agent's
    // calls queue here instead of interleaving their writes.
    std::optional<Row> agent_row;
    if (agent_id && (aggregate || res.escalation_reason)) {
      auto agent = c.execute(
          "SELECT total_calls, talk_ratio_sum, talk_ratio_count, customer_sentiment_sum, "
          "customer_sentiment_count, qa_score_sum, qa_score_count, escalations, trend "
          "FROM human_agents WHERE id = ? AND bid = ? FOR UPDATE",
          {*agent_id, t.bid()});
      if (!agent) return std::unexpected(agent.error());
      if (!agent->rows.empty()) agent_row = std::move(agent->rows[0]);
    }

    if (auto st = insert_analyses(c, t, call_id, res.analyses); !st) return std::unexpected(st.error());
    if (res.qa_score) {
      auto r =
          c.execute("UPDATE call_records SET qa_score = ? WHERE id = ? AND bid = ?", {*res.qa_score, call_id, t.bid()});
      if (!r) return std::unexpected(r.error());
    }
    if (res.escalation_reason) {
      auto r = c.execute("INSERT INTO escalations (bid, call_id, reason, severity) VALUES (?, ?, LEFT(?, 1024), ?)",
                         {t.bid(), call_id, *res.escalation_reason, to_name(kSeverity, res.escalation_severity)});
      if (!r) return std::unexpected(r.error());
    }
    // Last, in the same transaction: the step that says all of the above happened.
    auto step = [&]() -> Status {
      auto r = c.execute(
          "UPDATE call_records SET status = 'analyzed', status_changed_at = CURRENT_TIMESTAMP(3) "
          "WHERE id = ? AND bid = ? AND status = 'analyzing'",
          {call_id, t.bid()});
      if (!r) return std::unexpected(r.error());
      return {};
    };
    if (!agent_row) {  // no agent, nothing new to count, or the agent is gone
      if (auto st = step(); !st) return std::unexpected(st.error());
      return RecordOutcome{.recorded = true, .aggregated = false, .status = CallStatus::kAnalyzed};
    }
    const Row& a = *agent_row;
    std::int64_t total = a[0].as_int();
    double tr_sum = a[1].as_double();
    std::int64_t tr_n = a[2].as_int();
    double se_sum = a[3].as_double();
    std::int64_t se_n = a[4].as_int();
    double qa_sum = a[5].as_double();
    std::int64_t qa_n = a[6].as_int();
    std::int64_t esc = a[7].as_int() + (res.escalation_reason ? 1 : 0);
    std::string trend = a[8].as_string();
    if (aggregate) {
      ++total;
      if (talk_ratio) tr_sum += *talk_ratio, ++tr_n;
      if (sentiment) se_sum += *sentiment, ++se_n;
      if (res.qa_score) qa_sum += *res.qa_score, ++qa_n;
      auto j = nlohmann::json::parse(trend, nullptr, false);
      if (!j.is_array()) j = nlohmann::json::array();
      nlohmann::json entry = {{"call_id", call_id}, {"at", res.at.time_since_epoch().count()}};
      entry["talk_ratio"] = talk_ratio ? nlohmann::json(*talk_ratio) : nlohmann::json();
      entry["sentiment"] = sentiment ? nlohmann::json(*sentiment) : nlohmann::json();
      entry["qa_score"] = res.qa_score ? nlohmann::json(*res.qa_score) : nlohmann::json();
      j.push_back(std::move(entry));
      while (j.size() > kAgentTrendLength) j.erase(j.begin());
      trend = j.dump();
    }
    auto up = c.execute(
        "UPDATE human_agents SET total_calls = ?, talk_ratio_sum = ?, talk_ratio_count = ?, "
        "customer_sentiment_sum = ?, customer_sentiment_count = ?, qa_score_sum = ?, "
        "qa_score_count = ?, escalations = ?, trend = ? WHERE id = ? AND bid = ?",
        {total, tr_sum, tr_n, se_sum, se_n, qa_sum, qa_n, esc, trend, *agent_id, t.bid()});
    if (!up) return std::unexpected(up.error());
    if (aggregate) {
      auto mark = c.execute("UPDATE call_records SET aggregated = 1 WHERE id = ? AND bid = ?", {call_id, t.bid()});
      if (!mark) return std::unexpected(mark.error());
    }
    if (auto st = step(); !st) return std::unexpected(st.error());
    return RecordOutcome{.recorded = true, .aggregated = aggregate, .status = CallStatus::kAnalyzed};
  });
}

Result<std::vector<Analysis>> MySqlAnalysisRepository::list_for_call(const TenantId& t, Id call_id, bool latest_only) {
  auto r = db_.execute(
      "SELECT id, call_id, agent_config_id, agent_version, output, model, prompt_hash, "
      "latency_ms, input_tokens, output_tokens, is_latest, created_at, status, error, "
      "cache_hit FROM analyses "
      "WHERE bid = ? AND call_id = ? AND (is_latest = 1 OR ? = 0) ORDER BY id",
      {t.bid(), call_id, latest_only});
  if (!r) return std::unexpected(r.error());
  std::vector<Analysis> out;
  for (const auto& row : r->rows) {
    Analysis a;
    a.id = row[0].as_int();
    a.call_id = row[1].as_int();
    a.agent_config_id = row[2].as_int();
    a.agent_version = row[3].as_int();
    a.output_json = row[4].as_string();
    a.model = row[5].as_string();
    a.prompt_hash = row[6].as_string();
    a.latency_ms = row[7].as_int();
    a.input_tokens = row[8].as_int();
    a.output_tokens = row[9].as_int();
    a.is_latest = row[10].as_int() != 0;
    a.created_at = row[11].as_time();
    a.failed = row[12].as_string() == "failed";
    a.error = row[13].as_string();
    a.cache_hit = row[14].as_int() != 0;
    out.push_back(std::move(a));
  }
  return out;
}

// ---- processing events -------------------------------------------------------------------

namespace {

constexpr std::string_view kEventInsert =
    "INSERT INTO processing_events (bid, call_id, stage, outcome, attempt, error, duration_ms) "
    "SELECT bid, id, ?, ?, ?, LEFT(?, 1024), ? FROM call_records WHERE id = ? AND bid = ?";

std::vector<Value> event_params(const TenantId& t, const ProcessingEvent& e) {
  return {e.stage, to_name(kOutcome, e.outcome), e.attempt, e.error, e.duration_ms, e.call_id, t.bid()};
}

}  // namespace

Result<Id> MySqlProcessingEventRepository::append(const TenantId& t, const ProcessingEvent& e) {
  auto r = db_.execute(kEventInsert, event_params(t, e));
  if (!r) return std::unexpected(r.error());
  if (r->affected_rows == 0) return not_found("call", e.call_id);
  return static_cast<Id>(r->insert_id);
}

Result<std::vector<ProcessingEvent>> MySqlProcessingEventRepository::list_for_call(const TenantId& t, Id call_id) {
  auto r = db_.execute(
      "SELECT id, call_id, stage, outcome, attempt, error, duration_ms, created_at "
      "FROM processing_events WHERE bid = ? AND call_id = ? ORDER BY id",
      {t.bid(), call_id});
  if (!r) return std::unexpected(r.error());
  std::vector<ProcessingEvent> out;
  for (const auto& row : r->rows) {
    ProcessingEvent e;
    e.id = row[0].as_int();
    e.call_id = row[1].as_int();
    e.stage = row[2].as_string();
    e.outcome = from_name(kOutcome, row[3].as_string());
    e.attempt = row[4].as_int();
    e.error = row[5].as_string();
    e.duration_ms = row[6].as_int();
    e.created_at = row[7].as_time();
    out.push_back(std::move(e));
  }
  return out;
}

// ---- a transcription's result -------------------------------------------------------------

Result<bool> MySqlTranscriptRepository::put_transcribed(const TenantId& t, const Transcript& tr, const CallMetrics& m,
                                                        const ProcessingEvent& event) {
  return db_.transaction<bool>([&](Connection& c) -> Result<bool> {
    auto call = c.execute("SELECT status FROM call_records WHERE id = ? AND bid = ? FOR UPDATE", {tr.call_id, t.bid()});
    if (!call) return std::unexpected(call.error());
    if (call->rows.empty()) return not_found("call", tr.call_id);
    const bool moves = call->rows[0][0].as_string() == status_name(CallStatus::kTranscribing);
    if (auto r = c.execute(kTranscriptUpsert, transcript_params(t, tr)); !r) return std::unexpected(r.error());
    if (auto st = upsert_metrics(c, t, m); !st) return std::unexpected(st.error());
    auto r = c.execute(moves ? kCallMetricsTranscribed : kCallMetricsUpdate,
                       {m.agent_talk_ratio, m.customer_sentiment, tr.call_id, t.bid()});
    if (!r) return std::unexpected(r.error());
    if (auto e = c.execute(kEventInsert, event_params(t, event)); !e) return std::unexpected(e.error());
    return moves;
  });
}

}  // namespace earshot::storage
