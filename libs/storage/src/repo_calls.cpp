// Human agents and calls: upserts, guarded transitions, the keyset call list, lifecycle.
#include <algorithm>
#include <array>
#include <unordered_map>

#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

// ---- human agents ------------------------------------------------------------------------

namespace {
constexpr std::string_view kAgentCols =
    "SELECT id, external_id, name, team, city, total_calls, talk_ratio_sum, talk_ratio_count, "
    "customer_sentiment_sum, customer_sentiment_count, qa_score_sum, qa_score_count, "
    "escalations, trend FROM human_agents";

HumanAgent to_agent(const Row& r) {
  HumanAgent a;
  a.id = r[0].as_int();
  a.external_id = r[1].as_string();
  a.name = r[2].as_string();
  a.team = r[3].as_string();
  a.city = r[4].as_string();
  a.total_calls = r[5].as_int();
  a.talk_ratio_sum = r[6].as_double();
  a.talk_ratio_count = r[7].as_int();
  a.customer_sentiment_sum = r[8].as_double();
  a.customer_sentiment_count = r[9].as_int();
  a.qa_score_sum = r[10].as_double();
  a.qa_score_count = r[11].as_int();
  a.escalations = r[12].as_int();
  a.trend_json = r[13].as_string();
  return a;
}

Result<HumanAgent> one_agent(Result<ExecResult> r) {
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("human agent");
  return to_agent(r->rows[0]);
}
}  // namespace

Result<Id> MySqlHumanAgentRepository::upsert(const TenantId& t, const HumanAgentInput& in) {
  auto r = db_.execute(
      "INSERT INTO human_agents (bid, external_id, name, team, city, trend) "
      "VALUES (?, ?, ?, ?, ?, '[]') ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), "
      "name = VALUES(name), team = VALUES(team), city = VALUES(city)",
      {t.bid(), in.external_id, in.name, in.team, in.city});
  if (!r) return std::unexpected(r.error());
  return static_cast<Id>(r->insert_id);
}

Result<HumanAgent> MySqlHumanAgentRepository::get(const TenantId& t, Id id) {
  return one_agent(db_.execute(std::string(kAgentCols) + " WHERE id = ? AND bid = ?", {id, t.bid()}));
}

Result<HumanAgent> MySqlHumanAgentRepository::find_by_external_id(const TenantId& t, std::string_view external_id) {
  return one_agent(db_.execute(std::string(kAgentCols) + " WHERE bid = ? AND external_id = ?", {t.bid(), external_id}));
}

Result<std::vector<HumanAgent>> MySqlHumanAgentRepository::list(const TenantId& t) {
  auto r = db_.execute(std::string(kAgentCols) + " WHERE bid = ? ORDER BY name, id", {t.bid()});
  if (!r) return std::unexpected(r.error());
  std::vector<HumanAgent> out;
  for (const auto& row : r->rows) out.push_back(to_agent(row));
  return out;
}

// ---- calls -------------------------------------------------------------------------------

