#pragma once
// What retrieval and chat keep in MariaDB (migration 0010): the knowledge base (documents,
// their extracted text and embedded chunks) and chat sessions with their messages.
// The calls' own vectors are EmbeddingRepository's (analysis_repositories.hpp).
// Contract (tenant scoping, errors): repository_common.hpp.
//
// Knowledge document versions: every content change bumps `version`, sets the document
// pending and drops its chunks. An embedding worker reads one version and reports back with
// it (set_status, replace_chunks); a report for any other version changes nothing and
// answers false, so a slow worker never overwrites a newer edit with stale chunks.
//
// Chunk keys: a search index keys a knowledge chunk as `id | (1ULL << 63)` (call chunks by
// their call_embeddings id); ids here are the plain row ids.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/storage/repository_common.hpp"

namespace earshot::storage {

enum class KnowledgeStatus { kPending, kReady, kFailed };

// The content types a knowledge document may have (the column's ENUM).
[[nodiscard]] bool is_knowledge_content_type(std::string_view content_type);

// A document's content: its extracted text and what the original upload was.
struct KnowledgeContent {
  std::string content_type = "text/plain";  // text/plain | text/markdown | text/html | application/pdf
  std::string text;                         // extracted plain text (UTF-8), what chunks point into
  std::int64_t size_bytes = 0;              // of the uploaded original
  std::string sha256;                       // hex, of the uploaded original
};

struct KnowledgeDocumentInput {
  std::string title;
  KnowledgeContent content;
  std::optional<Id> created_by;  // the user who created it (none for an API key)
};

struct KnowledgeDocument : KnowledgeDocumentInput {
  Id id = 0;
  KnowledgeStatus status = KnowledgeStatus::kPending;
  std::string error;  // why it failed (status failed)
  std::string model;  // embedder of the current chunks ('' before the first embedding)
  std::int64_t version = 1;
  std::int64_t chunk_count = 0;
  Timestamp created_at{};
  Timestamp updated_at{};
};

struct KnowledgeListQuery {
  std::optional<KnowledgeStatus> status;
  Id before_id = 0;  // keyset: documents with a smaller id (0: from the newest)
  int limit = 50;    // 1..500
};

struct KnowledgeDocumentPage {
  std::vector<KnowledgeDocument> documents;  // newest first, content.text empty
  Id next_before_id = 0;                     // 0 on the last page
};

struct KnowledgeChunkInput {
  std::int64_t chunk_index = 0;
  std::int64_t start_offset = 0;  // [start, end) in bytes of the document's text
  std::int64_t end_offset = 0;
  std::string text;
  std::vector<float> vector;
};

struct KnowledgeChunk : KnowledgeChunkInput {
  Id id = 0;
  Id document_id = 0;
};

// A chunk read back for a search result: no vector, with its document's title.
struct KnowledgeChunkHit {
  Id id = 0;
  Id document_id = 0;
  std::int64_t chunk_index = 0;
  std::int64_t start_offset = 0;
  std::int64_t end_offset = 0;
  std::string text;
  std::string title;
};

// Which version of a document an embedding worker should (re-)embed.
struct KnowledgeEmbeddingJob {
  Id document_id = 0;
  std::int64_t version = 1;
  KnowledgeStatus status = KnowledgeStatus::kPending;
  std::string model;  // the embedder of its current chunks
};

class KnowledgeRepository {
 public:
  virtual ~KnowledgeRepository() = default;
  // A new document: status pending, version 1, no chunks. kInvalidArgument for an unknown
  // content type or an empty title.
  [[nodiscard]] virtual Result<Id> create(const TenantId& t, const KnowledgeDocumentInput& in) = 0;
  // With its text. kNotFound when absent.
  [[nodiscard]] virtual Result<KnowledgeDocument> get(const TenantId& t, Id id) = 0;
  // Newest first, keyset by id, without the texts.
  [[nodiscard]] virtual Result<KnowledgeDocumentPage> list(const TenantId& t, const KnowledgeListQuery& q) = 0;
  // A new title and/or new content. New content bumps the version, sets the document
  // pending (error cleared) and drops its chunks, in one transaction; a title alone changes
  // only the title (search results read titles from here, chunks do not carry them).
  // Returns the document as updated (without text). kNotFound when absent.
  [[nodiscard]] virtual Result<KnowledgeDocument> update(const TenantId& t, Id id,
                                                         const std::optional<std::string>& title,
                                                         const std::optional<KnowledgeContent>& content) = 0;
  // Deletes the document and its chunks (one transaction). False when absent.
  [[nodiscard]] virtual Result<bool> remove(const TenantId& t, Id id) = 0;
  // Sets status and error, only while the document is at `version` (else false). Any status
  // but ready also drops the document's chunks, so a failed document is never searched.
  [[nodiscard]] virtual Result<bool> set_status(const TenantId& t, Id id, std::int64_t version, KnowledgeStatus status,
                                                std::string_view error) = 0;
  // One transaction, only while the document is at `version` (else false, nothing
  // written): replaces its chunks by `rows`, made by embedder `model`, and sets it ready
  // with that model and the chunk count. kInvalidArgument for vectors of mixed dimensions or
  // duplicate chunk indexes.
  [[nodiscard]] virtual Result<bool> replace_chunks(const TenantId& t, Id id, std::int64_t version,
                                                    std::string_view model,
                                                    const std::vector<KnowledgeChunkInput>& rows) = 0;
  // The business's chunks of `model` with id > after_id, in id order, at most `limit`
  // (1..10000): the keyset scan a search index is loaded with.
  [[nodiscard]] virtual Result<std::vector<KnowledgeChunk>> scan_chunks(const TenantId& t, std::string_view model,
                                                                        Id after_id, int limit) = 0;
  // One document's chunks of `model`, in chunk order (empty when absent).
  [[nodiscard]] virtual Result<std::vector<KnowledgeChunk>> chunks_of(const TenantId& t, std::string_view model,
                                                                      Id document_id) = 0;
  // The chunks with these ids that still exist, with their document's title, in no
  // particular order (missing and foreign ids absent). At most 1000 ids.
  [[nodiscard]] virtual Result<std::vector<KnowledgeChunkHit>> chunks_by_ids(const TenantId& t,
                                                                             std::span<const Id> ids) = 0;
  // What an embedding worker of `model` has to do: pending documents, and ready ones whose
  // chunks another embedder made (the business changed embedder). Oldest first, at most
  // `limit` (1..10000).
  [[nodiscard]] virtual Result<std::vector<KnowledgeEmbeddingJob>> documents_needing_embedding(const TenantId& t,
                                                                                               std::string_view model,
                                                                                               int limit) = 0;
};

// ---- chat ----------------------------------------------------------------------------------
//
// Sessions belong to the user who created them: every read and write names the user, and
// another user's session of the same business is kNotFound, admins included (a chat may
// quote calls the user was shown; nobody browses another user's questions).

enum class ChatRole { kUser, kAssistant };

struct ChatSession {
  Id id = 0;
  Id user_id = 0;
  std::string title;
  Timestamp created_at{};
  Timestamp updated_at{};  // the last message's time
};

struct ChatSessionPage {
  std::vector<ChatSession> sessions;  // newest first
  Id next_before_id = 0;              // 0 on the last page
};

struct ChatMessageInput {
  ChatRole role = ChatRole::kUser;
  std::string content;
  std::string sources_json = "[]";    // what was retrieved for the turn (JSON)
  std::string citations_json = "[]";  // the citations the answer kept (JSON)
  std::string model;
  std::int64_t latency_ms = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  // An answer cut short: why ("client_gone", "timeout", "llm_failed"; at most 16 ASCII
  // bytes); empty for a whole answer and for questions.
  std::string incomplete;
};

struct ChatMessage : ChatMessageInput {
  Id id = 0;
  Id session_id = 0;
  Timestamp created_at{};
};

class ChatRepository {
 public:
  virtual ~ChatRepository() = default;
  // `user_id` is the authenticated user's id (not checked against users here).
  [[nodiscard]] virtual Result<Id> create_session(const TenantId& t, Id user_id, std::string_view title) = 0;
  // kNotFound unless the session is the user's.
  [[nodiscard]] virtual Result<ChatSession> get_session(const TenantId& t, Id user_id, Id id) = 0;
  // The user's sessions, newest first, keyset by id (before_id 0: from the newest); limit 1..500.
  [[nodiscard]] virtual Result<ChatSessionPage> list_sessions(const TenantId& t, Id user_id, Id before_id,
                                                              int limit) = 0;
  // Appends to the user's session and touches its updated_at (one transaction). kNotFound
  // unless the session is the user's; kInvalidArgument for malformed JSON.
  [[nodiscard]] virtual Result<Id> append_message(const TenantId& t, Id user_id, Id session_id,
                                                  const ChatMessageInput& m) = 0;
  // The session's newest `limit` (1..1000) messages, oldest first (empty unless the
  // session is the user's).
  [[nodiscard]] virtual Result<std::vector<ChatMessage>> messages(const TenantId& t, Id user_id, Id session_id,
                                                                  int limit) = 0;
};

}  // namespace earshot::storage
