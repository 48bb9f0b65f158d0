// Embeddings of calls: one vector per call and one per transcript chunk, and the reads a
// search index is loaded and answered with.
#include <algorithm>

#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

namespace {

constexpr int kMaxScan = 10000;
constexpr std::size_t kMaxIds = 1000;

// Rows of (id, call_id, chunk_index, start_ms, end_ms, text[, vector]).
std::vector<EmbeddingRow> to_rows(ExecResult& r, bool with_vector) {
  std::vector<EmbeddingRow> out;
  out.reserve(r.rows.size());
  for (auto& row : r.rows) {
    EmbeddingRow e;
    e.id = row[0].as_int();
    e.call_id = row[1].as_int();
    e.chunk_index = row[2].as_int();
    e.start_ms = row[3].as_int();
    e.end_ms = row[4].as_int();
    e.text = row[5].take_string();
    if (with_vector) e.vector = unpack_vector(row[6].as_string());
    out.push_back(std::move(e));
  }
  return out;
}

// Deletes the call's rows and inserts `rows`, inside the caller's transaction.
Status write_rows(Connection& c, const TenantId& t, Id call_id, const std::vector<CallEmbedding>& rows) {
  auto del = c.execute("DELETE FROM call_embeddings WHERE bid = ? AND call_id = ?", {t.bid(), call_id});
  if (!del) return std::unexpected(del.error());
  for (const auto& e : rows) {
    auto ins = c.execute(
        "INSERT INTO call_embeddings (bid, call_id, chunk_index, start_ms, end_ms, text, model, "
        "dimension, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {t.bid(), call_id, e.chunk_index, e.start_ms, e.end_ms, e.text, e.model,
         static_cast<std::int64_t>(e.vector.size()), pack_vector(e.vector)});
    if (!ins) return std::unexpected(ins.error());
  }
  return {};
}

}  // namespace

Status MySqlEmbeddingRepository::replace(const TenantId& t, Id call_id, const std::vector<CallEmbedding>& rows) {
  return db_.transaction([&](Connection& c) -> Status {
    if (auto st = require_call(c, t, call_id, true); !st) return st;
    return write_rows(c, t, call_id, rows);
  });
}

