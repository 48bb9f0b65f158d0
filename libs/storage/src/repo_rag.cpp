// The knowledge base (documents, versions, embedded chunks) and chat sessions (migration 0010).
#include <algorithm>
#include <set>

#include "earshot/storage/mysql_repositories.hpp"
#include "repo_util.hpp"

namespace earshot::storage {

using namespace detail;

bool is_knowledge_content_type(std::string_view content_type) {
  return content_type == "text/plain" || content_type == "text/markdown" || content_type == "text/html" ||
         content_type == "application/pdf";
}

namespace {

inline constexpr Names<KnowledgeStatus, 3> kKnowledgeStatus{
    {{KnowledgeStatus::kPending, "pending"}, {KnowledgeStatus::kReady, "ready"}, {KnowledgeStatus::kFailed, "failed"}}};
inline constexpr Names<ChatRole, 2> kChatRole{{{ChatRole::kUser, "user"}, {ChatRole::kAssistant, "assistant"}}};

constexpr int kMaxScan = 10000;
constexpr std::size_t kMaxIds = 1000;
constexpr std::size_t kMaxTitle = 512;

// Without the text; `text_col` adds it as the last column.
constexpr std::string_view kDocCols =
    "SELECT id, title, content_type, size_bytes, sha256, status, error, model, version, chunk_count, "
    "created_by, created_at, updated_at";

KnowledgeDocument to_document(Row& r, bool with_text) {
  KnowledgeDocument d;
  d.id = r[0].as_int();
  d.title = r[1].take_string();
  d.content.content_type = r[2].take_string();
  d.content.size_bytes = r[3].as_int();
  d.content.sha256 = r[4].take_string();
  d.status = from_name(kKnowledgeStatus, r[5].as_string());
  d.error = r[6].take_string();
  d.model = r[7].take_string();
  d.version = r[8].as_int();
  d.chunk_count = r[9].as_int();
  d.created_by = r[10].opt_int();
  d.created_at = r[11].as_time();
  d.updated_at = r[12].as_time();
  if (with_text) d.content.text = r[13].take_string();
  return d;
}

Status check_content(const KnowledgeContent& c) {
  if (!is_knowledge_content_type(c.content_type)) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("unsupported content type '{}'", c.content_type));
  }
  if (c.size_bytes < 0) return make_error(ErrorCode::kInvalidArgument, "size_bytes must not be negative");
  return {};
}

Status check_title(std::string_view title) {
  if (title.empty()) return make_error(ErrorCode::kInvalidArgument, "title must not be empty");
  if (title.size() > kMaxTitle) return make_error(ErrorCode::kInvalidArgument, "title is longer than 512 bytes");
  return {};
}

constexpr std::string_view kChunkCols =
    "SELECT id, document_id, chunk_index, start_offset, end_offset, text, vector FROM knowledge_chunks";

std::vector<KnowledgeChunk> to_chunks(ExecResult& r) {
  std::vector<KnowledgeChunk> out;
  out.reserve(r.rows.size());
  for (auto& row : r.rows) {
    KnowledgeChunk c;
    c.id = row[0].as_int();
    c.document_id = row[1].as_int();
    c.chunk_index = row[2].as_int();
    c.start_offset = row[3].as_int();
    c.end_offset = row[4].as_int();
    c.text = row[5].take_string();
    c.vector = unpack_vector(row[6].as_string());
    out.push_back(std::move(c));
  }
  return out;
}

