-- Embeddings of analysed calls: one vector for the whole call (chunk_index -1) and one per
-- transcript chunk (chunk_index 0, 1, ...) for chat over calls. `vector` is a little-endian
-- float32 array of `dimension` values; `model` names the embedder that made it (e.g.
-- "hashed-bow:256"), so vectors of different embedders are never compared. Re-analysis
-- replaces a call's rows.
CREATE TABLE IF NOT EXISTS call_embeddings (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  bid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  call_id      BIGINT UNSIGNED NOT NULL,
  chunk_index  INT NOT NULL,
  start_ms     BIGINT NOT NULL DEFAULT 0,
  end_ms       BIGINT NOT NULL DEFAULT 0,
  text         MEDIUMTEXT NOT NULL,
  model        VARCHAR(128) NOT NULL,
  dimension    INT UNSIGNED NOT NULL,
  vector       MEDIUMBLOB NOT NULL,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_embeddings_bid_call_chunk (bid, call_id, chunk_index),
  KEY ix_embeddings_bid_model (bid, model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- An agent run that failed is kept with its reason (the call is still analysed).
ALTER TABLE analyses
  ADD COLUMN IF NOT EXISTS status ENUM('ok','failed') NOT NULL DEFAULT 'ok' AFTER output,
  ADD COLUMN IF NOT EXISTS error VARCHAR(1024) NOT NULL DEFAULT '' AFTER status,
  ADD COLUMN IF NOT EXISTS cache_hit TINYINT(1) NOT NULL DEFAULT 0 AFTER output_tokens;