namespace {

constexpr std::string_view kCallCols =
    "SELECT id, external_id, human_agent_id, customer_phone, customer_name, direction, city, "
    "issue_category, call_context, started_at, duration_ms, audio_uri, channels, language, "
    "metadata, status, failed_stage, failed_reason, attempts, customer_phone_hashed, "
    "agent_talk_ratio, customer_sentiment, qa_score, status_changed_at, created_at";
constexpr std::size_t kCallColCount = 25;

// Moves the row's text out (the row is spent).
CallRecord to_call(Row& r) {
  CallRecord c;
  c.id = r[0].as_int();
  c.external_id = r[1].take_string();
  c.human_agent_id = r[2].opt_int();
  c.customer_phone = r[3].take_string();
  c.customer_name = r[4].take_string();
  c.direction = from_name(kDirection, r[5].as_string());
  c.city = r[6].take_string();
  c.issue_category = r[7].take_string();
  c.call_context = r[8].take_string();
  c.started_at = r[9].as_time();
  c.duration_ms = r[10].as_int();
  c.audio_uri = r[11].take_string();
  c.channels = static_cast<int>(r[12].as_int());
  c.language = r[13].take_string();
  c.metadata_json = r[14].take_string();
  c.status = status_from_name(r[15].as_string()).value_or(CallStatus::kFailed);
  c.failed_stage = r[16].take_string();
  c.failed_reason = r[17].take_string();
  c.attempts = r[18].as_int();
  c.customer_phone_hashed = r[19].as_int() != 0;
  c.agent_talk_ratio = r[20].opt_double();
  c.customer_sentiment = r[21].opt_double();
  c.qa_score = r[22].opt_double();
  c.status_changed_at = r[23].as_time();
  c.created_at = r[24].as_time();
  return c;
}

Result<CallRecord> one_call(Result<ExecResult> r, std::string_view what) {
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found(what);
  return to_call(r->rows[0]);
}

constexpr std::string_view kUpsertHead =
    "INSERT INTO call_records (bid, external_id, human_agent_id, customer_phone, customer_name, "
    "direction, city, issue_category, call_context, started_at, duration_ms, audio_uri, "
    "channels, language, metadata) VALUES ";
constexpr std::string_view kUpsertRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// The batch form also names the id of calls known to exist (NULL for new ones).
constexpr std::string_view kUpsertHeadWithId =
    "INSERT INTO call_records (id, bid, external_id, human_agent_id, customer_phone, "
    "customer_name, direction, city, issue_category, call_context, started_at, duration_ms, "
    "audio_uri, channels, language, metadata) VALUES ";
constexpr std::string_view kUpsertRowWithId = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// A re-sync refreshes descriptive fields only: status, derived values and an already hashed
// phone stay. sync_count always changes, so affected rows tell insert (1) from update (2).
constexpr std::string_view kUpsertTail =
    " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), human_agent_id = VALUES(human_agent_id), "
    "customer_phone = IF(customer_phone_hashed = 1, customer_phone, VALUES(customer_phone)), "
    "customer_name = VALUES(customer_name), direction = VALUES(direction), "
    "city = VALUES(city), issue_category = VALUES(issue_category), "
    "call_context = VALUES(call_context), started_at = VALUES(started_at), "
    "duration_ms = VALUES(duration_ms), audio_uri = VALUES(audio_uri), "
    "channels = VALUES(channels), language = VALUES(language), metadata = VALUES(metadata), "
    "sync_count = sync_count + 1";

void append_call_params(std::vector<Value>& p, const TenantId& t, const CallInput& in) {
  p.emplace_back(t.bid());
  p.emplace_back(in.external_id);
  p.emplace_back(in.human_agent_id);
  p.emplace_back(in.customer_phone);
  p.emplace_back(in.customer_name);
  p.emplace_back(to_name(kDirection, in.direction));
  p.emplace_back(in.city);
  p.emplace_back(in.issue_category);
  p.emplace_back(in.call_context);
  p.emplace_back(in.started_at);
  p.emplace_back(in.duration_ms);
  p.emplace_back(in.audio_uri);
  p.emplace_back(in.channels);
  p.emplace_back(in.language);
  p.emplace_back(in.metadata_json);
}

// Tables holding rows derived from a call, deleted with it.
constexpr std::array<std::string_view, 8> kDerivedTables = {"transcripts",           "call_metrics",   "analyses",
                                                            "processing_events",     "call_notes",     "escalations",
                                                            "call_category_matches", "call_embeddings"};

// The filters the call list and ids_matching share, as AND conditions on call_records
// (every column is part of each list index, so they are checked on index entries; a matched
// category is a probe of call_category_matches' primary key (bid, call_id, category_id)).
struct SharedFilters {
  const std::string& bid;
  const std::optional<Id>& human_agent_id;
  const std::optional<Timestamp>& started_from;
  const std::optional<Timestamp>& started_to;
  const std::optional<CallStatus>& status;
  const std::optional<std::string>& category;
  const std::optional<Id>& matched_category_id;
};

void append_shared_filters(std::string& sql, std::vector<Value>& p, const SharedFilters& f) {
  if (f.human_agent_id) {
    sql += " AND human_agent_id = ?";
    p.emplace_back(*f.human_agent_id);
  }
  if (f.started_from) {
    sql += " AND started_at >= ?";
    p.emplace_back(*f.started_from);
  }
  if (f.started_to) {
    sql += " AND started_at < ?";
    p.emplace_back(*f.started_to);
  }
  if (f.status) {
    sql += " AND status = ?";
    p.emplace_back(status_name(*f.status));
  }
  if (f.category) {
    sql += " AND issue_category = ?";
    p.emplace_back(*f.category);
  }
  // One primary-key probe of the business's matches per candidate entry; a category id of
  // another business has no match rows under this bid, so it matches nothing.
  if (f.matched_category_id) {
    sql +=
        " AND EXISTS (SELECT 1 FROM call_category_matches m WHERE m.bid = ? AND m.call_id = call_records.id "
        "AND m.category_id = ?)";
    p.emplace_back(f.bid);
    p.emplace_back(*f.matched_category_id);
  }
}

// Deletes calls `ids` and their derived rows: the notification deliveries that quote them
// (with their attempts) and the rows of kDerivedTables, then the calls. Every statement is
// scoped by bid, so ids of another business delete nothing.
Result<std::uint64_t> delete_calls(Connection& c, const TenantId& t, std::span<const Id> ids) {
  const std::string in = placeholders(ids.size());
  std::vector<Value> params;
  params.reserve(ids.size() + 2);
  params.emplace_back(t.bid());
  for (Id id : ids) params.emplace_back(id);
  std::vector<Value> attempt_params;
  attempt_params.reserve(ids.size() + 2);
  attempt_params.emplace_back(t.bid());
  attempt_params.emplace_back(t.bid());
  for (Id id : ids) attempt_params.emplace_back(id);
  auto attempts = c.execute(fmt::format("DELETE FROM webhook_delivery_attempts WHERE bid = ? AND delivery_id IN "
                                        "(SELECT id FROM webhook_deliveries WHERE bid = ? AND call_id IN ({}))",
                                        in),
                            attempt_params);
  if (!attempts) return std::unexpected(attempts.error());
  auto deliveries =
      c.execute(fmt::format("DELETE FROM webhook_deliveries WHERE bid = ? AND call_id IN ({})", in), params);
  if (!deliveries) return std::unexpected(deliveries.error());
  for (std::string_view table : kDerivedTables) {
    auto r = c.execute(fmt::format("DELETE FROM {} WHERE bid = ? AND call_id IN ({})", table, in), params);
    if (!r) return std::unexpected(r.error());
  }
  auto r = c.execute(fmt::format("DELETE FROM call_records WHERE bid = ? AND id IN ({})", in), params);
  if (!r) return std::unexpected(r.error());
  return r->affected_rows;
}

struct SortSpec {
  std::string_view column;
  bool real;  // double key (else integer / time)
  bool time;
  std::string_view index;  // the list index walked in this order (migration 0004)
};

SortSpec sort_spec(CallSort s) {
  switch (s) {
    case CallSort::kStartedAt:
      return {"started_at", false, true, "ix_calls_list_started"};
    case CallSort::kDuration:
      return {"duration_ms", false, false, "ix_calls_list_duration"};
    case CallSort::kSentiment:
      return {"sentiment_key", true, false, "ix_calls_list_sentiment"};
    case CallSort::kQaScore:
      return {"qa_key", true, false, "ix_calls_list_qa"};
  }
  return {"started_at", false, true, "ix_calls_list_started"};
}

// Boolean-mode query requiring every word; words below InnoDB's minimum token size (3) are
// not indexed and are dropped.
std::string fulltext_query(std::string_view text) {
  std::string out;
  std::string word;
  auto flush = [&] {
    if (word.size() >= 3) out += (out.empty() ? "+" : " +") + word;
    word.clear();
  };
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || u >= 0x80)
      word.push_back(ch);
    else
      flush();
  }
  flush();
  return out;
}

}  // namespace