Result<std::vector<StaleCallEmbeddings>> MySqlEmbeddingRepository::calls_needing_embedding(const TenantId& t,
                                                                                           std::string_view model,
                                                                                           Id after_call_id,
                                                                                           int limit) {
  if (limit < 1 || limit > 1000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..1000");
  // One whole-call row per call (unique (bid, call_id, chunk_index)): a range of
  // uq_embeddings_bid_call_chunk from after_call_id in call order, each call's status read by
  // its id (uq_calls_id). Join order and indexes are named: on small tables the optimizer
  // preferred reading the business's calls first and sorting, or scanning them per row.
  auto r = db_.execute(
      "SELECT STRAIGHT_JOIN e.call_id, e.model FROM call_embeddings e FORCE INDEX (uq_embeddings_bid_call_chunk) "
      "JOIN call_records c FORCE INDEX (uq_calls_id) ON c.id = e.call_id AND c.bid = e.bid "
      "WHERE e.bid = ? AND e.call_id > ? AND e.chunk_index = -1 AND e.model <> ? "
      "AND c.status IN ('analyzed', 'notified') ORDER BY e.call_id LIMIT ?",
      {t.bid(), after_call_id, model, limit});
  if (!r) return std::unexpected(r.error());
  std::vector<StaleCallEmbeddings> out;
  out.reserve(r->rows.size());
  for (auto& row : r->rows) out.push_back({row[0].as_int(), row[1].take_string()});
  return out;
}

Result<bool> MySqlEmbeddingRepository::replace_if_unchanged(const TenantId& t, Id call_id, std::span<const Id> expected,
                                                            const std::vector<CallEmbedding>& rows) {
  std::vector<Id> want(expected.begin(), expected.end());
  std::ranges::sort(want);
  return db_.transaction<bool>([&](Connection& c) -> Result<bool> {
    // The call row locked first, as replace() locks it: writers of its vectors take turns.
    if (auto found = require_call(c, t, call_id, true); !found) {
      if (found.error().code == ErrorCode::kNotFound) return false;
      return std::unexpected(found.error());
    }
    auto now =
        c.execute("SELECT id FROM call_embeddings WHERE bid = ? AND call_id = ? ORDER BY id", {t.bid(), call_id});
    if (!now) return std::unexpected(now.error());
    std::vector<Id> have;
    have.reserve(now->rows.size());
    for (const auto& row : now->rows) have.push_back(row[0].as_int());
    if (have != want) return false;
    if (auto w = write_rows(c, t, call_id, rows); !w) return std::unexpected(w.error());
    return true;
  });
}

Result<std::vector<CallEmbedding>> MySqlEmbeddingRepository::list_for_call(const TenantId& t, Id call_id) {
  auto r = db_.execute(
      "SELECT chunk_index, start_ms, end_ms, text, model, vector FROM call_embeddings "
      "WHERE bid = ? AND call_id = ? ORDER BY chunk_index",
      {t.bid(), call_id});
  if (!r) return std::unexpected(r.error());
  std::vector<CallEmbedding> out;
  for (const auto& row : r->rows) {
    CallEmbedding e;
    e.chunk_index = row[0].as_int();
    e.start_ms = row[1].as_int();
    e.end_ms = row[2].as_int();
    e.text = row[3].as_string();
    e.model = row[4].as_string();
    e.vector = unpack_vector(row[5].as_string());
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<EmbeddingRow>> MySqlEmbeddingRepository::scan(const TenantId& t, std::string_view model, Id after_id,
                                                                 int limit) {
  if (limit < 1 || limit > kMaxScan) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
  // ix_embeddings_bid_model (bid, model) ends with the primary key id, so (bid, model, id > ?)
  // is one range read in id order. The index is named: on small or fresh tables the
  // optimizer preferred the primary key and checked every business's rows.
  auto r = db_.execute(
      "SELECT id, call_id, chunk_index, start_ms, end_ms, text, vector FROM call_embeddings "
      "FORCE INDEX (ix_embeddings_bid_model) WHERE bid = ? AND model = ? AND id > ? ORDER BY id LIMIT ?",
      {t.bid(), model, after_id, limit});
  if (!r) return std::unexpected(r.error());
  return to_rows(*r, true);
}

Result<std::vector<EmbeddingRow>> MySqlEmbeddingRepository::rows_of_call(const TenantId& t, std::string_view model,
                                                                         Id call_id) {
  auto r = db_.execute(
      "SELECT id, call_id, chunk_index, start_ms, end_ms, text, vector FROM call_embeddings "
      "WHERE bid = ? AND call_id = ? AND model = ? ORDER BY chunk_index",
      {t.bid(), call_id, model});
  if (!r) return std::unexpected(r.error());
  return to_rows(*r, true);
}

Result<std::vector<EmbeddingRow>> MySqlEmbeddingRepository::by_ids(const TenantId& t, std::span<const Id> ids) {
  if (ids.empty()) return std::vector<EmbeddingRow>{};
  if (ids.size() > kMaxIds) return make_error(ErrorCode::kInvalidArgument, "at most 1000 ids");
  std::vector<Value> p;
  p.reserve(ids.size() + 1);
  for (const Id id : ids) p.emplace_back(id);
  p.emplace_back(t.bid());
  auto r = db_.execute(fmt::format("SELECT id, call_id, chunk_index, start_ms, end_ms, text FROM call_embeddings "
                                   "WHERE id IN ({}) AND bid = ?",
                                   placeholders(ids.size())),
                       p);
  if (!r) return std::unexpected(r.error());
  return to_rows(*r, false);
}

Result<std::vector<std::string>> MySqlEmbeddingRepository::models(const TenantId& t) {
  auto r = db_.execute("SELECT DISTINCT model FROM call_embeddings WHERE bid = ? ORDER BY model", {t.bid()});
  if (!r) return std::unexpected(r.error());
  std::vector<std::string> out;
  out.reserve(r->rows.size());
  for (auto& row : r->rows) out.push_back(row[0].take_string());
  return out;
}

}  // namespace earshot::storage