// Locks the document row and returns its version, or nullopt when it is not the tenant's.
Result<std::optional<std::int64_t>> lock_version(Connection& c, const TenantId& t, Id id) {
  auto r = c.execute("SELECT version FROM knowledge_documents WHERE id = ? AND bid = ? FOR UPDATE", {id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{r->rows[0][0].as_int()};
}

Status drop_chunks(Connection& c, const TenantId& t, Id document_id) {
  auto r = c.execute("DELETE FROM knowledge_chunks WHERE bid = ? AND document_id = ?", {t.bid(), document_id});
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace

// ---- knowledge base ----------------------------------------------------------------------

Result<Id> MySqlKnowledgeRepository::create(const TenantId& t, const KnowledgeDocumentInput& in) {
  if (auto st = check_title(in.title); !st) return std::unexpected(st.error());
  if (auto st = check_content(in.content); !st) return std::unexpected(st.error());
  auto r = db_.execute(
      "INSERT INTO knowledge_documents (bid, title, content_type, text, size_bytes, sha256, created_by) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)",
      {t.bid(), in.title, in.content.content_type, in.content.text, in.content.size_bytes, in.content.sha256,
       in.created_by});
  if (!r) return std::unexpected(r.error());
  return static_cast<Id>(r->insert_id);
}

Result<KnowledgeDocument> MySqlKnowledgeRepository::get(const TenantId& t, Id id) {
  auto r =
      db_.execute(std::string(kDocCols) + ", text FROM knowledge_documents WHERE id = ? AND bid = ?", {id, t.bid()});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("knowledge document", id);
  return to_document(r->rows[0], true);
}

Result<KnowledgeDocumentPage> MySqlKnowledgeRepository::list(const TenantId& t, const KnowledgeListQuery& q) {
  if (q.limit < 1 || q.limit > 500) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..500");
  std::string sql = std::string(kDocCols) + " FROM knowledge_documents WHERE bid = ?";
  std::vector<Value> p{t.bid()};
  if (q.status) {
    sql += " AND status = ?";
    p.emplace_back(to_name(kKnowledgeStatus, *q.status));
  }
  if (q.before_id > 0) {
    sql += " AND id < ?";
    p.emplace_back(q.before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  p.emplace_back(q.limit + 1);
  auto r = db_.execute(sql, p);
  if (!r) return std::unexpected(r.error());
  KnowledgeDocumentPage page;
  const bool more = r->rows.size() > static_cast<std::size_t>(q.limit);
  if (more) r->rows.resize(static_cast<std::size_t>(q.limit));
  for (auto& row : r->rows) page.documents.push_back(to_document(row, false));
  if (more) page.next_before_id = page.documents.back().id;
  return page;
}

Result<KnowledgeDocument> MySqlKnowledgeRepository::update(const TenantId& t, Id id,
                                                           const std::optional<std::string>& title,
                                                           const std::optional<KnowledgeContent>& content) {
  if (title) {
    if (auto st = check_title(*title); !st) return std::unexpected(st.error());
  }
  if (content) {
    if (auto st = check_content(*content); !st) return std::unexpected(st.error());
  }
  return db_.transaction<KnowledgeDocument>([&](Connection& c) -> Result<KnowledgeDocument> {
    auto version = lock_version(c, t, id);
    if (!version) return std::unexpected(version.error());
    if (!*version) return not_found("knowledge document", id);
    if (title) {
      auto r = c.execute("UPDATE knowledge_documents SET title = ? WHERE id = ? AND bid = ?", {*title, id, t.bid()});
      if (!r) return std::unexpected(r.error());
    }
    if (content) {
      auto r = c.execute(
          "UPDATE knowledge_documents SET content_type = ?, text = ?, size_bytes = ?, sha256 = ?, "
          "version = version + 1, status = 'pending', error = '', chunk_count = 0 WHERE id = ? AND bid = ?",
          {content->content_type, content->text, content->size_bytes, content->sha256, id, t.bid()});
      if (!r) return std::unexpected(r.error());
      if (auto st = drop_chunks(c, t, id); !st) return std::unexpected(st.error());
    }
    auto r = c.execute(std::string(kDocCols) + " FROM knowledge_documents WHERE id = ? AND bid = ?", {id, t.bid()});
    if (!r) return std::unexpected(r.error());
    if (r->rows.empty()) return not_found("knowledge document", id);
    return to_document(r->rows[0], false);
  });
}

Result<bool> MySqlKnowledgeRepository::remove(const TenantId& t, Id id) {
  return db_.transaction<bool>([&](Connection& c) -> Result<bool> {
    auto version = lock_version(c, t, id);
    if (!version) return std::unexpected(version.error());
    if (!*version) return false;
    if (auto st = drop_chunks(c, t, id); !st) return std::unexpected(st.error());
    return matched(c.execute("DELETE FROM knowledge_documents WHERE id = ? AND bid = ?", {id, t.bid()}));
  });
}

Result<bool> MySqlKnowledgeRepository::set_status(const TenantId& t, Id id, std::int64_t version,
                                                  KnowledgeStatus status, std::string_view error) {
  return db_.transaction<bool>([&](Connection& c) -> Result<bool> {
    auto current = lock_version(c, t, id);
    if (!current) return std::unexpected(current.error());
    if (!*current || **current != version) return false;
    if (status != KnowledgeStatus::kReady) {
      if (auto st = drop_chunks(c, t, id); !st) return std::unexpected(st.error());
    }
    auto r = c.execute(
        "UPDATE knowledge_documents SET status = ?, error = LEFT(?, 1024), "
        "chunk_count = IF(? = 'ready', chunk_count, 0) WHERE id = ? AND bid = ? AND version = ?",
        {to_name(kKnowledgeStatus, status), error, to_name(kKnowledgeStatus, status), id, t.bid(), version});
    return matched(r);
  });
}

Result<bool> MySqlKnowledgeRepository::replace_chunks(const TenantId& t, Id id, std::int64_t version,
                                                      std::string_view model,
                                                      const std::vector<KnowledgeChunkInput>& rows) {
  if (model.empty()) return make_error(ErrorCode::kInvalidArgument, "model must not be empty");
  std::set<std::int64_t> indexes;
  for (const auto& row : rows) {
    if (row.vector.empty() || row.vector.size() != rows.front().vector.size()) {
      return make_error(ErrorCode::kInvalidArgument, "chunk vectors must be non-empty and of one dimension");
    }
    if (row.chunk_index < 0 || !indexes.insert(row.chunk_index).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("chunk index {} repeated or negative", row.chunk_index));
    }
    if (row.start_offset < 0 || row.end_offset < row.start_offset) {
      return make_error(ErrorCode::kInvalidArgument, "chunk offsets must satisfy 0 <= start <= end");
    }
  }
  return db_.transaction<bool>([&](Connection& c) -> Result<bool> {
    auto current = lock_version(c, t, id);
    if (!current) return std::unexpected(current.error());
    if (!*current || **current != version) return false;
    if (auto st = drop_chunks(c, t, id); !st) return std::unexpected(st.error());
    for (const auto& row : rows) {
      auto ins = c.execute(
          "INSERT INTO knowledge_chunks (bid, document_id, chunk_index, start_offset, end_offset, text, model, "
          "dimension, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {t.bid(), id, row.chunk_index, row.start_offset, row.end_offset, row.text, model,
           static_cast<std::int64_t>(row.vector.size()), pack_vector(row.vector)});
      if (!ins) return std::unexpected(ins.error());
    }
    return matched(
        c.execute("UPDATE knowledge_documents SET status = 'ready', error = '', model = ?, chunk_count = ? "
                  "WHERE id = ? AND bid = ? AND version = ?",
                  {model, static_cast<std::int64_t>(rows.size()), id, t.bid(), version}));
  });
}

Result<std::vector<KnowledgeChunk>> MySqlKnowledgeRepository::scan_chunks(const TenantId& t, std::string_view model,
                                                                          Id after_id, int limit) {
  if (limit < 1 || limit > kMaxScan) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
  // The index is named: on small or fresh tables the optimizer preferred the unique key and
  // a sort. (bid, model, id) is one range read in id order.
  auto r = db_.execute(
      "SELECT id, document_id, chunk_index, start_offset, end_offset, text, vector FROM knowledge_chunks "
      "FORCE INDEX (ix_knowledge_chunks_bid_model) WHERE bid = ? AND model = ? AND id > ? ORDER BY id LIMIT ?",
      {t.bid(), model, after_id, limit});
  if (!r) return std::unexpected(r.error());
  return to_chunks(*r);
}

Result<std::vector<KnowledgeChunk>> MySqlKnowledgeRepository::chunks_of(const TenantId& t, std::string_view model,
                                                                        Id document_id) {
  auto r =
      db_.execute(std::string(kChunkCols) + " WHERE bid = ? AND document_id = ? AND model = ? ORDER BY chunk_index",
                  {t.bid(), document_id, model});
  if (!r) return std::unexpected(r.error());
  return to_chunks(*r);
}

Result<std::vector<KnowledgeChunkHit>> MySqlKnowledgeRepository::chunks_by_ids(const TenantId& t,
                                                                               std::span<const Id> ids) {
  if (ids.empty()) return std::vector<KnowledgeChunkHit>{};
  if (ids.size() > kMaxIds) return make_error(ErrorCode::kInvalidArgument, "at most 1000 ids");
  std::vector<Value> p;
  p.reserve(ids.size() + 2);
  for (const Id id : ids) p.emplace_back(id);
  p.emplace_back(t.bid());
  p.emplace_back(t.bid());
  auto r = db_.execute(
      fmt::format("SELECT k.id, k.document_id, k.chunk_index, k.start_offset, k.end_offset, k.text, d.title "
                  "FROM knowledge_chunks k JOIN knowledge_documents d ON d.id = k.document_id "
                  "WHERE k.id IN ({}) AND k.bid = ? AND d.bid = ?",
                  placeholders(ids.size())),
      p);
  if (!r) return std::unexpected(r.error());
  std::vector<KnowledgeChunkHit> out;
  out.reserve(r->rows.size());
  for (auto& row : r->rows) {
    KnowledgeChunkHit h;
    h.id = row[0].as_int();
    h.document_id = row[1].as_int();
    h.chunk_index = row[2].as_int();
    h.start_offset = row[3].as_int();
    h.end_offset = row[4].as_int();
    h.text = row[5].take_string();
    h.title = row[6].take_string();
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<KnowledgeEmbeddingJob>> MySqlKnowledgeRepository::documents_needing_embedding(const TenantId& t,
                                                                                                 std::string_view model,
                                                                                                 int limit) {
  if (limit < 1 || limit > kMaxScan) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..10000");
  // Two ranges of ix_knowledge_docs_bid_status (bid, status, id), merged in id order.
  auto r = db_.execute(
      "SELECT id, version, status, model FROM knowledge_documents WHERE bid = ? AND "
      "(status = 'pending' OR (status = 'ready' AND model <> ?)) ORDER BY id LIMIT ?",
      {t.bid(), model, limit});
  if (!r) return std::unexpected(r.error());
  std::vector<KnowledgeEmbeddingJob> out;
  out.reserve(r->rows.size());
  for (auto& row : r->rows) {
    out.push_back(KnowledgeEmbeddingJob{row[0].as_int(), row[1].as_int(),
                                        from_name(kKnowledgeStatus, row[2].as_string()), row[3].take_string()});
  }
  return out;
}

// ---- chat ----------------------------------------------------------------------------------

namespace {

ChatSession to_session(Row& r) {
  ChatSession s;
  s.id = r[0].as_int();
  s.user_id = r[1].as_int();
  s.title = r[2].take_string();
  s.created_at = r[3].as_time();
  s.updated_at = r[4].as_time();
  return s;
}

constexpr std::string_view kSessionCols = "SELECT id, user_id, title, created_at, updated_at FROM chat_sessions";

}  // namespace

Result<Id> MySqlChatRepository::create_session(const TenantId& t, Id user_id, std::string_view title) {
  auto r = db_.execute("INSERT INTO chat_sessions (bid, user_id, title) VALUES (?, ?, LEFT(?, 255))",
                       {t.bid(), user_id, title});
  if (!r) return std::unexpected(r.error());
  return static_cast<Id>(r->insert_id);
}

Result<ChatSession> MySqlChatRepository::get_session(const TenantId& t, Id user_id, Id id) {
  auto r = db_.execute(std::string(kSessionCols) + " WHERE id = ? AND bid = ? AND user_id = ?", {id, t.bid(), user_id});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return not_found("chat session", id);
  return to_session(r->rows[0]);
}

Result<ChatSessionPage> MySqlChatRepository::list_sessions(const TenantId& t, Id user_id, Id before_id, int limit) {
  if (limit < 1 || limit > 500) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..500");
  std::string sql = std::string(kSessionCols) + " WHERE bid = ? AND user_id = ?";
  std::vector<Value> p{t.bid(), user_id};
  if (before_id > 0) {
    sql += " AND id < ?";
    p.emplace_back(before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  p.emplace_back(limit + 1);
  auto r = db_.execute(sql, p);
  if (!r) return std::unexpected(r.error());
  ChatSessionPage page;
  const bool more = r->rows.size() > static_cast<std::size_t>(limit);
  if (more) r->rows.resize(static_cast<std::size_t>(limit));
  for (auto& row : r->rows) page.sessions.push_back(to_session(row));
  if (more) page.next_before_id = page.sessions.back().id;
  return page;
}

Result<Id> MySqlChatRepository::append_message(const TenantId& t, Id user_id, Id session_id,
                                               const ChatMessageInput& m) {
  return db_.transaction<Id>([&](Connection& c) -> Result<Id> {
    // Locking the session first serializes the turns of one session.
    auto owned = c.execute("SELECT id FROM chat_sessions WHERE id = ? AND bid = ? AND user_id = ? FOR UPDATE",
                           {session_id, t.bid(), user_id});
    if (!owned) return std::unexpected(owned.error());
    if (owned->rows.empty()) return not_found("chat session", session_id);
    auto r = c.execute(
        "INSERT INTO chat_messages (bid, session_id, role, content, sources, citations, model, latency_ms, "
        "input_tokens, output_tokens, incomplete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {t.bid(), session_id, to_name(kChatRole, m.role), m.content, m.sources_json, m.citations_json, m.model,
         std::max<std::int64_t>(m.latency_ms, 0), std::max<std::int64_t>(m.input_tokens, 0),
         std::max<std::int64_t>(m.output_tokens, 0), m.incomplete});
    if (!r) return std::unexpected(r.error());
    // The session's updated_at is its last message's created_at, exactly.
    auto touched = c.execute(
        "UPDATE chat_sessions SET updated_at = (SELECT created_at FROM chat_messages WHERE id = ? AND bid = ?) "
        "WHERE id = ? AND bid = ?",
        {static_cast<Id>(r->insert_id), t.bid(), session_id, t.bid()});
    if (!touched) return std::unexpected(touched.error());
    return static_cast<Id>(r->insert_id);
  });
}

Result<std::vector<ChatMessage>> MySqlChatRepository::messages(const TenantId& t, Id user_id, Id session_id,
                                                               int limit) {
  if (limit < 1 || limit > 1000) return make_error(ErrorCode::kInvalidArgument, "limit must be 1..1000");
  auto r = db_.execute(
      "SELECT m.id, m.session_id, m.role, m.content, m.sources, m.citations, m.model, m.latency_ms, "
      "m.input_tokens, m.output_tokens, m.created_at, m.incomplete FROM chat_messages m "
      "JOIN chat_sessions s ON s.id = m.session_id AND s.bid = m.bid "
      "WHERE m.bid = ? AND m.session_id = ? AND s.user_id = ? ORDER BY m.id DESC LIMIT ?",
      {t.bid(), session_id, user_id, limit});
  if (!r) return std::unexpected(r.error());
  std::vector<ChatMessage> out;
  out.reserve(r->rows.size());
  for (auto it = r->rows.rbegin(); it != r->rows.rend(); ++it) {
    Row& row = *it;
    ChatMessage m;
    m.id = row[0].as_int();
    m.session_id = row[1].as_int();
    m.role = from_name(kChatRole, row[2].as_string());
    m.content = row[3].take_string();
    m.sources_json = row[4].take_string();
    m.citations_json = row[5].take_string();
    m.model = row[6].take_string();
    m.latency_ms = row[7].as_int();
    m.input_tokens = row[8].as_int();
    m.output_tokens = row[9].as_int();
    m.created_at = row[10].as_time();
    m.incomplete = row[11].take_string();
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace earshot::storage