Result<UpsertOutcome> MySqlCallRepository::upsert(const TenantId& t, const CallInput& in) {
  std::vector<Value> p;
  p.reserve(15);
  append_call_params(p, t, in);
  auto r = db_.execute(std::string(kUpsertHead) + std::string(kUpsertRow) + std::string(kUpsertTail), p);
  if (!r) return std::unexpected(r.error());
  return UpsertOutcome{static_cast<Id>(r->insert_id), r->affected_rows == 1};
}

Result<UpsertOutcome> MySqlCallRepository::insert_if_absent(const TenantId& t, const CallInput& in) {
  std::vector<Value> p;
  p.reserve(15);
  append_call_params(p, t, in);
  // Only sync_count changes on a duplicate, so affected rows still tell insert (1) from
  // an existing call (2) under CLIENT_FOUND_ROWS.
  auto r = db_.execute(std::string(kUpsertHead) + std::string(kUpsertRow) +
                           " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), sync_count = sync_count + 1",
                       p);
  if (!r) return std::unexpected(r.error());
  return UpsertOutcome{static_cast<Id>(r->insert_id), r->affected_rows == 1};
}

namespace {

// A pushed call's parts, written inside insert_pushed's transaction.
Status insert_pushed_transcript(Connection& c, const TenantId& t, Id id, const Transcript& tr) {
  std::optional<std::string> english;
  if (!tr.english_segments_json.empty()) english = tr.english_segments_json;
  auto r = c.execute(
      "INSERT INTO transcripts (call_id, bid, segments, full_text, provider, language, language_source, "
      "english_segments, english_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, t.bid(), tr.segments_json, tr.full_text, tr.provider, tr.language, tr.language_source, english,
       tr.english_source});
  if (!r) return std::unexpected(r.error());
  return {};
}

