-- Retrieval and chat over a business's calls and knowledge base (issue 15): the knowledge
-- base's documents and their embedded chunks, chat sessions and their messages.
--
-- Search indexes live in each gateway's memory and are loaded from here by keyset scans
-- (`WHERE bid = ? AND model = ? AND id > ? ORDER BY id LIMIT n`): knowledge_chunks has
-- (bid, model, id) for it. call_embeddings needs no new key for the same scan: its
-- ix_embeddings_bid_model (bid, model) carries the primary key id as its last part, so the
-- scan is one range in id order without a sort. Both scans name their index (on small
-- tables the optimizer chose the primary or unique key and a sort); storage_rag_test checks
-- the plans.

-- `text` is the extracted plain text the chunks point into (offsets are bytes of it);
-- `size_bytes` and `sha256` describe the uploaded original. `version` grows with every
-- content change; a worker embeds one version and its result only applies while the
-- document is still at that version. `model` is the embedder of the current chunks.
CREATE TABLE IF NOT EXISTS knowledge_documents (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  title        VARCHAR(512) NOT NULL,
  content_type ENUM('text/plain','text/markdown','text/html','application/pdf') NOT NULL,
  text         MEDIUMTEXT NOT NULL,
  size_bytes   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  sha256       CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  status       ENUM('pending','ready','failed') NOT NULL DEFAULT 'pending',
  error        VARCHAR(1024) NOT NULL DEFAULT '',
  model        VARCHAR(128) NOT NULL DEFAULT '',
  version      BIGINT UNSIGNED NOT NULL DEFAULT 1,
  chunk_count  INT UNSIGNED NOT NULL DEFAULT 0,
  created_by   BIGINT UNSIGNED NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_knowledge_docs_bid_id (bid, id),
  KEY ix_knowledge_docs_bid_status (bid, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One embedded chunk of a document: [start_offset, end_offset) in bytes of the document's
-- text, the chunk's text, and its vector (little-endian float32, as call_embeddings).
CREATE TABLE IF NOT EXISTS knowledge_chunks (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  document_id  BIGINT UNSIGNED NOT NULL,
  chunk_index  INT UNSIGNED NOT NULL,
  start_offset INT UNSIGNED NOT NULL,
  end_offset   INT UNSIGNED NOT NULL,
  text         MEDIUMTEXT NOT NULL,
  model        VARCHAR(128) NOT NULL,
  dimension    INT UNSIGNED NOT NULL,
  vector       MEDIUMBLOB NOT NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_knowledge_chunks_doc_index (bid, document_id, chunk_index),
  KEY ix_knowledge_chunks_bid_model (bid, model, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A user's chat sessions, listed newest first per user.
CREATE TABLE IF NOT EXISTS chat_sessions (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id      BIGINT UNSIGNED NOT NULL,
  title        VARCHAR(255) NOT NULL DEFAULT '',
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_chat_sessions_bid_user (bid, user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One turn of a session: the question (role user) or the answer (role assistant) with what
-- was retrieved for it (`sources`), the citations kept, the model and its cost.
CREATE TABLE IF NOT EXISTS chat_messages (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid           VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  session_id    BIGINT UNSIGNED NOT NULL,
  role          ENUM('user','assistant') NOT NULL,
  content       MEDIUMTEXT NOT NULL,
  sources       JSON NOT NULL,
  citations     JSON NOT NULL,
  model         VARCHAR(128) NOT NULL DEFAULT '',
  latency_ms    BIGINT UNSIGNED NOT NULL DEFAULT 0,
  input_tokens  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  output_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_chat_messages_bid_session (bid, session_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