// The note, unless the call already has this very note from a push (an interrupted one).
Status insert_pushed_note(Connection& c, const TenantId& t, Id id, const std::string& body) {
  if (body.empty()) return {};
  auto r = c.execute(
      "INSERT INTO call_notes (bid, call_id, author_user_id, body) SELECT ?, ?, NULL, ? FROM DUAL "
      "WHERE NOT EXISTS (SELECT 1 FROM call_notes WHERE bid = ? AND call_id = ? AND author_user_id IS NULL "
      "AND body = ?)",
      {t.bid(), id, body, t.bid(), id, body});
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace

Result<PushedOutcome> MySqlCallRepository::insert_pushed(const TenantId& t, const PushedCall& in) {
  return db_.transaction<PushedOutcome>([&](Connection& c) -> Result<PushedOutcome> {
    std::vector<Value> p;
    p.reserve(15);
    append_call_params(p, t, in.call);
    auto r = c.execute(std::string(kUpsertHead) + std::string(kUpsertRow) +
                           " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), sync_count = sync_count + 1",
                       p);
    if (!r) return std::unexpected(r.error());
    PushedOutcome out{.id = static_cast<Id>(r->insert_id), .created = r->affected_rows == 1, .completed = false};
    std::int64_t attempts = 1;  // pending -> transcribing counts one
    if (!out.created) {
      if (!in.transcript) return out;
      // Only a text call that an interrupted push left before `transcribed` is completed;
      // the call row is locked (the upsert above holds it) until the commit.
      auto cur = c.execute("SELECT status, audio_uri FROM call_records WHERE id = ? AND bid = ? FOR UPDATE",
                           {out.id, t.bid()});
      if (!cur) return std::unexpected(cur.error());
      if (cur->rows.empty()) return not_found("call", out.id);
      const auto status = status_from_name(cur->rows[0][0].as_string());
      if (!cur->rows[0][1].as_string().empty() ||
          (status != CallStatus::kPending && status != CallStatus::kTranscribing)) {
        return out;
      }
      if (status == CallStatus::kTranscribing) attempts = 0;
      auto has = c.execute("SELECT 1 FROM transcripts WHERE call_id = ? AND bid = ? FOR UPDATE", {out.id, t.bid()});
      if (!has) return std::unexpected(has.error());
      if (has->rows.empty()) {
        if (auto st = insert_pushed_transcript(c, t, out.id, *in.transcript); !st) return std::unexpected(st.error());
      }
      out.completed = true;
    } else if (in.transcript) {
      if (auto st = insert_pushed_transcript(c, t, out.id, *in.transcript); !st) return std::unexpected(st.error());
    }
    if (auto st = insert_pushed_note(c, t, out.id, in.note); !st) return std::unexpected(st.error());
    if (in.transcript) {
      auto step = c.execute(
          "UPDATE call_records SET status = 'transcribed', status_changed_at = CURRENT_TIMESTAMP(3), "
          "attempts = attempts + ? WHERE id = ? AND bid = ?",
          {attempts, out.id, t.bid()});
      if (!step) return std::unexpected(step.error());
    }
    return out;
  });
}

Status MySqlCallRepository::upsert_batch(const TenantId& t, std::span<const CallInput> in) {
  constexpr std::size_t kChunk = 1000;
  if (in.empty()) return {};
  // One row per external id (the last one given wins, as if upserted one by one), written
  // in start-time order: rows are clustered by (bid, started_at, id), so sorted rows land
  // next to each other instead of touching a random page each.
  std::vector<const CallInput*> rows;
  {
    std::unordered_map<std::string_view, std::size_t> last;
    for (std::size_t i = 0; i < in.size(); ++i) last[in[i].external_id] = i;
    rows.reserve(last.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (last[in[i].external_id] == i) rows.push_back(&in[i]);
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const CallInput* a, const CallInput* b) { return a->started_at < b->started_at; });
  }
  return db_.transaction([&](Connection& c) -> Status {
    std::vector<Value> p;
    std::unordered_map<std::string, Id> existing;
    for (std::size_t at = 0; at < rows.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, rows.size() - at);
      // Ids of the calls that already exist (an index-only read of uq_calls_bid_ext). Giving
      // them to the INSERT makes the duplicate show on the primary key, updated in place;
      // without them InnoDB first inserts a new clustered row, then meets the duplicate on
      // the unique index and has to undo it. A call created concurrently in between still
      // lands on the ON DUPLICATE KEY path of the unique index, so the result is the same.
      p.clear();
      p.emplace_back(t.bid());
      for (std::size_t i = 0; i < n; ++i) p.emplace_back(rows[at + i]->external_id);
      auto ids = c.execute(fmt::format("SELECT external_id, id FROM call_records WHERE bid = ? "
                                       "AND external_id IN ({})",
                                       placeholders(n)),
                           p);
      if (!ids) return std::unexpected(ids.error());
      existing.clear();
      for (const auto& row : ids->rows) existing[row[0].as_string()] = row[1].as_int();

      std::string sql(kUpsertHeadWithId);
      sql.reserve(sql.size() + n * (kUpsertRowWithId.size() + 2) + kUpsertTail.size());
      for (std::size_t i = 0; i < n; ++i) {
        if (i) sql += ", ";
        sql += kUpsertRowWithId;
      }
      sql += kUpsertTail;
      p.clear();
      p.reserve(n * 16);
      for (std::size_t i = 0; i < n; ++i) {
        const CallInput& row = *rows[at + i];
        const auto it = existing.find(row.external_id);
        if (it == existing.end()) {
          p.emplace_back(nullptr);
        } else {
          p.emplace_back(it->second);
        }
        append_call_params(p, t, row);
      }
      if (auto r = c.execute(sql, p); !r) return std::unexpected(r.error());
    }
    return {};
  });
}

Result<CallRecord> MySqlCallRepository::get(const TenantId& t, Id id) {
  return one_call(db_.execute(std::string(kCallCols) + " FROM call_records WHERE id = ? AND bid = ?", {id, t.bid()}),
                  fmt::format("call {}", id));
}

Result<CallRecord> MySqlCallRepository::find_by_external_id(const TenantId& t, std::string_view external_id) {
  return one_call(db_.execute(std::string(kCallCols) + " FROM call_records WHERE bid = ? AND external_id = ?",
                              {t.bid(), external_id}),
                  "call");
}

Result<bool> MySqlCallRepository::advance(const TenantId& t, Id id, CallStatus from, CallStatus to) {
  if (!CallStateMachine::can_advance(from, to)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("illegal call transition {} -> {}", status_name(from), status_name(to)));
  }
  return matched(
      db_.execute("UPDATE call_records SET status = ?, status_changed_at = CURRENT_TIMESTAMP(3), "
                  "attempts = attempts + ? WHERE id = ? AND bid = ? AND status = ?",
                  {status_name(to), CallStateMachine::counts_attempt(to) ? 1 : 0, id, t.bid(), status_name(from)}));
}

Result<bool> MySqlCallRepository::mark_failed(const TenantId& t, Id id, std::string_view stage,
                                              std::string_view reason) {
  return matched(
      db_.execute("UPDATE call_records SET status = 'failed', failed_stage = LEFT(?, 32), "
                  "failed_reason = LEFT(?, 1024), status_changed_at = CURRENT_TIMESTAMP(3) "
                  "WHERE id = ? AND bid = ? AND status <> 'failed'",
                  {stage, reason, id, t.bid()}));
}

Result<bool> MySqlCallRepository::reprocess(const TenantId& t, Id id) {
  return matched(
      db_.execute("UPDATE call_records SET status = 'pending', failed_stage = '', failed_reason = '', "
                  "attempts = 0, status_changed_at = CURRENT_TIMESTAMP(3) "
                  "WHERE id = ? AND bid = ? AND status IN ('analyzed', 'notified', 'failed')",
                  {id, t.bid()}));
}

Result<CallPage> MySqlCallRepository::list(const TenantId& t, const CallListQuery& q) {
  if (q.limit < 1 || q.limit > 500) {
    return make_error(ErrorCode::kInvalidArgument, "limit must be 1..500");
  }
  for (const auto& v : {q.qa_min, q.qa_max}) {
    if (v && !(*v >= 0.0 && *v <= 1.0)) return make_error(ErrorCode::kInvalidArgument, "QA score bounds must be 0..1");
  }
  const SortSpec spec = sort_spec(q.sort);
  const bool desc = q.order == SortOrder::kDesc;
  // Deferred join: the inner query walks a list index (sort key, id, then every filtered
  // column) and reads only index entries; the outer one fetches the page's rows by their
  // primary key (bid, started_at, id), one clustered lookup each.
  // The index is named, never left to the optimizer: with an agent filter the agent's index
  // is the narrow one whatever the sort, otherwise the sort's own index (no sort step).
  // Left to itself, MariaDB estimated a range over each of the table's eight indexes on
  // every execution (index dives), which cost as much server CPU as reading the page.
  // The transcript-words and phone filters are the exceptions: their semi-joins may drive
  // the query from the FULLTEXT matches or the phone index, so the optimizer chooses.
  std::string sql = "SELECT id AS page_id, started_at AS page_started FROM call_records ";
  if (q.human_agent_id) {
    sql += "FORCE INDEX (ix_calls_list_agent) ";
  } else if (!q.text && !q.customer_phone) {
    sql += fmt::format("FORCE INDEX ({}) ", spec.index);
  }
  sql += "WHERE bid = ?";
  std::vector<Value> p{t.bid()};
  append_shared_filters(sql, p,
                        SharedFilters{t.bid(), q.human_agent_id, q.started_from, q.started_to, q.status, q.category,
                                      q.matched_category_id});
  if (q.direction) {
    sql += " AND direction = ?";
    p.emplace_back(to_name(kDirection, *q.direction));
  }
  // On qa_key (the score, or -1000 when not scored: in the list indexes): a lower bound
  // of 0 keeps unscored calls out when only the upper bound is given.
  if (q.qa_min || q.qa_max) {
    sql += " AND qa_key >= ?";
    p.emplace_back(q.qa_min.value_or(0.0));
  }
  if (q.qa_max) {
    sql += " AND qa_key <= ?";
    p.emplace_back(*q.qa_max);
  }
  if (q.sentiment_min) {
    sql += " AND customer_sentiment >= ?";
    p.emplace_back(*q.sentiment_min);
  }
  if (q.sentiment_max) {
    sql += " AND customer_sentiment <= ?";
    p.emplace_back(*q.sentiment_max);
  }
  if (q.talk_ratio_min) {
    sql += " AND agent_talk_ratio >= ?";
    p.emplace_back(*q.talk_ratio_min);
  }
  if (q.talk_ratio_max) {
    sql += " AND agent_talk_ratio <= ?";
    p.emplace_back(*q.talk_ratio_max);
  }
  if (q.language) {
    sql += " AND language = ?";
    p.emplace_back(*q.language);
  }
  if (q.city) {
    sql += " AND city = ?";
    p.emplace_back(*q.city);
  }
  if (q.text) {
    const std::string ft = fulltext_query(*q.text);
    if (ft.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "search text needs at least one word of 3 or more characters");
    }
    // The redacted text for a caller who may not read personal data (migration 0014): a call
    // whose current transcript has no redacted form yet matches no words.
    sql += q.text_redacted ? " AND id IN (SELECT tr.call_id FROM transcripts tr WHERE tr.bid = ? AND "
                             "tr.redacted_version = tr.version AND MATCH(tr.redacted_text) AGAINST (? IN BOOLEAN MODE))"
                           : " AND id IN (SELECT tr.call_id FROM transcripts tr WHERE tr.bid = ? AND "
                             "MATCH(tr.full_text) AGAINST (? IN BOOLEAN MODE))";
    p.emplace_back(t.bid());
    p.emplace_back(ft);
  }
  // The clear number, or its hash under each pepper (ix_calls_bid_phone, migration 0013).
  if (q.customer_phone) {
    sql += " AND id IN (SELECT ph.id FROM call_records ph WHERE ph.bid = ? AND ph.customer_phone IN (?";
    p.emplace_back(t.bid());
    p.emplace_back(*q.customer_phone);
    // A stored hash ("sha256:<hex>") matches itself only.
    for (const auto& pepper : q.customer_phone->starts_with("sha256:") ? std::vector<std::string>{} : phone_peppers_) {
      sql += ", CONCAT('sha256:', SHA2(CONCAT(?, ?), 256))";
      p.emplace_back(pepper);
      p.emplace_back(*q.customer_phone);
    }
    sql += "))";
  }
  if (!q.cursor.empty()) {
    auto cur = decode_cursor(q.cursor);
    if (!cur) return std::unexpected(cur.error());
    if (cur->sort != q.sort || cur->order != q.order) {
      return make_error(ErrorCode::kInvalidArgument, "page cursor belongs to another sort order");
    }
    // (key, id) after the cursor, written so that the key alone bounds the index range:
    // `key <= k AND (key < k OR id < i)` (mirrored for ascending) is the same set as
    // `key < k OR (key = k AND id < i)`, but the range optimizer cannot always turn the
    // latter's OR into one range and then scans the business from its first entry.
    const char* op = desc ? "<" : ">";
    sql += fmt::format(" AND {0} {1}= ? AND ({0} {1} ? OR id {1} ?)", spec.column, op);
    Value key = spec.real   ? Value(cur->real_key)
                : spec.time ? Value(Timestamp(std::chrono::milliseconds(cur->int_key)))
                            : Value(cur->int_key);
    p.push_back(key);
    p.push_back(key);
    p.emplace_back(cur->id);
  }
  const char* dir = desc ? "DESC" : "ASC";
  sql += fmt::format(" ORDER BY {0} {1}, id {1} LIMIT ?", spec.column, dir);
  p.emplace_back(q.limit + 1);
  sql = fmt::format(
      "{0}, {1} FROM ({2}) page JOIN call_records FORCE INDEX (PRIMARY) ON call_records.started_at = "
      "page.page_started AND call_records.id = page.page_id "
      "WHERE call_records.bid = ? ORDER BY {1} {3}, id {3}",
      kCallCols, spec.column, sql, dir);
  p.emplace_back(t.bid());

  auto r = db_.execute(sql, p);
  if (!r) return std::unexpected(r.error());
  CallPage page;
  const bool more = r->rows.size() > static_cast<std::size_t>(q.limit);
  if (more) r->rows.resize(static_cast<std::size_t>(q.limit));
  page.calls.reserve(r->rows.size());
  for (auto& row : r->rows) page.calls.push_back(to_call(row));
  if (more) {
    const Row& last = r->rows.back();
    CallCursor c;
    c.sort = q.sort;
    c.order = q.order;
    c.id = last[0].as_int();
    const Value& key = last[kCallColCount];
    if (spec.real)
      c.real_key = key.as_double();
    else if (spec.time)
      c.int_key = key.as_time().time_since_epoch().count();
    else
      c.int_key = key.as_int();
    page.next_cursor = encode_cursor(c);
  }
  return page;
}

Result<CallDetail> MySqlCallRepository::detail(const TenantId& t, Id id) {
  // The call's columns qualified (transcripts has language and call_id too).
  static const std::string call_cols = [] {
    std::string out = "SELECT c.";
    for (char ch : kCallCols.substr(std::string_view("SELECT ").size())) {
      out += ch;
      if (ch == ' ') out += "c.";
    }
    return out;
  }();
  auto lease = db_.acquire();
  if (!lease) return std::unexpected(lease.error());
  Connection& c = **lease;
  // 1. The call, its transcript and its metrics (one row; the full text and the loudness
  // series are not part of the view).
  static const std::string head_sql = call_cols + ", tr.call_id, tr.segments, tr.provider, tr.language, tr.version, " +
                                      "IF(tr.redacted_version = tr.version, tr.redacted_segments, NULL), " +
                                      "tr.redacted_audio_uri, COALESCE(tr.redacted_version = tr.version, 0), " +
                                      "tr.language_source, tr.english_segments, tr.english_source, " +
                                      detail::metric_columns("m.", false) +
                                      " FROM call_records c LEFT JOIN transcripts tr ON tr.call_id = c.id "
                                      "AND tr.bid = c.bid LEFT JOIN call_metrics m ON m.call_id = c.id "
                                      "AND m.bid = c.bid WHERE c.id = ? AND c.bid = ?";
  auto head = c.execute(head_sql, {id, t.bid()});
  if (!head) return std::unexpected(head.error());
  if (head->rows.empty()) return not_found("call", id);
  Row& row = head->rows[0];
  CallDetail d;
  d.call = to_call(row);
  if (!row[kCallColCount].is_null()) {
    Transcript tr;
    tr.call_id = row[kCallColCount].as_int();
    tr.segments_json = row[kCallColCount + 1].as_string();
    tr.provider = row[kCallColCount + 2].as_string();
    tr.language = row[kCallColCount + 3].as_string();
    tr.version = row[kCallColCount + 4].as_int();
    if (!row[kCallColCount + 5].is_null()) tr.redacted_segments_json = row[kCallColCount + 5].as_string();
    tr.redacted_audio_uri = row[kCallColCount + 6].as_string();
    tr.redaction_current = row[kCallColCount + 7].as_int() != 0;
    tr.language_source = row[kCallColCount + 8].as_string();
    if (!row[kCallColCount + 9].is_null()) tr.english_segments_json = row[kCallColCount + 9].as_string();
    tr.english_source = row[kCallColCount + 10].as_string();
    d.transcript = std::move(tr);
  }
  if (constexpr std::size_t kMetricsAt = kCallColCount + 11; !row[kMetricsAt].is_null()) {
    d.metrics = detail::to_metrics(row, id, kMetricsAt);
  }
  // 2. Every list of the view in one result, told apart by the first column:
  // kind, id, int, int, text, text, text, time, time, text. Sorted here: an ORDER BY over
  // the union cost the server a temporary table and about half of the statement's CPU.
  // Analyses carry their agent config's name and kind (the config is the tenant's too).
  auto parts = c.execute(
      "SELECT 1, a.id, a.agent_config_id, a.agent_version, a.output, a.model, ac.name, a.created_at, NULL, "
      "ac.kind FROM analyses a LEFT JOIN business_agent_config ac ON ac.id = a.agent_config_id AND ac.bid = a.bid "
      "WHERE a.bid = ? AND a.call_id = ? AND a.is_latest = 1 "
      "UNION ALL SELECT 2, category_id, NULL, NULL, spans, NULL, NULL, NULL, NULL, NULL "
      "FROM call_category_matches WHERE bid = ? AND call_id = ? "
      "UNION ALL SELECT 3, id, NULL, NULL, reason, severity, status, created_at, resolved_at, NULL "
      "FROM escalations WHERE bid = ? AND call_id = ? "
      "UNION ALL SELECT 4, id, author_user_id, NULL, body, NULL, NULL, created_at, NULL, NULL "
      "FROM call_notes WHERE bid = ? AND call_id = ?",
      {t.bid(), id, t.bid(), id, t.bid(), id, t.bid(), id});
  if (!parts) return std::unexpected(parts.error());
  for (const Row& r : parts->rows) {
    switch (r[0].as_int()) {
      case 1: {
        CallDetail::AnalysisView a;
        a.id = r[1].as_int();
        a.call_id = id;
        a.agent_config_id = r[2].as_int();
        a.agent_version = r[3].as_int();
        a.output_json = r[4].as_string();
        a.model = r[5].as_string();
        a.is_latest = true;
        a.created_at = r[7].as_time();
        if (!r[6].is_null()) a.agent_name = r[6].as_string();
        if (!r[9].is_null()) a.agent_kind = r[9].as_string();
        d.analyses.push_back(std::move(a));
        break;
      }
      case 2:
        d.categories.push_back({r[1].as_int(), r[4].as_string()});
        break;
      case 3:
        d.escalations.push_back(
            {r[1].as_int(), r[4].as_string(), r[5].as_string(), r[6].as_string(), r[7].as_time(), r[8].opt_time()});
        break;
      case 4:
        d.notes.push_back(CallNote{r[1].as_int(), id, r[2].opt_int(), r[4].as_string(), r[7].as_time()});
        break;
      default:
        break;
    }
  }
  auto by_id = [](const auto& a, const auto& b) { return a.id < b.id; };
  std::sort(d.analyses.begin(), d.analyses.end(), by_id);
  std::sort(d.categories.begin(), d.categories.end(),
            [](const CategoryMatch& a, const CategoryMatch& b) { return a.category_id < b.category_id; });
  std::sort(d.escalations.begin(), d.escalations.end(), by_id);
  std::sort(d.notes.begin(), d.notes.end(), by_id);
  return d;
}

Result<std::vector<Id>> MySqlCallRepository::ids_matching(const TenantId& t, const CallFilter& f, int limit) {
  if (limit < 1 || limit > 100000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..100000");
  if (f.call_ids.size() > 1000) return make_error(ErrorCode::kInvalidArgument, "at most 1000 call ids");
  // Newest first along the list index of the filter (agent, else start time): the
  // conditions are checked on index entries and no row is read.
  std::string sql = fmt::format("SELECT id FROM call_records FORCE INDEX ({}) WHERE bid = ?",
                                f.human_agent_id ? "ix_calls_list_agent" : "ix_calls_list_started");
  std::vector<Value> p{t.bid()};
  append_shared_filters(sql, p,
                        SharedFilters{t.bid(), f.human_agent_id, f.started_from, f.started_to, f.status, f.category,
                                      f.matched_category_id});
  if (!f.call_ids.empty()) {
    sql += fmt::format(" AND id IN ({})", placeholders(f.call_ids.size()));
    for (const Id id : f.call_ids) p.emplace_back(id);
  }
  sql += " ORDER BY started_at DESC, id DESC LIMIT ?";
  p.emplace_back(limit);
  auto r = db_.execute(sql, p);
  if (!r) return std::unexpected(r.error());
  std::vector<Id> out;
  out.reserve(r->rows.size());
  for (const auto& row : r->rows) out.push_back(row[0].as_int());
  return out;
}

Result<bool> MySqlCallRepository::remove(const TenantId& t, Id id) {
  return db_.transaction<bool>([&](Connection& c) -> Result<bool> {
    auto found = require_call(c, t, id, /*lock=*/true);
    if (!found) {
      if (found.error().code == ErrorCode::kNotFound) return false;
      return std::unexpected(found.error());
    }
    const std::array<Id, 1> one{id};
    auto n = delete_calls(c, t, one);
    if (!n) return std::unexpected(n.error());
    return *n > 0;
  });
}

Result<std::vector<PurgeCandidate>> MySqlCallRepository::purge_candidates(const TenantId& t, Timestamp cutoff,
                                                                          int limit) {
  if (limit < 1 || limit > 10000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
  auto r = db_.execute(
      "SELECT c.id, c.audio_uri, COALESCE(tr.redacted_audio_uri, '') FROM call_records c LEFT JOIN transcripts tr "
      "ON tr.call_id = c.id AND tr.bid = c.bid WHERE c.bid = ? AND c.started_at < ? ORDER BY c.started_at, c.id "
      "LIMIT ?",
      {t.bid(), cutoff, limit});
  if (!r) return std::unexpected(r.error());
  std::vector<PurgeCandidate> out;
  out.reserve(r->rows.size());
  for (auto& row : r->rows) {
    out.push_back(
        {.id = row[0].as_int(), .audio_uri = row[1].take_string(), .redacted_audio_uri = row[2].take_string()});
  }
  return out;
}

Result<std::int64_t> MySqlCallRepository::remove_many(const TenantId& t, std::span<const Id> ids) {
  if (ids.empty()) return 0;
  if (ids.size() > 10000) return make_error(ErrorCode::kInvalidArgument, "at most 10000 calls at once");
  return db_.transaction<std::int64_t>([&](Connection& c) -> Result<std::int64_t> {
    auto n = delete_calls(c, t, ids);
    if (!n) return std::unexpected(n.error());
    return static_cast<std::int64_t>(*n);
  });
}

Result<bool> MySqlCallRepository::hash_customer_phone(const TenantId& t, Id id) {
  return matched(
      db_.execute("UPDATE call_records SET customer_phone = CONCAT('sha256:', SHA2(CONCAT(?, "
                  "customer_phone), 256)), customer_phone_hashed = 1 "
                  "WHERE id = ? AND bid = ? AND customer_phone_hashed = 0",
                  {phone_peppers_.front(), id, t.bid()}));
}

Result<std::int64_t> MySqlCallRepository::hash_finished_phones(const TenantId& t, int limit) {
  if (limit < 1 || limit > 10000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
  auto r = db_.execute(
      "UPDATE call_records SET customer_phone = CONCAT('sha256:', SHA2(CONCAT(?, customer_phone), 256)), "
      "customer_phone_hashed = 1 WHERE bid = ? AND status = 'notified' AND customer_phone_hashed = 0 "
      "AND customer_phone <> '' LIMIT ?",
      {phone_peppers_.front(), t.bid(), limit});
  if (!r) return std::unexpected(r.error());
  return static_cast<std::int64_t>(r->affected_rows);
}

Result<std::map<CallStatus, std::int64_t>> MySqlCallRepository::count_by_status(const TenantId& t) {
  auto r = db_.execute("SELECT status, COUNT(*) FROM call_records WHERE bid = ? GROUP BY status", {t.bid()});
  if (!r) return std::unexpected(r.error());
  std::map<CallStatus, std::int64_t> out;
  for (const auto& row : r->rows) {
    if (auto s = status_from_name(row[0].as_string())) out[*s] = row[1].as_int();
  }
  return out;
}

Result<std::vector<CallSyncState>> MySqlCallRepository::sync_states(const TenantId& t,
                                                                    std::span<const std::string> external_ids) {
  std::vector<CallSyncState> out;
  if (external_ids.empty()) return out;
  std::vector<Value> params;
  params.reserve(external_ids.size() + 1);
  params.emplace_back(t.bid());
  std::string in_list;
  in_list.reserve(external_ids.size() * 3);
  for (const auto& e : external_ids) {
    params.emplace_back(e);
    in_list += in_list.empty() ? "?" : ", ?";
  }
  auto r = db_.execute(
      fmt::format("SELECT id, external_id, status, audio_uri, language, sync_count FROM call_records WHERE bid = ? "
                  "AND external_id IN ({})",
                  in_list),
      params);
  if (!r) return std::unexpected(r.error());
  out.reserve(r->rows.size());
  for (const auto& row : r->rows) {
    out.push_back(CallSyncState{row[0].as_int(), row[1].as_string(),
                                status_from_name(row[2].as_string()).value_or(CallStatus::kPending), row[3].as_string(),
                                row[4].as_string(), row[5].as_int()});
  }
  return out;
}

}  // namespace earshot::storage
